//! The `pushfeed` binary end to end on the local stack, against a real PostgreSQL it starts itself.

mod common;

use std::collections::BTreeMap;

use common::{fixture, json_ok, stderr, TempHome};
use serde_json::Value;

fn expected() -> Value {
    serde_json::from_slice(&std::fs::read(fixture("known-events.expected.json")).unwrap()).unwrap()
}

/// Produces the known-events fixture at its arrival time; returns what it should load.
fn produce_known_events(home: &TempHome) -> Value {
    let want = expected();
    let file = fixture("known-events.ndjson");
    let put = json_ok(&home.pushfeed(&[
        "--json",
        "produce",
        "--file",
        file.to_str().unwrap(),
        "--at",
        want["arrival"].as_str().unwrap(),
    ]));
    assert_eq!(put["records"], 15);
    want
}

fn table_ids(home: &TempHome, table: &str) -> Vec<String> {
    let rows = json_ok(&home.pushfeed(&[
        "--json",
        "sql",
        &format!("select event_id from {table} order by event_id"),
    ]));
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["event_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn known_events_load_exactly_once_and_a_rerun_changes_nothing() {
    let home = TempHome::new();
    let want = produce_known_events(&home);

    let window = want["window"].as_str().unwrap();
    let first = json_ok(&home.pushfeed(&["--json", "run", "--window", window]));
    assert_eq!(first["events"], 15);
    assert_eq!(first["duplicates"], want["duplicates"]);
    assert_eq!(first["rejected"]["count"], 6);
    assert_eq!(first["unrouted"]["count"], 0);
    assert_eq!(
        first["unrouted"]["key"],
        Value::Null,
        "nothing else is produced"
    );
    assert_eq!(first["adds_up"], true);

    let tables = want["tables"].as_object().unwrap();
    let mut before = BTreeMap::new();
    for (table, ids) in tables {
        let mut ids: Vec<String> = ids
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        ids.sort();
        assert_eq!(table_ids(&home, table), ids, "rows of {table}");
        before.insert(table.clone(), ids);
    }

    // Every invalid line is kept with its reason, and only those.
    let key = first["rejected"]["key"].as_str().unwrap();
    let text = std::fs::read_to_string(home.path().join("s3").join(key)).unwrap();
    let mut reasons: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["reason"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut want_reasons: Vec<String> = want["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    // Rejected records are kept in shard and sequence order, not file order.
    reasons.sort();
    want_reasons.sort();
    assert_eq!(reasons, want_reasons);
    let kept: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let truncated = kept.iter().find(|k| k["reason"] == "not_json").unwrap();
    assert!(truncated["data"]
        .as_str()
        .unwrap()
        .starts_with("{\"id\":\"9c1e3f80-5b7a-11ef-8000-00000000a0ff\""));
    assert!(truncated["sequence_number"].is_string() && truncated["shard"].is_string());

    // The typed columns are filled from both device shapes.
    let rows = json_ok(&home.pushfeed(&[
        "--json",
        "sql",
        "select channel_id, device_type, reason from push_send_rejections",
    ]));
    assert_eq!(
        rows[0]["channel_id"],
        "aa00bb11-cc22-4d33-8e44-ff5566778899"
    );
    assert_eq!(rows[0]["device_type"], "ANDROID");
    assert_eq!(rows[0]["reason"], "Unregistered");
    let opens = json_ok(&home.pushfeed(&[
        "--json",
        "sql",
        "select open_kind, raw->'body'->>'session_id' as s from push_opens order by event_id",
    ]));
    assert_eq!(opens[0]["open_kind"], "direct");
    assert_eq!(opens[1]["open_kind"], "influenced");
    assert_eq!(opens[0]["s"], "e0e0e0e0-1111-4222-8333-444455556666");

    // A re-run reads the same records from the checkpoint and leaves the tables as they were.
    let again = json_ok(&home.pushfeed(&["--json", "run", "--window", window]));
    assert_eq!(again["read"]["source"], "checkpoint");
    assert_eq!(again["events"], first["events"]);
    assert_eq!(again["rows_loaded"], first["rows_loaded"]);
    for t in again["tables"].as_array().unwrap() {
        assert_eq!(t["inserted"], 0, "{t}");
        assert_eq!(t["replaced"], 0, "{t}");
    }
    for (table, ids) in &before {
        assert_eq!(
            &table_ids(&home, table),
            ids,
            "rows of {table} after the re-run"
        );
    }
    let ledger = json_ok(&home.pushfeed(&[
        "--json",
        "sql",
        "select count(*) as n, sum(rows_inserted) as ins from pushfeed_loads",
    ]));
    assert_eq!(ledger[0]["n"], "14");
    assert_eq!(ledger[0]["ins"], "8");
    assert!(
        !home.path().join("outbox").exists(),
        "no failure was notified"
    );
}

#[test]
fn bad_flags_and_files_get_one_plain_sentence() {
    let home = TempHome::new();
    let out = home.pushfeed(&["run", "--window", "10:01"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("window `10:01` is not a UTC minute like 2026-11-26T10:01Z"),
        "{err}"
    );

    let out = home.pushfeed(&["run", "--window", "2999-01-01T00:00Z"]);
    assert!(
        stderr(&out).contains(
            "window 2999-01-01T00:00Z has not ended yet: run it after 2999-01-01T00:01:05.000Z"
        ),
        "{}",
        stderr(&out)
    );

    let out = home.pushfeed(&[
        "replay",
        "--from",
        "2026-11-26T10:05Z",
        "--to",
        "2026-11-26T10:01Z",
    ]);
    assert!(
        stderr(&out).contains("the first window must not be after the last"),
        "{}",
        stderr(&out)
    );

    let out = home.pushfeed(&["produce", "--file", "/nonexistent/events.ndjson"]);
    assert!(
        stderr(&out).contains("cannot read --file /nonexistent/events.ndjson"),
        "{}",
        stderr(&out)
    );

    let out = home.pushfeed(&["run", "--window", "2026-11-26T10:01Z"]);
    assert!(
        stderr(&out).contains("run `pushfeed produce` or `pushfeed generate` first"),
        "{}",
        stderr(&out)
    );

    let bad_routes = home.path().join("routes.json");
    std::fs::write(
        &bad_routes,
        r#"{"routes":[{"event_type":"SEND","table":"x; drop","delivery_stream":"s"}]}"#,
    )
    .unwrap();
    let out = home.pushfeed(&["--routes", bad_routes.to_str().unwrap(), "sql", "select 1"]);
    assert!(stderr(&out).contains("table `x; drop`"), "{}", stderr(&out));

    let out = home.pushfeed(&[
        "produce",
        "--file",
        fixture("known-events.ndjson").to_str().unwrap(),
        "--at",
        "soon",
    ]);
    assert!(
        stderr(&out).contains("--at `soon` is not an RFC 3339 time"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_postgresql_says_what_to_install() {
    let home = TempHome::new();
    let empty = home.path().join("no-binaries");
    std::fs::create_dir_all(&empty).unwrap();
    let out = home.pushfeed_env(
        &["sql", "select 1"],
        &[("PUSHFEED_PG_BINDIR", empty.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("apt-get install postgresql"), "{err}");
}

#[test]
fn sql_errors_are_reported_not_panicked() {
    let home = TempHome::new();
    let out = home.pushfeed(&["sql", "select * from no_such_table"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no_such_table"), "{}", stderr(&out));
    let ok = json_ok(&home.pushfeed(&["--json", "sql", "select 1 as one, null as nothing"]));
    assert_eq!(ok, serde_json::json!([{"one": "1", "nothing": null}]));
    // Two columns of one name both come out.
    let ok = json_ok(&home.pushfeed(&["--json", "sql", "select 1 as a, 2 as a, 3 as a_2"]));
    assert_eq!(ok, serde_json::json!([{"a": "1", "a_3": "2", "a_2": "3"}]));
}

#[test]
fn a_failed_load_is_notified_once_and_the_rerun_command_recovers_it() {
    let home = TempHome::new();
    let want = produce_known_events(&home);
    // The warehouse refuses every SEND row: a permanent load failure.
    json_ok(&home.pushfeed(&[
        "--json",
        "sql",
        "alter table push_sends add constraint no_sends check (false)",
    ]));
    let window = want["window"].as_str().unwrap();
    let out = home.pushfeed(&["run", "--window", window]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Pushfeed.LoadFailed") && stderr(&out).contains("pushfeed history"),
        "{}",
        stderr(&out)
    );

    let outbox: Vec<_> = std::fs::read_dir(home.path().join("outbox"))
        .unwrap()
        .collect();
    assert_eq!(outbox.len(), 1, "exactly one message");
    let message: Value =
        serde_json::from_slice(&std::fs::read(outbox[0].as_ref().unwrap().path()).unwrap())
            .unwrap();
    let (subject, body) = (
        message["subject"].as_str().unwrap(),
        message["body"].as_str().unwrap(),
    );
    assert!(
        subject.contains(window)
            && subject.contains("Load (SEND)")
            && subject.contains("Pushfeed.LoadFailed"),
        "{subject}"
    );
    let rerun = format!(
        "pushfeed replay --home {} --from {window} --to {window}",
        home.path().display()
    );
    assert!(body.contains(&rerun) && body.contains("no_sends"), "{body}");

    // The person fixes the cause and runs the command from the message.
    json_ok(&home.pushfeed(&[
        "--json",
        "sql",
        "alter table push_sends drop constraint no_sends",
    ]));
    let report = json_ok(&home.pushfeed(&["--json", "replay", "--from", window, "--to", window]));
    assert_eq!(report[0]["adds_up"], true);
    assert_eq!(
        table_ids(&home, "push_sends"),
        ["9c1e3f80-5b7a-11ef-8000-00000000a001"]
    );
    assert_eq!(
        std::fs::read_dir(home.path().join("outbox"))
            .unwrap()
            .count(),
        1,
        "no new message"
    );
}

#[test]
fn a_rerun_after_the_stream_lost_the_records_reads_the_raw_archive() {
    let home = TempHome::new();
    let want = produce_known_events(&home);
    let window = want["window"].as_str().unwrap();
    let first = json_ok(&home.pushfeed(&["--json", "run", "--window", window]));
    // Retention passes: the shards no longer hold the window's records.
    for entry in std::fs::read_dir(home.path().join("stream/pushfeed")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "log" || x == "idx") {
            std::fs::write(&path, b"").unwrap();
        }
    }
    let again = json_ok(&home.pushfeed(&["--json", "run", "--window", window]));
    assert_eq!(again["read"]["source"], "archive");
    assert_eq!(again["events"], first["events"]);
    assert_eq!(again["rejected"]["count"], first["rejected"]["count"]);
    assert_eq!(again["rows_loaded"], first["rows_loaded"]);
    assert_eq!(table_ids(&home, "push_opens").len(), 2);

    // The whole stream directory removed: windows with a checkpoint still replay from raw/.
    std::fs::remove_dir_all(home.path().join("stream")).unwrap();
    let out = home.pushfeed(&["--json", "run", "--window", window]);
    assert!(
        stderr(&out).contains("windows with a checkpoint are re-read from the raw archive"),
        "{}",
        stderr(&out)
    );
    let gone = json_ok(&out);
    assert_eq!(gone["read"]["source"], "archive");
    assert_eq!(gone["rows_loaded"], first["rows_loaded"]);
    // A window without one fails naming what to do.
    let out = home.pushfeed(&["run", "--window", "2026-11-26T10:09Z"]);
    assert!(
        stderr(&out).contains("run `pushfeed produce` or `pushfeed generate` first"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn executions_and_history_show_what_the_console_shows() {
    let home = TempHome::new();
    let want = produce_known_events(&home);
    let window = want["window"].as_str().unwrap();
    let run = json_ok(&home.pushfeed(&["--json", "run", "--window", window]));
    // 6 fixed states, then at most 7 per event type present (Deliver, AwaitObjects, Choice,
    // Wait, AwaitObjects, Choice, Load).
    let types = run["tables"].as_array().unwrap().len() as u64;
    assert_eq!(types, 7);
    let transitions = run["state_transitions"].as_u64().unwrap();
    assert!(
        transitions <= 6 + 10 * types,
        "{transitions} transitions for {types} types"
    );

    let list = json_ok(&home.pushfeed(&["--json", "executions"]));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["status"], "SUCCEEDED");
    assert_eq!(list[0]["window"], window);
    assert_eq!(list[0]["name"], run["execution"]);
    assert_eq!(list[0]["rows_loaded"], run["rows_loaded"]);

    let name = run["execution"].as_str().unwrap();
    let events = json_ok(&home.pushfeed(&["--json", "history", name]));
    let events = events.as_array().unwrap();
    assert_eq!(events.first().unwrap()["type"], "ExecutionStarted");
    assert_eq!(events.last().unwrap()["type"], "ExecutionSucceeded");
    let iterations = events
        .iter()
        .filter(|e| e["type"] == "MapIterationStarted")
        .count();
    assert_eq!(iterations, 7, "one Map iteration per event type");
    for kind in [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskSucceeded",
        "ChoiceStateEntered",
        "WaitStateEntered",
    ] {
        assert!(events.iter().any(|e| e["type"] == kind), "{kind} missing");
    }
    let table = home.pushfeed(&["history", name]);
    let text = common::stdout(&table);
    assert!(
        text.contains("ReadWindow") && text.contains("TaskStateExited") && text.contains(" ms"),
        "{text}"
    );
    let missing = home.pushfeed(&["history", "no-such-execution"]);
    assert!(
        stderr(&missing).contains("`pushfeed executions` lists them"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn states_run_answers_tasks_from_a_mock_config_on_the_virtual_clock() {
    let home = TempHome::new();
    let def = fixture("states/load-and-notify.asl.json");
    let mocks = fixture("states/mock-config.json");
    let run = |case: &str| {
        home.pushfeed(&[
            "--json",
            "states",
            "run",
            def.to_str().unwrap(),
            "--input",
            r#"{"window":"2026-11-26T10:01Z"}"#,
            "--mock-config",
            mocks.to_str().unwrap(),
            "--state-machine",
            "LoadAndNotify",
            "--test-case",
            case,
            "--substitute",
            "LoadFunction=load",
            "--substitute",
            "Topic=arn:aws:sns:eu-west-2:1:t",
            "--fast",
        ])
    };
    let out = run("RetryPath");
    let result: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert_eq!(result["status"], "SUCCEEDED", "{result}");
    assert_eq!(result["output"]["load"]["rows"], 7);
    let failed = result["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "TaskFailed")
        .count();
    assert_eq!(failed, 3, "three failures absorbed by Retry");
    // The backoff of 2 + 4 + 8 s passed on the virtual clock: the history says so.
    let at = |e: &Value| e["timestamp"].as_str().unwrap().to_string();
    let history = result["history"].as_array().unwrap();
    let (first, last) = (at(&history[0]), at(history.last().unwrap()));
    let secs = |t: &str| pushfeed::domain::window::parse_timestamp_ms(t).unwrap() / 1000;
    assert!(secs(&last) - secs(&first) >= 14, "{first} .. {last}");

    let out = run("AlwaysFails");
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["status"], "FAILED");
    assert_eq!(result["error"], "Pushfeed.LoadFailed");
    assert_eq!(result["cause"], "relation push_sends does not exist");
    assert_eq!(
        out.status.code(),
        Some(3),
        "a failed execution is a failed command"
    );

    let out = home.pushfeed(&["states", "run", def.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("add --substitute"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn records_produced_into_a_window_after_its_first_run_are_reported_on_every_rerun() {
    let home = TempHome::new();
    let want = produce_known_events(&home);
    let window = want["window"].as_str().unwrap();
    let first = json_ok(&home.pushfeed(&["--json", "run", "--window", window]));
    assert_eq!(first["beyond_checkpoint"], 0);

    // Three more events arrive in the same window after it ran (a late backfill).
    let late = home.path().join("late.ndjson");
    let text: String = (1..=3)
        .map(|i| {
            format!(
                r#"{{"id":"late-0000-0000-0000-00000000000{i}","occurred":"2026-11-26T10:01:40.000Z","processed":"2026-11-26T10:01:40.500Z","type":"UNINSTALL","device":{{"channel":"0f0e0d0c-0b0a-4909-8807-06050403020{i}","device_type":"ANDROID"}},"body":{{}}}}"#
            ) + "\n"
        })
        .collect();
    std::fs::write(&late, text).unwrap();
    let put = json_ok(&home.pushfeed(&[
        "--json",
        "produce",
        "--file",
        late.to_str().unwrap(),
        "--at",
        "2026-11-26T10:01:45Z",
    ]));
    assert_eq!(put["records"], 3);

    for _ in 0..2 {
        let rerun = json_ok(&home.pushfeed(&["--json", "run", "--window", window]));
        assert_eq!(rerun["read"]["source"], "checkpoint");
        assert_eq!(
            rerun["events"], first["events"],
            "the checkpoint pins the window"
        );
        assert_eq!(rerun["beyond_checkpoint"], 3);
        let note = rerun["beyond_checkpoint_note"].as_str().unwrap();
        assert!(
            note.contains(&format!("remove checkpoints/window={window}.json")),
            "{note}"
        );
        let text = common::stdout(&home.pushfeed(&["run", "--window", window]));
        assert!(text.contains("3 records arrived in window"), "{text}");
    }
    // None of them was loaded.
    assert_eq!(table_ids(&home, "push_uninstalls").len(), 1);

    // Loading them deliberately, as the note says, adds exactly them.
    std::fs::remove_file(
        home.path()
            .join(format!("s3/checkpoints/window={window}.json")),
    )
    .unwrap();
    let reread = json_ok(&home.pushfeed(&["--json", "run", "--window", window]));
    assert_eq!(reread["read"]["source"], "stream");
    assert_eq!(reread["beyond_checkpoint"], 0);
    assert_eq!(table_ids(&home, "push_uninstalls").len(), 4);
}

/// A bucket the Firehose stand-in cannot write into (here `s3/events` is a file, which stops
/// root too): the run fails, and its last stderr line names the stand-in, the bucket and the
/// cause; once the bucket is writable, a re-run loads exactly the known events.
#[test]
fn an_unwritable_bucket_is_named_as_the_cause_and_a_rerun_after_the_fix_loads_everything() {
    let home = TempHome::new();
    let want = produce_known_events(&home);
    let window = want["window"].as_str().unwrap();
    let blocker = home.path().join("s3/events");
    std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    std::fs::write(&blocker, b"not a directory").unwrap();
    let out = home.pushfeed_env(
        &["run", "--window", window],
        &[
            ("PUSHFEED_AWAIT_ATTEMPTS", "2"),
            ("PUSHFEED_SETTLE_SECONDS", "1"),
        ],
    );
    assert!(!out.status.success(), "the run cannot succeed");
    let err = stderr(&out);
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("Firehose stand-in cannot write into")
            && last.contains("Not a directory")
            && last.contains("/s3")
            && last.contains("re-run the window"),
        "the cause is not the last line:\n{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    std::fs::remove_file(&blocker).unwrap();
    let again = json_ok(&home.pushfeed(&["--json", "run", "--window", window]));
    assert_eq!(again["status"], "SUCCEEDED", "{again}");
    assert_eq!(again["adds_up"], true, "{again}");
    assert_eq!(again["events"], 15);
}
