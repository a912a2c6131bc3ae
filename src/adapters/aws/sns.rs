//! The Notifier port over SNS: one Publish per message, to the failure topic (its email
//! subscribers read it), with the subject made acceptable to SNS.

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

use super::error::classify;
use crate::ports::{Message, Notifier, PortError, PortResult};

/// SNS refuses a subject of 100 characters or more.
pub const MAX_SUBJECT_CHARS: usize = 99;

pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> SnsNotifier {
        SnsNotifier {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

/// SNS takes a subject of printable ASCII without line breaks, under 100 characters, beginning
/// with a letter, number or punctuation mark; anything else would refuse the whole message.
pub fn subject_for_sns(subject: &str) -> String {
    let mut out: String = subject
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            '—' | '–' => '-',
            '\n' | '\r' | '\t' => ' ',
            _ => '?',
        })
        .collect();
    out = out.trim().to_string();
    if out.is_empty() {
        out = "pushfeed notification".into();
    }
    if out.len() > MAX_SUBJECT_CHARS {
        out.truncate(MAX_SUBJECT_CHARS - 3);
        out.push_str("...");
    }
    out
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn publish(&self, message: &Message) -> PortResult<String> {
        let op = || {
            format!(
                "publishing `{}` to topic {}",
                message.subject, self.topic_arn
            )
        };
        let mut req = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject_for_sns(&message.subject))
            .message(&message.body);
        for (k, v) in &message.attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| PortError::permanent(op(), e))?;
            req = req.message_attributes(k, value);
        }
        let out = req.send().await.map_err(|e| classify(op(), e))?;
        Ok(out.message_id.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_cut_and_cleaned() {
        let long = format!(
            "pushfeed: window 2026-11-26T10:01Z — Load failed {}",
            "x".repeat(200)
        );
        let s = subject_for_sns(&long);
        assert!(s.len() < 100, "{}", s.len());
        assert!(s.is_ascii() && s.contains(" - Load failed"));
        assert_eq!(subject_for_sns("\n"), "pushfeed notification");
    }
}
