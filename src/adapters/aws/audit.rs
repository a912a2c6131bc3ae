//! What accounting needs from AWS beyond the ports: the state machine's executions per window
//! (Step Functions), the stream's retention (Kinesis), and repair executions started and awaited.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sfn::types::ExecutionStatus;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::error::classify;
use crate::audit::{input_window, keep_latest, ExecutionLog};
use crate::catch_up::{Outcome, Repair};
use crate::domain::accounting::LastExecution;
use crate::domain::window::{format_timestamp_ms, now_ms, Window, MINUTE_MS};
use crate::ports::{PortError, PortResult};

/// Executions listed per status at most: a day of failures is far fewer.
const MAX_LISTED: usize = 5_000;
const CONCURRENT_DESCRIBES: usize = 8;

/// The executions of one state machine.
pub struct SfnExecutions {
    pub client: aws_sdk_sfn::Client,
    pub state_machine_arn: String,
    pub lag_minutes: u32,
}

impl SfnExecutions {
    /// The executions with `status` started at or after `since_ms`, newest first.
    async fn list(&self, status: ExecutionStatus, since_ms: i64) -> PortResult<Vec<(String, i64)>> {
        let arn = &self.state_machine_arn;
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_executions()
                .state_machine_arn(arn)
                .status_filter(status.clone())
                .max_results(1000)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify(format!("listing {status} executions of {arn}"), e))?;
            let mut older = false;
            for e in page.executions {
                let started = e.start_date.to_millis().unwrap_or(0);
                if started < since_ms {
                    older = true;
                    continue;
                }
                out.push((e.execution_arn, started));
            }
            match page.next_token {
                // Newest first: once a page reaches past the range, the rest is older still.
                Some(t) if !older && out.len() < MAX_LISTED => token = Some(t),
                _ => break,
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl ExecutionLog for SfnExecutions {
    /// Only running and unsuccessful executions are listed (and described for their window):
    /// a window's checkpoint and ledger rows already say what a successful one did, and there
    /// are 1,440 of those a day against a handful of the others. An execution of a window starts
    /// after the window ends, and a scheduled one at most an hour late (Scheduler's retry
    /// window), so earlier ones are not looked at.
    async fn latest(
        &self,
        from: Window,
        to: Window,
    ) -> PortResult<BTreeMap<Window, LastExecution>> {
        let since = from.end_ms();
        let mut listed = Vec::new();
        for (status, state) in [
            (ExecutionStatus::Running, LastExecution::Running),
            (ExecutionStatus::Failed, LastExecution::Failed),
            (ExecutionStatus::TimedOut, LastExecution::Failed),
            (ExecutionStatus::Aborted, LastExecution::Failed),
        ] {
            for (arn, started) in self.list(status, since).await? {
                listed.push((arn, started, state));
            }
        }
        let client = &self.client;
        let described: Vec<(Option<serde_json::Value>, i64, LastExecution)> = stream::iter(listed)
            .map(|(arn, started, state)| async move {
                let d = client
                    .describe_execution()
                    .execution_arn(&arn)
                    .send()
                    .await
                    .map_err(|e| classify(format!("describing execution {arn}"), e))?;
                let input = d.input.and_then(|t| serde_json::from_str(&t).ok());
                Ok::<_, PortError>((input, started, state))
            })
            .buffer_unordered(CONCURRENT_DESCRIBES)
            .try_collect()
            .await?;
        let mut latest = BTreeMap::new();
        for (input, started, state) in described {
            let Some(window) = input
                .as_ref()
                .and_then(|i| input_window(i, self.lag_minutes))
            else {
                continue;
            };
            if window >= from && window <= to {
                keep_latest(&mut latest, window, started, state);
            }
        }
        Ok(latest.into_iter().map(|(w, (_, s))| (w, s)).collect())
    }
}

/// The stream's retention (DescribeStreamSummary's RetentionPeriodHours).
pub async fn retention_hours(client: &aws_sdk_kinesis::Client, stream: &str) -> PortResult<u32> {
    let out = client
        .describe_stream_summary()
        .stream_name(stream)
        .send()
        .await
        .map_err(|e| classify(format!("describing Kinesis stream {stream}"), e))?;
    let hours = out
        .stream_description_summary
        .map(|s| s.retention_period_hours)
        .unwrap_or(24);
    Ok(u32::try_from(hours).unwrap_or(24))
}

/// The readable, unique name of a repair execution: window, `kind` ("catch-up" or "audit"), and
/// the start time to the millisecond. Step Functions names allow no `:`.
pub fn repair_name(window: Window, kind: &str, now_ms: i64) -> String {
    let at = format_timestamp_ms(now_ms);
    let compact: String = at.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("{}-{kind}-{compact}", window.to_string().replace(':', "-"))
}

/// One `{"window": W}` execution, started and awaited.
pub struct SfnRepair {
    pub client: aws_sdk_sfn::Client,
    pub state_machine_arn: String,
    /// How often DescribeExecution is asked.
    pub poll: Duration,
    /// Longer than the execution's own timeout (config/contract.json), so this never gives up
    /// on an execution that can still end.
    pub give_up_after: Duration,
}

#[async_trait]
impl Repair for SfnRepair {
    async fn run(&self, window: Window) -> anyhow::Result<Outcome> {
        let name = repair_name(window, "catch-up", now_ms());
        let arn = &self.state_machine_arn;
        let input = serde_json::json!({ "window": window });
        let started = self
            .client
            .start_execution()
            .state_machine_arn(arn)
            .name(&name)
            .input(input.to_string())
            .send()
            .await
            .map_err(|e| {
                classify(
                    format!("window {window}: starting execution {name} of {arn}"),
                    e,
                )
            })?;
        let execution = started.execution_arn;
        let until = tokio::time::Instant::now() + self.give_up_after;
        loop {
            let d = self
                .client
                .describe_execution()
                .execution_arn(&execution)
                .send()
                .await
                .map_err(|e| {
                    classify(
                        format!("window {window}: describing execution {execution}"),
                        e,
                    )
                })?;
            match d.status {
                ExecutionStatus::Succeeded => {
                    return Ok(Outcome {
                        execution,
                        error: None,
                    })
                }
                ExecutionStatus::Running | ExecutionStatus::PendingRedrive => {}
                other => {
                    return Ok(Outcome {
                        execution,
                        error: Some(format!(
                            "{other}: {} {}",
                            d.error.unwrap_or_default(),
                            d.cause.unwrap_or_default()
                        )),
                    })
                }
            }
            if tokio::time::Instant::now() > until {
                return Ok(Outcome {
                    error: Some(format!(
                        "still running after {} minutes; see it in the console",
                        self.give_up_after.as_millis() as i64 / MINUTE_MS
                    )),
                    execution,
                });
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}

/// Everything the AWS `gaps`, `status`, `catch-up` and the audit function look at, built from the
/// tasks' environment variables (or the command line's flags for them) and the state machine.
pub struct AwsAccounting {
    pub store: super::S3ObjectStore,
    pub warehouse: super::RedshiftWarehouse,
    pub executions: SfnExecutions,
    pub kinesis: aws_sdk_kinesis::Client,
    pub stream_name: String,
    pub settings: crate::steps::Settings,
}

fn need<'a>(
    value: &'a Option<String>,
    name: &str,
    what: &str,
) -> Result<&'a str, super::config::ConfigError> {
    value
        .as_deref()
        .ok_or_else(|| super::config::ConfigError(format!("{name} is not set: set it to {what}.")))
}

impl AwsAccounting {
    pub fn build(
        env: &super::TaskEnv,
        sdk: &aws_config::SdkConfig,
        state_machine_arn: &str,
    ) -> Result<AwsAccounting, super::config::ConfigError> {
        let settings = env.settings()?;
        let bucket = need(&env.bucket, "PUSHFEED_BUCKET", "the pushfeed bucket's name")?;
        let stream = need(
            &env.stream_name,
            "PUSHFEED_STREAM_NAME",
            "the Kinesis stream's name",
        )?;
        let database = need(
            &env.redshift_database,
            "PUSHFEED_REDSHIFT_DATABASE",
            "the database of the tables",
        )?;
        let target = env.redshift_target.clone().ok_or_else(|| {
            super::config::ConfigError(
                "PUSHFEED_REDSHIFT_WORKGROUP is not set: set it to the Redshift Serverless workgroup, or set PUSHFEED_REDSHIFT_CLUSTER_ID to a cluster.".into(),
            )
        })?;
        let sfn = aws_sdk_sfn::Client::new(sdk);
        Ok(AwsAccounting {
            store: super::S3ObjectStore::new(super::config::s3_client(sdk), bucket),
            warehouse: super::RedshiftWarehouse::new(
                aws_sdk_redshiftdata::Client::new(sdk),
                target,
                database,
                env.redshift_auth.clone(),
            ),
            executions: SfnExecutions {
                client: sfn,
                state_machine_arn: state_machine_arn.to_string(),
                lag_minutes: settings.lag_minutes,
            },
            kinesis: aws_sdk_kinesis::Client::new(sdk),
            stream_name: stream.to_string(),
            settings,
        })
    }

    pub fn sources(&self) -> crate::audit::Sources<'_> {
        crate::audit::Sources {
            store: &self.store,
            warehouse: &self.warehouse,
            executions: &self.executions,
            routes: &self.settings.routes,
        }
    }

    pub async fn retention_hours(&self) -> PortResult<u32> {
        retention_hours(&self.kinesis, &self.stream_name).await
    }

    /// Repairs through `{"window": W}` executions of the state machine.
    pub fn repair(&self) -> SfnRepair {
        SfnRepair {
            client: self.executions.client.clone(),
            state_machine_arn: self.executions.state_machine_arn.clone(),
            poll: Duration::from_secs(5),
            give_up_after: Duration::from_secs(60 * 60),
        }
    }
}

/// `PUSHFEED_STATE_MACHINE_ARN`: the state machine the audit reads executions of (and starts
/// repairs on).
pub const STATE_MACHINE_ARN_VAR: &str = "PUSHFEED_STATE_MACHINE_ARN";
/// `PUSHFEED_AUDIT_REPAIR_MAX`: repair executions one audit may start; 0 (the default) starts
/// none.
pub const REPAIR_MAX_VAR: &str = "PUSHFEED_AUDIT_REPAIR_MAX";
/// However the stage sets it, one audit starts at most this many repairs: ten minutes later the
/// next audit sees what they did.
pub const REPAIR_MAX_LIMIT: usize = 30;

/// The audit function: built once per container from its environment.
pub struct AuditFunction {
    pub accounting: AwsAccounting,
    pub repair_max: usize,
}

impl AuditFunction {
    pub async fn from_env() -> Result<AuditFunction, super::config::ConfigError> {
        let env = super::TaskEnv::from_env()?;
        let arn = std::env::var(STATE_MACHINE_ARN_VAR)
            .ok()
            .filter(|v| !v.trim().is_empty());
        let arn = need(
            &arn,
            STATE_MACHINE_ARN_VAR,
            "the ingest-window state machine's ARN",
        )?;
        let repair_max = match std::env::var(REPAIR_MAX_VAR) {
            Ok(v) if !v.trim().is_empty() => v.trim().parse::<usize>().map_err(|_| {
                super::config::ConfigError(format!(
                    "{REPAIR_MAX_VAR} must be a whole number, not `{v}`."
                ))
            })?,
            _ => 0,
        };
        let sdk = super::config::load_sdk_config().await;
        Ok(AuditFunction {
            accounting: AwsAccounting::build(&env, &sdk, arn)?,
            repair_max: repair_max.min(REPAIR_MAX_LIMIT),
        })
    }

    /// One audit: the last 24 hours of windows whose run is at least 15 minutes late, its EMF
    /// metrics on stdout (CloudWatch turns them into metrics), and, when the stage allows it, up
    /// to `repair_max` repair executions started for the oldest gaps (never awaited: the next
    /// audit sees their result).
    pub async fn run(&self, now_ms: i64) -> anyhow::Result<serde_json::Value> {
        let (from, to) = crate::domain::accounting::default_range(
            now_ms,
            self.accounting.settings.lag_minutes,
            crate::audit::AUDIT_GRACE_MS,
            24,
        );
        self.run_range(from, to, now_ms).await
    }

    /// One audit of the windows `from..=to`.
    pub async fn run_range(
        &self,
        from: Window,
        to: Window,
        now_ms: i64,
    ) -> anyhow::Result<serde_json::Value> {
        let acc = &self.accounting;
        let retention = acc.retention_hours().await?;
        let arn = acc.executions.state_machine_arn.clone();
        let repair = move |a: Window, b: Window| {
            format!("pushfeed catch-up --aws --state-machine {arn} --from {a} --to {b}")
        };
        let status =
            crate::audit::status(&acc.sources(), from, to, retention, now_ms, &repair).await?;
        for doc in crate::metrics::audit(&status, now_ms) {
            println!("{doc}");
        }
        let mut started = Vec::new();
        if self.repair_max > 0 {
            let (todo, _running) = crate::audit::plan(&status.gaps);
            for window in todo.into_iter().take(self.repair_max) {
                let name = repair_name(window, "audit", crate::domain::window::now_ms());
                let out = acc
                    .executions
                    .client
                    .start_execution()
                    .state_machine_arn(&acc.executions.state_machine_arn)
                    .name(&name)
                    .input(serde_json::json!({ "window": window }).to_string())
                    .send()
                    .await
                    .map_err(|e| {
                        classify(
                            format!("window {window}: starting repair execution {name}"),
                            e,
                        )
                    })?;
                started.push(
                    serde_json::json!({"window": window, "execution_arn": out.execution_arn}),
                );
            }
        }
        Ok(serde_json::json!({
            "from": status.from,
            "to": status.to,
            "missing": status.counts.missing,
            "failed": status.counts.failed,
            "partial": status.counts.partial,
            "running": status.counts.running,
            "oldest_gap": status.oldest_gap,
            "repairs_started": started,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_up_names_are_readable_and_allowed_by_step_functions() {
        let w: Window = "2026-11-26T10:01Z".parse().unwrap();
        let name = repair_name(w, "catch-up", 1_795_000_000_123);
        assert!(name.starts_with("2026-11-26T10-01Z-catch-up-"), "{name}");
        assert!(name.len() <= 80);
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
