//! `pushfeed doctor --aws --stage NAME`: reads the stack `pushfeed-<stage>`'s outputs and asks
//! each service whether the resource the tasks use exists and is configured as the code assumes.
//! Only reads: nothing is put, started or changed. The comparisons are `crate::doctor`'s.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use serde_json::Value;

use super::redshift::{RedshiftAuth, RedshiftTarget, RedshiftWarehouse};
use crate::deploy_contract;
use crate::doctor::{definition_difference, warehouse_checks, Report, DEFINITION};
use crate::domain::routes::RoutingTable;

/// The stack's outputs by name, with CDK's construct path and hash taken off the logical id
/// (`WorkflowStateMachineArn1A2B3C4D` is found as `StateMachineArn`).
#[derive(Debug, Default)]
pub struct Outputs(BTreeMap<String, String>);

impl Outputs {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Outputs {
        Outputs(pairs.into_iter().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        if let Some(v) = self.0.get(name) {
            return Some(v);
        }
        self.0.iter().find_map(|(k, v)| {
            let base = k
                .len()
                .checked_sub(8)
                .filter(|&n| k[n..].chars().all(|c| c.is_ascii_hexdigit()))
                .map_or(k.as_str(), |n| &k[..n]);
            base.ends_with(name).then_some(v.as_str())
        })
    }
}

/// The Redshift connection of `pushfeed schema --aws ARGS`, as the stack output SchemaCommand
/// gives it: the Load's own target, database and identity.
pub fn connection(schema_command: &str) -> Result<(RedshiftTarget, String, RedshiftAuth), String> {
    let words: Vec<&str> = schema_command.split_whitespace().collect();
    let arg = |flag: &str| {
        words
            .iter()
            .position(|w| *w == flag)
            .and_then(|i| words.get(i + 1))
            .map(|s| s.to_string())
    };
    let target = match (arg("--workgroup"), arg("--cluster-id")) {
        (Some(w), None) => RedshiftTarget::Workgroup(w),
        (None, Some(c)) => RedshiftTarget::Cluster(c),
        _ => {
            return Err(format!(
                "`{schema_command}` names neither --workgroup nor --cluster-id"
            ))
        }
    };
    let database =
        arg("--database").ok_or_else(|| format!("`{schema_command}` has no --database"))?;
    let auth = match (arg("--secret-arn"), arg("--db-user")) {
        (Some(s), _) => RedshiftAuth::SecretArn(s),
        (None, Some(u)) => RedshiftAuth::DbUser(u),
        (None, None) => RedshiftAuth::Iam,
    };
    Ok((target, database, auth))
}

/// Runs every check of the stage and returns them; the caller prints and decides the exit code.
pub async fn doctor(sdk: &SdkConfig, stage: &str, routes: &RoutingTable) -> Report {
    let mut report = Report::default();
    let stack = format!("pushfeed-{stage}");
    let deploy = format!(
        "deploy it: `cd cdk && npx cdk deploy -c stage={stage}` in this account and region"
    );

    // The stack's outputs name everything else.
    let cfn = aws_sdk_cloudformation::Client::new(sdk);
    let outputs = match cfn.describe_stacks().stack_name(&stack).send().await {
        Ok(out) => match out.stacks().first() {
            Some(s) => {
                let status = s
                    .stack_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                let outputs = Outputs::new(s.outputs().iter().filter_map(|o| {
                    Some((o.output_key()?.to_string(), o.output_value()?.to_string()))
                }));
                if status.ends_with("_COMPLETE")
                    && !status.contains("ROLLBACK")
                    && !status.starts_with("DELETE")
                {
                    report.ok("stack", format!("{stack} is {status}"));
                } else {
                    report.fail(
                        "stack",
                        format!("{stack} is {status}"),
                        format!("look at its events in the CloudFormation console, then {deploy}"),
                    );
                }
                outputs
            }
            None => {
                report.fail("stack", format!("no stack {stack}"), deploy);
                return report;
            }
        },
        Err(e) => {
            report.fail(
                "stack",
                format!(
                    "cannot describe {stack}: {}",
                    aws_sdk_cloudformation::error::DisplayErrorContext(e)
                ),
                format!(
                    "check the credentials and region (aws sts get-caller-identity), or {deploy}"
                ),
            );
            return report;
        }
    };
    let need = |name: &str, report: &mut Report| -> Option<String> {
        let v = outputs.get(name).map(str::to_string);
        if v.is_none() {
            report.fail(
                format!("output {name}"),
                format!("the stack {stack} has no output {name}"),
                format!("re-deploy the stack from this version of pushfeed ({deploy})"),
            );
        }
        v
    };
    let bucket = need("BucketName", &mut report);
    let stream = need("StreamName", &mut report);
    let state_machine = need("StateMachineArn", &mut report);
    let topic = need("FailureTopicArn", &mut report);
    let schema_command = need("SchemaCommand", &mut report);
    let copy_role = need("CopyRoleArn", &mut report);

    if let Some(stream) = &stream {
        check_stream(sdk, stream, &mut report).await;
    }
    if let Some(bucket) = &bucket {
        check_bucket(sdk, bucket, &mut report).await;
        check_firehose(sdk, stage, bucket, routes, &mut report).await;
    }
    if let Some(arn) = &state_machine {
        check_state_machine(sdk, arn, &mut report).await;
        check_schedule(sdk, stage, arn, &mut report).await;
    }
    if let Some(topic) = &topic {
        check_topic(sdk, topic, &mut report).await;
    }
    if let Some(cmd) = &schema_command {
        match connection(cmd) {
            Ok((target, database, auth)) => {
                let wh = RedshiftWarehouse::new(
                    aws_sdk_redshiftdata::Client::new(sdk),
                    target,
                    database,
                    auth,
                );
                warehouse_checks(&wh, routes.routes(), cmd, &mut report).await;
            }
            Err(e) => report.fail("warehouse", e, format!("re-deploy the stack ({deploy})")),
        }
    }
    if let Some(role) = &copy_role {
        // Whether the role is associated with the workgroup or cluster is a Redshift setting the
        // Data API does not show; the canary's load is the first thing that proves it.
        report.ok("copy role", format!("{role} (its association with Redshift is proven by `pushfeed canary --aws --stage {stage}`)"));
    }
    if let Some(arn) = &state_machine {
        check_executions(sdk, arn, &mut report).await;
    }
    report
}

async fn check_stream(sdk: &SdkConfig, name: &str, report: &mut Report) {
    let k = aws_sdk_kinesis::Client::new(sdk);
    match k.describe_stream_summary().stream_name(name).send().await {
        Ok(out) => {
            let Some(s) = out.stream_description_summary() else {
                report.fail(
                    "stream",
                    format!("{name}: DescribeStreamSummary returned nothing"),
                    "look at the stream in the Kinesis console",
                );
                return;
            };
            let status = s.stream_status().as_str().to_string();
            let hours = s.retention_period_hours();
            // ReadWindow reads a minute that ended a few minutes ago, and the audit's repairs
            // (catch-up) rely on a day at least; the raw archive covers longer gaps.
            if status != "ACTIVE" {
                report.fail("stream", format!("{name} is {status}"), "wait until it is ACTIVE (an update or creation in progress), or look at it in the Kinesis console");
            } else if hours < 24 {
                report.fail("stream", format!("{name} keeps records {hours} h"), "raise its retention to at least 24 h (the stage's stream.retentionHours), so a failed window can be re-run from the stream");
            } else {
                report.ok(
                    "stream",
                    format!(
                        "{name} is ACTIVE, keeps records {hours} h, {} open shards",
                        s.open_shard_count()
                    ),
                );
            }
        }
        Err(e) => report.fail(
            "stream",
            format!("{name}: {}", aws_sdk_kinesis::error::DisplayErrorContext(e)),
            "create it (re-deploy the stack), or fix the stage's stream.existingName",
        ),
    }
}

async fn check_bucket(sdk: &SdkConfig, bucket: &str, report: &mut Report) {
    let s3 = super::config::s3_client(sdk);
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => report.ok("bucket", format!("{bucket} exists and answers")),
        Err(e) => report.fail(
            "bucket",
            format!("{bucket}: {}", aws_sdk_s3::error::DisplayErrorContext(e)),
            "the stack's bucket is gone or not readable with these credentials: re-deploy the stack (a retained bucket from an earlier stack must be imported or emptied and deleted first)",
        ),
    }
}

