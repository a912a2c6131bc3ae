//! `pushfeed gaps|catch-up|status --aws`: the same reports over the stack in AWS (S3 checkpoints,
//! Step Functions executions, the ledger through the Redshift Data API, the stream's retention).

use anyhow::{anyhow, Result};

use super::{finish_catch_up, print_gaps_or_json, range, AwsArgs};
use crate::adapters::aws::audit::AwsAccounting;
use crate::adapters::aws::config::load_sdk_config;
use crate::adapters::aws::TaskEnv;
use crate::audit;
use crate::audit::plan;
use crate::catch_up::{self, CatchUpReport, Progress};
use crate::domain::accounting;
use crate::domain::window::now_ms;

async fn accounting(args: &AwsArgs) -> Result<AwsAccounting> {
    let arn = args.state_machine.as_deref().ok_or_else(|| {
        anyhow!("--aws needs --state-machine (or PUSHFEED_STATE_MACHINE_ARN): the stack output StateMachineArn")
    })?;
    let env = TaskEnv::from_lookup(|name| args.lookup(name))?;
    let sdk = load_sdk_config().await;
    Ok(AwsAccounting::build(&env, &sdk, arn)?)
}

pub async fn gaps(args: &AwsArgs, from: Option<&str>, to: Option<&str>, json: bool) -> Result<()> {
    let aws = accounting(args).await?;
    let now = now_ms();
    let (from, to) = range(from, to, aws.settings.lag_minutes, now)?;
    let retention = aws.retention_hours().await?;
    let gathered = audit::gather(&aws.sources(), from, to).await?;
    let repair = args.repair_command();
    let (report, _) = audit::gaps_report(&gathered, from, to, retention, now, &repair);
    print_gaps_or_json(&report, json)?;
    if !report.gaps.is_empty() {
        super::exit_not_complete();
    }
    Ok(())
}

pub async fn status(
    args: &AwsArgs,
    from: Option<&str>,
    to: Option<&str>,
    json: bool,
) -> Result<()> {
    let aws = accounting(args).await?;
    let now = now_ms();
    let (from, to) = range(from, to, aws.settings.lag_minutes, now)?;
    let retention = aws.retention_hours().await?;
    let repair = args.repair_command();
    let report = audit::status(&aws.sources(), from, to, retention, now, &repair).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        audit::print_status(&report);
    }
    Ok(())
}

pub async fn catch_up(
    args: &AwsArgs,
    from: Option<&str>,
    to: Option<&str>,
    parallel: usize,
    json: bool,
) -> Result<()> {
    if !(1..=16).contains(&parallel) {
        anyhow::bail!("--parallel must be between 1 and 16");
    }
    let aws = accounting(args).await?;
    let now = now_ms();
    let (from, to) = range(from, to, aws.settings.lag_minutes, now)?;
    let retention = aws.retention_hours().await?;
    let gathered = audit::gather(&aws.sources(), from, to).await?;
    let gaps = accounting::gaps(gathered.facts.iter().map(|(w, f)| (*w, f)), retention);
    let (todo, running) = plan(&gaps);
    let repair_cmd = args.repair_command();
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
        return finish_catch_up(&report, Some(line), json, &repair_cmd);
    }
    if !json {
        println!(
            "catching up {} windows from {} to {}, {parallel} executions at a time",
            todo.len(),
            todo[0],
            todo[todo.len() - 1]
        );
    }
    let progress = Progress::for_terminal(todo.len(), json);
    let mut report = catch_up::catch_up(&aws.repair(), &todo, parallel, &progress).await;
    report.skipped_running = running;
    finish_catch_up(&report, None, json, &repair_cmd)
}
