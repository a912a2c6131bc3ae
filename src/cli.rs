//! The `pushfeed` command line: produce and generate traffic into the local stream, run windows,
//! run the demo, and query the local warehouse.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};

use crate::adapters::local::stack::{self, Database, Home, LocalStack};
use crate::adapters::local::stream::{LocalStream, PutRecord};
use crate::domain::routes::RoutingTable;
use crate::domain::window::{now_ms, parse_timestamp_ms, Window};
use crate::generate::{generate, TrafficProfile};
use crate::ports::{QueryResult, Stream, SystemClock, Warehouse};
use crate::runner::{run_window, Ports, WindowReport};
use crate::steps::Settings;

#[derive(Parser, Debug)]
#[command(
    name = "pushfeed",
    version,
    about = "Push-notification feedback from Kinesis into warehouse tables, one minute window at a time, exactly once."
)]
pub struct Cli {
    /// Home of the local stack: stream, objects, Firehose buffers, PostgreSQL, outbox.
    #[arg(long, global = true, env = "PUSHFEED_HOME", default_value = stack::DEFAULT_HOME)]
    home: PathBuf,
    /// Routing file (JSON) to use instead of the built-in config/routes.json.
    #[arg(long, global = true, env = "PUSHFEED_ROUTES")]
    routes: Option<PathBuf>,
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Put each line of a file as one record into the local stream.
    Produce {
        /// Newline-delimited vendor events.
        #[arg(long)]
        file: PathBuf,
        /// Arrival time to stamp (RFC 3339); now by default.
        #[arg(long)]
        at: Option<String>,
        /// Shards of the stream if this creates it.
        #[arg(long, default_value_t = 4)]
        shards: u32,
    },
    /// Write realistic synthetic vendor traffic into the local stream.
    Generate {
        /// Minutes of traffic, ending at the start of the current minute.
        #[arg(long, default_value_t = 3)]
        minutes: u32,
        /// Mean events per second (a campaign burst comes on top).
        #[arg(long, default_value_t = 30.0)]
        rate: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Share of malformed records, 0 to 1.
        #[arg(long, default_value_t = 0.02)]
        malformed: f64,
        /// Share of events delivered twice, 0 to 1.
        #[arg(long, default_value_t = 0.05)]
        duplicates: f64,
        #[arg(long, default_value_t = 4)]
        shards: u32,
    },
    /// Process one window end to end on the local stack.
    Run {
        /// The window, a UTC minute like 2026-11-26T10:01Z.
        #[arg(long)]
        window: String,
    },
    /// Generate a few minutes of traffic and run every window.
    Demo {
        #[arg(long, default_value_t = 3)]
        minutes: u32,
        #[arg(long, default_value_t = 30.0)]
        rate: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Run a query against the local warehouse.
    Sql {
        /// The SQL text.
        query: String,
    },
}

pub async fn main_with(cli: Cli) -> Result<()> {
    let routes = match &cli.routes {
        Some(p) => RoutingTable::load(p)?,
        None => RoutingTable::default_routes(),
    };
    let settings = Settings {
        routes,
        ..Settings::default()
    };
    let home = Home::new(&cli.home);
    match cli.command {
        Command::Produce { file, at, shards } => {
            produce(&home, &file, at.as_deref(), shards, cli.json)
        }
        Command::Generate {
            minutes,
            rate,
            seed,
            malformed,
            duplicates,
            shards,
        } => {
            let first = Window::containing(now_ms()).minus_minutes(i64::from(minutes));
            let profile = TrafficProfile {
                start_ms: first.start_ms(),
                minutes,
                rate_per_second: rate,
                seed,
                malformed,
                duplicates,
                ..TrafficProfile::default()
            };
            let summary = generate_into(&home, &profile, shards)?;
            if cli.json {
                println!("{summary}");
            } else {
                println!(
                    "put {} records ({} events) into {} over windows {} to {}",
                    summary["records"],
                    summary["events"],
                    home.stream_dir().display(),
                    summary["first_window"].as_str().unwrap_or(""),
                    summary["last_window"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
        Command::Run { window } => {
            let window: Window = window.parse()?;
            let stream = open_stream(&home)?;
            let stack = start_stack(&home, &settings).await?;
            let result = run_one(&stack, &stream, &settings, window, &cli.home).await;
            stack.shutdown().await?;
            let report = result?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&report_json(&report))?);
            } else {
                print_report(&report);
            }
            if !report.adds_up() {
                bail!("window {window} does not add up: some events are not accounted for");
            }
            Ok(())
        }
        Command::Demo {
            minutes,
            rate,
            seed,
        } => demo(&home, &cli.home, &settings, minutes, rate, seed, cli.json).await,
        Command::Sql { query } => {
            let stack = start_stack(&home, &settings).await?;
            let result = stack.warehouse.query(&query).await;
            stack.shutdown().await?;
            let result = result?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&rows_json(&result))?);
            } else {
                print_query(&result);
            }
            Ok(())
        }
    }
}

