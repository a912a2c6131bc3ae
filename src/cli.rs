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
use std::sync::Arc;

use crate::machine::{LocalPorts, LocalRunner, WindowRun, WindowSummary};
use crate::ports::{QueryResult, Stream, SystemClock, Warehouse};
use crate::steps::Settings;

/// The `--aws` variants of replay, executions and history (Step Functions in AWS).
#[path = "cli_aws.rs"]
mod cli_aws;

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
    /// Re-run every window from one to another (both included), one execution each.
    Replay {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// Start the executions on Step Functions in AWS instead (needs --state-machine).
        #[arg(long, requires = "state_machine")]
        aws: bool,
        /// The state machine's ARN (with --aws).
        #[arg(long, requires = "aws")]
        state_machine: Option<String>,
    },
    /// List recent executions of the local state machine.
    Executions {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// List the executions of a state machine in AWS instead (needs --state-machine).
        #[arg(long, requires = "state_machine")]
        aws: bool,
        /// The state machine's ARN (with --aws).
        #[arg(long, requires = "aws")]
        state_machine: Option<String>,
    },
    /// Show an execution's history, like the Step Functions console.
    History {
        /// The execution's name (as `executions` lists it) or its file; with --aws, its ARN.
        execution: String,
        /// Read the history from Step Functions in AWS.
        #[arg(long)]
        aws: bool,
    },
    /// Put realistic traffic into the local stream (or a Kinesis stream with --aws) at a rate,
    /// and report the achieved rate, PutRecords latency percentiles and throttles.
    Loadgen {
        /// Records per second.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        /// How long, in seconds.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// A campaign burst: ten times the rate for a sixth of the run.
        #[arg(long)]
        burst: bool,
        /// Hold the local stream to Kinesis's per-shard limits (1,000 records, 1 MiB per second).
        #[arg(long)]
        shard_limits: bool,
        /// Shards of the local stream if this creates it.
        #[arg(long, default_value_t = 4)]
        shards: u32,
        /// Put into a Kinesis stream in AWS instead (the vendor's side of the real stream).
        #[arg(long, requires = "stream")]
        aws: bool,
        /// The Kinesis stream's name, with --aws.
        #[arg(long)]
        stream: Option<String>,
    },
    /// Print the tables' DDL, or with --aws create the missing tables in Redshift (once per
    /// stage, and again after adding a route).
    Schema {
        /// `redshift` or `postgres`, for printing.
        #[arg(long, default_value = "redshift")]
        dialect: String,
        /// Print the jsonpaths file the Load uploads for this table (Redshift only) instead of
        /// the DDL.
        #[arg(long, value_name = "TABLE", conflicts_with = "aws")]
        jsonpaths: Option<String>,
        /// Apply the DDL through the Redshift Data API.
        #[arg(long, requires = "database")]
        aws: bool,
        /// The Redshift Serverless workgroup.
        #[arg(long, conflicts_with = "cluster_id")]
        workgroup: Option<String>,
        /// The provisioned cluster.
        #[arg(long)]
        cluster_id: Option<String>,
        #[arg(long)]
        database: Option<String>,
        /// A Secrets Manager secret with the database credentials.
        #[arg(long, conflicts_with = "db_user")]
        secret_arn: Option<String>,
        /// A database user, for temporary cluster credentials.
        #[arg(long)]
        db_user: Option<String>,
    },
    /// Run generated traffic through the state machine with faults injected, and check that
    /// nothing was lost or loaded twice.
    Chaos {
        /// Windows (minutes) of traffic.
        #[arg(long, default_value_t = 5)]
        windows: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// `none`, `light`, `ci`, `heavy`, or `kind=P,...` (see docs/reliability.md).
        #[arg(long, default_value = "ci")]
        faults: String,
        /// Mean events per second of the traffic.
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
        /// Every this many windows, the first execution meets a stream outage that outlasts its
        /// retries, so the window fails, is notified and is re-executed (0: never).
        #[arg(long, default_value_t = 10)]
        outage_every: u32,
    },
    /// Run any state machine definition on the local executor.
    States {
        #[command(subcommand)]
        command: StatesCommand,
    },
}

