//! The analysts' read-only group in the Redshift dialect, through the real Redshift adapter on the
//! Redshift harness: `schema --aws`'s steps create `pushfeed_analysts` once and grant SELECT on
//! every table and (materialized) view, again after the views are re-created; a login made with
//! the README's SQL reads them all and is refused every write. The Redshift-dialect views give
//! the PostgreSQL views' rows on the same events, and `pushfeed report --aws` reads them through
//! the Data API.
#![cfg(feature = "aws")]

mod conformance;
mod harness;

use std::sync::Arc;

use conformance::postgres::Postgres;
use pushfeed::adapters::aws::{RedshiftAuth, RedshiftTarget, RedshiftWarehouse};
use pushfeed::adapters::local::object_store::LocalObjectStore;
use pushfeed::domain::access::{add_analyst_example, readable, ANALYST_GROUP};
use pushfeed::domain::routes::RoutingTable;
use pushfeed::ports::Warehouse;

#[tokio::test]
async fn an_analyst_login_reads_every_table_and_view_and_cannot_write() {
    let pg = Postgres::start().await;
    let conninfo = pg.database("pushfeed").await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalObjectStore::new(dir.path(), "pushfeed-harness"));
    let harness = harness::harness(&conninfo, store).await;
    let admin = harness::warehouse(&harness).await;
    let routes = RoutingTable::default_routes();

    pushfeed::analysts::apply_schema(&admin, routes.routes())
        .await
        .unwrap();
    assert!(pushfeed::analysts::group_exists(&admin).await.unwrap());
    // Applied again: the group exists, so it is not created twice (Redshift's CREATE GROUP
    // would fail), the views are dropped and re-created, and the grants given again.
    pushfeed::analysts::apply_schema(&admin, routes.routes())
        .await
        .unwrap();
    let creates = harness
        .received()
        .iter()
        .flatten()
        .filter(|s| s.starts_with(&format!("CREATE GROUP {ANALYST_GROUP}")))
        .count();
    assert_eq!(creates, 1, "the group is created once");

    // The README's statements, as the admin runs them.
    let [create_user, _] = add_analyst_example("analyst_alice", "A-strong-password-1");
    admin.apply_schema(&[create_user]).await.unwrap();

    let analyst = RedshiftWarehouse::new(
        harness::data_api_client(harness.endpoint()).await,
        RedshiftTarget::Cluster("harness".into()),
        "pushfeed",
        RedshiftAuth::DbUser("analyst_alice".into()),
    );
    for object in readable(routes.routes()) {
        let r = analyst
            .query(&format!("SELECT COUNT(*) FROM {object}"))
            .await
            .unwrap_or_else(|e| panic!("the analyst cannot read {object}: {e}"));
        assert_eq!(r.rows.len(), 1, "{object}");
    }
    let denied = |e: pushfeed::ports::PortError| {
        let text = e.to_string();
        assert!(
            text.contains("permission denied") || text.contains("must be owner"),
            "{text}"
        );
    };
    for write in [
        "INSERT INTO push_opens (event_id) VALUES ('analyst-was-here')".to_string(),
        "UPDATE push_sends SET push_id = 'x'".into(),
        "DELETE FROM pushfeed_loads".into(),
        "TRUNCATE push_controls".into(),
        "DROP TABLE push_uninstalls".into(),
        "ALTER TABLE push_opens ADD COLUMN note VARCHAR(10)".into(),
        "DROP MATERIALIZED VIEW customer_send_hours".into(),
        "REFRESH MATERIALIZED VIEW push_holdout_uplift".into(),
    ] {
        let e = analyst
            .apply_schema(std::slice::from_ref(&write))
            .await
            .expect_err(&format!("the analyst ran `{write}`"));
        denied(e);
    }
    // The admin still can.
    admin
        .apply_schema(&["REFRESH MATERIALIZED VIEW push_holdout_uplift".to_string()])
        .await
        .unwrap();
}

