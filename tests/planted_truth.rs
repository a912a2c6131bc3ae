//! The analyst views recover what the generator planted: four weeks of history for four seeds,
//! run through the pipeline in one window, then `customer_send_hours` gives at least 90% of the
//! users with 20 or more opens their planted preferred hour, and `push_holdout_uplift`'s interval
//! holds the planted uplift in at least 90% of the groups.

mod common;

use std::collections::HashMap;

use common::{json_ok, TempHome};
use pushfeed::adapters::local::stream::{LocalStream, PutRecord};
use serde_json::Value;
use vendor_sim::{generate, planted_truth, History, PlantedTruth, TrafficProfile};

const SEEDS: [u64; 4] = [1, 2, 3, 4];

fn profile(seed: u64) -> TrafficProfile {
    TrafficProfile {
        minutes: 1,
        rate_per_second: 2.0,
        seed,
        duplicates: 0.05,
        history: History {
            days: 28,
            users: 40,
            groups: 15,
            channels_per_group: 150,
        },
        ..TrafficProfile::default()
    }
}

fn rows(home: &TempHome, sql: &str) -> Vec<serde_json::Map<String, Value>> {
    json_ok(&home.pushfeed(&["--json", "sql", sql]))
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

fn text<'a>(row: &'a serde_json::Map<String, Value>, c: &str) -> &'a str {
    row[c]
        .as_str()
        .unwrap_or_else(|| panic!("{c} is null in {row:?}"))
}

#[test]
fn the_views_recover_the_planted_hours_and_uplifts() {
    let home = TempHome::new();
    let stream = LocalStream::open_or_create(home.path().join("stream/pushfeed"), 4).unwrap();
    let mut truths: Vec<PlantedTruth> = Vec::new();
    let mut all = Vec::new();
    for seed in SEEDS {
        let p = profile(seed);
        truths.push(planted_truth(&p));
        all.extend(generate(&p));
    }
    // One stream: arrivals never go back in a shard.
    all.sort_by_key(|g| g.arrival_ms);
    let records = all
        .into_iter()
        .map(|g| PutRecord {
            partition_key: g.partition_key,
            data: g.data,
            arrival_ms: Some(g.arrival_ms),
        })
        .collect();
    stream.put_records(records).unwrap();
    let run = json_ok(&home.pushfeed(&["--json", "run", "--window", "2026-11-26T10:00Z"]));
    assert_eq!(run["adds_up"], true, "{run}");

    // Send hours.
    let hours: HashMap<String, (i64, i64)> = rows(
        &home,
        "SELECT named_user_id, opens, best_local_hour FROM customer_send_hours",
    )
    .iter()
    .map(|r| {
        (
            text(r, "named_user_id").to_string(),
            (
                text(r, "opens").parse().unwrap(),
                text(r, "best_local_hour").parse().unwrap(),
            ),
        )
    })
    .collect();
    let users: Vec<_> = truths.iter().flat_map(|t| &t.users).collect();
    let heavy: Vec<_> = users
        .iter()
        .filter(|u| hours.get(&u.named_user_id).is_some_and(|&(n, _)| n >= 20))
        .collect();
    assert!(
        heavy.len() * 10 >= users.len() * 9,
        "{} of {} planted users have 20 or more opens in the view",
        heavy.len(),
        users.len()
    );
    let recovered = heavy
        .iter()
        .filter(|u| hours[&u.named_user_id].1 == i64::from(u.preferred_local_hour))
        .count();
    eprintln!(
        "send hours: the planted hour for {recovered} of {} users with 20+ opens",
        heavy.len()
    );
    assert!(
        recovered * 10 >= heavy.len() * 9,
        "the planted hour for {recovered} of {} users",
        heavy.len()
    );

    // Holdout uplift.
    let uplift: HashMap<String, (f64, f64)> = rows(
        &home,
        "SELECT group_id, abs_lift_low, abs_lift_high FROM push_holdout_uplift",
    )
    .iter()
    .filter(|r| !r["abs_lift_low"].is_null())
    .map(|r| {
        (
            text(r, "group_id").to_string(),
            (
                text(r, "abs_lift_low").parse().unwrap(),
                text(r, "abs_lift_high").parse().unwrap(),
            ),
        )
    })
    .collect();
    let groups: Vec<_> = truths.iter().flat_map(|t| &t.groups).collect();
    assert_eq!(groups.len(), 60);
    let inside = groups
        .iter()
        .filter(|g| {
            let (low, high) = uplift
                .get(&g.group_id)
                .unwrap_or_else(|| panic!("group {} has no interval", g.group_id));
            *low <= g.uplift && g.uplift <= *high
        })
        .count();
    eprintln!(
        "holdout: the planted uplift inside the interval for {inside} of {} groups",
        groups.len()
    );
    assert!(
        inside * 10 >= groups.len() * 9,
        "the planted uplift inside the interval for {inside} of {} groups",
        groups.len()
    );
}