#[derive(Subcommand, Debug)]
enum StatesCommand {
    /// Run a definition once and print {status, output, error, cause, history}.
    Run {
        /// The definition (Amazon States Language, JSON).
        definition: PathBuf,
        /// The execution input: JSON text, or @FILE.
        #[arg(long, default_value = "{}")]
        input: String,
        /// Answer Task states from a Step Functions Local mock config file.
        #[arg(long, requires_all = ["state_machine", "test_case"])]
        mock_config: Option<PathBuf>,
        /// The state machine's name in the mock config.
        #[arg(long)]
        state_machine: Option<String>,
        /// The test case in the mock config.
        #[arg(long)]
        test_case: Option<String>,
        /// Fill a `${KEY}` placeholder, like CloudFormation's DefinitionSubstitutions.
        #[arg(long = "substitute", value_name = "KEY=VALUE")]
        substitutions: Vec<String>,
        /// Virtual clock: Wait states and retry backoff take no real time.
        #[arg(long)]
        fast: bool,
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
            let runs = run_windows(&home, &cli.home, &settings, &[window], "run", false).await?;
            report_runs(&runs, cli.json, false)
        }
        Command::Demo {
            minutes,
            rate,
            seed,
        } => demo(&home, &cli.home, &settings, minutes, rate, seed, cli.json).await,
        Command::Replay {
            from,
            to,
            aws,
            state_machine,
        } => {
            let windows = Window::range_inclusive(from.parse()?, to.parse()?)?;
            if windows.len() > 24 * 60 {
                bail!("--from {from} --to {to} spans {} windows; replay at most a day (1440) at a time", windows.len());
            }
            if aws {
                let arn = state_machine.expect("clap requires --state-machine with --aws");
                return cli_aws::replay(&arn, &windows, cli.json).await;
            }
            let runs = run_windows(&home, &cli.home, &settings, &windows, "replay", true).await?;
            report_runs(&runs, cli.json, true)
        }
        Command::Chaos {
            windows,
            seed,
            faults,
            rate,
            outage_every,
        } => {
            if windows == 0 || windows > 10_000 {
                bail!("--windows must be between 1 and 10000");
            }
            let faults = crate::faults::FaultProfile::parse(&faults, seed)
                .map_err(|e| anyhow!("--faults: {e}"))?;
            let opts = crate::chaos::ChaosOptions {
                windows,
                seed,
                faults,
                rate,
                outage_every,
            };
            let report = crate::chaos::chaos(&cli.home, &settings.routes, &opts).await?;
            print_chaos(&report, cli.json)?;
            if !report.holds() {
                bail!(
                    "the invariant does not hold: lost {}, duplicated {}, rejected missing {}, raw records missing {}, tables equal to the fault-free run: {}",
                    report.lost, report.duplicated, report.rejected_missing, report.raw_records_missing, report.tables_equal_reference
                );
            }
            Ok(())
        }
        Command::Executions {
            limit,
            aws: true,
            state_machine: Some(arn),
        } => cli_aws::executions(&arn, limit, cli.json).await,
        Command::Executions { limit, .. } => executions(&home, limit, cli.json),
        Command::History {
            execution,
            aws: true,
        } => cli_aws::history(&execution, cli.json).await,
        Command::History { execution, .. } => history(&home, &execution, cli.json),
        Command::Loadgen {
            rate,
            duration,
            seed,
            burst,
            shard_limits,
            shards,
            aws,
            stream,
        } => {
            if !(rate > 0.0 && rate <= 1_000_000.0) || duration == 0 || duration > 24 * 3600 {
                bail!("--rate must be above 0 and at most 1000000, and --duration between 1 and 86400 seconds");
            }
            let duration = Duration::from_secs(duration);
            let opts = crate::loadgen::LoadgenOptions {
                rate,
                duration,
                seed,
                burst: burst.then(|| crate::loadgen::Burst::campaign(duration)),
                ..crate::loadgen::LoadgenOptions::default()
            };
            let report = if aws {
                cli_aws::loadgen(&stream.unwrap_or_default(), &opts).await?
            } else {
                let local = LocalStream::open_or_create(home.stream_dir(), shards)?;
                let limits = shard_limits.then(crate::loadgen::ShardLimits::default);
                let target = crate::loadgen::LocalTarget::with_limits(local, limits);
                crate::loadgen::loadgen(&target, &opts).await?
            };
            print_loadgen(&report, cli.json)
        }
        Command::Schema {
            dialect,
            jsonpaths,
            aws,
            workgroup,
            cluster_id,
            database,
            secret_arn,
            db_user,
        } => {
            if aws {
                let target = cli_aws::Target {
                    workgroup,
                    cluster_id,
                    database: database.unwrap_or_default(),
                    secret_arn,
                    db_user,
                };
                return cli_aws::schema(target, &settings.routes).await;
            }
            let dialect = match dialect.as_str() {
                "redshift" => crate::domain::sql::Dialect::Redshift,
                "postgres" => crate::domain::sql::Dialect::Postgres,
                other => bail!("--dialect `{other}` is not known: use redshift or postgres"),
            };
            if let Some(table) = jsonpaths {
                return print_jsonpaths(&settings.routes, dialect, &table);
            }
            for statement in crate::domain::sql::schema(settings.routes.routes(), dialect) {
                println!("{statement};\n");
            }
            Ok(())
        }
        Command::States {
            command:
                StatesCommand::Run {
                    definition,
                    input,
                    mock_config,
                    state_machine,
                    test_case,
                    substitutions,
                    fast,
                },
        } => {
            states_run(
                &definition,
                &input,
                mock_config.as_deref(),
                state_machine.as_deref(),
                test_case.as_deref(),
                &substitutions,
                fast,
                cli.json,
            )
            .await
        }
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

/// The command a failure email tells a person to run, without its window flags.
fn replay_command(home_arg: &Path) -> String {
    if home_arg == Path::new(stack::DEFAULT_HOME) {
        "pushfeed replay".to_string()
    } else {
        format!("pushfeed replay --home {}", home_arg.display())
    }
}

/// Runs each window through the state machine on the local stack, one execution each.
async fn run_windows(
    home: &Home,
    home_arg: &Path,
    settings: &Settings,
    windows: &[Window],
    kind: &str,
    progress: bool,
) -> Result<Vec<WindowRun>> {
    // A window still open would only be retried until the state machine gives up.
    if let Some(last) = windows.last() {
        let settled = last.end_ms() + settings.settle_ms;
        if settled > now_ms() {
            bail!(
                "window {last} has not ended yet: run it after {}",
                crate::domain::window::format_timestamp_ms(settled)
            );
        }
    }
    let stream: Arc<dyn Stream> = Arc::new(open_stream(home)?);
    let stack = start_stack(home, settings).await?;
    let ports = LocalPorts {
        stream,
        store: stack.store.clone(),
        delivery: stack.firehose.clone(),
        warehouse: stack.warehouse.clone(),
        notifier: stack.outbox.clone(),
        clock: Arc::new(SystemClock),
    };
    let runner = match LocalRunner::new(
        ports,
        settings.clone(),
        &replay_command(home_arg),
        home.executions_dir(),
    ) {
        Ok(r) => r,
        Err(e) => {
            let _ = stack.shutdown().await;
            return Err(e.into());
        }
    };
    let show = progress && windows.len() > 1 && std::io::stderr().is_terminal();
    let mut runs = Vec::new();
    for (i, &window) in windows.iter().enumerate() {
        if show {
            let done = i * 20 / windows.len();
            eprint!(
                "\r[{}{}] window {}/{} {window}",
                "#".repeat(done),
                " ".repeat(20 - done),
                i + 1,
                windows.len()
            );
        }
        match runner.run(window, kind).await {
            Ok(run) => runs.push(run),
            Err(e) => {
                let _ = stack.shutdown().await;
                return Err(anyhow!(
                    "cannot save the execution of window {window} under {}: {e}",
                    home.executions_dir().display()
                ));
            }
        }
    }
    if show {
        eprintln!(
            "\r[{}] {} windows done{}",
            "#".repeat(20),
            windows.len(),
            " ".repeat(20)
        );
    }
    stack.shutdown().await?;
    Ok(runs)
}

/// Prints the runs and fails if any window failed or does not add up.
fn report_runs(runs: &[WindowRun], json: bool, table: bool) -> Result<()> {
    if json {
        let all: Vec<Value> = runs.iter().map(run_json).collect();
        let out = if all.len() == 1 && !table {
            all.into_iter().next().expect("one")
        } else {
            Value::Array(all)
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if table {
        print_summaries(runs);
    } else {
        for r in runs {
            print_run(r);
        }
    }
    check_runs(runs)
}

/// Fails if any window failed or does not add up.
fn check_runs(runs: &[WindowRun]) -> Result<()> {
    let failed: Vec<&WindowRun> = runs.iter().filter(|r| !r.succeeded()).collect();
    if let Some(first) = failed.first() {
        bail!(
            "{} of {} windows failed, first {} ({}): see `pushfeed history {}`; the failure message is in the outbox",
            failed.len(),
            runs.len(),
            first.window,
            first.execution.error.as_deref().unwrap_or("unknown error"),
            first.execution.name
        );
    }
    if let Some(bad) = runs
        .iter()
        .find(|r| r.summary.as_ref().is_some_and(|s| !s.adds_up()))
    {
        bail!(
            "window {} does not add up: some events are not accounted for",
            bad.window
        );
    }
    Ok(())
}

fn run_json(r: &WindowRun) -> Value {
    let mut v = json!({
        "window": r.window,
        "execution": r.execution.name,
        "status": r.execution.status,
        "state_transitions": r.execution.history.state_transitions(),
    });
    match &r.summary {
        Some(s) => {
            v["batch"] = json!(s.batch);
            v["read"] = json!(s.read);
            v["events"] = json!(s.read.events);
            v["rejected"] = json!(s.rejected);
            v["unrouted"] = json!(s.unrouted);
            v["duplicates"] = json!(s.duplicates());
            v["tables"] = s
                .loads
                .iter()
                .map(|l| {
                    json!({
                        "event_type": l.event_type, "table": l.table, "staged": l.rows_staged,
                        "inserted": l.rows_inserted, "replaced": l.rows_replaced, "unchanged": l.rows_unchanged,
                        "duplicates": l.duplicates,
                        "loaded": l.rows_inserted + l.rows_replaced + l.rows_unchanged,
                    })
                })
                .collect();
            v["rows_loaded"] = json!(s.rows_loaded());
            v["adds_up"] = json!(s.adds_up());
        }
        None => {
            v["error"] = json!(r.execution.error);
            v["cause"] = json!(r.execution.cause);
        }
    }
    v
}

fn print_run(r: &WindowRun) {
    let Some(s) = &r.summary else {
        println!(
            "window {}  execution {}  {:?}",
            r.window, r.execution.name, r.execution.status
        );
        println!(
            "  error  {}",
            r.execution.error.as_deref().unwrap_or_default()
        );
        println!(
            "  cause  {}",
            r.execution.cause.as_deref().unwrap_or_default()
        );
        return;
    };
    println!(
        "window {}  batch {}  execution {}",
        r.window, s.batch, r.execution.name
    );
    println!(
        "  read        {} records, {} events, {} bytes, {} shards (from {})",
        s.read.records, s.read.events, s.read.bytes, s.read.shards, s.read.source
    );
    let key = |k: &Option<String>| k.as_deref().map(|k| format!("  {k}")).unwrap_or_default();
    println!("  rejected    {}{}", s.rejected.count, key(&s.rejected.key));
    println!("  unrouted    {}{}", s.unrouted.count, key(&s.unrouted.key));
    println!("  duplicates  {} dropped", s.duplicates());
    let rows: Vec<Vec<String>> = s
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
        "  adds up: {} ({} read = {} rejected + {} unrouted + {} duplicates + {} loaded); {} state transitions",
        if s.adds_up() { "yes" } else { "NO" },
        s.read.events,
        s.rejected.count,
        s.unrouted.count,
        s.duplicates(),
        s.rows_loaded(),
        r.execution.history.state_transitions()
    );
}

/// One line per window, one column per routed type.
fn print_summaries(runs: &[WindowRun]) {
    let mut types: Vec<String> = Vec::new();
    for s in runs.iter().filter_map(|r| r.summary.as_ref()) {
        for l in &s.loads {
            if !types.contains(&l.event_type) {
                types.push(l.event_type.clone());
            }
        }
    }
    let mut headers = vec!["window", "status", "read", "rejected", "unrouted", "dups"];
    headers.extend(types.iter().map(String::as_str));
    headers.push("adds up");
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let mut row = vec![
                r.window.to_string(),
                format!("{:?}", r.execution.status).to_lowercase(),
            ];
            match &r.summary {
                Some(s) => {
                    row.extend(
                        [
                            s.read.events,
                            s.rejected.count,
                            s.unrouted.count,
                            s.duplicates(),
                        ]
                        .map(|n| n.to_string()),
                    );
                    for t in &types {
                        let n: u64 = s
                            .loads
                            .iter()
                            .filter(|l| &l.event_type == t)
                            .map(|l| l.rows_inserted + l.rows_replaced + l.rows_unchanged)
                            .sum();
                        row.push(n.to_string());
                    }
                    row.push(if s.adds_up() { "yes" } else { "NO" }.into());
                }
                None => row.push(r.execution.error.clone().unwrap_or_default()),
            }
            row
        })
        .collect();
    print_table(&headers, &rows, "");
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
    let settle_until = current.start_ms() + settings.settle_ms;
    let wait = settle_until - now_ms();
    if wait > 0 {
        eprintln!(
            "pushfeed demo: waiting {:.1} s for window {} to settle",
            wait as f64 / 1000.0,
            current.previous()
        );
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
    let runs = run_windows(home, home_arg, settings, &windows, "demo", true).await?;
    if json {
        return report_runs(&runs, true, true);
    }
    print_summaries(&runs);
    let transitions: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "{} for {} types",
                r.execution.history.state_transitions(),
                r.summary.as_ref().map_or(0, |s| s.loads.len())
            )
        })
        .collect();
    println!("\nState transitions per window: {}", transitions.join(", "));
    let home_flag = if home_arg == Path::new(stack::DEFAULT_HOME) {
        String::new()
    } else {
        format!(" --home {}", home_arg.display())
    };
    println!("\nWhere to look next:");
    println!(
        "  pushfeed{home_flag} sql \"select device_type, count(*) from push_sends group by 1\""
    );
    println!("  pushfeed{home_flag} sql \"select * from pushfeed_loads order by loaded_at desc limit 10\"");
    println!(
        "  pushfeed{home_flag} executions                 the executions, like the console's list"
    );
    if let Some(r) = runs.first() {
        println!(
            "  pushfeed{home_flag} history {}   one execution's history",
            r.execution.name
        );
        println!("  pushfeed{home_flag} replay --from {} --to {}   re-runs windows; the tables stay the same", r.window, current.previous());
    }
    println!(
        "  {}/s3/rejected/    invalid records, each with its reason",
        home_arg.display()
    );
    println!(
        "  {}/s3/unrouted/    valid events of types with no route",
        home_arg.display()
    );
    check_runs(&runs)
}

