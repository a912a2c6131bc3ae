//! The Warehouse port over the Redshift Data API: the load transaction as one
//! BatchExecuteStatement (the Data API runs a batch as one transaction), DescribeStatement polled
//! with backoff until FINISHED, FAILED or ABORTED, and the load's counts read from the
//! sub-statements' ResultRows by the role of each statement (as the PostgreSQL adapter does).
//!
//! Redshift's COPY reads the manifest from S3 itself, so the stage is filled by the COPY statement
//! `load_statements` makes from `Settings.copy_role`; the PostgreSQL-only COPY FROM STDIN path is
//! refused here with a message naming the missing role.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_redshiftdata::types::{Field, StatusString};
use aws_sdk_redshiftdata::Client;

use super::error::classify;
use crate::domain::sql::{Dialect, Role};
use crate::ports::{ErrorKind, LoadCounts, LoadJob, PortError, PortResult, QueryResult, Warehouse};

/// The Data API refuses a statement over 100 KB.
pub const MAX_STATEMENT_BYTES: usize = 100_000;

/// Amazon Redshift Management Guide, "Troubleshooting issues for Amazon Redshift Data API":
/// "The Data API size limit is 64 KB per row in the result set returned by the database." A
/// statement whose row is larger fails with "Packet for query is too large".
pub const MAX_RESULT_ROW_BYTES: usize = 64 * 1024;

/// The same page: "The Data API limit is 500 MB in the result set returned by the database"
/// (earlier versions of the page, and its translations, say 100 MB). pushfeed reads results into
/// memory, so it refuses anything over the smaller figure before fetching a page: its own
/// queries (doctor, canary, `sql`) return a few rows.
pub const MAX_RESULT_BYTES: i64 = 100 * 1024 * 1024;

/// Where the statements run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedshiftTarget {
    /// Redshift Serverless.
    Workgroup(String),
    /// A provisioned cluster.
    Cluster(String),
}

/// How the Data API signs in to the database.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RedshiftAuth {
    /// A Secrets Manager secret with the database credentials.
    SecretArn(String),
    /// Temporary credentials for this database user (clusters only).
    DbUser(String),
    /// The caller's IAM identity (serverless workgroups only).
    #[default]
    Iam,
}

/// How DescribeStatement is polled.
#[derive(Debug, Clone)]
pub struct Polling {
    pub first: Duration,
    pub max: Duration,
    /// Past this, the statement is cancelled and the load reported as transient.
    pub deadline: Duration,
}

impl Default for Polling {
    fn default() -> Polling {
        Polling {
            first: Duration::from_millis(250),
            max: Duration::from_secs(5),
            // The Load task's step deadline (config/contract.json), under its Lambda timeout by
            // the margin the manifest before and the cancellation after need: the function
            // reports its failure instead of being killed with its statement still running.
            deadline: Duration::from_secs(
                crate::deploy_contract::get()
                    .tasks
                    .load
                    .step_deadline_seconds
                    .expect("config/contract.json gives the Load task a step deadline"),
            ),
        }
    }
}

/// The slowest analyst view's full computation at 90 days of traffic, as docs/analysts.md
/// ("Views") estimates it from its 45-day measurement: `push_holdout_uplift`, about 11 minutes.
/// `CREATE MATERIALIZED VIEW` computes the whole view once, so `pushfeed schema --aws` must wait
/// at least this long for one statement.
pub const SLOWEST_VIEW_AT_90_DAYS: Duration = Duration::from_secs(11 * 60);

impl Polling {
    /// For `pushfeed schema --aws`, run by a person and bound by no Lambda timeout: each DDL
    /// statement may take four times the slowest view's 90-day estimate (a warehouse holding more
    /// than 90 days, or busy with the minute loads meanwhile), 44 minutes, before it is cancelled.
    /// The Load's deadline (480 s) would cancel a materialized view that is merely large.
    pub fn for_schema() -> Polling {
        Polling {
            first: Duration::from_millis(250),
            max: Duration::from_secs(10),
            deadline: SLOWEST_VIEW_AT_90_DAYS * 4,
        }
    }
}

/// After CancelStatement, how many of the longest polling intervals to wait for the statement to
/// reach its final status (20 s by default, inside the Lambda's margin past the deadline).
const POLLS_AFTER_CANCEL: u32 = 4;

pub struct RedshiftWarehouse {
    client: Client,
    target: RedshiftTarget,
    database: String,
    auth: RedshiftAuth,
    polling: Polling,
}

/// What a finished statement left behind.
struct Finished {
    id: String,
    /// ResultRows of each sub-statement (of a batch), in order; one entry for a single statement.
    result_rows: Vec<i64>,
    has_result_set: bool,
    /// DescribeStatement's ResultSize: the result's bytes (-1 or 0 when none).
    result_size: i64,
}

