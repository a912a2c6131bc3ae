//! The routing table: which event type goes to which table through which delivery stream.
//!
//! It lives in one checked-in data file, `config/routes.json`, because the CDK app reads it too.
//! Table names in SQL come only from here, validated, never from event data.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::schema::Profile;

/// The routing file compiled into every binary; `--routes FILE` or `PUSHFEED_ROUTES` replace it.
pub const DEFAULT_ROUTES_JSON: &str = include_str!("../../config/routes.json");

/// Tables pushfeed owns besides the routed ones; a route may not take their names.
pub const RESERVED_TABLES: &[&str] = &["pushfeed_loads"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub event_type: String,
    pub table: String,
    pub delivery_stream: String,
}

impl Route {
    pub fn profile(&self) -> Profile {
        Profile::for_event_type(&self.event_type)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingTable {
    routes: Vec<Route>,
}

#[derive(Debug, thiserror::Error)]
pub enum RoutesError {
    #[error("cannot read routing file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("routing file {origin} is not valid: {message}")]
    Parse { origin: String, message: String },
    #[error("routing file {origin}: {message}")]
    Invalid { origin: String, message: String },
}

impl RoutingTable {
    /// The checked-in default routes.
    pub fn default_routes() -> RoutingTable {
        RoutingTable::from_json(DEFAULT_ROUTES_JSON, "config/routes.json")
            .expect("the checked-in routing file is validated by its unit test")
    }

    pub fn load(path: &Path) -> Result<RoutingTable, RoutesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RoutesError::Read {
            path: path.display().to_string(),
            source,
        })?;
        RoutingTable::from_json(&text, &path.display().to_string())
    }

    pub fn from_json(text: &str, origin: &str) -> Result<RoutingTable, RoutesError> {
        let table: RoutingTable = serde_json::from_str(text).map_err(|e| RoutesError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        table.validate().map_err(|message| RoutesError::Invalid {
            origin: origin.to_string(),
            message,
        })?;
        Ok(table)
    }

    fn validate(&self) -> Result<(), String> {
        if self.routes.is_empty() {
            return Err(
                "it has no routes; add at least one {event_type, table, delivery_stream}".into(),
            );
        }
        let (mut types, mut tables, mut streams) = (HashSet::new(), HashSet::new(), HashSet::new());
        for r in &self.routes {
            if !is_event_type(&r.event_type) {
                return Err(format!(
                    "event type `{}` must be upper-case letters, digits and underscores, like SEND_REJECTED",
                    r.event_type
                ));
            }
            if !is_table_name(&r.table)
                || RESERVED_TABLES.contains(&r.table.as_str())
                || super::views::VIEW_NAMES.contains(&r.table.as_str())
            {
                return Err(format!(
                    "table `{}` of {} must be a lower-case SQL name (letters, digits, _; at most 63) and not a pushfeed table or view",
                    r.table, r.event_type
                ));
            }
            if !is_stream_name(&r.delivery_stream) {
                return Err(format!(
                    "delivery stream `{}` of {} must be 1-64 characters of letters, digits, `_`, `.` and `-`",
                    r.delivery_stream, r.event_type
                ));
            }
            if !types.insert(&r.event_type) {
                return Err(format!("event type {} is routed twice", r.event_type));
            }
            if !tables.insert(&r.table) {
                return Err(format!("table {} is the target of two routes", r.table));
            }
            if !streams.insert(&r.delivery_stream) {
                return Err(format!(
                    "delivery stream {} serves two routes",
                    r.delivery_stream
                ));
            }
        }
        Ok(())
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    pub fn for_type(&self, event_type: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.event_type == event_type)
    }

    pub fn for_table(&self, table: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.table == table)
    }

    pub fn for_stream(&self, stream: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.delivery_stream == stream)
    }
}

pub fn is_event_type(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.as_bytes()[0].is_ascii_uppercase()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn is_table_name(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && (s.as_bytes()[0].is_ascii_lowercase() || s.as_bytes()[0] == b'_')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn is_stream_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_routes_cover_the_push_feedback_types() {
        let routes = RoutingTable::default_routes();
        let pairs: Vec<(&str, &str)> = routes
            .routes()
            .iter()
            .map(|r| (r.event_type.as_str(), r.table.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("SEND", "push_sends"),
                ("OPEN", "push_opens"),
                ("SEND_REJECTED", "push_send_rejections"),
                ("SEND_ABORTED", "push_send_aborts"),
                ("UNINSTALL", "push_uninstalls"),
                ("CONTROL", "push_controls"),
                ("WEB_CLICK", "push_web_clicks"),
            ]
        );
        assert_eq!(
            routes.for_type("OPEN").unwrap().delivery_stream,
            "pushfeed-push-opens"
        );
        assert!(routes.for_type("CLOSE").is_none());
        assert_eq!(
            routes.for_table("push_controls").unwrap().event_type,
            "CONTROL"
        );
        assert_eq!(
            routes.for_stream("pushfeed-push-sends").unwrap().table,
            "push_sends"
        );
        assert_eq!(
            routes.for_type("WEB_CLICK").unwrap().profile(),
            Profile::WebClick
        );
    }

    #[test]
    fn invalid_routing_files_say_what_is_wrong() {
        let one = |t: &str, table: &str, s: &str| {
            format!(
                r#"{{"routes":[{{"event_type":"{t}","table":"{table}","delivery_stream":"{s}"}}]}}"#
            )
        };
        let err = |text: &str| {
            RoutingTable::from_json(text, "r.json")
                .unwrap_err()
                .to_string()
        };
        assert!(err("{").contains("r.json is not valid"));
        assert!(err(r#"{"routes":[]}"#).contains("no routes"));
        assert!(err(&one("send", "push_sends", "s")).contains("event type `send`"));
        assert!(err(&one("SEND", "push sends; drop table x", "s"))
            .contains("table `push sends; drop table x`"));
        assert!(err(&one("SEND", "pushfeed_loads", "s")).contains("not a pushfeed table"));
        assert!(err(&one("SEND", "t", "a/b")).contains("delivery stream `a/b`"));
        assert!(err(r#"{"routes":[],"extra":1}"#).contains("unknown field"));
        let twice = r#"{"routes":[{"event_type":"A","table":"a","delivery_stream":"a"},{"event_type":"A","table":"b","delivery_stream":"b"}]}"#;
        assert!(err(twice).contains("routed twice"));
        assert!(RoutingTable::from_json(&one("CUSTOM", "custom_events", "pf-custom"), "x").is_ok());
    }
}