fn print_loadgen(r: &crate::loadgen::LoadgenReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = [
        ("target", r.target.clone()),
        ("records planned", r.planned.to_string()),
        ("records sent", r.sent.to_string()),
        ("events", r.events.to_string()),
        ("bytes", r.bytes.to_string()),
        ("PutRecords calls", r.calls.to_string()),
        ("elapsed", format!("{:.1} s", r.elapsed_s)),
        ("achieved rate", format!("{:.0} records/s", r.achieved_rate)),
        (
            "latency p50 / p90 / p99 / max",
            format!(
                "{:.1} / {:.1} / {:.1} / {:.1} ms",
                r.latency_p50_ms, r.latency_p90_ms, r.latency_p99_ms, r.latency_max_ms
            ),
        ),
        ("throttled records", r.throttles.to_string()),
        ("dropped records", r.dropped.to_string()),
        ("failed calls", r.errors.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| vec![k.to_string(), v])
    .collect();
    print_table(&["", ""], &rows, "");
    Ok(())
}

fn print_chaos(r: &crate::chaos::ChaosReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = [
        ("windows", r.windows.to_string()),
        ("records", r.records.to_string()),
        ("valid events", r.valid_events.to_string()),
        ("malformed records", r.malformed_records.to_string()),
        (
            "faults injected",
            r.faults.values().sum::<u64>().to_string(),
        ),
        ("task retries", r.retries.to_string()),
        ("executions failed", r.executions_failed.to_string()),
        ("failures notified", r.failures_notified.to_string()),
        ("re-executions", r.reexecutions.to_string()),
        ("lost (must be 0)", r.lost.to_string()),
        ("duplicated (must be 0)", r.duplicated.to_string()),
        ("rejected records missing", r.rejected_missing.to_string()),
        ("raw records missing", r.raw_records_missing.to_string()),
        (
            "tables equal a fault-free run",
            if r.tables_equal_reference {
                "yes"
            } else {
                "NO"
            }
            .to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| vec![k.to_string(), v])
    .collect();
    print_table(&["", ""], &rows, "");
    let faults: Vec<Vec<String>> = r
        .faults
        .iter()
        .map(|(k, v)| vec![k.to_string(), v.to_string()])
        .collect();
    println!();
    print_table(&["fault", "injected"], &faults, "");
    if !r.fault_kinds_not_injected.is_empty() {
        println!(
            "not injected this run: {}",
            r.fault_kinds_not_injected.join(", ")
        );
    }
    println!("\n{}", r.home.display());
    Ok(())
}

/// Every saved execution, newest first.
fn load_executions(home: &Home) -> Result<Vec<asl::Execution>> {
    let dir = home.executions_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow!("cannot list {}: {e}", dir.display())),
    };
    let mut all = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "json")
            || path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        match serde_json::from_slice::<asl::Execution>(&bytes) {
            Ok(e) => all.push(e),
            Err(e) => eprintln!(
                "pushfeed: skipping {}: not an execution record ({e})",
                path.display()
            ),
        }
    }
    all.sort_by(|a, b| {
        b.start_millis
            .cmp(&a.start_millis)
            .then_with(|| b.name.cmp(&a.name))
    });
    Ok(all)
}

