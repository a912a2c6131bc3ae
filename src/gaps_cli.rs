//! `pushfeed gaps`, `catch-up` and `status` on the local stack: the local ports behind
//! [`crate::audit`] and [`crate::catch_up`], and the exit status 3 that tells cron or CI that a
//! window is not complete.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Result};
use async_trait::async_trait;

use crate::adapters::local::stack::{self, Database, Home, LocalStack};
use crate::adapters::local::stream::LocalStream;
use crate::audit::{self, plan, GapsReport, LocalExecutions, Sources};
use crate::catch_up::{self, CatchUpReport, Outcome, Progress, Repair};
use crate::domain::accounting;
use crate::domain::window::{format_timestamp_ms, now_ms, Window};
use crate::machine::{LocalPorts, LocalRunner};
use crate::ports::{Stream, SystemClock};
use crate::steps::Settings;

/// The `--aws` flags of `gaps`, `catch-up` and `status`. Each also reads the variable the task
/// functions read, so a shell with the stage's variables needs only `--aws`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AwsArgs {
    /// Look at (and repair through) the stack in AWS: Step Functions, S3, Kinesis and Redshift.
    #[arg(long)]
    pub aws: bool,
    /// The state machine's ARN (the stack output StateMachineArn), with --aws.
    #[arg(long, env = "PUSHFEED_STATE_MACHINE_ARN")]
    pub state_machine: Option<String>,
    /// The pushfeed bucket, with --aws.
    #[arg(long, env = "PUSHFEED_BUCKET")]
    pub bucket: Option<String>,
    /// The Kinesis stream (for its retention), with --aws.
    #[arg(long, env = "PUSHFEED_STREAM_NAME")]
    pub stream: Option<String>,
    /// The Redshift Serverless workgroup, with --aws.
    #[arg(
        long,
        env = "PUSHFEED_REDSHIFT_WORKGROUP",
        conflicts_with = "cluster_id"
    )]
    pub workgroup: Option<String>,
    /// The provisioned Redshift cluster, with --aws.
    #[arg(long, env = "PUSHFEED_REDSHIFT_CLUSTER_ID")]
    pub cluster_id: Option<String>,
    #[arg(long, env = "PUSHFEED_REDSHIFT_DATABASE")]
    pub database: Option<String>,
    /// The Secrets Manager secret the Load connects with, with --aws.
    #[arg(long, env = "PUSHFEED_REDSHIFT_SECRET_ARN", conflicts_with = "db_user")]
    pub secret_arn: Option<String>,
    /// The database user of a cluster, with --aws.
    #[arg(long, env = "PUSHFEED_REDSHIFT_DB_USER")]
    pub db_user: Option<String>,
}

impl AwsArgs {
    /// The exact `pushfeed catch-up --aws ...` command that repairs a range of this stack.
    pub fn repair_command(&self) -> impl Fn(Window, Window) -> String {
        let mut flags = String::from(" --aws");
        for (flag, value) in [
            ("--state-machine", &self.state_machine),
            ("--bucket", &self.bucket),
            ("--stream", &self.stream),
            ("--workgroup", &self.workgroup),
            ("--cluster-id", &self.cluster_id),
            ("--database", &self.database),
            ("--secret-arn", &self.secret_arn),
            ("--db-user", &self.db_user),
        ] {
            if let Some(v) = value {
                flags.push_str(&format!(" {flag} {v}"));
            }
        }
        move |a, b| format!("pushfeed catch-up{flags} --from {a} --to {b}")
    }

    /// The variable the tasks read for each flag, for building the same adapters they build.
    pub fn lookup(&self, name: &str) -> Option<String> {
        match name {
            "PUSHFEED_BUCKET" => self.bucket.clone(),
            "PUSHFEED_STREAM_NAME" => self.stream.clone(),
            "PUSHFEED_REDSHIFT_WORKGROUP" => self.workgroup.clone(),
            "PUSHFEED_REDSHIFT_CLUSTER_ID" => self.cluster_id.clone(),
            "PUSHFEED_REDSHIFT_DATABASE" => self.database.clone(),
            "PUSHFEED_REDSHIFT_SECRET_ARN" => self.secret_arn.clone(),
            "PUSHFEED_REDSHIFT_DB_USER" => self.db_user.clone(),
            other => std::env::var(other).ok(),
        }
    }
}

#[cfg(feature = "aws")]
#[path = "gaps_aws.rs"]
pub mod aws;

#[cfg(not(feature = "aws"))]
pub mod aws {
    //! Without the `aws` feature, `--aws` says how to get it.
    use super::AwsArgs;
    use anyhow::{bail, Result};

    fn unavailable<T>() -> Result<T> {
        bail!("this pushfeed was built without AWS support: build it with `cargo build --features aws` to use --aws")
    }

    pub async fn gaps(_: &AwsArgs, _: Option<&str>, _: Option<&str>, _: bool) -> Result<()> {
        unavailable()
    }

    pub async fn status(_: &AwsArgs, _: Option<&str>, _: Option<&str>, _: bool) -> Result<()> {
        unavailable()
    }