fn open_stream(home: &Home) -> Result<LocalStream> {
    Ok(LocalStream::open(home.stream_dir())?)
}

async fn start_stack(home: &Home, settings: &Settings) -> Result<LocalStack> {
    Ok(LocalStack::start(
        home.clone(),
        &settings.routes,
        Database::from_env(),
        stack::hints_from_env(),
    )
    .await?)
}

fn rerun_command(home_arg: &Path, window: Window) -> String {
    let home = if home_arg == Path::new(stack::DEFAULT_HOME) {
        String::new()
    } else {
        format!(" --home {}", home_arg.display())
    };
    format!("pushfeed run --window {window}{home}")
}

async fn run_one(
    stack: &LocalStack,
    stream: &dyn Stream,
    settings: &Settings,
    window: Window,
    home_arg: &Path,
) -> Result<WindowReport> {
    let ports = Ports {
        stream,
        store: stack.store.as_ref(),
        delivery: stack.firehose.as_ref(),
        warehouse: stack.warehouse.as_ref(),
        notifier: stack.outbox.as_ref(),
        clock: &SystemClock,
    };
    let poll = (stack::hints_from_env().interval / 2).max(Duration::from_millis(20));
    Ok(run_window(
        &ports,
        settings,
        window,
        poll,
        &rerun_command(home_arg, window),
    )
    .await?)
}

fn produce(home: &Home, file: &Path, at: Option<&str>, shards: u32, json: bool) -> Result<()> {
    let text =
        std::fs::read(file).with_context(|| format!("cannot read --file {}", file.display()))?;
    let arrival = match at {
        Some(t) => Some(parse_timestamp_ms(t).ok_or_else(|| {
            anyhow!("--at `{t}` is not an RFC 3339 time like 2026-11-26T10:01:30Z")
        })?),
        None => None,
    };
    let mut records = Vec::new();
    let mut blank = 0;
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            blank += 1;
            continue;
        }
        records.push(PutRecord {
            partition_key: partition_key(line, i),
            data: line.to_vec(),
            arrival_ms: arrival,
        });
    }
    let stream = LocalStream::open_or_create(home.stream_dir(), shards)?;
    let put = stream.put_records(records)?;
    if json {
        println!(
            "{}",
            json!({"records": put.len(), "blank_lines_skipped": blank, "stream": home.stream_dir()})
        );
    } else {
        println!(
            "put {} records into {}",
            put.len(),
            home.stream_dir().display()
        );
    }
    Ok(())
}

/// The vendor's partition key is undocumented; the event id spreads records like any random key.
fn partition_key(line: &[u8], index: usize) -> String {
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    match serde_json::from_slice::<Id>(line) {
        Ok(Id { id }) if !id.is_empty() && id.len() <= 256 => id,
        _ => format!("line-{index}"),
    }
}

fn generate_into(home: &Home, profile: &TrafficProfile, shards: u32) -> Result<Value> {
    let generated = generate(profile);
    let stream = LocalStream::open_or_create(home.stream_dir(), shards)?;
    let events: usize = generated
        .iter()
        .map(|g| match &g.truth {
            crate::generate::Truth::Valid { events }
            | crate::generate::Truth::Duplicate { events } => events.len(),
            crate::generate::Truth::Malformed { .. } => 1,
        })
        .sum();
    let records = generated.len();
    let puts: Vec<PutRecord> = generated
        .into_iter()
        .map(|g| PutRecord {
            partition_key: g.partition_key,
            data: g.data,
            arrival_ms: Some(g.arrival_ms),
        })
        .collect();
    stream.put_records(puts).map_err(|e| anyhow!("{e}"))?;
    let first = Window::containing(profile.start_ms);
    let last = first.minus_minutes(-(i64::from(profile.minutes.max(1)) - 1));
    Ok(json!({"records": records, "events": events, "first_window": first, "last_window": last}))
}

