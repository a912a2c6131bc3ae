//! `pushfeed replay|executions|history --aws`: the local views, against the state machine in
//! AWS Step Functions. Each execution is shown with its console link, so a failure email's
//! re-run command leads straight to the new execution.

use anyhow::{bail, Result};

use crate::domain::window::Window;

/// The readable, unique name of a manual re-run: window, "replay", and the start time to the
/// millisecond. Step Functions names allow no `:`, so the window's is written `-`.
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub fn execution_name(window: Window, now_ms: i64) -> String {
    let at = crate::domain::window::format_timestamp_ms(now_ms);
    let compact: String = at.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("{}-replay-{compact}", window.to_string().replace(':', "-"))
}

/// The Redshift that `schema --aws` applies the DDL to, or `report --aws` reads.
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub struct Target {
    pub workgroup: Option<String>,
    pub cluster_id: Option<String>,
    pub database: String,
    pub secret_arn: Option<String>,
    pub db_user: Option<String>,
}

#[cfg(not(feature = "aws"))]
mod imp {
    use super::*;

    pub async fn schema(
        _target: Target,
        _routes: &crate::domain::routes::RoutingTable,
    ) -> Result<()> {
        unavailable()
    }

    pub async fn report(
        _target: Target,
        _routes: &crate::domain::routes::RoutingTable,
    ) -> Result<crate::analysts::report::ReportData> {
        unavailable()
    }

    pub async fn loadgen(
        _stream: &str,
        _opts: &crate::loadgen::LoadgenOptions,
    ) -> Result<crate::loadgen::LoadgenReport> {
        unavailable()
    }

    fn unavailable<T>() -> Result<T> {
        bail!("this pushfeed was built without AWS support: build it with `cargo build --features aws` to use --aws")
    }

    pub async fn replay(_state_machine: &str, _windows: &[Window], _json: bool) -> Result<()> {
        unavailable()
    }

    pub async fn executions(_state_machine: &str, _limit: usize, _json: bool) -> Result<()> {
        unavailable()
    }

    pub async fn history(_execution_arn: &str, _json: bool) -> Result<()> {
        unavailable()
    }

    pub async fn doctor(
        _stage: &str,
        _routes: &crate::domain::routes::RoutingTable,
    ) -> Result<crate::doctor::Report> {
        unavailable()
    }

    pub async fn canary(
        _stage: &str,
        _routes: &crate::domain::routes::RoutingTable,
        _deadline: std::time::Duration,
    ) -> Result<Vec<crate::canary::Outcome>> {
        unavailable()
    }
}

#[cfg(feature = "aws")]
mod imp {
    use super::*;
    use crate::adapters::aws::sfn::{console_link, event_json, ExecutionInfo, StepFunctions};
    use crate::domain::window::{format_timestamp_ms, now_ms};
    use serde_json::{json, Value};

    async fn client() -> StepFunctions {
        StepFunctions::connect().await
    }

    fn table(headers: &[&str], rows: &[Vec<String>]) {
        crate::cli::print_table(headers, rows, "");
    }

    pub async fn loadgen(
        stream: &str,
        opts: &crate::loadgen::LoadgenOptions,
    ) -> Result<crate::loadgen::LoadgenReport> {
        let target = crate::adapters::aws::KinesisProducer::connect(stream).await;
        Ok(crate::loadgen::loadgen(&target, opts).await?)
    }

    /// Creates the routes' tables and the ledger in Redshift, skipping what exists, then
    /// re-creates the analyst views.
    pub async fn schema(
        target: Target,
        routes: &crate::domain::routes::RoutingTable,
    ) -> Result<()> {
        use crate::adapters::aws::redshift::{RedshiftAuth, RedshiftTarget, RedshiftWarehouse};
        let where_ = redshift_target(target.workgroup, target.cluster_id, "schema")?;
        // The tables belong to whoever creates them, and the Load must be that user: it connects
        // with the stage's secret (workgroups) or database user (clusters), never as the caller's
        // own IAM-derived user.
        let auth = match (&where_, target.secret_arn, target.db_user) {
            (_, Some(s), _) => RedshiftAuth::SecretArn(s),
            (RedshiftTarget::Cluster(_), None, Some(u)) => RedshiftAuth::DbUser(u),
            (RedshiftTarget::Workgroup(_), None, _) => bail!(
                "schema --aws --workgroup needs --secret-arn: the Load task connects with that secret, so the tables must be created as its user (the stack output SchemaCommand is the exact command)"
            ),
            (RedshiftTarget::Cluster(_), None, None) => bail!(
                "schema --aws --cluster-id needs --db-user (or --secret-arn): the Load task's database user, who must own the tables (the stack output SchemaCommand is the exact command)"
            ),
        };
        // A materialized view is computed in full when created: the schema's own deadline, not
        // the Load's (adapters/aws/redshift.rs, `Polling::for_schema`).
        let warehouse = RedshiftWarehouse::connect(where_, target.database, auth)
            .await
            .with_polling(crate::adapters::aws::redshift::Polling::for_schema());
        crate::analysts::apply_schema(&warehouse, routes.routes()).await?;
        println!(
            "applied the schema: pushfeed_loads, {} route tables, {} views, and SELECT on them for the group {}",
            routes.routes().len(),
            crate::domain::views::views(routes.routes()).len(),
            crate::domain::access::ANALYST_GROUP
        );
        Ok(())
    }