    pub async fn catch_up(
        _: &AwsArgs,
        _: Option<&str>,
        _: Option<&str>,
        _: usize,
        _: bool,
    ) -> Result<()> {
        unavailable()
    }
}

/// The exit status of `gaps` and `catch-up` when a window is not complete (or not repaired).
pub const NOT_COMPLETE: i32 = 3;

/// The local stream keeps every record; gaps are reported against Kinesis's default retention,
/// the one a deployed stream starts with.
pub const LOCAL_RETENTION_HOURS: u32 = 24;

/// The range a command looks at: `--from`/`--to`, each defaulting to the last 24 hours of
/// windows whose run had time to finish.
pub fn range(
    from: Option<&str>,
    to: Option<&str>,
    lag_minutes: u32,
    now_ms: i64,
) -> Result<(Window, Window)> {
    let (default_from, default_to) =
        accounting::default_range(now_ms, lag_minutes, audit::CLI_GRACE_MS, 24);
    let parse = |flag: &str, text: &str| -> Result<Window> {
        text.parse().map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
    };
    let to = match to {
        Some(t) => parse("to", t)?,
        None => default_to,
    };
    let from = match from {
        Some(f) => parse("from", f)?,
        None if to < default_from => to.minus_minutes(24 * 60 - 1),
        None => default_from,
    };
    audit::windows(from, to)?;
    Ok((from, to))
}

/// `pushfeed catch-up [--home H] --from A --to B`: the command that repairs a range locally.
pub fn local_repair_command(home_arg: &Path) -> impl Fn(Window, Window) -> String {
    let home = if home_arg == Path::new(stack::DEFAULT_HOME) {
        String::new()
    } else {
        format!(" --home {}", home_arg.display())
    };
    move |a, b| format!("pushfeed catch-up{home} --from {a} --to {b}")
}

/// The command a failure email of a catch-up's execution tells a person to run, without its
/// window flags (as `run` and `replay` name it).
fn local_replay_command(home_arg: &Path) -> String {
    if home_arg == Path::new(stack::DEFAULT_HOME) {
        "pushfeed replay".to_string()
    } else {
        format!("pushfeed replay --home {}", home_arg.display())
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

/// Runs `f` on a started stack and stops the stack whatever `f` returned.
async fn with_stack<T>(
    home: &Home,
    settings: &Settings,
    f: impl AsyncFnOnce(&LocalStack) -> Result<T>,
) -> Result<T> {
    let stack = start_stack(home, settings).await?;
    let result = f(&stack).await;
    let stopped = stack.shutdown().await;
    let value = result?;
    stopped?;
    Ok(value)
}

fn executions(home: &Home, settings: &Settings) -> LocalExecutions {
    LocalExecutions {
        dir: home.executions_dir(),
        lag_minutes: settings.lag_minutes,
    }
}

pub fn print_gaps_or_json(report: &GapsReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        audit::print_gaps(report);
    }
    Ok(())
}

/// Ends the process with [`NOT_COMPLETE`] once everything is printed and stopped.
pub fn exit_not_complete() -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(NOT_COMPLETE)
}

pub async fn gaps(
    home: &Home,
    home_arg: &Path,
    settings: &Settings,
    from: Option<&str>,
    to: Option<&str>,
    json: bool,
) -> Result<()> {
    let now = now_ms();
    let (from, to) = range(from, to, settings.lag_minutes, now)?;
    let repair = local_repair_command(home_arg);
    let report = with_stack(home, settings, async |stack: &LocalStack| {
        let log = executions(home, settings);
        let sources = Sources {
            store: stack.store.as_ref(),
            warehouse: stack.warehouse.as_ref(),
            executions: &log,
            routes: &settings.routes,
        };
        let gathered = audit::gather(&sources, from, to).await?;
        Ok(audit::gaps_report(&gathered, from, to, LOCAL_RETENTION_HOURS, now, &repair).0)
    })
    .await?;
    print_gaps_or_json(&report, json)?;
    if !report.gaps.is_empty() {
        exit_not_complete();
    }
    Ok(())
}

pub async fn status(
    home: &Home,
    home_arg: &Path,
    settings: &Settings,
    from: Option<&str>,
    to: Option<&str>,
    json: bool,
) -> Result<()> {
    let now = now_ms();
    let (from, to) = range(from, to, settings.lag_minutes, now)?;
    let repair = local_repair_command(home_arg);
    let report = with_stack(home, settings, async |stack: &LocalStack| {
        let log = executions(home, settings);
        let sources = Sources {
            store: stack.store.as_ref(),
            warehouse: stack.warehouse.as_ref(),
            executions: &log,
            routes: &settings.routes,
        };
        Ok(audit::status(&sources, from, to, LOCAL_RETENTION_HOURS, now, &repair).await?)
    })
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        audit::print_status(&report);
    }
    Ok(())
}

/// One window through the local state machine.
struct LocalRepair {
    runner: LocalRunner,
}

