//! The `pushfeed` command line: produce and generate traffic into the local stream, run windows,
//! run the demo, and query the local warehouse.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};

use crate::adapters::local::stack::{self, Database, Home, LocalStack};
use crate::adapters::local::stream::{LocalStream, PutRecord};
use crate::domain::routes::RoutingTable;
use crate::domain::window::{now_ms, parse_timestamp_ms, Window};
use std::sync::Arc;
use vendor_sim::{generate, TrafficProfile};

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
    /// Accept a window or an arrival time outside the plausible span (before Kinesis began in
    /// 2013, or an arrival more than 5 minutes in the future).
    #[arg(long, global = true)]
    allow_any_time: bool,
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
        #[arg(long, default_value_t = 4, allow_hyphen_values = true, value_parser = crate::bounds::SHARDS.flag())]
        shards: u32,
    },
    /// Write realistic synthetic vendor traffic into the local stream.
    Generate {
        /// Minutes of traffic, ending at the start of the current minute.
        #[arg(long, default_value_t = 3, allow_hyphen_values = true, value_parser = crate::bounds::GENERATE_MINUTES.flag())]
        minutes: u32,
        /// Mean events per second (a campaign burst comes on top).
        #[arg(long, default_value_t = 30.0, allow_hyphen_values = true, value_parser = crate::bounds::RATE.flag())]
        rate: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Share of malformed records, 0 to 1.
        #[arg(long, default_value_t = 0.02, allow_hyphen_values = true, value_parser = crate::bounds::SHARE.flag())]
        malformed: f64,
        /// Share of events delivered twice, 0 to 1.
        #[arg(long, default_value_t = 0.05, allow_hyphen_values = true, value_parser = crate::bounds::SHARE.flag())]
        duplicates: f64,
        #[arg(long, default_value_t = 4, allow_hyphen_values = true, value_parser = crate::bounds::SHARDS.flag())]
        shards: u32,
        /// Also plant this many days of history for the analyst views (users with a preferred
        /// local hour, campaign groups with a true uplift), arriving within the minutes.
        #[arg(long, default_value_t = 0)]
        history_days: u32,
        /// Write what was planted (users' zones and hours, groups' uplifts) to this JSON file.
        #[arg(long, requires = "history_days")]
        truth: Option<PathBuf>,
    },
    /// Process one window end to end on the local stack.
    Run {
        /// The window, a UTC minute like 2026-11-26T10:01Z.
        #[arg(long)]
        window: String,
    },
    /// Generate a few minutes of traffic and run every window.
    Demo {
        #[arg(long, default_value_t = 3, allow_hyphen_values = true, value_parser = crate::bounds::DEMO_MINUTES.flag())]
        minutes: u32,
        #[arg(long, default_value_t = 30.0, allow_hyphen_values = true, value_parser = crate::bounds::RATE.flag())]
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
        #[arg(long, default_value_t = 20, allow_hyphen_values = true, value_parser = crate::bounds::LIST_LIMIT.flag())]
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
        #[arg(long, default_value_t = 100.0, allow_hyphen_values = true, value_parser = crate::bounds::LOADGEN_RATE.flag())]
        rate: f64,
        /// How long, in seconds.
        #[arg(long, default_value_t = 10, allow_hyphen_values = true, value_parser = crate::bounds::LOADGEN_SECONDS.flag())]
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
        #[arg(long, default_value_t = 4, allow_hyphen_values = true, value_parser = crate::bounds::SHARDS.flag())]
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
        #[arg(long, default_value_t = 5, allow_hyphen_values = true, value_parser = crate::bounds::CHAOS_WINDOWS.flag())]
        windows: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// `none`, `light`, `ci`, `heavy`, or `kind=P,...` (see docs/reliability.md).
        #[arg(long, default_value = "ci")]
        faults: String,
        /// Mean events per second of the traffic.
        #[arg(long, default_value_t = 10.0, allow_hyphen_values = true, value_parser = crate::bounds::RATE.flag())]
        rate: f64,
        /// Every this many windows, the first execution meets a stream outage that outlasts its
        /// retries, so the window fails, is notified and is re-executed (0: never).
        #[arg(long, default_value_t = 10, allow_hyphen_values = true, value_parser = crate::bounds::OUTAGE_EVERY.flag())]
        outage_every: u32,
    },
    /// List the windows that are not complete (missing, failed, partial, running), with the
    /// time left before the stream's retention drops them and the command that repairs them.
    /// Exits 3 when any is not complete.
    Gaps {
        /// The first window (default: 24 hours before --to).
        #[arg(long)]
        from: Option<String>,
        /// The last window (default: the newest whose run had time to finish).
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        aws: crate::gaps_cli::AwsArgs,
    },
    /// Run every window `gaps` lists, oldest first; complete windows are skipped. Exits 3 when
    /// a window is left unrepaired.
    CatchUp {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// Windows run at once (default 1 locally, 2 on AWS).
        #[arg(long)]
        parallel: Option<usize>,
        #[command(flatten)]
        aws: crate::gaps_cli::AwsArgs,
    },
    /// The pipeline at a glance: last complete window, gaps of the last 24 hours, each table's
    /// freshness, stream lag, and the oldest gap with its time left.
    Status {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        aws: crate::gaps_cli::AwsArgs,
    },
    /// Write one self-contained HTML page of the analyst views: windows, rows per type,
    /// rejections, campaigns, send hours, holdout uplift and freshness.
    Report {
        /// Where to write the page.
        #[arg(long, default_value = "report.html")]
        out: PathBuf,
        /// Read the views in Redshift through the Data API instead of the local warehouse.
        #[arg(long, requires = "database")]
        aws: bool,
        /// The Redshift Serverless workgroup (without --secret-arn: as your own IAM identity).
        #[arg(long, conflicts_with = "cluster_id", requires = "aws")]
        workgroup: Option<String>,
        /// The provisioned cluster (needs --db-user or --secret-arn).
        #[arg(long, requires = "aws")]
        cluster_id: Option<String>,
        #[arg(long, requires = "aws")]
        database: Option<String>,
        /// A Secrets Manager secret with the database credentials of a `pushfeed_analysts` user.
        #[arg(long, conflicts_with = "db_user", requires = "aws")]
        secret_arn: Option<String>,
        /// A database user in `pushfeed_analysts`, for temporary cluster credentials.
        #[arg(long, requires = "aws")]
        db_user: Option<String>,
    },
    /// The local warehouse for analysts' tools.
    Warehouse {
        #[command(subcommand)]
        command: WarehouseCommand,
    },
    /// Remove from the local bucket what no longer serves a replay: superseded re-runs' copies
    /// and partial files (see README, "What a re-run keeps").
    Gc {
        /// Leave objects younger than this alone, so a run in progress keeps what it uses.
        #[arg(long, default_value_t = 15, allow_hyphen_values = true, value_parser = crate::bounds::GC_MIN_AGE_MINUTES.flag())]
        min_age_minutes: u64,
        /// Report what would be removed, and remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check, without sending data, that the local stack (or with --aws a deployed stage) is set
    /// up as the tasks assume: one line per check, ok or FAIL with what to do; exits 1 on a FAIL.
    Doctor {
        /// Check the stage's resources in AWS (needs --stage).
        #[arg(long, requires = "stage")]
        aws: bool,
        /// The stage, as deployed by `cdk deploy -c stage=NAME` (stack `pushfeed-NAME`).
        #[arg(long, requires = "aws")]
        stage: Option<String>,
    },
    /// Put one marked event of each routed type through the real path (stream, execution,
    /// Firehose, S3, load) and wait for each one's row; analysts' views never show them.
    Canary {
        /// Put into the stage's stream in AWS (needs --stage); its schedule runs the window.
        #[arg(long, requires = "stage")]
        aws: bool,
        /// The stage, as deployed by `cdk deploy -c stage=NAME` (stack `pushfeed-NAME`).
        #[arg(long, requires = "aws")]
        stage: Option<String>,
        /// Seconds from the put until a missing row counts as failed.
        #[arg(long, default_value_t = 900)]
        deadline: u64,
    },
    /// Run any state machine definition on the local executor.
    States {
        #[command(subcommand)]
        command: StatesCommand,
    },
}