    /// Reads the analyst views in Redshift for `pushfeed report --aws`. An analyst signs in as
    /// themself: a secret or database user in `pushfeed_analysts`, or on a workgroup their own
    /// IAM identity. Rejections by reason are read from the bucket's `rejected/` objects, which
    /// an analyst's identity may not read: the AWS report leaves that chart out.
    pub async fn report(
        target: Target,
        routes: &crate::domain::routes::RoutingTable,
    ) -> Result<crate::analysts::report::ReportData> {
        use crate::adapters::aws::redshift::{RedshiftAuth, RedshiftTarget, RedshiftWarehouse};
        let where_ = redshift_target(target.workgroup, target.cluster_id, "report")?;
        let auth = match (&where_, target.secret_arn, target.db_user) {
            (_, Some(s), _) => RedshiftAuth::SecretArn(s),
            (RedshiftTarget::Cluster(_), None, Some(u)) => RedshiftAuth::DbUser(u),
            (RedshiftTarget::Workgroup(_), None, _) => RedshiftAuth::Iam,
            (RedshiftTarget::Cluster(_), None, None) => bail!(
                "report --aws --cluster-id needs --db-user or --secret-arn: a database user in the group {}",
                crate::domain::access::ANALYST_GROUP
            ),
        };
        let warehouse = RedshiftWarehouse::connect(where_, target.database, auth).await;
        crate::analysts::report::gather(&warehouse, None, routes.routes()).await
    }

    /// The workgroup or cluster a `schema --aws` or `report --aws` names (exactly one).
    fn redshift_target(
        workgroup: Option<String>,
        cluster_id: Option<String>,
        command: &str,
    ) -> Result<crate::adapters::aws::redshift::RedshiftTarget> {
        use crate::adapters::aws::redshift::RedshiftTarget;
        match (workgroup, cluster_id) {
            (Some(w), None) => Ok(RedshiftTarget::Workgroup(w)),
            (None, Some(c)) => Ok(RedshiftTarget::Cluster(c)),
            _ => bail!("{command} --aws needs --workgroup (Redshift Serverless) or --cluster-id"),
        }
    }

    /// One StartExecution per window, `{"window": W}`; prints each execution's console link.
    pub async fn replay(state_machine: &str, windows: &[Window], json: bool) -> Result<()> {
        let sf = client().await;
        let mut started = Vec::new();
        for &w in windows {
            let name = execution_name(w, now_ms());
            let arn = match sf
                .start(state_machine, &name, &json!({"window": w.to_string()}))
                .await
            {
                Ok(arn) => arn,
                Err(e) => bail!(
                    "window {w}: {e} ({} of {} executions started before this one)",
                    started.len(),
                    windows.len()
                ),
            };
            if !json {
                println!("{w}  started {name}\n    {}", console_link(&arn));
            }
            started.push(json!({"window": w.to_string(), "name": name, "execution_arn": arn, "console": console_link(&arn)}));
        }
        if json {
            println!("{}", serde_json::to_string_pretty(&started)?);
        }
        Ok(())
    }