#[async_trait]
impl Repair for LocalRepair {
    async fn run(&self, window: Window) -> Result<Outcome> {
        let run = self.runner.run(window, "catch-up").await?;
        Ok(Outcome {
            execution: run.execution.name.clone(),
            error: (!run.succeeded()).then(|| {
                format!(
                    "{}: {}",
                    run.execution.error.as_deref().unwrap_or("failed"),
                    run.execution.cause.as_deref().unwrap_or_default()
                )
            }),
        })
    }
}

/// Prints a catch-up's result (or that there was nothing to do) and ends with
/// [`NOT_COMPLETE`] when something is left.
pub fn finish_catch_up(
    report: &CatchUpReport,
    nothing_to_do: Option<String>,
    json: bool,
    repair: &dyn Fn(Window, Window) -> String,
) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else if let Some(line) = nothing_to_do {
        println!("{line}");
    } else {
        catch_up::print_summary(report, repair);
    }
    if !report.all_repaired() {
        exit_not_complete();
    }
    Ok(())
}

pub async fn catch_up(
    home: &Home,
    home_arg: &Path,
    settings: &Settings,
    from: Option<&str>,
    to: Option<&str>,
    parallel: usize,
    json: bool,
) -> Result<()> {
    if !(1..=16).contains(&parallel) {
        bail!("--parallel must be between 1 and 16");
    }
    let now = now_ms();
    let (from, to) = range(from, to, settings.lag_minutes, now)?;
    let settled = to.end_ms() + settings.settle_ms;
    if settled > now {
        bail!(
            "window {to} has not ended yet: catch up to it after {}",
            format_timestamp_ms(settled)
        );
    }
    let repair_cmd = local_repair_command(home_arg);
    let stream: Arc<dyn Stream> = Arc::new(LocalStream::open(home.stream_dir())?);
    let (report, nothing) = with_stack(home, settings, async |stack: &LocalStack| {
        let log = executions(home, settings);
        let sources = Sources {
            store: stack.store.as_ref(),
            warehouse: stack.warehouse.as_ref(),
            executions: &log,
            routes: &settings.routes,
        };
        let gathered = audit::gather(&sources, from, to).await?;
        let gaps = accounting::gaps(
            gathered.facts.iter().map(|(w, f)| (*w, f)),
            LOCAL_RETENTION_HOURS,
        );
        let (todo, running) = plan(&gaps);
        if todo.is_empty() {
            let line = format!(
                "nothing to catch up: {} of {} windows from {from} to {to} are complete{}",
                gathered.facts.len() - running.len(),
                gathered.facts.len(),
                if running.is_empty() {
                    String::new()
                } else {
                    format!(", {} running", running.len())
                }
            );
            let report = CatchUpReport {
                skipped_running: running,
                ..CatchUpReport::default()
            };
            return Ok((report, Some(line)));
        }
        let ports = LocalPorts {
            stream: stream.clone(),
            store: stack.store.clone(),
            delivery: stack.firehose.clone(),
            warehouse: stack.warehouse.clone(),
            notifier: stack.outbox.clone(),
            clock: Arc::new(SystemClock),
        };
        let runner = LocalRunner::new(
            ports,
            settings.clone(),
            &local_replay_command(home_arg),
            home.executions_dir(),
        )?;
        if !json {
            println!(
                "catching up {} windows from {} to {}, {parallel} at a time",
                todo.len(),
                todo[0],
                todo[todo.len() - 1]
            );
        }
        let progress = Progress::for_terminal(todo.len(), json);
        let mut report =
            catch_up::catch_up(&LocalRepair { runner }, &todo, parallel, &progress).await;
        report.skipped_running = running;
        Ok((report, None))
    })
    .await?;
    finish_catch_up(&report, nothing, json, &repair_cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_defaults_to_the_last_day_and_refuses_bad_flags() {
        let now = crate::domain::window::parse_timestamp_ms("2026-11-26T10:30:20Z").unwrap();
        let (from, to) = range(None, None, 1, now).unwrap();
        assert_eq!(
            (from.to_string(), to.to_string()),
            ("2026-11-25T10:24Z".into(), "2026-11-26T10:23Z".into())
        );
        let (from, to) = range(None, Some("2026-11-20T00:00Z"), 1, now).unwrap();
        assert_eq!(
            (from.to_string(), to.to_string()),
            ("2026-11-19T00:01Z".into(), "2026-11-20T00:00Z".into())
        );
        let err = range(Some("yesterday"), None, 1, now)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--from: window `yesterday`"), "{err}");
        assert!(range(Some("2026-11-01T00:00Z"), None, 1, now).is_err());
    }

    #[test]
    fn the_repair_command_names_a_home_other_than_the_default() {
        let w: Window = "2026-11-26T10:01Z".parse().unwrap();
        assert_eq!(
            local_repair_command(Path::new(stack::DEFAULT_HOME))(w, w.next()),
            "pushfeed catch-up --from 2026-11-26T10:01Z --to 2026-11-26T10:02Z"
        );
        assert_eq!(
            local_repair_command(Path::new("/tmp/h"))(w, w),
            "pushfeed catch-up --home /tmp/h --from 2026-11-26T10:01Z --to 2026-11-26T10:01Z"
        );
    }
}