async fn check_firehose(
    sdk: &SdkConfig,
    stage: &str,
    bucket: &str,
    routes: &RoutingTable,
    report: &mut Report,
) {
    let f = aws_sdk_firehose::Client::new(sdk);
    let contract = &deploy_contract::get().s3.firehose;
    for r in routes.routes() {
        let name = format!("{stage}-{}", r.delivery_stream);
        let check = format!("firehose {}", r.event_type);
        let out = match f
            .describe_delivery_stream()
            .delivery_stream_name(&name)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                report.fail(check, format!("{name}: {}", aws_sdk_firehose::error::DisplayErrorContext(e)), "re-deploy the stack: it makes one Firehose stream per route of config/routes.json");
                continue;
            }
        };
        let Some(d) = out.delivery_stream_description() else {
            report.fail(
                check,
                format!("{name}: no description"),
                "look at it in the Firehose console",
            );
            continue;
        };
        let mut problems = Vec::new();
        let status = d.delivery_stream_status().as_str();
        if status != "ACTIVE" {
            problems.push(format!("status {status}"));
        }
        let dest = d
            .destinations()
            .iter()
            .find_map(|x| x.extended_s3_destination_description());
        match dest {
            None => problems.push("no extended S3 destination".to_string()),
            Some(s3) => {
                let want_prefix = contract.prefix.replace("{event_type}", &r.event_type);
                if s3.bucket_arn() != format!("arn:aws:s3:::{bucket}") {
                    problems.push(format!(
                        "writes to {}, not the stage's bucket {bucket}",
                        s3.bucket_arn()
                    ));
                }
                if s3.prefix() != Some(want_prefix.as_str()) {
                    problems.push(format!(
                        "prefix {:?}, AwaitObjects lists {want_prefix}",
                        s3.prefix().unwrap_or("")
                    ));
                }
                let want_errors = contract
                    .error_output_prefix
                    .replace("{delivery_stream}", &name);
                if s3.error_output_prefix() != Some(want_errors.as_str()) {
                    problems.push(format!(
                        "error output prefix {:?}, not {want_errors}",
                        s3.error_output_prefix().unwrap_or("")
                    ));
                }
                let compression = s3.compression_format().as_str().to_string();
                if compression != contract.compression {
                    problems.push(format!(
                        "compression {compression:?}, the contract {}",
                        contract.compression
                    ));
                }
                if let Some(ext) = s3.file_extension() {
                    if ext != contract.file_extension {
                        problems.push(format!(
                            "file extension {ext:?}, the contract {}",
                            contract.file_extension
                        ));
                    }
                }
                let partitioning = s3
                    .dynamic_partitioning_configuration()
                    .and_then(|p| p.enabled())
                    .unwrap_or(false);
                if !partitioning {
                    problems.push(
                        "dynamic partitioning is off, so objects do not land under window=W/"
                            .to_string(),
                    );
                }
            }
        }
        if problems.is_empty() {
            report.ok(
                check,
                format!(
                    "{name} is ACTIVE and writes events/{}/window=W/ in the bucket",
                    r.event_type
                ),
            );
        } else {
            report.fail(check, format!("{name}: {}", problems.join("; ")), "re-deploy the stack so the stream matches config/contract.json (a hand edit in the console is overwritten by it)");
        }
    }
}

