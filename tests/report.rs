//! `pushfeed report --out report.html` opened in a real browser: headless Chromium (Debian's
//! `chromium`, which scripts/test installs) takes a screenshot and dumps the laid-out page; every
//! chart rendered, and the figures on the page equal the views'.
//!
//! Without Chromium the test fails, saying how to install it: never skipped.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{json_ok, TempHome};
use pushfeed::adapters::local::stream::{LocalStream, PutRecord};
use serde_json::Value;
use vendor_sim::{generate, History, TrafficProfile};

fn chromium() -> PathBuf {
    let path = std::env::var_os("PUSHFEED_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "Chromium is not at {}: this test opens the report in a real browser. Run scripts/test \
         (as root it runs `apt-get install chromium`), or install Debian's chromium package, or set \
         PUSHFEED_CHROMIUM to the binary",
        path.display()
    );
    path
}

fn headless(browser: &Path, args: &[&str], page: &Path) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--window-size=1000,5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The `data-value`s of table `id`'s body rows.
fn table(dom: &str, id: &str) -> Vec<Vec<String>> {
    let start = dom
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("the page has no table {id}"));
    let end = start + dom[start..].find("</table>").unwrap();
    let body = &dom[start..end];
    let body = &body[body.find("<tbody>").unwrap()..];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("data-value=\"")
                .skip(1)
                .map(|v| v[..v.find('"').unwrap()].replace("&amp;", "&"))
                .collect()
        })
        .collect()
}

/// The query's rows, columns in the order named (the JSON objects' keys are sorted).
fn view(home: &TempHome, sql: &str, columns: &[&str]) -> Vec<Vec<String>> {
    json_ok(&home.pushfeed(&["--json", "sql", sql]))
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| match &r[*c] {
                    Value::Null => "NULL".to_string(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

#[test]
fn the_report_renders_in_chromium_and_its_figures_equal_the_views() {
    let browser = chromium();
    let home = TempHome::new();
    let profile = TrafficProfile {
        minutes: 2,
        rate_per_second: 5.0,
        seed: 5,
        malformed: 0.03,
        history: History {
            days: 28,
            users: 25,
            groups: 4,
            channels_per_group: 120,
        },
        ..TrafficProfile::default()
    };
    let stream = LocalStream::open_or_create(home.path().join("stream/pushfeed"), 4).unwrap();
    stream
        .put_records(
            generate(&profile)
                .into_iter()
                .map(|g| PutRecord {
                    partition_key: g.partition_key,
                    data: g.data,
                    arrival_ms: Some(g.arrival_ms),
                })
                .collect(),
        )
        .unwrap();
    json_ok(&home.pushfeed(&[
        "--json",
        "replay",
        "--from",
        "2026-11-26T10:00Z",
        "--to",
        "2026-11-26T10:01Z",
    ]));
    let page = home.path().join("report.html");
    let out = home.pushfeed(&["report", "--out", page.to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing is fetched (the SVGs' xmlns is a name, not a fetch).
    assert!(!html.contains("<link") && !html.contains("src=") && !html.contains("url("));

    let shot = home.path().join("report.png");
    headless(
        &browser,
        &[&format!("--screenshot={}", shot.display())],
        &page,
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );

    let dom = String::from_utf8(headless(&browser, &["--dump-dom"], &page).stdout).unwrap();
    for chart in [
        "chart-windows",
        "chart-tables",
        "chart-rejections",
        "chart-hours",
        "chart-heatmap",
        "chart-holdout",
    ] {
        let at = dom
            .find(&format!("id=\"{chart}\""))
            .unwrap_or_else(|| panic!("no {chart} on the page"));
        let tag = &dom[dom[..at].rfind('<').unwrap()..at + dom[at..].find('>').unwrap()];
        assert!(
            tag.contains("data-rendered=\"true\""),
            "{chart} did not render: {tag}"
        );
    }

    assert_eq!(
        table(&dom, "holdout"),
        view(&home, "SELECT group_id, treated, control, treated_rate, control_rate, abs_lift, abs_lift_low, abs_lift_high FROM push_holdout_uplift ORDER BY group_id", &["group_id", "treated", "control", "treated_rate", "control_rate", "abs_lift", "abs_lift_low", "abs_lift_high"])
    );
    assert!(table(&dom, "holdout").len() >= 4);
    assert_eq!(
        table(&dom, "campaigns"),
        view(&home, "SELECT push_id, group_id, sends, direct_opens, attributed_opens, direct_open_rate, attributed_open_rate FROM push_campaign_performance ORDER BY sends DESC, push_id LIMIT 20", &["push_id", "group_id", "sends", "direct_opens", "attributed_opens", "direct_open_rate", "attributed_open_rate"])
    );
    assert_eq!(
        table(&dom, "hours"),
        view(&home, "SELECT best_local_hour, count(*) AS users FROM customer_send_hours GROUP BY 1 ORDER BY 1", &["best_local_hour", "users"])
    );
    assert_eq!(
        table(&dom, "freshness"),
        view(&home, "SELECT table_name, max(window_start) AS w, max(loaded_at) AS l FROM pushfeed_loads GROUP BY 1 ORDER BY 1", &["table_name", "w", "l"])
    );
    let windows = view(
        &home,
        "SELECT window_start, sum(rows_inserted) AS n FROM pushfeed_loads GROUP BY 1 ORDER BY 1",
        &["window_start", "n"],
    );
    assert_eq!(table(&dom, "windows"), windows);
    assert_eq!(windows.len(), 2);
    let rejected: usize = table(&dom, "rejections")
        .iter()
        .map(|r| r[1].parse::<usize>().unwrap())
        .sum();
    assert!(rejected > 0, "the traffic had malformed records");
}
