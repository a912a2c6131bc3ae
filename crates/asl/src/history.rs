//! Execution history events shaped like GetExecutionHistory's JSON.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One history event. `details` holds exactly one `<camelType>EventDetails` key
/// (none for events AWS sends without details, e.g. `TaskStarted` has one,
/// `ParallelStateStarted` does not); it is flattened into the event when
/// serialised, as in the AWS API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    /// RFC 3339 UTC with milliseconds.
    pub timestamp: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

impl HistoryEvent {
    /// The event's details object, whatever its key.
    pub fn detail(&self) -> Option<&Value> {
        self.details.values().next()
    }

    /// Timestamp as epoch milliseconds.
    pub fn millis(&self) -> Option<i64> {
        crate::timefmt::parse_rfc3339(&self.timestamp)
    }
}

/// The events of one execution, ordered by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub events: Vec<HistoryEvent>,
}

impl History {
    /// State transitions as AWS bills them: one per state entered.
    pub fn state_transitions(&self) -> usize {
        self.events
            .iter()
            .filter(|e| e.event_type.ends_with("StateEntered"))
            .count()
    }

    /// Event types in order.
    pub fn types(&self) -> Vec<&str> {
        self.events.iter().map(|e| e.event_type.as_str()).collect()
    }

    /// Events of one type, in order.
    pub fn of_type<'a>(&'a self, t: &'a str) -> impl Iterator<Item = &'a HistoryEvent> + 'a {
        self.events.iter().filter(move |e| e.event_type == t)
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
