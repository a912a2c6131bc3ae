//! The PostgreSQL load alone, in rows/s: `Warehouse::load` (the one-transaction load of
//! docs/design.md "Loading") over delivered objects prepared beforehand, on a private cluster.
//!
//! `cargo bench -p pushfeed --bench load`; `PUSHFEED_BENCH_ROWS` sets the window's events
//! (default 100,000). Three figures, each the median of a few samples:
//! - `copy only`: the stage filled by COPY FROM STDIN (typed columns), nothing merged;
//! - `first load`: into empty tables (every row inserted), the normal case;
//! - `re-load`: the same window again (every row already there, nothing changes).

mod common;

use std::sync::Arc;
use std::time::Instant;

use pushfeed::adapters::local::object_store::LocalObjectStore;
use pushfeed::adapters::local::postgres::PostgresWarehouse;
use pushfeed::adapters::local::stack::start_private;
use pushfeed::domain::keys::{BatchId, ObjectKey};
use pushfeed::domain::routes::RoutingTable;
use pushfeed::domain::sql::{load_statements, loaded_columns, schema, LoadParams, Role};
use pushfeed::ports::{LoadJob, ObjectStore, Warehouse};

const SAMPLES: usize = 3;

fn main() {
    let events: usize = std::env::var("PUSHFEED_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = common::temp_dir("pf-load-");
    let (conninfo, cluster) = rt
        .block_on(start_private(&dir.path().join("postgres")))
        .expect("private PostgreSQL");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(bench(dir.path(), &conninfo, events))
    }));
    if let Some(cluster) = cluster {
        let _ = cluster.stop();
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

async fn bench(dir: &std::path::Path, conninfo: &str, events: usize) {
    let routes = RoutingTable::default_routes();
    let store = Arc::new(LocalObjectStore::new(dir.join("s3"), "pushfeed-bench"));
    let dyn_store: Arc<dyn ObjectStore> = store.clone();
    let warehouse = PostgresWarehouse::connect(conninfo, dyn_store)
        .await
        .expect("connect");
    let dialect = warehouse.dialect();
    warehouse
        .apply_schema(&schema(routes.routes(), dialect))
        .await
        .expect("schema");

    // Delivered objects as Firehose writes them: gzip NDJSON, at most 8 MiB of rows each.
    let (window, records, _) = common::window_records(events, 3);
    let batch: BatchId = "0019abf9bf360-1a2b3c4d".parse().expect("batch");
    let staged = common::staging_rows(window, &records, &batch, &routes);
    drop(records);
    let mut jobs = Vec::new();
    let (mut rows, mut bytes) = (0u64, 0usize);
    for (event_type, text, count) in &staged {
        let route = routes.for_type(event_type).expect("routed");
        let mut objects = Vec::new();
        let mut rest = &text[..];
        while !rest.is_empty() {
            let cut = match rest.len() <= 8 << 20 {
                true => rest.len(),
                false => {
                    rest[..8 << 20]
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .expect("a line")
                        + 1
                }
            };
            let key = ObjectKey::Delivered {
                event_type: event_type.clone(),
                window,
                name: format!("bench-{}.ndjson.gz", objects.len()),
            }
            .to_string();
            store
                .put(&key, common::gzip(&rest[..cut]))
                .await
                .expect("put");
            objects.push(key);
            rest = &rest[cut..];
        }
        let params = LoadParams {
            route,
            window,
            batch: &batch,
            execution: "bench",
            object_count: objects.len(),
        };
        jobs.push(LoadJob {
            table: route.table.clone(),
            statements: load_statements(&params, dialect, None),
            objects,
            columns: loaded_columns(route),
        });
        rows += count;
        bytes += text.len();
    }
    println!(
        "load: {} events → {rows} staged rows ({:.1} MB of rows) in {} tables, {SAMPLES} samples each",
        events,
        bytes as f64 / 1e6,
        jobs.len()
    );
    let truncate: Vec<String> = routes
        .routes()
        .iter()
        .map(|r| format!("TRUNCATE {}", r.table))
        .chain(["TRUNCATE pushfeed_loads".to_string()])
        .collect();

    // COPY only: the statements up to and including the COPY into the stage.
    let copy_jobs: Vec<LoadJob> = jobs
        .iter()
        .map(|j| {
            let upto = j
                .statements
                .iter()
                .position(|s| s.role == Role::OtherBatches)
                .expect("a stage");
            LoadJob {
                statements: j.statements[..upto].to_vec(),
                ..j.clone()
            }
        })
        .collect();
    let report = |name: &str, secs: &mut Vec<f64>| {
        secs.sort_by(f64::total_cmp);
        let median = secs[secs.len() / 2];
        println!(
            "{name:<12} median {:>7.3} s  {:>9.0} rows/s  (fastest {:.3} s, slowest {:.3} s)",
            median,
            rows as f64 / median,
            secs[0],
            secs[secs.len() - 1]
        );
    };
    let mut copy = Vec::new();
    let mut first = Vec::new();
    let mut again = Vec::new();
    for _ in 0..SAMPLES {
        warehouse.apply_schema(&truncate).await.expect("truncate");
        let t = Instant::now();
        for job in &copy_jobs {
            warehouse.load(job).await.expect("copy");
        }
        copy.push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        let mut inserted = 0;
        for job in &jobs {
            inserted += warehouse.load(job).await.expect("load").rows_inserted;
        }
        first.push(t.elapsed().as_secs_f64());
        assert!(inserted > 0 && inserted <= rows);

        let t = Instant::now();
        for job in &jobs {
            let c = warehouse.load(job).await.expect("re-load");
            assert_eq!(c.rows_inserted, 0);
        }
        again.push(t.elapsed().as_secs_f64());
    }
    report("copy only", &mut copy);
    report("first load", &mut first);
    report("re-load", &mut again);

    // PUSHFEED_BENCH_PGLOG=1: one more first load with every statement's duration logged by the
    // server, summed per kind of statement.
    if std::env::var("PUSHFEED_BENCH_PGLOG").is_ok_and(|v| v == "1") {
        warehouse.apply_schema(&truncate).await.expect("truncate");
        let log = dir.join("postgres").join("server.log");
        let from = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0) as usize;
        warehouse
            .query("ALTER SYSTEM SET log_min_duration_statement = 0")
            .await
            .expect("alter system");
        warehouse
            .query("SELECT pg_reload_conf()")
            .await
            .expect("reload");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        for job in &jobs {
            warehouse.load(job).await.expect("load");
        }
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let mut sums: Vec<(String, f64)> = Vec::new();
        for line in text[from.min(text.len())..].lines() {
            let Some(rest) = line.split("duration: ").nth(1) else {
                continue;
            };
            let ms: f64 = rest
                .split(' ')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
            // "duration: 1.2 ms  statement: SQL" or "duration: 1.2 ms  execute s12: SQL".
            let stmt = match rest.split_once("statement: ") {
                Some((_, sql)) => sql,
                None => rest
                    .split_once("execute ")
                    .and_then(|(_, r)| r.split_once(": "))
                    .map_or(rest, |(_, sql)| sql),
            };
            let kind: String = stmt
                .split_whitespace()
                .take(4)
                .collect::<Vec<_>>()
                .join(" ");
            match sums.iter_mut().find(|(k, _)| *k == kind) {
                Some(e) => e.1 += ms,
                None => sums.push((kind, ms)),
            }
        }
        sums.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (kind, ms) in sums.iter().take(12) {
            println!("  {ms:>9.1} ms  {kind}");
        }
    }
}
