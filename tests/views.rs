//! The analyst views' numbers, pinned on hand-built vendor events run through the product: the
//! `pushfeed` binary produces them into the local stream, runs their window through the state
//! machine into a private PostgreSQL, and the views are read back with `pushfeed sql`.
//!
//! One home holds four scenarios that do not disturb each other: campaign performance (pushes
//! `p1`, `p4`, `pe`), holdout uplift (groups `g1`, `gh`, `ge`), customer send hours (users `u*`,
//! the only named users with opens in the last 60 days) and customer push engagement (users
//! `e*`, whose pushes were opened long before those 60 days). Every expected figure below was
//! worked out by hand from the definitions in docs/analysts.md.

mod common;

use common::{json_ok, TempHome};
use pushfeed::domain::window::{format_timestamp_ms, parse_timestamp_ms};
use serde_json::{json, Value};

const ARRIVAL: &str = "2026-11-26T10:01:30Z";
const WINDOW: &str = "2026-11-26T10:01Z";
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn ms(t: &str) -> i64 {
    parse_timestamp_ms(t).unwrap_or_else(|| panic!("bad test time {t}"))
}

/// Scenario A's sends.
fn t0() -> i64 {
    ms("2026-11-20T10:00:00Z")
}
/// Scenario B's first sends and controls.
fn th() -> i64 {
    ms("2026-11-21T12:00:00Z")
}
/// The latest send of all (h1's second push): the engagement view's reference.
fn r_send() -> i64 {
    th() + 2 * HOUR
}

#[derive(Default)]
struct Events {
    lines: Vec<String>,
    n: usize,
}

impl Events {
    fn push(&mut self, id: &str, ty: &str, at: i64, device: Value, body: Value) {
        let event = json!({
            "id": id,
            "type": ty,
            "occurred": format_timestamp_ms(at),
            "processed": format_timestamp_ms(at + 1000),
            "device": device,
            "body": body,
        });
        self.lines.push(event.to_string());
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.n += 1;
        format!("{prefix}-{:04}", self.n)
    }

    fn send(&mut self, device: Value, push: &str, group: Option<&str>, at: i64) {
        let id = self.next_id("send");
        self.push(&id, "SEND", at, device, push_body(push, group));
    }

    fn control(&mut self, device: Value, push: &str, group: &str, at: i64) {
        let id = self.next_id("control");
        self.push(&id, "CONTROL", at, device, push_body(push, Some(group)));
    }

    /// `kind` is `direct` (the push was tapped), `influenced` or `organic` (no push).
    fn open(&mut self, device: Value, kind: &str, push: Option<&str>, at: i64) -> String {
        let id = self.next_id("open");
        let body = match (kind, push) {
            ("direct", Some(p)) => json!({"triggering_push": {"push_id": p}}),
            ("influenced", Some(p)) => json!({"last_delivered": {"push_id": p}}),
            ("organic", None) => json!({}),
            other => panic!("no such open {other:?}"),
        };
        self.push(&id, "OPEN", at, device, body);
        id
    }
}

fn push_body(push: &str, group: Option<&str>) -> Value {
    match group {
        Some(g) => json!({"push_id": push, "group_id": g}),
        None => json!({"push_id": push}),
    }
}

/// A device: its channel, and optionally a named user and an `iana_timezone` attribute.
fn dev(channel: &str, user: Option<&str>, zone: Option<&str>) -> Value {
    let mut d = json!({"channel": channel, "device_type": "IOS"});
    if let Some(u) = user {
        d["named_user_id"] = json!(u);
    }
    if let Some(z) = zone {
        d["attributes"] = json!({"iana_timezone": z});
    }
    d
}

fn anon(channel: &str) -> Value {
    dev(channel, None, Some("Europe/London"))
}