async fn demo(
    home: &Home,
    home_arg: &Path,
    settings: &Settings,
    minutes: u32,
    rate: f64,
    seed: u64,
    json: bool,
) -> Result<()> {
    if minutes == 0 || minutes > 60 {
        bail!("--minutes must be between 1 and 60");
    }
    let current = Window::containing(now_ms());
    let first = current.minus_minutes(i64::from(minutes));
    let windows = Window::range_inclusive(first, current.previous())?;
    let profile = TrafficProfile {
        start_ms: first.start_ms(),
        minutes,
        rate_per_second: rate,
        seed,
        malformed: 0.02,
        duplicates: 0.05,
        ..TrafficProfile::default()
    };
    eprintln!(
        "pushfeed demo: generating {minutes} minutes of traffic at about {rate} events/s into {}",
        home.root.display()
    );
    generate_into(home, &profile, 4).with_context(|| {
        format!(
            "the demo needs an empty stream: use a fresh --home, or remove {}",
            home.root.display()
        )
    })?;
    let settle_until = current.start_ms() + Settings::default().settle_ms;
    let wait = settle_until - now_ms();
    if wait > 0 {
        eprintln!(
            "pushfeed demo: waiting {:.1} s for window {} to settle",
            wait as f64 / 1000.0,
            current.previous()
        );
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
    let stream = open_stream(home)?;
    let stack = start_stack(home, settings).await?;
    let mut reports = Vec::new();
    let progress = std::io::stderr().is_terminal();
    for (i, &window) in windows.iter().enumerate() {
        if progress {
            let done = i * 20 / windows.len();
            eprint!(
                "\r[{}{}] window {}/{} {window}",
                "#".repeat(done),
                " ".repeat(20 - done),
                i + 1,
                windows.len()
            );
        }
        match run_one(&stack, &stream, settings, window, home_arg).await {
            Ok(r) => reports.push(r),
            Err(e) => {
                let _ = stack.shutdown().await;
                return Err(e);
            }
        }
    }
    if progress {
        eprintln!(
            "\r[{}] {} windows done{}",
            "#".repeat(20),
            windows.len(),
            " ".repeat(20)
        );
    }
    stack.shutdown().await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&reports.iter().map(report_json).collect::<Vec<_>>())?
        );
    } else {
        print_demo(&reports, settings, home_arg);
    }
    if let Some(bad) = reports.iter().find(|r| !r.adds_up()) {
        bail!(
            "window {} does not add up: some events are not accounted for",
            bad.window
        );
    }
    Ok(())
}

fn report_json(r: &WindowReport) -> Value {
    json!({
        "window": r.window,
        "batch": r.read.batch,
        "read": r.read.read,
        "events": r.read.read.events,
        "rejected": r.read.rejected,
        "unrouted": r.read.unrouted,
        "duplicates": r.read.duplicates,
        "tables": r.loads.iter().map(|l| json!({
            "event_type": l.event_type, "table": l.table, "staged": l.rows_staged,
            "inserted": l.rows_inserted, "replaced": l.rows_replaced, "unchanged": l.rows_unchanged,
            "loaded": l.rows_inserted + l.rows_replaced + l.rows_unchanged,
        })).collect::<Vec<_>>(),
        "rows_loaded": r.rows_loaded(),
        "adds_up": r.adds_up(),
    })
}

