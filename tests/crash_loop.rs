//! `kill -9` of `pushfeed run` at many points of one window's run (reading, delivering,
//! awaiting, loading), each followed by the next attempt, then a run to completion: the tables
//! end exactly as one uninterrupted run of the same records leaves them. The kill points are
//! spread over the measured length of an uninterrupted run, so every step is hit, not one lucky
//! timing.

mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

use common::{json_ok, TempHome};
use serde_json::Value;

const KILLS: u32 = 12;

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(status.success(), "copying {} failed", from.display());
}

/// Per route table: rows, distinct event ids, and a digest of every row's id and raw event.
fn tables(home: &TempHome) -> Vec<Value> {
    let routes: Value =
        serde_json::from_slice(&std::fs::read("config/routes.json").expect("config/routes.json"))
            .unwrap();
    let mut out = Vec::new();
    for route in routes["routes"].as_array().unwrap() {
        let table = route["table"].as_str().unwrap();
        let q = format!(
            "SELECT '{table}' AS t, COUNT(*) AS n, COUNT(DISTINCT event_id) AS ids, \
             md5(COALESCE(string_agg(event_id || ':' || raw::text, ',' ORDER BY event_id), '')) AS digest \
             FROM {table}"
        );
        out.push(json_ok(&home.pushfeed(&["--json", "sql", &q]))[0].clone());
    }
    out
}

fn run(home: &TempHome, window: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pushfeed"));
    cmd.arg("--home")
        .arg(home.path())
        .args(["--json", "run", "--window", window])
        .env("PUSHFEED_FIREHOSE_INTERVAL_MS", "50")
        .env_remove("PUSHFEED_DATABASE_URL")
        .env_remove("PUSHFEED_ROUTES")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

#[test]
fn kill_9_at_any_point_of_a_run_then_a_rerun_leaves_the_tables_exact() {
    let crashed = TempHome::new();
    let gen = json_ok(&crashed.pushfeed(&[
        "--json",
        "generate",
        "--minutes",
        "1",
        "--rate",
        "10",
        "--seed",
        "11",
    ]));
    let window = gen["first_window"].as_str().unwrap().to_string();
    // `run` refuses a window until it has ended and settled (5 s by default): wait for that.
    let settled = window
        .parse::<pushfeed::domain::window::Window>()
        .unwrap()
        .end_ms()
        + 6_000;
    let wait = settled - pushfeed::domain::window::now_ms();
    if wait > 0 {
        std::thread::sleep(std::time::Duration::from_millis(wait as u64));
    }
    // The same records in a second home, run once without interruption: the reference.
    let reference = TempHome::new();
    std::fs::remove_dir(reference.path()).unwrap();
    copy_dir(crashed.path(), reference.path());
    let t = Instant::now();
    let out = run(&reference, &window)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let length = t.elapsed();
    assert!(
        out.status.success(),
        "the uninterrupted run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = tables(&reference);
    assert!(
        want.iter().any(|t| t["n"].as_str().unwrap_or("0") != "0"),
        "the reference loaded rows: {want:?}"
    );

    let mut killed = 0;
    for i in 1..=KILLS {
        let at = length.mul_f64(f64::from(i) / f64::from(KILLS + 1));
        let mut child = run(&crashed, &window).spawn().unwrap();
        std::thread::sleep(at);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert!(
        killed >= KILLS / 2,
        "only {killed} runs were still running when killed"
    );
    // After the crashes, one more run completes, and the tables equal the reference.
    let last = run(&crashed, &window)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let summary = json_ok(&last);
    assert_eq!(summary["status"], "SUCCEEDED", "{summary}");
    assert_eq!(summary["adds_up"], true, "{summary}");
    assert_eq!(tables(&crashed), want, "after {killed} kills");
    // And a re-run after that changes nothing.
    let again = json_ok(
        &run(&crashed, &window)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap(),
    );
    assert_eq!(again["status"], "SUCCEEDED", "{again}");
    assert_eq!(tables(&crashed), want);
}