/// Scenario A: campaign performance.
fn campaign(e: &mut Events) {
    let t0 = t0();
    // p1 (group g1): four channels sent, c1 twice; a send without a device is the earliest SEND
    // but no channel.
    e.send(anon("c1"), "p1", Some("g1"), t0);
    e.send(anon("c1"), "p1", Some("g1"), t0 + HOUR);
    for c in ["c2", "c3", "c4"] {
        e.send(anon(c), "p1", Some("g1"), t0);
    }
    let id = e.next_id("send");
    e.push(
        &id,
        "SEND",
        t0 - 60_000,
        Value::Null,
        push_body("p1", Some("g1")),
    );
    let id = e.next_id("rejected");
    e.push(
        &id,
        "SEND_REJECTED",
        t0,
        anon("c5"),
        json!({"push_id": "p1", "reason": "Unregistered"}),
    );
    for at in [t0, t0 + 1000] {
        let id = e.next_id("aborted");
        e.push(
            &id,
            "SEND_ABORTED",
            at,
            anon("c6"),
            json!({"push_id": "p1", "reason": "UNKNOWN"}),
        );
    }
    e.control(anon("c7"), "p1", "g1", t0);
    // Direct at any time: c1 (twice), c3 (after 12 h) and c8 (never sent). Attributed, within
    // [s, s + 12 h] of the channel's first send: c1, and c2 influenced at exactly s + 12 h.
    e.open(anon("c1"), "direct", Some("p1"), t0 + HOUR / 2);
    e.open(anon("c1"), "direct", Some("p1"), t0 + 2 * HOUR / 3);
    e.open(anon("c2"), "influenced", Some("p1"), t0 + 12 * HOUR);
    e.open(anon("c3"), "direct", Some("p1"), t0 + 12 * HOUR + 1);
    e.open(anon("c4"), "influenced", Some("p1"), t0 - 1000);
    e.open(anon("c8"), "direct", Some("p1"), t0 + HOUR);
    // A push only ever opened has no row.
    e.open(anon("c8"), "direct", Some("po"), t0 + HOUR);
    // p4: only rejected, so no sends and its rates divide by zero.
    let id = e.next_id("rejected");
    e.push(
        &id,
        "SEND_REJECTED",
        t0,
        anon("c9"),
        json!({"push_id": "p4", "reason": "BadDeviceToken"}),
    );
}

/// Scenario B: holdout uplift. g1 also gets a row, from scenario A's control.
fn holdout(e: &mut Events) {
    let th = th();
    // gh: h1..h4 treated (h1 sent twice), h5 and h6 held out (h5 twice), h7 sent and held out:
    // a control, from its CONTROL.
    for h in ["h1", "h2", "h3", "h4", "h7"] {
        e.send(anon(h), "ph1", Some("gh"), th);
    }
    e.send(anon("h1"), "ph2", Some("gh"), r_send());
    e.control(anon("h5"), "ph1", "gh", th);
    e.control(anon("h5"), "ph1", "gh", th + DAY);
    e.control(anon("h6"), "ph1", "gh", th);
    e.control(anon("h7"), "ph2", "gh", th + HOUR);
    // Opened within [t, t + 12 h], any kind: h1 (at t + 12 h), h3, h5, h7 (at its own t + 12 h);
    // not h2 (1 ms late), h6 (before t), nor h7's open before its CONTROL.
    e.open(anon("h1"), "organic", None, th + 12 * HOUR);
    e.open(anon("h2"), "direct", Some("ph1"), th + 12 * HOUR + 1);
    e.open(anon("h3"), "influenced", Some("ph1"), th + HOUR);
    e.open(anon("h5"), "organic", None, th + 2 * HOUR);
    e.open(anon("h6"), "organic", None, th - 60_000);
    e.open(anon("h7"), "organic", None, th + HOUR / 2);
    e.open(anon("h7"), "organic", None, th + 13 * HOUR);
    // ge: a control and nobody treated.
    e.control(anon("x1"), "pe", "ge", t0());
}