fn print_report(r: &WindowReport) {
    let s = &r.read;
    println!("window {}  batch {}", r.window, s.batch);
    println!(
        "  read        {} records, {} events, {} bytes, {} shards (from {})",
        s.read.records, s.read.events, s.read.bytes, s.read.shards, s.read.source
    );
    println!(
        "  rejected    {}{}",
        s.rejected.count,
        s.rejected
            .key
            .as_deref()
            .map(|k| format!("  {k}"))
            .unwrap_or_default()
    );
    println!(
        "  unrouted    {}{}",
        s.unrouted.count,
        s.unrouted
            .key
            .as_deref()
            .map(|k| format!("  {k}"))
            .unwrap_or_default()
    );
    println!("  duplicates  {} dropped", s.duplicates);
    let rows: Vec<Vec<String>> = r
        .loads
        .iter()
        .map(|l| {
            vec![
                l.table.clone(),
                l.rows_inserted.to_string(),
                l.rows_replaced.to_string(),
                l.rows_unchanged.to_string(),
                (l.rows_inserted + l.rows_replaced + l.rows_unchanged).to_string(),
            ]
        })
        .collect();
    print_table(
        &["table", "new", "replaced", "already there", "loaded"],
        &rows,
        "  ",
    );
    println!(
        "  adds up: {} ({} read = {} rejected + {} unrouted + {} duplicates + {} loaded)",
        if r.adds_up() { "yes" } else { "NO" },
        s.read.events,
        s.rejected.count,
        s.unrouted.count,
        s.duplicates,
        r.rows_loaded()
    );
}

fn print_demo(reports: &[WindowReport], settings: &Settings, home_arg: &Path) {
    let types: Vec<&str> = settings
        .routes
        .routes()
        .iter()
        .map(|r| r.event_type.as_str())
        .collect();
    let mut headers = vec!["window", "read", "rejected", "unrouted", "dups"];
    headers.extend(types.iter().copied());
    headers.push("adds up");
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let mut row = vec![
                r.window.to_string(),
                r.read.read.events.to_string(),
                r.read.rejected.count.to_string(),
                r.read.unrouted.count.to_string(),
                r.read.duplicates.to_string(),
            ];
            for t in &types {
                let n: u64 = r
                    .loads
                    .iter()
                    .filter(|l| l.event_type == *t)
                    .map(|l| l.rows_inserted + l.rows_replaced + l.rows_unchanged)
                    .sum();
                row.push(n.to_string());
            }
            row.push(if r.adds_up() { "yes" } else { "NO" }.into());
            row
        })
        .collect();
    print_table(&headers, &rows, "");
    let home = if home_arg == Path::new(stack::DEFAULT_HOME) {
        String::new()
    } else {
        format!(" --home {}", home_arg.display())
    };
    println!("\nWhere to look next:");
    println!("  pushfeed sql{home} \"select device_type, count(*) from push_sends group by 1\"");
    println!(
        "  pushfeed sql{home} \"select * from pushfeed_loads order by loaded_at desc limit 10\""
    );
    println!(
        "  {}/s3/rejected/    invalid records, each with its reason",
        home_arg.display()
    );
    println!(
        "  {}/s3/unrouted/    valid events of types with no route",
        home_arg.display()
    );
    println!(
        "  {}/s3/raw/         every record as read",
        home_arg.display()
    );
    if let Some(r) = reports.first() {
        println!(
            "  {}    re-runs a window; the tables stay the same",
            rerun_command(home_arg, r.window)
        );
    }
}

fn rows_json(result: &QueryResult) -> Value {
    Value::Array(
        result
            .rows
            .iter()
            .map(|row| {
                Value::Object(
                    result
                        .columns
                        .iter()
                        .zip(row)
                        .map(|(c, v)| {
                            (
                                c.clone(),
                                v.clone().map(Value::String).unwrap_or(Value::Null),
                            )
                        })
                        .collect(),
                )
            })
            .collect(),
    )
}

fn print_query(result: &QueryResult) {
    let headers: Vec<&str> = result.columns.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = result
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| v.clone().unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .collect();
    print_table(&headers, &rows, "");
    println!(
        "({} row{})",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
}

/// Prints aligned columns; numbers are right-aligned.
fn print_table(headers: &[&str], rows: &[Vec<String>], indent: &str) {
    if headers.is_empty() {
        return;
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count().min(60));
        }
    }
    let fmt_row = |cells: Vec<&str>| -> String {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| {
                let c: String = if c.chars().count() > 60 {
                    c.chars().take(57).collect::<String>() + "..."
                } else {
                    c.to_string()
                };
                if !c.is_empty() && c.parse::<f64>().is_ok() {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        format!("{indent}{}", parts.join("  ").trim_end())
    };
    println!("{}", fmt_row(headers.to_vec()));
    println!(
        "{indent}{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
    );
    for row in rows {
        println!("{}", fmt_row(row.iter().map(String::as_str).collect()));
    }
}

/// An error and its causes as one line: "what failed: why".
pub fn describe(e: &anyhow::Error) -> String {
    format!("{e:#}")
}