macro_rules! target {
    ($req:expr, $self:ident) => {{
        let req = match &$self.target {
            RedshiftTarget::Workgroup(w) => $req.workgroup_name(w),
            RedshiftTarget::Cluster(c) => $req.cluster_identifier(c),
        };
        let req = match &$self.auth {
            RedshiftAuth::SecretArn(s) => req.secret_arn(s),
            RedshiftAuth::DbUser(u) => req.db_user(u),
            RedshiftAuth::Iam => req,
        };
        req.database(&$self.database)
    }};
}

impl RedshiftWarehouse {
    pub fn new(
        client: Client,
        target: RedshiftTarget,
        database: impl Into<String>,
        auth: RedshiftAuth,
    ) -> RedshiftWarehouse {
        RedshiftWarehouse {
            client,
            target,
            database: database.into(),
            auth,
            polling: Polling::default(),
        }
    }

    /// A warehouse reached with the SDK's default configuration (credentials, region).
    pub async fn connect(
        target: RedshiftTarget,
        database: impl Into<String>,
        auth: RedshiftAuth,
    ) -> RedshiftWarehouse {
        let client = Client::new(&super::config::load_sdk_config().await);
        RedshiftWarehouse::new(client, target, database, auth)
    }

    pub fn with_polling(mut self, polling: Polling) -> RedshiftWarehouse {
        self.polling = polling;
        self
    }

    fn check_size(sql: &str, what: &str) -> PortResult<()> {
        if sql.len() > MAX_STATEMENT_BYTES {
            return Err(PortError::permanent(
                what.to_string(),
                format!(
                    "a statement is {} bytes; the Data API takes at most {MAX_STATEMENT_BYTES}: `{}...`",
                    sql.len(),
                    sql.chars().take(80).collect::<String>()
                ),
            ));
        }
        Ok(())
    }

    async fn execute(&self, sql: &str, what: &str) -> PortResult<Finished> {
        Self::check_size(sql, what)?;
        let out = target!(self.client.execute_statement(), self)
            .sql(sql)
            .statement_name("pushfeed")
            .send()
            .await
            .map_err(|e| classify(what.to_string(), e))?;
        let id = out.id.ok_or_else(|| {
            PortError::permanent(what.to_string(), "ExecuteStatement returned no id")
        })?;
        self.wait(&id, what).await
    }

    async fn execute_batch(&self, sqls: Vec<String>, what: &str) -> PortResult<Finished> {
        for sql in &sqls {
            Self::check_size(sql, what)?;
        }
        let out = target!(self.client.batch_execute_statement(), self)
            .set_sqls(Some(sqls))
            .statement_name("pushfeed-load")
            .send()
            .await
            .map_err(|e| classify(what.to_string(), e))?;
        let id = out.id.ok_or_else(|| {
            PortError::permanent(what.to_string(), "BatchExecuteStatement returned no id")
        })?;
        self.wait(&id, what).await
    }

    /// Polls DescribeStatement until the statement ends; past the deadline, cancels it.
    async fn wait(&self, id: &str, what: &str) -> PortResult<Finished> {
        let op = || format!("{what} (statement {id})");
        let started = tokio::time::Instant::now();
        let mut delay = self.polling.first;
        loop {
            let status = match self.describe(id, &op()).await? {
                Polled::Ended(end) => {
                    return end.map_err(|e| match e {
                        // Someone cancelled it (CancelStatement): a person's decision, not retried.
                        Ended::Aborted => {
                            PortError::permanent(op(), "ABORTED: the statement was cancelled")
                        }
                        Ended::Failed(e) => e,
                    });
                }
                Polled::Running(status) => status,
            };
            if started.elapsed() + delay > self.polling.deadline {
                return self.cancel(id, &op(), &status, started.elapsed()).await;
            }
            tokio::time::sleep(delay).await;
            delay = (delay.mul_f32(1.5)).min(self.polling.max);
        }
    }

    /// One DescribeStatement: the end of the statement, or the status it is still in.
    async fn describe(&self, id: &str, op: &str) -> PortResult<Polled> {
        let d = self
            .client
            .describe_statement()
            .id(id)
            .send()
            .await
            .map_err(|e| classify(op.to_string(), e))?;
        Ok(match d.status {
            Some(StatusString::Finished) => {
                let mut subs = d.sub_statements.unwrap_or_default();
                subs.sort_by_key(|s| sub_index(&s.id));
                let result_rows = if subs.is_empty() {
                    vec![d.result_rows]
                } else {
                    subs.iter().map(|s| s.result_rows).collect()
                };
                Polled::Ended(Ok(Finished {
                    id: id.to_string(),
                    result_rows,
                    has_result_set: d.has_result_set.unwrap_or(false),
                    result_size: d.result_size,
                }))
            }
            Some(StatusString::Failed) => {
                let text = explain_size_limit(d.error.unwrap_or_else(|| "no error text".into()));
                Polled::Ended(Err(Ended::Failed(PortError::new(
                    failure_kind(&text),
                    op.to_string(),
                    format!("FAILED: {text}"),
                ))))
            }
            Some(StatusString::Aborted) => Polled::Ended(Err(Ended::Aborted)),
            // SUBMITTED, PICKED, STARTED, and any status added later: still running.
            other => Polled::Running(other.map(|s| s.as_str().to_string()).unwrap_or_default()),
        })
    }