/// Scenario C: customer send hours, over the 60 days up to 2026-11-26T09:00Z.
fn send_hours(e: &mut Events) -> Vec<String> {
    fn opened(e: &mut Events, user: &str, zone: Option<&str>, times: &[&str]) -> Vec<String> {
        let device = dev(&format!("ch-{user}"), Some(user), zone);
        times
            .iter()
            .map(|t| e.open(device.clone(), "organic", None, ms(t)))
            .collect()
    }
    let london = Some("Europe/London");
    // uA: 18:30 London, three opens in BST (17:30Z) and two in GMT (18:30Z).
    let ua = opened(
        e,
        "uA",
        london,
        &[
            "2026-10-05T17:30:00Z",
            "2026-10-12T17:30:00Z",
            "2026-10-19T17:30:00Z",
            "2026-10-26T18:30:00Z",
            "2026-11-02T18:30:00Z",
        ],
    );
    // uN: 08:15 New York, EDT (12:15Z) until 1 November, then EST (13:15Z).
    opened(
        e,
        "uN",
        Some("America/New_York"),
        &[
            "2026-10-06T12:15:00Z",
            "2026-10-13T12:15:00Z",
            "2026-10-20T12:15:00Z",
            "2026-11-03T13:15:00Z",
            "2026-11-10T13:15:00Z",
        ],
    );
    // uT: three opens at 10 and three at 14; those hours have equal population shares: a tie.
    opened(
        e,
        "uT",
        london,
        &[
            "2026-11-03T10:05:00Z",
            "2026-11-04T10:05:00Z",
            "2026-11-05T10:05:00Z",
            "2026-11-03T14:05:00Z",
            "2026-11-04T14:05:00Z",
            "2026-11-05T14:05:00Z",
        ],
    );
    // uI: a zone not in the database counts as London: 06:30Z in BST is hour 7.
    opened(
        e,
        "uI",
        Some("Mars/Olympus_Mons"),
        &[
            "2026-10-01T06:30:00Z",
            "2026-10-02T06:30:00Z",
            "2026-10-03T06:30:00Z",
            "2026-10-04T06:30:00Z",
            "2026-10-06T06:30:00Z",
        ],
    );
    // uF: three opens at 22 but two at 7, where the population's opens are: 7 wins.
    opened(
        e,
        "uF",
        london,
        &[
            "2026-11-10T07:10:00Z",
            "2026-11-11T07:10:00Z",
            "2026-11-10T22:10:00Z",
            "2026-11-11T22:10:00Z",
            "2026-11-12T22:10:00Z",
        ],
    );
    // uP: four opens, below five: the population's hour.
    opened(
        e,
        "uP",
        london,
        &[
            "2026-11-13T08:20:00Z",
            "2026-11-14T08:20:00Z",
            "2026-11-13T18:20:00Z",
            "2026-11-14T18:20:00Z",
        ],
    );
    // uM: no zone at all (London, BST): hour 21.
    opened(
        e,
        "uM",
        None,
        &["2026-10-10T20:30:00Z", "2026-10-12T20:30:00Z"],
    );
    // uB: Dubai (13:00); its open at exactly ref - 60 days is out, 1 ms later is in; its
    // open at ref is the latest of all.
    opened(
        e,
        "uB",
        Some("Asia/Dubai"),
        &[
            "2026-09-27T09:00:00Z",
            "2026-09-27T09:00:00.001Z",
            "2026-11-26T09:00:00Z",
        ],
    );
    // uX: only an open at exactly ref - 60 days: no row.
    opened(e, "uX", london, &["2026-09-27T09:00:00Z"]);
    ua
}

/// Scenario D: customer push engagement, over the 180 days up to 2026-11-21T14:00Z.
fn engagement(e: &mut Events) {
    let ea = dev("ea", Some("eU1"), Some("Europe/London"));
    let eb = dev("eb", Some("eU1"), Some("Europe/London"));
    // eU1: e1 to both its channels, e2 twice to one, e3, e4; e9 before the 180 days.
    e.send(ea.clone(), "e1", None, ms("2026-06-01T10:00:00Z"));
    e.send(eb.clone(), "e1", None, ms("2026-06-01T10:00:00Z"));
    e.send(ea.clone(), "e2", None, ms("2026-06-10T10:00:00Z"));
    e.send(ea.clone(), "e2", None, ms("2026-06-10T11:00:00Z"));
    e.send(ea.clone(), "e3", None, ms("2026-07-01T10:00:00Z"));
    e.send(eb.clone(), "e4", None, ms("2026-08-01T10:00:00Z"));
    e.send(ea.clone(), "e9", None, ms("2026-05-20T10:00:00Z"));
    // Opened directly: e1 (on the other channel), e3 (twice); e4 only influenced; e9 directly
    // but it was not received in the period.
    e.open(eb.clone(), "direct", Some("e1"), ms("2026-06-01T11:00:00Z"));
    e.open(ea.clone(), "direct", Some("e3"), ms("2026-07-01T10:30:00Z"));
    e.open(ea.clone(), "direct", Some("e3"), ms("2026-07-01T10:45:00Z"));
    e.open(
        eb.clone(),
        "influenced",
        Some("e4"),
        ms("2026-08-01T12:00:00Z"),
    );
    e.open(ea.clone(), "direct", Some("e9"), ms("2026-09-01T10:00:00Z"));
    // eU2: two pushes, none opened.
    let ec = dev("ec", Some("eU2"), None);
    e.send(ec.clone(), "e1", None, ms("2026-06-01T10:00:00Z"));
    e.send(ec.clone(), "e2", None, ms("2026-06-10T10:00:00Z"));
    // eU3: e5 at exactly ref - 180 days is out; e6 1 ms later, e8 and e7 at ref are in: three.
    let ed = dev("ed", Some("eU3"), Some("Europe/London"));
    let start = r_send() - 180 * DAY;
    e.send(ed.clone(), "e5", None, start);
    e.send(ed.clone(), "e6", None, start + 1);
    e.send(ed.clone(), "e8", None, ms("2026-08-15T10:00:00Z"));
    e.send(ed.clone(), "e7", None, r_send());
    e.open(ed.clone(), "direct", Some("e5"), start + DAY);
    // eU4: only a send at exactly ref - 180 days: no row.
    e.send(dev("ee", Some("eU4"), None), "e5", None, start);
}

