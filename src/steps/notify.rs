//! The failure email: what failed, for which window, and the exact command that re-runs it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ports::Message;

/// What a person needs to act on a failed window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub window: String,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    pub error: String,
    pub cause: String,
    pub execution: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_url: Option<String>,
    /// The command that re-runs the window.
    pub rerun: String,
}

/// SNS refuses subjects of 100 characters or more.
const MAX_SUBJECT: usize = 99;

pub fn failure_message(f: &Failure) -> Message {
    let what = match &f.event_type {
        Some(t) => format!("{} ({t})", f.state),
        None => f.state.clone(),
    };
    let mut subject = format!(
        "pushfeed: window {} failed in {what}: {}",
        f.window, f.error
    );
    if subject.chars().count() > MAX_SUBJECT {
        subject = subject.chars().take(MAX_SUBJECT - 3).collect::<String>() + "...";
    }
    let mut body = format!(
        "pushfeed could not ingest window {window}.\n\nFailed state: {what}\nError: {error}\nCause: {cause}\nExecution: {execution}\n",
        window = f.window,
        error = f.error,
        cause = f.cause,
        execution = f.execution,
    );
    if let Some(url) = &f.console_url {
        body.push_str(&format!("Console: {url}\n"));
    }
    body.push_str(&format!(
        "\nNothing was lost: the window's records stay in the stream and the raw archive, and a re-run loads each event exactly once.\nRe-run the window with:\n\n  {}\n",
        f.rerun
    ));
    let mut attributes = BTreeMap::new();
    attributes.insert("window".to_string(), f.window.clone());
    attributes.insert("error".to_string(), f.error.clone());
    attributes.insert("state".to_string(), f.state.clone());
    if let Some(t) = &f.event_type {
        attributes.insert("event_type".to_string(), t.clone());
    }
    Message {
        subject,
        body,
        attributes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_window_state_type_error_and_rerun() {
        let f = Failure {
            window: "2026-11-26T10:01Z".into(),
            state: "Load".into(),
            event_type: Some("OPEN".into()),
            error: "Pushfeed.LoadFailed".into(),
            cause: "relation \"push_opens\" does not exist".into(),
            execution: "arn:aws:states:eu-west-2:1:execution:pushfeed:x".into(),
            console_url: Some(
                "https://console.aws.amazon.com/states/home#/executions/details/x".into(),
            ),
            rerun: "pushfeed run --window 2026-11-26T10:01Z".into(),
        };
        let m = failure_message(&f);
        assert!(m.subject.contains("2026-11-26T10:01Z") && m.subject.contains("Load (OPEN)"));
        assert!(m.subject.len() < 100);
        for part in [
            "Pushfeed.LoadFailed",
            "push_opens",
            "execution:pushfeed:x",
            "Console: https://",
            "pushfeed run --window 2026-11-26T10:01Z",
        ] {
            assert!(m.body.contains(part), "{part} missing from {}", m.body);
        }
        assert_eq!(m.attributes["event_type"], "OPEN");
        let long = Failure {
            error: "E".repeat(300),
            ..f
        };
        let m = failure_message(&long);
        assert!(m.subject.chars().count() <= MAX_SUBJECT && m.subject.ends_with("..."));
    }
}