async fn check_state_machine(sdk: &SdkConfig, arn: &str, report: &mut Report) {
    let sf = aws_sdk_sfn::Client::new(sdk);
    match sf
        .describe_state_machine()
        .state_machine_arn(arn)
        .send()
        .await
    {
        Ok(out) => {
            let status = out
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            let template: Value =
                serde_json::from_str(DEFINITION).expect("the built-in definition is JSON");
            let diff = match serde_json::from_str::<Value>(out.definition()) {
                Ok(deployed) => definition_difference(&template, &deployed),
                Err(e) => Some(format!("the deployed definition is not JSON: {e}")),
            };
            match (status.as_str(), diff) {
                ("ACTIVE", None) => report.ok("state machine", format!("{} is ACTIVE and runs statemachines/ingest-window.asl.json", out.name())),
                ("ACTIVE", Some(d)) => report.fail("state machine", format!("{}: the deployed definition differs from statemachines/ingest-window.asl.json: {d}", out.name()), "re-deploy the stack from this version of pushfeed, or use the pushfeed that matches the deployed stack"),
                (s, _) => report.fail("state machine", format!("{} is {s}", out.name()), "re-deploy the stack"),
            }
        }
        Err(e) => report.fail(
            "state machine",
            format!("{arn}: {}", aws_sdk_sfn::error::DisplayErrorContext(e)),
            "re-deploy the stack",
        ),
    }
}