    /// The newest executions, each described for its window and outcome.
    pub async fn executions(state_machine: &str, limit: usize, json: bool) -> Result<()> {
        let sf = client().await;
        let listed = sf.list(state_machine, limit).await?;
        let mut described: Vec<ExecutionInfo> = Vec::with_capacity(listed.len());
        for e in &listed {
            described.push(sf.describe(&e.execution_arn).await?);
        }
        let window = |e: &ExecutionInfo| {
            e.input
                .as_ref()
                .and_then(|i| i.get("window").or_else(|| i.get("scheduled_time")))
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_string()
        };
        let duration = |e: &ExecutionInfo| e.stop_ms.map(|s| s - e.start_ms);
        if json {
            let rows: Vec<Value> = described
                .iter()
                .map(|e| {
                    json!({
                        "name": e.name, "execution_arn": e.execution_arn, "status": e.status,
                        "window": window(e), "start": format_timestamp_ms(e.start_ms),
                        "duration_ms": duration(e), "error": e.error, "console": console_link(&e.execution_arn),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
            return Ok(());
        }
        if described.is_empty() {
            println!("no executions of {state_machine} yet");
            return Ok(());
        }
        let rows: Vec<Vec<String>> = described
            .iter()
            .map(|e| {
                vec![
                    e.name.clone(),
                    e.status.clone(),
                    window(e),
                    format_timestamp_ms(e.start_ms),
                    duration(e)
                        .map(|d| format!("{:.1}s", d as f64 / 1000.0))
                        .unwrap_or_else(|| "-".into()),
                    e.error.clone().unwrap_or_default(),
                    console_link(&e.execution_arn),
                ]
            })
            .collect();
        table(
            &[
                "NAME", "STATUS", "WINDOW", "START", "DURATION", "ERROR", "CONSOLE",
            ],
            &rows,
        );
        Ok(())
    }

    /// GetExecutionHistory, as the console lists it (or its events as JSON).
    pub async fn history(execution_arn: &str, json: bool) -> Result<()> {
        let sf = client().await;
        let info = sf.describe(execution_arn).await?;
        let events = sf.history(execution_arn).await?;
        let events: Vec<Value> = events.iter().map(event_json).collect();
        if json {
            println!("{}", serde_json::to_string_pretty(&events)?);
            return Ok(());
        }
        println!(
            "{}  {}  {}",
            info.name,
            info.status,
            console_link(execution_arn)
        );
        let rows: Vec<Vec<String>> = events
            .iter()
            .map(|e| {
                let d = &e["details"];
                let text = |k: &str| {
                    d.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let note = match (text("error"), text("cause")) {
                    (err, cause) if !err.is_empty() => format!("{err}: {cause}"),
                    _ => String::new(),
                };
                vec![
                    e["id"].to_string(),
                    e["timestamp"].as_str().unwrap_or_default().to_string(),
                    e["type"].as_str().unwrap_or_default().to_string(),
                    text("name"),
                    note,
                ]
            })
            .collect();
        table(&["ID", "TIME", "TYPE", "STATE", "ERROR"], &rows);
        Ok(())
    }
}

#[cfg(feature = "aws")]
mod imp_doctor {
    use anyhow::{bail, Result};

    fn check_stage(stage: &str) -> Result<()> {
        if stage.is_empty()
            || !stage
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!("--stage `{stage}` is not a stage name: give the name of cdk/cdk.json's entry, like dev");
        }
        Ok(())
    }

    /// `doctor --aws --stage NAME`: every check of the stage (adapters/aws/doctor.rs).
    pub async fn doctor(
        stage: &str,
        routes: &crate::domain::routes::RoutingTable,
    ) -> Result<crate::doctor::Report> {
        check_stage(stage)?;
        let sdk = crate::adapters::aws::config::load_sdk_config().await;
        Ok(crate::adapters::aws::doctor::doctor(&sdk, stage, routes).await)
    }

    /// `canary --aws --stage NAME`: the marked events into the stage's stream, then their rows.
    pub async fn canary(
        stage: &str,
        routes: &crate::domain::routes::RoutingTable,
        deadline: std::time::Duration,
    ) -> Result<Vec<crate::canary::Outcome>> {
        check_stage(stage)?;
        let sdk = crate::adapters::aws::config::load_sdk_config().await;
        crate::adapters::aws::doctor::canary(&sdk, stage, routes, deadline).await
    }
}

#[cfg(not(feature = "aws"))]
pub use imp::{canary, doctor};
pub use imp::{executions, history, loadgen, replay, report, schema};
#[cfg(feature = "aws")]
pub use imp_doctor::{canary, doctor};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_names_are_readable_and_allowed_by_step_functions() {
        let w: Window = "2026-11-26T10:01Z".parse().unwrap();
        let name = execution_name(w, 1_795_000_000_123);
        assert!(name.starts_with("2026-11-26T10-01Z-replay-"), "{name}");
        assert!(name.len() <= 80);
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{name}"
        );
        assert_ne!(name, execution_name(w, 1_795_000_000_124));
    }
}