/// Unnamed opens at the instants the clocks change, for the `occurred_local` column itself.
fn clock_changes(e: &mut Events) {
    for (id, zone, at) in [
        (
            "dst-lon-spring-a",
            "Europe/London",
            "2026-03-29T00:59:59.999Z",
        ),
        ("dst-lon-spring-b", "Europe/London", "2026-03-29T01:00:00Z"),
        (
            "dst-lon-autumn-a",
            "Europe/London",
            "2026-10-25T00:59:59.999Z",
        ),
        ("dst-lon-autumn-b", "Europe/London", "2026-10-25T01:00:00Z"),
        (
            "dst-ny-spring-a",
            "America/New_York",
            "2026-03-08T06:59:59.999Z",
        ),
        (
            "dst-ny-spring-b",
            "America/New_York",
            "2026-03-08T07:00:00Z",
        ),
        (
            "dst-ny-autumn-a",
            "America/New_York",
            "2026-11-01T05:59:59.999Z",
        ),
        (
            "dst-ny-autumn-b",
            "America/New_York",
            "2026-11-01T06:00:00Z",
        ),
        ("dst-bad-zone", "Mars/Olympus_Mons", "2026-07-01T12:00:00Z"),
    ] {
        e.push(id, "OPEN", ms(at), dev("dst", None, Some(zone)), json!({}));
    }
}

/// Runs every scenario's events through one window and returns the home.
fn loaded_home() -> TempHome {
    let mut e = Events::default();
    campaign(&mut e);
    holdout(&mut e);
    let ua = send_hours(&mut e);
    engagement(&mut e);
    clock_changes(&mut e);
    // The vendor delivers one of uA's opens twice: it is one event, loaded once.
    let first = e
        .lines
        .iter()
        .find(|l| l.contains(&format!("\"{}\"", ua[0])))
        .unwrap();
    let mut again: Value = serde_json::from_str(first).unwrap();
    again["processed"] = json!("2026-11-26T10:00:00.000Z");
    e.lines.push(again.to_string());

    let home = TempHome::new();
    let file = home.path().join("events.ndjson");
    std::fs::write(&file, e.lines.join("\n") + "\n").unwrap();
    json_ok(&home.pushfeed(&[
        "--json",
        "produce",
        "--file",
        file.to_str().unwrap(),
        "--at",
        ARRIVAL,
    ]));
    let run = json_ok(&home.pushfeed(&["--json", "run", "--window", WINDOW]));
    assert_eq!(run["rejected"]["count"], 0, "{run}");
    assert_eq!(run["duplicates"], 1, "{run}");
    assert_eq!(run["adds_up"], true, "{run}");
    home
}

type Row = serde_json::Map<String, Value>;

fn rows(home: &TempHome, sql: &str) -> Vec<Row> {
    let out = json_ok(&home.pushfeed(&["--json", "sql", sql]));
    out.as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_object().unwrap().clone())
        .collect()
}