async fn check_schedule(sdk: &SdkConfig, stage: &str, state_machine: &str, report: &mut Report) {
    let name = format!("{stage}-pushfeed-every-minute");
    let sc = aws_sdk_scheduler::Client::new(sdk);
    match sc.get_schedule().name(&name).send().await {
        Ok(s) => {
            let state = s
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            let target = s.target().map(|t| t.arn().to_string()).unwrap_or_default();
            let expr = s.schedule_expression().unwrap_or_default();
            if state != "ENABLED" {
                report.fail("schedule", format!("{name} is {state}: no window is read until it runs"), format!("enable it: `aws scheduler update-schedule` with --state ENABLED, or deploy with -c scheduleEnabled=true (-c stage={stage})"));
            } else if target != state_machine {
                report.fail(
                    "schedule",
                    format!("{name} starts {target}, not {state_machine}"),
                    "re-deploy the stack",
                );
            } else if expr != "rate(1 minute)" {
                report.fail(
                    "schedule",
                    format!("{name} runs at {expr}, not rate(1 minute): windows are skipped"),
                    "re-deploy the stack",
                );
            } else {
                report.ok(
                    "schedule",
                    format!("{name} is ENABLED, rate(1 minute), starting the state machine"),
                );
            }
        }
        Err(e) => report.fail(
            "schedule",
            format!(
                "{name}: {}",
                aws_sdk_scheduler::error::DisplayErrorContext(e)
            ),
            "re-deploy the stack",
        ),
    }
}

async fn check_topic(sdk: &SdkConfig, topic: &str, report: &mut Report) {
    let sns = aws_sdk_sns::Client::new(sdk);
    match sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .send()
        .await
    {
        Ok(out) => {
            let subs = out.subscriptions();
            // SNS lists an unconfirmed subscription with the ARN "PendingConfirmation".
            let confirmed = subs
                .iter()
                .filter(|s| s.subscription_arn().is_some_and(|a| a.starts_with("arn:")))
                .count();
            let pending = subs.len() - confirmed;
            if confirmed == 0 {
                report.fail("failure topic", format!("{topic} has no confirmed subscription ({pending} pending): failure emails reach no one"), "confirm the email SNS sent to each address, or deploy with -c alertEmails=you@example.com");
            } else {
                report.ok(
                    "failure topic",
                    format!("{confirmed} confirmed subscriptions, {pending} pending"),
                );
            }
        }
        Err(e) => report.fail(
            "failure topic",
            format!("{topic}: {}", aws_sdk_sns::error::DisplayErrorContext(e)),
            "re-deploy the stack",
        ),
    }
}

async fn check_executions(sdk: &SdkConfig, arn: &str, report: &mut Report) {
    let sf = super::sfn::StepFunctions::new(aws_sdk_sfn::Client::new(sdk));
    match sf.list(arn, 20).await {
        Ok(list) if list.is_empty() => report.ok(
            "executions",
            "none yet (the schedule starts one a minute once enabled)",
        ),
        Ok(list) => {
            let failed: Vec<&str> = list
                .iter()
                .filter(|e| matches!(e.status.as_str(), "FAILED" | "TIMED_OUT" | "ABORTED"))
                .map(|e| e.name.as_str())
                .collect();
            if failed.is_empty() {
                report.ok(
                    "executions",
                    format!("the last {} did not fail", list.len()),
                );
            } else {
                report.fail("executions", format!("{} of the last {} failed: {}", failed.len(), list.len(), failed.join(", ")), format!("read their error: `pushfeed executions --aws --state-machine {arn}`, then re-run each window with the command in its failure email"));
            }
        }
        Err(e) => report.fail(
            "executions",
            e.to_string(),
            "check the credentials may list executions",
        ),
    }
}