fn executions(home: &Home, limit: usize, json: bool) -> Result<()> {
    let all = load_executions(home)?;
    let shown: Vec<&asl::Execution> = all.iter().take(limit).collect();
    let summary = |e: &asl::Execution| -> Option<WindowSummary> {
        e.output
            .clone()
            .and_then(|o| serde_json::from_value(o).ok())
    };
    if json {
        let rows: Vec<Value> = shown
            .iter()
            .map(|e| {
                let s = summary(e);
                json!({
                    "name": e.name, "status": e.status, "window": e.input.get("window"),
                    "start": e.start_date, "stop": e.stop_date, "duration_ms": e.stop_millis - e.start_millis,
                    "events": s.as_ref().map(|s| s.read.events), "rows_loaded": s.as_ref().map(|s| s.rows_loaded()),
                    "error": e.error, "state_transitions": e.history.state_transitions(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if shown.is_empty() {
        println!(
            "no executions yet under {}: run `pushfeed run --window W` or `pushfeed demo`",
            home.executions_dir().display()
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|e| {
            let s = summary(e);
            vec![
                e.name.clone(),
                format!("{:?}", e.status).to_uppercase(),
                e.input
                    .get("window")
                    .and_then(Value::as_str)
                    .unwrap_or("-")
                    .to_string(),
                e.start_date.clone(),
                format!("{:.1} s", (e.stop_millis - e.start_millis) as f64 / 1000.0),
                s.as_ref().map_or("-".into(), |s| s.read.events.to_string()),
                s.as_ref()
                    .map_or("-".into(), |s| s.rows_loaded().to_string()),
                e.error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &[
            "name", "status", "window", "started", "duration", "events", "loaded", "error",
        ],
        &rows,
        "",
    );
    if all.len() > shown.len() {
        println!("({} of {}; --limit shows more)", shown.len(), all.len());
    }
    Ok(())
}

fn history(home: &Home, execution: &str, json: bool) -> Result<()> {
    let name = execution.trim_end_matches(".json");
    let path = if Path::new(execution).is_file() {
        PathBuf::from(execution)
    } else {
        home.executions_dir().join(format!("{name}.json"))
    };
    let bytes = std::fs::read(&path).map_err(|_| {
        anyhow!(
            "no execution `{execution}` under {}: `pushfeed executions` lists them",
            home.executions_dir().display()
        )
    })?;
    let e: asl::Execution = serde_json::from_slice(&bytes)
        .map_err(|err| anyhow!("{} is not an execution record: {err}", path.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&e.history.events)?);
        return Ok(());
    }
    println!(
        "{}  {:?}  {} → {}",
        e.name, e.status, e.start_date, e.stop_date
    );
    let mut entered: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    let rows: Vec<Vec<String>> = e
        .history
        .events
        .iter()
        .map(|ev| {
            let detail = ev.detail();
            let field = |k: &str| {
                detail
                    .and_then(|d| d.get(k))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let state = field("name");
            let at = ev.millis().unwrap_or_default();
            let duration = if ev.event_type.ends_with("StateEntered") {
                entered.insert(state.clone(), at);
                String::new()
            } else if ev.event_type.ends_with("StateExited") {
                entered
                    .remove(&state)
                    .map(|t| format!("{} ms", at - t))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            vec![
                ev.id.to_string(),
                ev.timestamp
                    .get(11..23)
                    .unwrap_or(&ev.timestamp)
                    .to_string(),
                ev.event_type.clone(),
                state,
                duration,
                field("error"),
            ]
        })
        .collect();
    print_table(
        &["id", "time", "event", "state", "duration", "error"],
        &rows,
        "",
    );
    if let (Some(err), Some(cause)) = (&e.error, &e.cause) {
        println!("\nerror: {err}\ncause: {cause}");
    }
    println!("{} state transitions", e.history.state_transitions());
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn states_run(
    definition: &Path,
    input: &str,
    mock_config: Option<&Path>,
    state_machine: Option<&str>,
    test_case: Option<&str>,
    substitutions: &[String],
    fast: bool,
    json: bool,
) -> Result<()> {
    let text = std::fs::read_to_string(definition)
        .with_context(|| format!("cannot read definition {}", definition.display()))?;
    let mut values = std::collections::HashMap::new();
    for s in substitutions {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| anyhow!("--substitute `{s}` must look like KEY=VALUE"))?;
        values.insert(k.to_string(), v.to_string());
    }
    let text = asl::substitute(&text, &values).map_err(|asl::SubstituteError::Unfilled(names)| {
        anyhow!("the definition has placeholders no --substitute fills: {}; add --substitute {}=VALUE", names.join(", "), names[0])
    })?;
    let def = asl::Definition::from_json(&text)
        .map_err(|e| anyhow!("{} is not a valid definition: {e}", definition.display()))?;
    let input_text = match input.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read --input file {file}"))?,
        None => input.to_string(),
    };
    let input: Value =
        serde_json::from_str(&input_text).map_err(|e| anyhow!("--input is not JSON: {e}"))?;
    let mut registry = asl::Registry::new();
    let machine_name = state_machine.unwrap_or("local").to_string();
    if let Some(path) = mock_config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --mock-config {}", path.display()))?;
        let config = asl::MockConfig::from_json(&text)
            .map_err(|e| anyhow!("--mock-config {}: {e}", path.display()))?;
        let case = config
            .test_case(&machine_name, test_case.unwrap_or_default())
            .map_err(|e| anyhow!("--mock-config {}: {e}", path.display()))?;
        registry = registry.mock(Arc::new(case));
    }
    let clock = if fast {
        asl::Clock::virtual_now()
    } else {
        asl::Clock::Real
    };
    let options = asl::ExecutionOptions {
        name: Some(format!("run-{}", now_ms())),
        state_machine_name: machine_name,
        ..asl::ExecutionOptions::default()
    };
    let e = asl::Executor::new(registry, clock)
        .start(&def, input, options)
        .await;
    let out = json!({
        "status": e.status, "output": e.output, "error": e.error, "cause": e.cause,
        "history": e.history.events,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("status: {:?}", e.status);
        if let Some(o) = &e.output {
            println!("output: {o}");
        }
        if let (Some(err), Some(cause)) = (&e.error, &e.cause) {
            println!("error:  {err}\ncause:  {cause}");
        }
        println!(
            "{} events, {} state transitions",
            e.history.events.len(),
            e.history.state_transitions()
        );
    }
    if e.status != asl::ExecutionStatus::Succeeded {
        std::process::exit(3);
    }
    Ok(())
}

fn rows_json(result: &QueryResult) -> Value {
    let columns = result.unique_columns();
    Value::Array(
        result
            .rows
            .iter()
            .map(|row| {
                Value::Object(
                    columns
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
pub(crate) fn print_table(headers: &[&str], rows: &[Vec<String>], indent: &str) {
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
    // An error that names its cause in its own message (a PortError, a ClusterError) also keeps
    // it as its source: the chain stops at the first cause already said, whose own causes are
    // said by it as it chose to.
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if text.contains(&cause) {
            break;
        }
        text = format!("{text}: {cause}");
    }
    text
}

/// `schema --jsonpaths TABLE`: exactly the bytes the Load step uploads for the table's COPY (no
/// newline added), so the output can be compared with, or uploaded as, the object.
fn print_jsonpaths(
    routes: &RoutingTable,
    dialect: crate::domain::sql::Dialect,
    table: &str,
) -> Result<()> {
    if dialect != crate::domain::sql::Dialect::Redshift {
        bail!("--jsonpaths prints the file Redshift's COPY reads: use it with --dialect redshift (the default)");
    }
    let Some(route) = routes.for_table(table) else {
        let known: Vec<&str> = routes.routes().iter().map(|r| r.table.as_str()).collect();
        bail!(
            "no route loads table `{table}`: the known tables are {}",
            known.join(", ")
        );
    };
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(&crate::domain::sql::jsonpaths_file(route))?;
    Ok(())
}
