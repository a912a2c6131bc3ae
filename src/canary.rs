//! `pushfeed canary`: one marked event of each routed type through the real path (stream,
//! execution, Firehose, S3, load), then a wait, with a deadline, for each one's row. Canary rows
//! carry the stable id prefix [`CANARY_ID_PREFIX`]: the analyst views leave them out, and the
//! canary deletes its own rows once it has seen them.

use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::routes::Route;
use crate::domain::schema::Profile;
use crate::domain::sql::literal;
use crate::domain::window::format_timestamp_ms;
use crate::ports::Warehouse;

pub use crate::domain::views::CANARY_ID_PREFIX;

/// One canary event: what was put, and for which route.
#[derive(Debug, Clone)]
pub struct Canary {
    pub event_type: String,
    pub table: String,
    pub event_id: String,
    pub json: String,
}

/// One valid event per route, all sharing `run` in their ids, dated `now_ms`.
pub fn events(routes: &[Route], run: &str, now_ms: i64) -> Vec<Canary> {
    let at = format_timestamp_ms(now_ms);
    routes
        .iter()
        .map(|r| {
            let event_id = format!(
                "{CANARY_ID_PREFIX}{run}-{}",
                r.event_type.to_ascii_lowercase()
            );
            let marker = "pushfeed-canary";
            let body = match Profile::for_event_type(&r.event_type) {
                Profile::Open => json!({"session_id": marker}),
                Profile::Uninstall | Profile::Generic => json!({}),
                Profile::SendRejected | Profile::SendAborted => {
                    json!({"push_id": marker, "group_id": marker, "reason": "pushfeed canary"})
                }
                Profile::Send | Profile::Control | Profile::WebClick => {
                    json!({"push_id": marker, "group_id": marker})
                }
            };
            let event = json!({
                "id": event_id, "occurred": at, "processed": at, "type": r.event_type,
                "device": {"channel": marker, "named_user_id": marker}, "body": body,
            });
            Canary {
                event_type: r.event_type.clone(),
                table: r.table.clone(),
                event_id,
                json: event.to_string(),
            }
        })
        .collect()
}

/// What became of one canary.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub event_type: String,
    pub table: String,
    pub event_id: String,
    pub arrived: bool,
    /// From the put to the moment its row was seen.
    pub seconds: Option<f64>,
}

/// Polls each canary's table until its row is there or `deadline` passes (measured from the
/// put, `put_at`), every `poll`. Returns the outcomes in the canaries' order.
pub async fn await_rows(
    warehouse: &dyn Warehouse,
    canaries: &[Canary],
    put_at: tokio::time::Instant,
    deadline: Duration,
    poll: Duration,
) -> Vec<Outcome> {
    let mut out: Vec<Outcome> = canaries
        .iter()
        .map(|c| Outcome {
            event_type: c.event_type.clone(),
            table: c.table.clone(),
            event_id: c.event_id.clone(),
            arrived: false,
            seconds: None,
        })
        .collect();
    loop {
        for (o, c) in out.iter_mut().zip(canaries) {
            if o.arrived {
                continue;
            }
            let sql = format!(
                "SELECT event_id FROM {} WHERE event_id = {}",
                c.table,
                literal(&c.event_id)
            );
            if let Ok(r) = warehouse.query(&sql).await {
                if !r.rows.is_empty() {
                    o.arrived = true;
                    o.seconds = Some(put_at.elapsed().as_secs_f64());
                }
            }
        }
        if out.iter().all(|o| o.arrived) || put_at.elapsed() + poll > deadline {
            return out;
        }
        tokio::time::sleep(poll).await;
    }
}

/// Deletes the canaries' rows (the views already leave them out; this keeps the tables clean
/// for whoever reads them directly). The ledger keeps its rows: the loads did happen.
pub async fn remove_rows(warehouse: &dyn Warehouse, outcomes: &[Outcome]) -> Vec<String> {
    let mut errors = Vec::new();
    for o in outcomes.iter().filter(|o| o.arrived) {
        let sql = format!(
            "DELETE FROM {} WHERE event_id = {}",
            o.table,
            literal(&o.event_id)
        );
        if let Err(e) = warehouse.query(&sql).await {
            errors.push(format!("{}: {e}", o.table));
        }
    }
    errors
}

/// The canary's report: one line per type, and whether all arrived.
pub fn report(outcomes: &[Outcome], json: bool, hint: &str) -> anyhow::Result<()> {
    if json {
        let all: Value = json!({
            "ok": outcomes.iter().all(|o| o.arrived),
            "types": outcomes,
        });
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        for o in outcomes {
            match o.seconds {
                Some(s) => println!("ok    {} -> {}: row after {s:.1} s", o.event_type, o.table),
                None => println!(
                    "FAIL  {} -> {}: no row {} within the deadline",
                    o.event_type, o.table, o.event_id
                ),
            }
        }
    }
    let missing = outcomes.iter().filter(|o| !o.arrived).count();
    if missing > 0 {
        anyhow::bail!(
            "{missing} of {} canary events did not reach their table: {hint}",
            outcomes.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routes::RoutingTable;

    #[test]
    fn every_canary_is_a_valid_event_of_its_type_and_marked() {
        let routes = RoutingTable::default_routes();
        let all = events(routes.routes(), "r1", 1_795_000_000_000);
        assert_eq!(all.len(), routes.routes().len());
        for c in &all {
            assert!(c.event_id.starts_with(CANARY_ID_PREFIX), "{}", c.event_id);
            let parsed = crate::domain::event::parse_event(
                &c.json,
                1_795_000_000_000,
                &crate::domain::event::Limits::default(),
            );
            let event = parsed.unwrap_or_else(|e| panic!("{}: {e:?}", c.json));
            assert_eq!(event.event_type, c.event_type);
        }
    }
}