/// The named columns of each row as text, `NULL` for a null, to compare whole rows at once.
fn text(rows: &[Row], columns: &str) -> Vec<String> {
    rows.iter()
        .map(|r| {
            columns
                .split(", ")
                .map(|c| match &r[c] {
                    Value::Null => "NULL".to_string(),
                    v => v.as_str().unwrap().to_string(),
                })
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect()
}

fn float(row: &Row, column: &str) -> Option<f64> {
    row[column].as_str().map(|s| s.parse().unwrap())
}

const CAMPAIGN_COLUMNS: &str = "push_id, group_id, first_sent_at, sends, rejected, aborted, controls, direct_opens, attributed_opens, direct_open_rate, attributed_open_rate";
const HOLDOUT_COUNTS: &str =
    "group_id, treated, control, treated_opened, control_opened, treated_rate, control_rate";
const SEND_HOURS_COLUMNS: &str = "named_user_id, opens, best_local_hour, basis";
const ENGAGEMENT_COLUMNS: &str =
    "named_user_id, pushes_received, pushes_opened, open_rate, last_direct_open_at, basis";

#[test]
fn the_views_pin_their_numbers_on_hand_built_events() {
    let home = loaded_home();

    // The columns, their order and types, exactly as docs/analysts.md lists them.
    let columns = rows(
        &home,
        "SELECT table_name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) \
         FROM information_schema.columns WHERE table_name IN ('push_campaign_performance', 'push_holdout_uplift', \
         'customer_send_hours', 'customer_push_engagement') GROUP BY table_name ORDER BY table_name",
    );
    assert_eq!(
        text(&columns, "table_name, string_agg"),
        [
            "customer_push_engagement | named_user_id text, pushes_received bigint, pushes_opened bigint, open_rate double precision, last_direct_open_at timestamp with time zone, basis text",
            "customer_send_hours | named_user_id text, opens bigint, best_local_hour integer, basis text",
            "push_campaign_performance | push_id text, group_id text, first_sent_at timestamp with time zone, sends bigint, rejected bigint, aborted bigint, controls bigint, direct_opens bigint, attributed_opens bigint, direct_open_rate double precision, attributed_open_rate double precision",
            "push_holdout_uplift | group_id text, treated bigint, control bigint, treated_opened bigint, control_opened bigint, treated_rate double precision, control_rate double precision, abs_lift double precision, abs_lift_low double precision, abs_lift_high double precision",
        ]
    );

    // The local wall-clock time of each event, across every clock change of 2026 in both zones.
    let local = rows(
        &home,
        "SELECT event_id, occurred_local FROM push_opens WHERE event_id LIKE 'dst-%' ORDER BY event_id",
    );
    assert_eq!(
        text(&local, "event_id, occurred_local"),
        [
            "dst-bad-zone | 2026-07-01 13:00:00",
            "dst-lon-autumn-a | 2026-10-25 01:59:59.999",
            "dst-lon-autumn-b | 2026-10-25 01:00:00",
            "dst-lon-spring-a | 2026-03-29 00:59:59.999",
            "dst-lon-spring-b | 2026-03-29 02:00:00",
            "dst-ny-autumn-a | 2026-11-01 01:59:59.999",
            "dst-ny-autumn-b | 2026-11-01 01:00:00",
            "dst-ny-spring-a | 2026-03-08 01:59:59.999",
            "dst-ny-spring-b | 2026-03-08 03:00:00",
        ]
    );

    // The references the look-back windows end at: uB's last open and h1's second send.
    let refs = rows(
        &home,
        "SELECT (SELECT max(occurred_at) FROM push_opens) AS opens, (SELECT max(occurred_at) FROM push_sends) AS sends",
    );
    assert_eq!(
        text(&refs, "opens, sends"),
        ["2026-11-26 09:00:00+00 | 2026-11-21 14:00:00+00"]
    );

    let campaigns = rows(
        &home,
        "SELECT * FROM push_campaign_performance WHERE push_id IN ('p1', 'p4', 'pe', 'ph1', 'ph2', 'po') ORDER BY push_id",
    );
    assert_eq!(
        text(&campaigns, CAMPAIGN_COLUMNS),
        [
            // first_sent_at is the device-less send, a minute before the others; c1's two sends,
            // c6's two aborts and c1's two opens count once; c4 opened before its send.
            "p1 | g1 | 2026-11-20 09:59:00+00 | 4 | 1 | 1 | 1 | 3 | 2 | 0.75 | 0.5",
            "p4 | NULL | NULL | 0 | 1 | 0 | 0 | 0 | 0 | NULL | NULL",
            "pe | ge | NULL | 0 | 0 | 0 | 1 | 0 | 0 | NULL | NULL",
            "ph1 | gh | 2026-11-21 12:00:00+00 | 5 | 0 | 0 | 2 | 1 | 1 | 0.2 | 0.2",
            "ph2 | gh | 2026-11-21 14:00:00+00 | 1 | 0 | 0 | 1 | 0 | 0 | 0 | 0",
        ]
    );
    let all = rows(&home, "SELECT count(*) FROM push_campaign_performance");
    // p1 p4 pe ph1 ph2 and e1..e9; not po, which was only opened.
    assert_eq!(text(&all, "count"), ["14"]);

    let holdouts = rows(&home, "SELECT * FROM push_holdout_uplift ORDER BY group_id");
    assert_eq!(
        text(&holdouts, HOLDOUT_COUNTS),
        [
            "g1 | 4 | 1 | 2 | 0 | 0.5 | 0",
            "ge | 0 | 1 | 0 | 0 | NULL | 0",
            "gh | 4 | 3 | 2 | 2 | 0.5 | 0.6666666666666666",
        ]
    );
    let interval = |pt: f64, nt: f64, pc: f64, nc: f64| {
        let lift = pt - pc;
        let half = 1.96 * (pt * (1.0 - pt) / nt + pc * (1.0 - pc) / nc).sqrt();
        (lift, lift - half, lift + half)
    };
    for (row, want) in holdouts.iter().zip([
        Some(interval(0.5, 4.0, 0.0, 1.0)),
        None,
        Some(interval(0.5, 4.0, 2.0 / 3.0, 3.0)),
    ]) {
        let got = (
            float(row, "abs_lift"),
            float(row, "abs_lift_low"),
            float(row, "abs_lift_high"),
        );
        match want {
            None => assert_eq!(got, (None, None, None), "an empty group has no lift"),
            Some((lift, low, high)) => {
                for (g, w) in [(got.0, lift), (got.1, low), (got.2, high)] {
                    let g = g.unwrap();
                    assert!((g - w).abs() < 1e-12, "{row:?}: {g} vs {w}");
                }
            }
        }
    }
    // g1: 0.5 ± 1.96 * sqrt(0.25 / 4) = [0.01, 0.99]; gh: -1/6 ± 0.7243...
    assert!((float(&holdouts[0], "abs_lift_low").unwrap() - 0.01).abs() < 1e-12);
    assert!((float(&holdouts[2], "abs_lift").unwrap() + 1.0 / 6.0).abs() < 1e-12);

    let hours = rows(
        &home,
        "SELECT * FROM customer_send_hours ORDER BY named_user_id",
    );
    assert_eq!(
        text(&hours, SEND_HOURS_COLUMNS),
        [
            "uA | 5 | 18 | customer",
            "uB | 2 | 7 | population",
            "uF | 5 | 7 | customer",
            "uI | 5 | 7 | customer",
            "uM | 2 | 7 | population",
            "uN | 5 | 8 | customer",
            "uP | 4 | 7 | population",
            "uT | 6 | 10 | customer",
        ]
    );
    // An analyst whose session is in London (across the October change) gets the same answer.
    let in_london = rows(
        &home,
        "SET TIME ZONE 'Europe/London'; SELECT * FROM customer_send_hours ORDER BY named_user_id",
    );
    assert_eq!(
        text(&in_london, SEND_HOURS_COLUMNS),
        text(&hours, SEND_HOURS_COLUMNS)
    );

    let engagement = rows(
        &home,
        "SELECT * FROM customer_push_engagement ORDER BY named_user_id",
    );
    assert_eq!(
        text(&engagement, ENGAGEMENT_COLUMNS),
        [
            "eU1 | 4 | 2 | 0.5 | 2026-07-01 10:45:00+00 | customer",
            "eU2 | 2 | 0 | 0 | NULL | not_enough_data",
            "eU3 | 3 | 0 | 0 | NULL | customer",
        ]
    );
}