/// The `data-value`s of every cell of table `id` on the page, row by row.
fn cells(page: &str, id: &str) -> Vec<Vec<String>> {
    let start = page
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("the page has no table {id}"));
    let body = &page[start..start + page[start..].find("</table>").unwrap()];
    let body = &body[body.find("<tbody>").unwrap()..];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("data-value=\"")
                .skip(1)
                .map(|v| v[..v.find('"').unwrap()].to_string())
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_aws_reads_the_views_through_the_data_api() {
    let pg = Postgres::start().await;
    let conninfo = pg.database("pushfeed").await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalObjectStore::new(dir.path(), "pushfeed-harness"));
    let harness = harness::harness(&conninfo, store).await;
    let admin = harness::warehouse(&harness).await;
    let routes = RoutingTable::default_routes();
    pushfeed::analysts::apply_schema(&admin, routes.routes())
        .await
        .unwrap();
    // Two channels sent push p1 in group g1, one of them opened it directly an hour later; a
    // third channel is g1's control; one window in the ledger.
    let w = "2026-12-01 10:00:00+00";
    let rows = [
        format!("INSERT INTO push_sends (event_id, occurred_at, window_start, channel_id, named_user_id, push_id, group_id) VALUES ('s1', '2026-12-01 10:00:05+00', '{w}', 'c1', 'u1', 'p1', 'g1'), ('s2', '2026-12-01 10:00:06+00', '{w}', 'c2', 'u2', 'p1', 'g1')"),
        format!("INSERT INTO push_controls (event_id, occurred_at, window_start, channel_id, named_user_id, push_id, group_id) VALUES ('k1', '2026-12-01 10:00:07+00', '{w}', 'c3', 'u3', 'p1', 'g1')"),
        format!("INSERT INTO push_opens (event_id, occurred_at, window_start, channel_id, named_user_id, push_id, open_kind) VALUES ('o1', '2026-12-01 11:00:00+00', '{w}', 'c1', 'u1', 'p1', 'direct')"),
        format!("INSERT INTO pushfeed_loads (window_start, event_type, table_name, batch_id, object_count, rows_staged, rows_inserted, rows_replaced) VALUES ('{w}', 'SEND', 'push_sends', 'b1', 1, 2, 2, 0)"),
    ];
    admin.apply_schema(&rows).await.unwrap();
    let refresh: Vec<String> = pushfeed::domain::views::views(routes.routes())
        .iter()
        .map(|v| format!("REFRESH MATERIALIZED VIEW {}", v.name))
        .collect();
    admin.apply_schema(&refresh).await.unwrap();

    let out_dir = tempfile::tempdir().unwrap();
    let page_path = out_dir.path().join("report.html");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pushfeed"))
        .arg("--home")
        .arg(out_dir.path().join("home"))
        .args([
            "report",
            "--aws",
            "--workgroup",
            "harness",
            "--database",
            "pushfeed",
            "--out",
        ])
        .arg(&page_path)
        .env("AWS_ENDPOINT_URL_REDSHIFT_DATA", harness.endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "harness")
        .env("AWS_SECRET_ACCESS_KEY", "harness")
        .env_remove("AWS_PROFILE")
        .env_remove("PUSHFEED_ROUTES")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&page_path).unwrap();
    // The campaign row: p1, g1, two sends, one direct open, a rate of one half.
    let campaigns = cells(&page, "campaigns");
    assert_eq!(campaigns.len(), 1, "{campaigns:?}");
    let row = &campaigns[0];
    assert_eq!(row[0], "p1", "{row:?}");
    assert!(row.contains(&"g1".to_string()), "{row:?}");
    assert!(row.contains(&"0.5".to_string()), "{row:?}");
    // The same figures the in-process adapter gathers from the same views.
    let local = pushfeed::analysts::report::gather(&admin, None, routes.routes())
        .await
        .unwrap();
    let expected =
        pushfeed::analysts::report::render(&local, "pushfeed: the analysts' report", "now")
            .unwrap();
    for id in ["campaigns", "freshness"] {
        assert_eq!(cells(&page, id), cells(&expected, id), "table {id}");
    }
    // No process went to anything but the harness: the page names the window it loaded.
    assert!(
        page.contains("2026-12-01"),
        "the windows chart has the ledger's window"
    );
}

/// A value as both warehouses can agree on it: numbers to nine decimals, timestamps without the
/// `T`, a UTC suffix or zero milliseconds.
fn normalized(v: &Option<String>) -> String {
    let Some(v) = v else {
        return "NULL".into();
    };
    if let Ok(x) = v.parse::<f64>() {
        return format!("{x:.9}");
    }
    let mut t = v.replacen('T', " ", 1);
    for suffix in ["Z", "+00:00", "+00"] {
        if let Some(s) = t.strip_suffix(suffix) {
            t = s.to_string();
        }
    }
    if let Some(s) = t.strip_suffix(".000") {
        t = s.to_string();
    }
    t
}

async fn view_rows(w: &dyn Warehouse, view: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let r = w
        .query(&format!("SELECT * FROM {view}"))
        .await
        .unwrap_or_else(|e| panic!("{view}: {e}"));
    let mut rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| row.iter().map(normalized).collect())
        .collect();
    rows.sort();
    (r.columns, rows)
}

