//! `pushfeed doctor` and `pushfeed canary` on the local stack, through the binary: doctor names
//! what is missing; the canary's events go through the state machine into every table, are
//! reported per type and deleted; and a canary row that stays in a table never reaches a view.

mod common;

use common::{fixture, json_ok, stderr, stdout, TempHome};
use pushfeed::domain::routes::RoutingTable;
use pushfeed::domain::window::parse_timestamp_ms;

#[test]
fn doctor_names_a_missing_stream_then_passes() {
    let home = TempHome::new();
    let out = home.pushfeed(&["doctor"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("FAIL  stream:"), "{text}");
    assert!(text.contains("ok    table push_opens: has all"), "{text}");
    assert!(stderr(&out).contains("1 of"), "{}", stderr(&out));

    let p = home.pushfeed(&[
        "produce",
        "--file",
        fixture("known-events.ndjson").to_str().unwrap(),
        "--at",
        "2026-11-26T10:01:30Z",
    ]);
    assert!(p.status.success(), "{}", stderr(&p));
    let v = json_ok(&home.pushfeed(&["doctor", "--json"]));
    assert_eq!(v["ok"], true, "{v}");
    let names: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for want in [
        "stream",
        "state machine",
        "warehouse",
        "ledger",
        "table push_sends",
        "view customer_push_engagement",
    ] {
        assert!(names.contains(&want), "no check {want}: {names:?}");
    }
}

#[test]
fn the_canary_reaches_every_table_and_is_cleaned_up() {
    let home = TempHome::new();
    let out = home.pushfeed(&["canary", "--json", "--deadline", "300"]);
    let v = json_ok(&out);
    assert_eq!(v["ok"], true, "{v}");
    let types = v["types"].as_array().unwrap();
    assert_eq!(types.len(), RoutingTable::default_routes().routes().len());
    for t in types {
        assert_eq!(t["arrived"], true, "{t}");
        assert!(t["seconds"].as_f64().unwrap() > 0.0, "{t}");
        assert!(t["event_id"]
            .as_str()
            .unwrap()
            .starts_with(pushfeed::canary::CANARY_ID_PREFIX));
    }
    // The rows were deleted; the ledger keeps the loads.
    let rows = json_ok(&home.pushfeed(&[
        "sql",
        "--json",
        "select count(*) as n from push_sends where event_id like 'pushfeed-canary-%'",
    ]));
    assert_eq!(rows[0]["n"], "0", "{rows}");
    let ledger =
        json_ok(&home.pushfeed(&["sql", "--json", "select count(*) as n from pushfeed_loads"]));
    assert_eq!(ledger[0]["n"], "7", "{ledger}");
}

#[test]
fn canary_rows_never_reach_the_analyst_views() {
    let home = TempHome::new();
    let at = "2026-11-26T10:01:30Z";
    let canaries = pushfeed::canary::events(
        RoutingTable::default_routes().routes(),
        "kept",
        parse_timestamp_ms(at).unwrap(),
    );
    let file = home.path().join("canary.ndjson");
    let lines: Vec<&str> = canaries.iter().map(|c| c.json.as_str()).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let p = home.pushfeed(&["produce", "--file", file.to_str().unwrap(), "--at", at]);
    assert!(p.status.success(), "{}", stderr(&p));
    let r = home.pushfeed(&["run", "--window", "2026-11-26T10:01Z"]);
    assert!(r.status.success(), "{}", stderr(&r));
    let count = |sql: &str| -> String {
        let v = json_ok(&home.pushfeed(&["sql", "--json", sql]));
        v[0]["n"].as_str().unwrap().to_string()
    };
    // In the tables (a canary that stopped half-way, or a replayed window, leaves them)...
    assert_eq!(
        count("select count(*) as n from push_sends where push_id = 'pushfeed-canary'"),
        "1"
    );
    // ...but in no view.
    for (view, column) in [
        ("push_campaign_performance", "push_id"),
        ("customer_push_engagement", "named_user_id"),
        ("customer_send_hours", "named_user_id"),
    ] {
        assert_eq!(
            count(&format!(
                "select count(*) as n from {view} where {column} = 'pushfeed-canary'"
            )),
            "0",
            "{view}"
        );
    }
    assert_eq!(
        count("select count(*) as n from push_holdout_uplift where group_id = 'pushfeed-canary'"),
        "0"
    );
}
