//! Notifier scenarios: a failure message arrives with its body, subject and attributes.

use std::collections::BTreeMap;

use pushfeed::ports::{Message, Notifier};

pub fn failure_message() -> Message {
    Message {
        subject: format!(
            "pushfeed: window 2026-11-26T10:01Z failed in Load (OPEN) — Pushfeed.LoadFailed {}",
            "x".repeat(80)
        ),
        body: "Window 2026-11-26T10:01Z failed.\nRe-run it with:\n  pushfeed replay --from 2026-11-26T10:01Z --to 2026-11-26T10:01Z\n".into(),
        attributes: BTreeMap::from([
            ("window".to_string(), "2026-11-26T10:01Z".to_string()),
            ("error".to_string(), "Pushfeed.LoadFailed".to_string()),
        ]),
    }
}

/// Publishes the failure message; `delivered` is what the subscriber then received. Subjects
/// may be shortened (SNS takes under 100 characters) but keep their start.
pub async fn publish(notifier: &dyn Notifier, delivered: impl AsyncFnOnce() -> Vec<Message>) {
    let m = failure_message();
    let id = notifier.publish(&m).await.unwrap();
    assert!(!id.is_empty());
    let got = delivered().await;
    assert_eq!(got.len(), 1, "{got:?}");
    let g = &got[0];
    assert_eq!(g.body, m.body);
    assert_eq!(g.attributes, m.attributes);
    assert!(
        g.subject.len() < 100 || g.subject == m.subject,
        "{}",
        g.subject
    );
    assert!(
        g.subject
            .starts_with("pushfeed: window 2026-11-26T10:01Z failed in Load (OPEN)"),
        "{}",
        g.subject
    );
}