#[derive(Subcommand, Debug)]
enum WarehouseCommand {
    /// Keep the private PostgreSQL running, reachable on 127.0.0.1 as a read-only login in
    /// pushfeed_analysts, and print the connection string; Ctrl-C stops it.
    Serve {
        /// The TCP port on 127.0.0.1 (0: any free port, printed).
        #[arg(long, default_value_t = 5439)]
        port: u16,
        /// The read-only login's name.
        #[arg(long, default_value = crate::analysts::serve::DEFAULT_LOGIN)]
        login: String,
        /// The login's password (a random one is made and printed otherwise).
        #[arg(long, env = "PUSHFEED_ANALYST_PASSWORD", hide_env_values = true)]
        password: Option<String>,
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

/// A variable behind a flag that is set but empty: clap would blame the flag, which the person
/// never typed, so this names the variable and what to do.
pub fn empty_env_variable() -> Option<String> {
    let given =
        |flag: &str| std::env::args().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    [
        ("PUSHFEED_HOME", "--home", "the default home .pushfeed/", "a directory"),
        ("PUSHFEED_ROUTES", "--routes", "the built-in config/routes.json", "a routing file"),
    ]
    .into_iter()
    .find(|(name, flag, _, _)| {
        !given(flag)
            && std::env::var_os(name).is_some_and(|v| v.to_string_lossy().trim().is_empty())
    })
    .map(|(name, _, default, what)| {
        format!("{name} is set but empty: unset it (`unset {name}`) to use {default}, or set it to {what}")
    })
}

/// Refuses a home that exists but is not a directory, before anything reads "nothing there".
fn check_home(home: &Path) -> Result<()> {
    match std::fs::metadata(home) {
        Ok(m) if !m.is_dir() => bail!(
            "--home {} is a file, not a directory: point --home (or PUSHFEED_HOME) at a directory, which is created if missing",
            home.display()
        ),
        _ => Ok(()),
    }
}

pub async fn main_with(cli: Cli) -> Result<()> {
    check_home(&cli.home)?;
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
        Command::Produce { file, at, shards } => produce(
            &home,
            &file,
            at.as_deref(),
            shards,
            cli.allow_any_time,
            cli.json,
        ),
        Command::Generate {
            minutes,
            rate,
            seed,
            malformed,
            duplicates,
            shards,
            history_days,
            truth,
        } => {
            if history_days > 60 {
                bail!("--history-days must be at most 60, the send-hour view's look-back");
            }
            crate::bounds::check_volume(rate, minutes).map_err(|e| anyhow!(e))?;
            let first = Window::containing(now_ms()).minus_minutes(i64::from(minutes));
            let profile = TrafficProfile {
                start_ms: first.start_ms(),
                minutes,
                rate_per_second: rate,
                seed,
                malformed,
                duplicates,
                history: vendor_sim::History {
                    days: history_days,
                    ..DEMO_HISTORY
                },
                ..TrafficProfile::default()
            };
            let summary = generate_into(&home, &profile, shards)?;
            if let Some(path) = truth {
                let planted = vendor_sim::planted_truth(&profile);
                std::fs::write(&path, serde_json::to_vec_pretty(&planted)?)
                    .with_context(|| format!("writing the planted truth to {}", path.display()))?;
            }
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
            crate::bounds::check_window("--window", window, cli.allow_any_time)
                .map_err(|e| anyhow!(e))?;
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
            let (from_w, to_w): (Window, Window) = (from.parse()?, to.parse()?);
            crate::bounds::check_window("--from", from_w, cli.allow_any_time)
                .map_err(|e| anyhow!(e))?;
            let windows = Window::range_inclusive(from_w, to_w)?;
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
            // The analysts' read-only group (docs/analysts.md, "Access").
            if dialect == crate::domain::sql::Dialect::Redshift {
                println!(
                    "-- Once per warehouse (schema --aws skips it when pg_group lists the group):"
                );
            }
            println!("{};\n", crate::domain::access::create_group(dialect));
            for statement in crate::domain::access::grants(settings.routes.routes(), dialect) {
                println!("{statement};");
            }
            Ok(())
        }
        Command::Report {
            out,
            aws,
            workgroup,
            cluster_id,
            database,
            secret_arn,
            db_user,
        } => {
            let data = if aws {
                let target = cli_aws::Target {
                    workgroup,
                    cluster_id,
                    database: database.unwrap_or_default(),
                    secret_arn,
                    db_user,
                };
                cli_aws::report(target, &settings.routes).await
            } else {
                let stack = start_stack(&home, &settings).await?;
                let data = crate::analysts::report::gather(
                    &*stack.warehouse,
                    Some(&*stack.store),
                    settings.routes.routes(),
                )
                .await;
                stack.shutdown().await?;
                data
            };
            let page = crate::analysts::report::render(
                &data?,
                "pushfeed: the analysts' report",
                &crate::domain::window::format_timestamp_ms(now_ms()),
            )?;
            std::fs::write(&out, page)
                .with_context(|| format!("writing the report to {}", out.display()))?;
            println!("wrote {}", out.display());
            Ok(())
        }
        Command::Warehouse {
            command:
                WarehouseCommand::Serve {
                    port,
                    login,
                    password,
                },
        } => {
            let opts = crate::analysts::serve::ServeOptions {
                port,
                login,
                password,
                json: cli.json,
            };
            let stop = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            crate::analysts::serve::serve(&home, &settings.routes, &opts, stop).await
        }
        Command::Doctor { aws, stage } => {
            let report = if aws {
                cli_aws::doctor(&stage.unwrap_or_default(), &settings.routes).await?
            } else {
                crate::doctor::local(&home, &settings.routes).await
            };
            print_doctor(&report, cli.json)
        }
        Command::Canary {
            aws,
            stage,
            deadline,
        } => {
            if deadline == 0 || deadline > 6 * 3600 {
                bail!("--deadline must be between 1 and 21600 seconds");
            }
            let deadline = Duration::from_secs(deadline);
            if aws {
                let stage = stage.unwrap_or_default();
                let outcomes = cli_aws::canary(&stage, &settings.routes, deadline).await?;
                let hint = format!("run `pushfeed doctor --aws --stage {stage}`, then read the window's execution (`pushfeed executions --aws --state-machine <StateMachineArn>`)");
                return crate::canary::report(&outcomes, cli.json, &hint);
            }
            canary_local(&home, &cli.home, &settings, deadline, cli.json).await
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
        Command::Gaps { from, to, aws } => {
            let (from, to) = (from.as_deref(), to.as_deref());
            if aws.aws {
                return crate::gaps_cli::aws::gaps(&aws, from, to, cli.json).await;
            }
            crate::gaps_cli::gaps(&home, &cli.home, &settings, from, to, cli.json).await
        }
        Command::CatchUp {
            from,
            to,
            parallel,
            aws,
        } => {
            let (from, to) = (from.as_deref(), to.as_deref());
            if aws.aws {
                let parallel = parallel.unwrap_or(2);
                return crate::gaps_cli::aws::catch_up(&aws, from, to, parallel, cli.json).await;
            }
            let parallel = parallel.unwrap_or(1);
            crate::gaps_cli::catch_up(&home, &cli.home, &settings, from, to, parallel, cli.json)
                .await
        }
        Command::Status { from, to, aws } => {
            let (from, to) = (from.as_deref(), to.as_deref());
            if aws.aws {
                return crate::gaps_cli::aws::status(&aws, from, to, cli.json).await;
            }
            crate::gaps_cli::status(&home, &cli.home, &settings, from, to, cli.json).await
        }
        Command::Gc {
            min_age_minutes,
            dry_run,
        } => {
            let report = crate::gc::gc(
                &home.bucket_dir(),
                Duration::from_secs(min_age_minutes * 60),
                dry_run,
            )?;
            print_gc(&report, cli.json)
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

async fn start_stack(home: &Home, settings: &Settings) -> Result<LocalStack> {
    Ok(LocalStack::start(
        home.clone(),
        &settings.routes,
        Database::from_env(),
        stack::hints_from_env()?,
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

/// Whether any of the windows has a checkpoint in the local bucket.
fn has_checkpoints(home: &Home, windows: &[Window]) -> bool {
    windows.iter().any(|&window| {
        let key = crate::domain::keys::ObjectKey::Checkpoint { window }.to_string();
        home.bucket_dir().join(key).is_file()
    })
}

/// Runs each window through the state machine on the local stack, one execution each.
async fn run_windows(
    home: &Home,
    home_arg: &Path,
    settings: &Settings,
    windows: &[Window],
    kind: &str,
    progress: bool,
) -> Result<Runs> {
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
    let stream: Arc<dyn Stream> = match LocalStream::open(home.stream_dir()) {
        Ok(s) => Arc::new(s),
        // With the stream gone but checkpoints there, the windows they cover replay from the
        // raw archive; the others fail naming the missing stream.
        Err(e) if has_checkpoints(home, windows) => {
            eprintln!(
                "pushfeed: the local stream {} is missing: windows with a checkpoint are re-read from the raw archive under {}",
                home.stream_dir().display(),
                home.bucket_dir().join("raw").display()
            );
            Arc::new(crate::adapters::local::stream::MissingStream::new(e))
        }
        Err(e) => return Err(e.into()),
    };
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
    let bar = if progress && windows.len() > 1 {
        crate::catch_up::terminal_bar(windows.len() as u64, "windows")
    } else {
        None
    };
    let mut runs = Vec::new();
    for &window in windows {
        if let Some(b) = &bar {
            b.set_message(window.to_string());
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
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    // A bucket the stand-in cannot write into fails the windows in AwaitObjects; the runs are
    // still reported, and the failure names this cause (`check_runs`).
    let mut problem = stack.firehose.delivery_problem();
    if let Err(e) = stack.shutdown().await {
        problem = problem.or(Some(e.to_string()));
    }
    let delivery_problem = problem.map(|p| {
        format!(
            "objects were not delivered because the Firehose stand-in cannot write into {}: {p}. Make it writable (its records wait under {}) and re-run the window",
            home.bucket_dir().display(),
            home.firehose_dir().display()
        )
    });
    Ok(Runs {
        runs,
        delivery_problem,
    })
}

/// The windows one command ran, and why delivery into the bucket failed, if it did.
struct Runs {
    runs: Vec<WindowRun>,
    delivery_problem: Option<String>,
}

impl std::ops::Deref for Runs {
    type Target = Vec<WindowRun>;
    fn deref(&self) -> &Vec<WindowRun> {
        &self.runs
    }
}

/// Prints the runs and fails if any window failed or does not add up.
fn report_runs(runs: &Runs, json: bool, table: bool) -> Result<()> {
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
        for r in runs.iter() {
            print_run(r);
        }
    }
    check_runs(runs)
}

/// Fails if any window failed or does not add up.
fn check_runs(runs: &Runs) -> Result<()> {
    let failed: Vec<&WindowRun> = runs.iter().filter(|r| !r.succeeded()).collect();
    if let Some(problem) = &runs.delivery_problem {
        if failed.is_empty() {
            eprintln!("pushfeed: every window succeeded, but {problem}");
        } else {
            bail!(
                "{} of {} windows failed, first {} ({}): {problem}",
                failed.len(),
                runs.len(),
                failed[0].window,
                failed[0]
                    .execution
                    .error
                    .as_deref()
                    .unwrap_or("unknown error"),
            );
        }
    }
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
            v["beyond_checkpoint"] = json!(s.read.beyond_checkpoint);
            if s.read.beyond_checkpoint > 0 {
                v["beyond_checkpoint_note"] =
                    json!(beyond_checkpoint_note(r.window, s.read.beyond_checkpoint));
            }
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
    if s.read.beyond_checkpoint > 0 {
        println!(
            "  beyond      {}",
            beyond_checkpoint_note(r.window, s.read.beyond_checkpoint)
        );
    }
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

/// What to say when the stream holds records of a window beyond its checkpoint.
fn beyond_checkpoint_note(window: Window, n: u64) -> String {
    format!(
        "{n} records arrived in window {window} after its first run and are not loaded: the checkpoint pins what the window is; to load them, remove checkpoints/window={window}.json from the bucket and run the window again (the tables keep one row per event id)"
    )
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
    for r in runs {
        if let Some(s) = r.summary.as_ref().filter(|s| s.read.beyond_checkpoint > 0) {
            println!(
                "{}",
                beyond_checkpoint_note(r.window, s.read.beyond_checkpoint)
            );
        }
    }
}

fn produce(
    home: &Home,
    file: &Path,
    at: Option<&str>,
    shards: u32,
    allow_any_time: bool,
    json: bool,
) -> Result<()> {
    let text =
        std::fs::read(file).with_context(|| format!("cannot read --file {}", file.display()))?;
    let arrival = match at {
        Some(t) => Some(parse_timestamp_ms(t).ok_or_else(|| {
            anyhow!("--at `{t}` is not an RFC 3339 time like 2026-11-26T10:01:30Z")
        })?),
        None => None,
    };
    if let (Some(t), Some(ms)) = (at, arrival) {
        crate::bounds::check_arrival("--at", t, ms, now_ms(), allow_any_time)
            .map_err(|e| anyhow!(e))?;
    }
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

/// The history `generate --history-days` and the demo plant: enough users and groups for the
/// analyst views and the report to show something, a few thousand events.
const DEMO_HISTORY: vendor_sim::History = vendor_sim::History {
    days: 28,
    users: 100,
    groups: 6,
    channels_per_group: 300,
};

fn generate_into(home: &Home, profile: &TrafficProfile, shards: u32) -> Result<Value> {
    let generated = generate(profile);
    let stream = LocalStream::open_or_create(home.stream_dir(), shards)?;
    let events: usize = generated
        .iter()
        .map(|g| match &g.truth {
            vendor_sim::Truth::Valid { events } | vendor_sim::Truth::Duplicate { events } => {
                events.len()
            }
            vendor_sim::Truth::Malformed { .. } => 1,
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
    crate::bounds::check_volume(rate, minutes).map_err(|e| anyhow!(e))?;
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
        // Four weeks of planted history, so the analyst views and the report have customers,
        // send hours and holdout groups to show.
        history: DEMO_HISTORY,
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
    // The analysts' side: the report, and the warehouse served to their tools.
    let report = home.root.join("report.html");
    let stack = start_stack(home, settings).await?;
    let data = crate::analysts::report::gather(
        &*stack.warehouse,
        Some(&*stack.store),
        settings.routes.routes(),
    )
    .await;
    stack.shutdown().await?;
    let page = crate::analysts::report::render(
        &data?,
        "pushfeed demo: the analysts' report",
        &crate::domain::window::format_timestamp_ms(now_ms()),
    )?;
    std::fs::write(&report, page)
        .with_context(|| format!("writing the report to {}", report.display()))?;
    println!("\nFor analysts (docs/analysts.md):");
    println!(
        "  {}    the report: campaigns, send hours, holdout uplift, freshness (open it in a browser)",
        report.display()
    );
    println!("  pushfeed{home_flag} report --out report.html       writes it again from the views");
    println!("  pushfeed{home_flag} warehouse serve --port 5439    the warehouse on 127.0.0.1 for Power BI, SAS, DBeaver or psql, read-only; Ctrl-C stops it");
    check_runs(&runs)
}

fn print_gc(r: &crate::gc::GcReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    let verb = if r.dry_run { "would remove" } else { "removed" };
    println!(
        "{verb} {} objects ({} bytes) of superseded runs in {} windows, and {} partial files ({} bytes)",
        r.removed_objects, r.removed_bytes, r.windows, r.temp_files_removed, r.temp_bytes_removed
    );
    println!(
        "kept {} objects ({} bytes): checkpoints and the raw archive they name, the newest run's objects, and everything younger than --min-age-minutes",
        r.kept_objects, r.kept_bytes
    );
    Ok(())
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
    let text = read_at_most(definition, asl::limits::MAX_DEFINITION_BYTES)
        .with_context(|| format!("cannot read definition {}", definition.display()))?
        .ok_or_else(|| {
            anyhow!(
                "{} is over the {} bytes Step Functions accepts for a state machine definition; shorten it or split it into several state machines",
                definition.display(),
                asl::limits::MAX_DEFINITION_BYTES
            )
        })?;
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
    // StartExecution refuses an input over the payload quota, so this does too, before
    // reading more of it than that.
    let max_input = asl::limits::MAX_PAYLOAD_BYTES;
    let too_large = || {
        anyhow!(
            "--input is over the {max_input} bytes (256 KiB, UTF-8) Step Functions accepts as an execution's input; pass a smaller input, or put the data in S3 and pass its key"
        )
    };
    let input_text = match input.strip_prefix('@') {
        Some(file) => read_at_most(Path::new(file), max_input)
            .with_context(|| format!("cannot read --input file {file}"))?
            .ok_or_else(too_large)?,
        None if input.len() > max_input => return Err(too_large()),
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

/// A UTF-8 file's text when it holds at most `max` bytes, `None` when it holds more; never
/// reads more than `max + 1` bytes of it.
fn read_at_most(path: &Path, max: usize) -> std::io::Result<Option<String>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(max as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > max {
        return Ok(None);
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
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

/// `canary` on the local stack: the events go into the local stream, the window runs through
/// the state machine once it has settled, and the rows are looked up in the local warehouse.
async fn canary_local(
    home: &Home,
    home_arg: &Path,
    settings: &Settings,
    deadline: Duration,
    json: bool,
) -> Result<()> {
    let stream = LocalStream::open_or_create(home.stream_dir(), 4)?;
    let put_at = tokio::time::Instant::now();
    let put_ms = now_ms();
    let canaries = crate::canary::events(settings.routes.routes(), &put_ms.to_string(), put_ms);
    stream.put_records(
        canaries
            .iter()
            .map(|c| PutRecord {
                partition_key: c.event_id.clone(),
                data: c.json.clone().into_bytes(),
                arrival_ms: None,
            })
            .collect(),
    )?;
    let window = Window::containing(put_ms);
    let ready = window.end_ms() + settings.settle_ms;
    let wait = Duration::from_millis((ready - now_ms()).max(0) as u64 + 50);
    if put_at.elapsed() + wait > deadline {
        bail!("the canary's window {window} settles in {} s, past --deadline {} s: give a longer --deadline", wait.as_secs(), deadline.as_secs());
    }
    if !json {
        eprintln!(
            "put {} canary events into window {window}; running it in {:.0} s",
            canaries.len(),
            wait.as_secs_f64()
        );
    }
    tokio::time::sleep(wait).await;
    let runs = run_windows(home, home_arg, settings, &[window], "canary", false).await?;
    let failed = runs.iter().find(|r| !r.succeeded()).map(|r| {
        format!(
            "its execution {} failed ({}): `pushfeed history {}`",
            r.execution.name,
            r.execution.error.clone().unwrap_or_default(),
            r.execution.name
        )
    });
    let stack = start_stack(home, settings).await?;
    // The window has run: each row is there now or never.
    let outcomes = crate::canary::await_rows(
        &*stack.warehouse,
        &canaries,
        put_at,
        Duration::ZERO,
        Duration::ZERO,
    )
    .await;
    let errors = crate::canary::remove_rows(&*stack.warehouse, &outcomes).await;
    stack.shutdown().await?;
    if !errors.is_empty() {
        bail!("cannot delete the canary rows: {}", errors.join("; "));
    }
    let hint = failed.unwrap_or_else(|| format!("read the window's execution: `pushfeed executions`, then `pushfeed history <name>` (window {window})"));
    crate::canary::report(&outcomes, json, &hint)
}

/// Prints a doctor's report; any failed check fails the command.
fn print_doctor(report: &crate::doctor::Report, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&report.json())?);
    } else {
        for line in report.lines() {
            println!("{line}");
        }
    }
    match report.failures() {
        0 => Ok(()),
        n => bail!(
            "{n} of {} checks failed: do what each FAIL line says, then run doctor again",
            report.checks.len()
        ),
    }
}

/// An error and its causes as one line: "what failed: why", said as a failed task says them.
pub fn describe(e: &anyhow::Error) -> String {
    crate::steps::task::chain_message(e.as_ref())
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