/// `pushfeed canary --aws --stage NAME`: puts one marked event per route into the stage's stream
/// (as the vendor does, with PutRecords), then polls each route's table through the Data API, as
/// the Load's identity, until its row is there or `deadline` passes; deletes the rows it saw.
pub async fn canary(
    sdk: &SdkConfig,
    stage: &str,
    routes: &RoutingTable,
    deadline: std::time::Duration,
) -> anyhow::Result<Vec<crate::canary::Outcome>> {
    use anyhow::{anyhow, bail};
    let stack = format!("pushfeed-{stage}");
    let cfn = aws_sdk_cloudformation::Client::new(sdk);
    let described = cfn
        .describe_stacks()
        .stack_name(&stack)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "cannot describe the stack {stack}: {}; run `pushfeed doctor --aws --stage {stage}`",
                aws_sdk_cloudformation::error::DisplayErrorContext(e)
            )
        })?;
    let Some(s) = described.stacks().first() else {
        bail!("no stack {stack}: deploy it first (`cd cdk && npx cdk deploy -c stage={stage}`)");
    };
    let outputs = Outputs::new(
        s.outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string()))),
    );
    let need = |name: &str| {
        outputs.get(name).map(str::to_string).ok_or_else(|| {
            anyhow!("the stack {stack} has no output {name}: re-deploy it from this version of pushfeed")
        })
    };
    let stream = need("StreamName")?;
    let (target, database, auth) = connection(&need("SchemaCommand")?).map_err(|e| anyhow!(e))?;
    let warehouse = RedshiftWarehouse::new(
        aws_sdk_redshiftdata::Client::new(sdk),
        target,
        database,
        auth,
    );

    let put_at = tokio::time::Instant::now();
    let put_ms = crate::domain::window::now_ms();
    let canaries = crate::canary::events(routes.routes(), &put_ms.to_string(), put_ms);
    let entries = canaries
        .iter()
        .map(|c| {
            aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                .partition_key(&c.event_id)
                .data(aws_sdk_kinesis::primitives::Blob::new(
                    c.json.clone().into_bytes(),
                ))
                .build()
                .map_err(|e| anyhow!("cannot build the canary's record: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let out = aws_sdk_kinesis::Client::new(sdk)
        .put_records()
        .stream_name(&stream)
        .set_records(Some(entries))
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "cannot put the canary events into Kinesis stream {stream}: {}",
                aws_sdk_kinesis::error::DisplayErrorContext(e)
            )
        })?;
    if out.failed_record_count().unwrap_or(0) > 0 {
        let codes: Vec<&str> = out
            .records()
            .iter()
            .filter_map(|r| r.error_code())
            .collect();
        bail!(
            "Kinesis stream {stream} refused {} of the canary's records ({}): run the canary again",
            codes.len(),
            codes.join(", ")
        );
    }
    eprintln!(
        "put {} canary events into {stream} (window {}); waiting up to {} s for their rows",
        canaries.len(),
        crate::domain::window::Window::containing(put_ms),
        deadline.as_secs()
    );
    let outcomes = crate::canary::await_rows(
        &warehouse,
        &canaries,
        put_at,
        deadline,
        std::time::Duration::from_secs(10).min(deadline),
    )
    .await;
    let errors = crate::canary::remove_rows(&warehouse, &outcomes).await;
    if !errors.is_empty() {
        bail!(
            "the canary rows arrived but cannot be deleted ({}); the analyst views leave them out anyway",
            errors.join("; ")
        );
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_found_under_their_construct_path() {
        let o = Outputs::new([
            ("BucketName".to_string(), "b".to_string()),
            (
                "WorkflowStateMachineArn1A2B3C4D".to_string(),
                "arn:sm".to_string(),
            ),
        ]);
        assert_eq!(o.get("BucketName"), Some("b"));
        assert_eq!(o.get("StateMachineArn"), Some("arn:sm"));
        assert_eq!(o.get("FailureTopicArn"), None);
    }

    #[test]
    fn the_schema_command_gives_the_loads_connection() {
        let (t, db, a) = connection("pushfeed schema --aws --workgroup dev-pushfeed-warehouse --database pushfeed --secret-arn arn:s").unwrap();
        assert_eq!(
            t,
            RedshiftTarget::Workgroup("dev-pushfeed-warehouse".into())
        );
        assert_eq!(db, "pushfeed");
        assert_eq!(a, RedshiftAuth::SecretArn("arn:s".into()));
        let (t, _, a) =
            connection("pushfeed schema --aws --cluster-id c --database d --db-user u").unwrap();
        assert_eq!(
            (t, a),
            (
                RedshiftTarget::Cluster("c".into()),
                RedshiftAuth::DbUser("u".into())
            )
        );
        assert!(connection("pushfeed schema --aws --database d").is_err());
    }
}