/// Hand-built events over a month that crosses both daylight-saving ends (Europe 25 October,
/// the US 1 November), with an invalid and a missing zone, sends, controls and opens of every
/// kind inside and outside the 12-hour attribution window, as INSERTs both warehouses run.
fn month_of_events() -> Vec<String> {
    let zones = [
        Some("Europe/London"),
        Some("America/New_York"),
        Some("Asia/Kolkata"),
        Some("Australia/Sydney"),
        Some("Not/AZone"),
        None,
    ];
    let base = pushfeed::domain::window::parse_timestamp_ms("2026-10-20T08:00:00Z").unwrap();
    let ts = |ms: i64| pushfeed::domain::window::format_timestamp_ms(ms);
    let local = |ms: i64, zone: Option<&str>| {
        let l = ts(pushfeed::domain::local_time::local_ms(ms, zone));
        l.replacen('T', " ", 1).trim_end_matches('Z').to_string()
    };
    let quote = |z: Option<&str>| z.map_or("NULL".to_string(), |z| format!("'{z}'"));
    let (mut sends, mut controls, mut opens) = (Vec::new(), Vec::new(), Vec::new());
    for p in 0..8i64 {
        let group = format!("g{}", p % 3);
        for u in 0..14i64 {
            let zone = zones[(u % 6) as usize];
            let at = base + p * 2 * 86_400_000 + u * 37 * 60_000;
            let row = format!(
                "'e-{p}-{u}', '{}', '{}', '2026-10-20 08:00:00+00', 'c{u}', 'u{u}', {}, 'p{p}', '{group}'",
                ts(at),
                local(at, zone),
                quote(zone)
            );
            if (u + p) % 4 == 0 {
                controls.push(format!("({row})"));
            } else {
                sends.push(format!("({row})"));
            }
            // Opens after 1 to 19 hours: some attributed, some not; direct and influenced.
            if (u * p + u) % 3 != 0 {
                let open_at = at + ((u + p) % 19 + 1) * 3_600_000;
                let kind = if (u + p) % 2 == 0 {
                    "direct"
                } else {
                    "influenced"
                };
                opens.push(format!(
                    "('o-{p}-{u}', '{}', '{}', '2026-10-20 08:00:00+00', 'c{u}', 'u{u}', {}, 'p{p}', '{group}', '{kind}')",
                    ts(open_at),
                    local(open_at, zone),
                    quote(zone)
                ));
            }
            // Organic opens at the user's habitual hour, so send hours have a customer basis.
            for k in 0..(u % 4) {
                let open_at = base + (p * 3 + k) * 86_400_000 + (u % 24) * 3_600_000;
                opens.push(format!(
                    "('g-{p}-{u}-{k}', '{}', '{}', '2026-10-20 08:00:00+00', 'c{u}', 'u{u}', {}, NULL, NULL, 'organic')",
                    ts(open_at),
                    local(open_at, zone),
                    quote(zone)
                ));
            }
        }
    }
    let cols = "event_id, occurred_at, occurred_local, window_start, channel_id, named_user_id, iana_timezone, push_id, group_id";
    vec![
        format!(
            "INSERT INTO push_sends ({cols}) VALUES {}",
            sends.join(", ")
        ),
        format!(
            "INSERT INTO push_controls ({cols}) VALUES {}",
            controls.join(", ")
        ),
        format!(
            "INSERT INTO push_opens ({cols}, open_kind) VALUES {}",
            opens.join(", ")
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redshift_views_give_the_postgres_views_numbers_on_the_same_events() {
    let pg = Postgres::start().await;
    let redshift_db = pg.database("redshift").await;
    let postgres_db = pg.database("postgres_dialect").await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalObjectStore::new(dir.path(), "pushfeed-harness"));
    let harness = harness::harness(&redshift_db, store.clone()).await;
    let redshift = harness::warehouse(&harness).await;
    let local =
        pushfeed::adapters::local::postgres::PostgresWarehouse::connect(&postgres_db, store)
            .await
            .unwrap();
    let routes = RoutingTable::default_routes();
    let events = month_of_events();
    for w in [&redshift as &dyn Warehouse, &local] {
        pushfeed::analysts::apply_schema(w, routes.routes())
            .await
            .unwrap();
        w.apply_schema(&events).await.unwrap();
    }
    // Materialized in Redshift; on the harness, as on Redshift between auto refreshes, read after
    // a REFRESH.
    let views = pushfeed::domain::views::views(routes.routes());
    let refresh: Vec<String> = views
        .iter()
        .map(|v| format!("REFRESH MATERIALIZED VIEW {}", v.name))
        .collect();
    redshift.apply_schema(&refresh).await.unwrap();
    assert_eq!(views.len(), 4);
    for v in &views {
        let (rs_columns, rs_rows) = view_rows(&redshift, v.name).await;
        let (pg_columns, pg_rows) = view_rows(&local, v.name).await;
        assert_eq!(rs_columns, pg_columns, "{}: columns", v.name);
        assert!(rs_rows.len() >= 3, "{}: {} rows", v.name, rs_rows.len());
        assert_eq!(
            rs_rows, pg_rows,
            "{}: rows differ between the dialects",
            v.name
        );
    }
}