    /// The deadline passed: CancelStatement, so the statement cannot commit after the step has
    /// reported its failure, then wait briefly for its final status. A statement that finished
    /// meanwhile is the load's result; one that was cancelled (or could not be) is transient: the
    /// state machine retries the load, which is idempotent.
    async fn cancel(
        &self,
        id: &str,
        op: &str,
        status: &str,
        waited: Duration,
    ) -> PortResult<Finished> {
        let cancelled = match self.client.cancel_statement().id(id).send().await {
            Ok(out) if out.status == Some(true) => Ok(()),
            Ok(_) => Err("CancelStatement answered false".to_string()),
            Err(e) => Err(classify(op.to_string(), e).to_string()),
        };
        let mut last = status.to_string();
        for _ in 0..POLLS_AFTER_CANCEL {
            match self.describe(id, op).await {
                Ok(Polled::Ended(Ok(finished))) => return Ok(finished),
                Ok(Polled::Ended(Err(Ended::Failed(e)))) if cancelled.is_err() => return Err(e),
                Ok(Polled::Ended(Err(_))) => {
                    return Err(PortError::transient(
                        op.to_string(),
                        format!(
                            "still {status} after {waited:?}, past the deadline of {:?}: cancelled it, so it cannot commit later",
                            self.polling.deadline
                        ),
                    ))
                }
                Ok(Polled::Running(s)) => last = s,
                Err(_) => {}
            }
            tokio::time::sleep(self.polling.max).await;
        }
        let cancel = match cancelled {
            Ok(()) => "CancelStatement accepted".to_string(),
            Err(e) => format!("CancelStatement failed ({e})"),
        };
        Err(PortError::transient(
            op.to_string(),
            format!(
                "still {status} after {waited:?}, past the deadline of {:?}; {cancel}, but it is still {last}: it may yet commit, and the retried load leaves the table as one load would",
                self.polling.deadline
            ),
        ))
    }
}

/// What one DescribeStatement found.
enum Polled {
    Ended(Result<Finished, Ended>),
    /// The status the statement is still in.
    Running(String),
}

/// How a statement ended without finishing.
enum Ended {
    Aborted,
    Failed(PortError),
}

