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

/// The longest event type a route may have. The failure email's subject names the window, the
/// state and the event type (`pushfeed 2026-11-26T10:01Z AwaitObjects (<type>): <error>`), and SNS
/// refuses a subject of 100 characters or more; 27 is what the longest state and error name leave.
/// config/contract.json `notification` holds the same number; tests/deploy_contract.rs checks it.
pub const MAX_ROUTED_EVENT_TYPE_CHARS: usize = 27;

/// Tables pushfeed owns besides the routed ones; a route may not take their names.
pub const RESERVED_TABLES: &[&str] = &["pushfeed_loads"];

/// Name prefixes a route's table may not start with: `pushfeed_` is pushfeed's own objects (the
/// ledger, and whatever it adds later); `pf_` is the loader's temporary tables (`pf_stage`,
/// `pf_ids`...), which would shadow a table of the same name inside the load and leave it empty.
pub const RESERVED_TABLE_PREFIXES: &[&str] = &["pushfeed_", "pf_"];

/// Words neither warehouse takes as a table name without quoting, and pushfeed never quotes.
///
/// Redshift, "Reserved words": "The following is a list of Amazon Redshift reserved words. You
/// can use the reserved words with delimited identifiers (double quotation marks)."
const REDSHIFT_RESERVED: &str = "aes128 aes256 all allowoverwrite analyse analyze and any array as asc authorization az64 backup between binary blanksasnull both bytedict bzip2 case cast check collate column constraint create credentials cross current_date current_time current_timestamp current_user current_user_id default deferrable deflate defrag delta delta32k desc disable distinct do else emptyasnull enable encode encrypt encryption end except explicit false for foreign freeze from full globaldict256 globaldict64k grant group gzip having identity ignore ilike in initially inner intersect interval into is isnull join leading left like limit localtime localtimestamp lun luns lzo lzop minus mostly16 mostly32 mostly8 natural new not notnull null nulls off offline offset oid old on only open or order outer overlaps parallel partition percent permissions pivot placing primary raw readratio recover references rejectlog resort respect restore right select session_user similar snapshot some sysdate system table tag tdes text255 text32k then timestamp to top trailing true truncatecolumns union unique unnest unpivot user using verbose wallet when where with without";

/// PostgreSQL 15's `SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T')`: the
/// reserved words, and those reserved except as function or type names (a table name is neither).
const POSTGRES_RESERVED: &str = "all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation column concurrently constraint create cross current_catalog current_date current_role current_schema current_time current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign freeze from full grant group having ilike in initially inner intersect into is isnull join lateral leading left like limit localtime localtimestamp natural not notnull null offset on only or order outer overlaps placing primary references returning right select session_user similar some symmetric table tablesample then to trailing true union unique user using variadic verbose when where window with";

/// Why a table name cannot be a route's, or None if it can.
fn reserved_table_reason(table: &str) -> Option<String> {
    if RESERVED_TABLES.contains(&table) {
        return Some("is a pushfeed table".into());
    }
    if super::views::VIEW_NAMES.contains(&table) {
        return Some("is one of the analyst views".into());
    }
    if let Some(prefix) = RESERVED_TABLE_PREFIXES
        .iter()
        .find(|p| table.starts_with(*p))
    {
        return Some(format!(
            "starts with `{prefix}`, which pushfeed keeps for its own tables (`pf_` for the loader's temporary ones, which would hide it during the load)"
        ));
    }
    let is = |list: &str| list.split(' ').any(|w| w == table);
    match (is(REDSHIFT_RESERVED), is(POSTGRES_RESERVED)) {
        (false, false) => None,
        (true, true) => Some("is a reserved word in Redshift and PostgreSQL".into()),
        (true, false) => Some("is a reserved word in Redshift".into()),
        (false, true) => Some("is a reserved word in PostgreSQL".into()),
    }
}

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
            if r.event_type.len() > MAX_ROUTED_EVENT_TYPE_CHARS {
                return Err(format!(
                    "event type `{}` has {} characters, and a routed type may have at most {MAX_ROUTED_EVENT_TYPE_CHARS} so that the failure email's subject stays under SNS's 100 characters; route a shorter name (events of an unrouted type are still kept in unrouted/)",
                    r.event_type,
                    r.event_type.len()
                ));
            }
            if !is_table_name(&r.table) {
                return Err(format!(
                    "table `{}` of {} must be a lower-case SQL name (letters, digits, _; at most 63)",
                    r.table, r.event_type
                ));
            }
            if let Some(why) = reserved_table_reason(&r.table) {
                return Err(format!(
                    "table `{}` of {} {why}: choose another name, such as `{}_events`",
                    r.table, r.event_type, r.table
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
        assert!(err(&one("SEND", "pushfeed_loads", "s")).contains("is a pushfeed table"));
        // Every name the loader or the warehouse reserves, refused with why.
        for (table, why) in [
            ("pf_stage", "starts with `pf_`"),
            ("pf_new", "starts with `pf_`"),
            ("pushfeed_status", "starts with `pushfeed_`"),
            ("order", "reserved word in Redshift and PostgreSQL"),
            ("user", "reserved word in Redshift and PostgreSQL"),
            ("timestamp", "reserved word in Redshift"),
            ("window", "reserved word in PostgreSQL"),
        ] {
            let e = err(&one("SEND", table, "s"));
            assert!(
                e.contains(&format!("table `{table}` of SEND")) && e.contains(why),
                "{e}"
            );
        }
        // Words that are keywords but not reserved stay usable.
        for table in ["events", "opens", "sends", "start", "connect"] {
            assert!(
                RoutingTable::from_json(&one("SEND", table, "s"), "x").is_ok(),
                "{table}"
            );
        }
        assert!(err(&one("SEND", "t", "a/b")).contains("delivery stream `a/b`"));
        assert!(err(r#"{"routes":[],"extra":1}"#).contains("unknown field"));
        let twice = r#"{"routes":[{"event_type":"A","table":"a","delivery_stream":"a"},{"event_type":"A","table":"b","delivery_stream":"b"}]}"#;
        assert!(err(twice).contains("routed twice"));
        assert!(RoutingTable::from_json(&one("CUSTOM", "custom_events", "pf-custom"), "x").is_ok());
        // The longest routed type still fits the failure subject; one more character does not.
        let longest = "IN_APP_MESSAGE_RESOLUTION_X";
        assert_eq!(longest.len(), MAX_ROUTED_EVENT_TYPE_CHARS);
        assert!(RoutingTable::from_json(&one(longest, "t", "s"), "x").is_ok());
        let too_long = err(&one("IN_APP_MESSAGE_RESOLUTION_XY", "t", "s"));
        assert!(
            too_long.contains("`IN_APP_MESSAGE_RESOLUTION_XY` has 28 characters")
                && too_long.contains("at most 27"),
            "{too_long}"
        );
    }
}