/// A sub-statement's id is `<batch id>:<n>`, n from 1.
fn sub_index(id: &str) -> u32 {
    id.rsplit(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The Data API's size errors, with what to do (see [`MAX_RESULT_ROW_BYTES`]).
fn explain_size_limit(text: String) -> String {
    let t = text.to_ascii_lowercase();
    if t.contains("packet for query is too large") {
        format!("{text} (a row of the result is over the Data API's {MAX_RESULT_ROW_BYTES} bytes per row: select fewer or shorter columns, e.g. leave out `raw`)")
    } else if t.contains("exceeded size limit") || t.contains("exceeded the size limit") {
        format!("{text} (the result is over the Data API's limit for a result set: select fewer rows with LIMIT)")
    } else {
        text
    }
}

/// A failed statement is worth retrying when Redshift says another transaction got in the way.
fn failure_kind(text: &str) -> ErrorKind {
    let t = text.to_ascii_lowercase();
    if t.contains("serializable isolation violation")
        || t.contains("deadlock")
        || t.contains("could not obtain lock")
        || t.contains("connection")
    {
        ErrorKind::Transient
    } else {
        ErrorKind::Permanent
    }
}

/// The row count a role reports; -1 (no count) reads as 0.
fn rows(n: i64) -> u64 {
    n.max(0) as u64
}

#[async_trait]
impl Warehouse for RedshiftWarehouse {
    fn dialect(&self) -> Dialect {
        Dialect::Redshift
    }

    async fn apply_schema(&self, statements: &[String]) -> PortResult<()> {
        for sql in statements {
            let first_line = sql.lines().next().unwrap_or_default();
            self.execute(sql, &format!("applying `{first_line}`"))
                .await?;
        }
        Ok(())
    }

    async fn load(&self, job: &LoadJob) -> PortResult<LoadCounts> {
        let what = format!("loading {}", job.table);
        if let Some(copy) = job
            .statements
            .iter()
            .find(|s| s.role == Role::Copy && s.sql.contains("FROM STDIN"))
        {
            return Err(PortError::permanent(
                what,
                format!(
                    "Redshift's COPY reads from S3 and needs the COPY role: set PUSHFEED_COPY_ROLE_ARN (got `{}`)",
                    copy.sql
                ),
            ));
        }
        let sqls: Vec<String> = job.statements.iter().map(|s| s.sql.clone()).collect();
        let done = self.execute_batch(sqls, &what).await?;
        if done.result_rows.len() != job.statements.len() {
            return Err(PortError::permanent(
                format!("{what} (statement {})", done.id),
                format!(
                    "{} sub-statements reported for {} statements",
                    done.result_rows.len(),
                    job.statements.len()
                ),
            ));
        }
        let (mut copied, mut other, mut distinct, mut replaced, mut inserted) = (0, 0, 0, 0, 0);
        for (st, &n) in job.statements.iter().zip(&done.result_rows) {
            match st.role {
                Role::Copy => copied += rows(n),
                Role::OtherBatches => other = rows(n),
                Role::Distinct => distinct = rows(n),
                Role::Replace => replaced = rows(n),
                Role::Insert => inserted = rows(n),
                Role::Setup | Role::Ledger => {}
            }
        }
        Ok(LoadCounts {
            rows_staged: copied.saturating_sub(other),
            rows_inserted: inserted.saturating_sub(replaced),
            rows_replaced: replaced,
            rows_unchanged: distinct.saturating_sub(inserted),
        })
    }

    async fn query(&self, sql: &str) -> PortResult<QueryResult> {
        let done = self.execute(sql, "running the query").await?;
        let mut result = QueryResult::default();
        if !done.has_result_set {
            return Ok(result);
        }
        let op = || format!("reading the result of statement {}", done.id);
        if done.result_size > MAX_RESULT_BYTES {
            return Err(PortError::permanent(
                op(),
                format!(
                    "the result is {} bytes, over the {MAX_RESULT_BYTES} bytes pushfeed reads through the Data API: select fewer rows (LIMIT) or fewer columns",
                    done.result_size
                ),
            ));
        }
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_statement_result()
                .id(&done.id)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify(op(), e))?;
            if result.columns.is_empty() {
                result.columns = page
                    .column_metadata
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| c.name.unwrap_or_default())
                    .collect();
            }
            for record in page.records {
                result
                    .rows
                    .push(record.into_iter().map(field_text).collect());
            }
            match page.next_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        Ok(result)
    }
}

/// A result field as text, as the PostgreSQL adapter returns it.
fn field_text(f: Field) -> Option<String> {
    match f {
        Field::IsNull(true) => None,
        Field::IsNull(false) => Some(String::new()),
        Field::StringValue(s) => Some(s),
        Field::LongValue(n) => Some(n.to_string()),
        Field::DoubleValue(x) => Some(x.to_string()),
        Field::BooleanValue(b) => Some(if b { "t" } else { "f" }.to_string()),
        Field::BlobValue(b) => Some(String::from_utf8_lossy(b.as_ref()).into_owned()),
        _ => Some("?".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_waits_for_a_large_materialized_view_and_the_load_does_not() {
        let schema = Polling::for_schema();
        let load = Polling::default();
        assert!(schema.deadline >= SLOWEST_VIEW_AT_90_DAYS * 2, "{schema:?}");
        assert!(load.deadline < SLOWEST_VIEW_AT_90_DAYS, "{load:?}");
        // Polling every 10 s at most: under 300 DescribeStatement calls per statement.
        assert!(schema.deadline.as_secs() / schema.max.as_secs() < 300);
    }

    #[test]
    fn size_limit_errors_say_what_to_do() {
        let e = explain_size_limit("Packet for query is too large".into());
        assert!(e.contains("65536 bytes per row"), "{e}");
        let e = explain_size_limit("Database response exceeded size limit".into());
        assert!(e.contains("LIMIT"), "{e}");
        assert_eq!(explain_size_limit("syntax error".into()), "syntax error");
    }

    #[test]
    fn sub_statement_ids_order_numerically() {
        assert_eq!(sub_index("d9b6c0c9-0747-4bf4-b142-e8883122f766:10"), 10);
        assert_eq!(sub_index("d9b6c0c9:2"), 2);
    }

    #[test]
    fn conflicts_are_transient_and_sql_errors_permanent() {
        assert_eq!(
            failure_kind("ERROR: 1023 DETAIL: Serializable isolation violation on table - 100"),
            ErrorKind::Transient
        );
        assert_eq!(
            failure_kind("ERROR: relation \"push_opens\" does not exist"),
            ErrorKind::Permanent
        );
    }
}
