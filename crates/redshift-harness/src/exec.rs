//! Runs a statement list on PostgreSQL the way the Data API runs it on Redshift: on a session of
//! its own, in one transaction, in order, stopping at the first failure (which rolls back all),
//! and records what DescribeStatement and GetStatementResult report.

use std::sync::Arc;

use serde_json::{json, Value};
use tokio_postgres::types::Type;
use tokio_postgres::{NoTls, SimpleQueryMessage, Transaction};

use crate::server::Shared;
use crate::translate::{self, Check, Kind, Plan, Refused};
use crate::{copy, rules};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Submitted,
    Started,
    Finished,
    Failed,
    Aborted,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "SUBMITTED",
            Status::Started => "STARTED",
            Status::Finished => "FINISHED",
            Status::Failed => "FAILED",
            Status::Aborted => "ABORTED",
        }
    }

    pub(crate) fn is_done(self) -> bool {
        matches!(self, Status::Finished | Status::Failed | Status::Aborted)
    }
}

/// A result set in the Data API's shapes: column metadata and records of `Field`s.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResultSet {
    pub columns: Vec<Value>,
    pub records: Vec<Vec<Value>>,
    pub bytes: usize,
}

/// One SQL string of a request.
#[derive(Debug, Clone)]
pub(crate) struct Sub {
    pub sql: String,
    pub status: Status,
    /// -1 where the Data API documents no count.
    pub result_rows: i64,
    pub result: Option<ResultSet>,
    pub error: Option<String>,
    pub started: f64,
    pub updated: f64,
}

impl Sub {
    pub(crate) fn new(sql: String, now: f64) -> Sub {
        Sub {
            sql,
            status: Status::Submitted,
            result_rows: -1,
            result: None,
            error: None,
            started: now,
            updated: now,
        }
    }
}

/// The text of a PostgreSQL error, as Redshift words its own: the message, then the detail.
pub(crate) fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} (DETAIL: {detail})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}

/// Runs statement `id` to its end and records the outcome.
pub(crate) async fn run(shared: Arc<Shared>, id: String) {
    let sqls: Vec<String> = shared.with(&id, |s| s.subs.iter().map(|x| x.sql.clone()).collect());
    let outcome = execute(&shared, &id, &sqls).await;
    shared.with(&id, |s| {
        s.updated = crate::server::now();
        if s.cancelled {
            s.status = Status::Aborted;
            return;
        }
        match outcome {
            Ok(()) => s.status = Status::Finished,
            Err(text) => {
                s.status = Status::Failed;
                s.error = Some(text);
            }
        }
    });
}

async fn execute(shared: &Shared, id: &str, sqls: &[String]) -> Result<(), String> {
    let (mut client, connection) = tokio_postgres::connect(&shared.conninfo, NoTls)
        .await
        .map_err(|e| format!("ERROR: connection to the database failed: {e}"))?;
    let connection = tokio::spawn(connection);
    let _close = AbortOnDrop(connection);
    shared.with(id, |s| {
        s.cancel = Some(client.cancel_token());
        s.status = Status::Started;
    });
    // Redshift sessions are UTC unless told otherwise.
    client
        .batch_execute("SET TIME ZONE 'UTC'; SET datestyle TO ISO, MDY")
        .await
        .map_err(|e| format!("ERROR: {}", db_message(&e)))?;
    // ExecuteStatement's DbUser: "The database user name." The statements run as that user,
    // so its grants are what decide (an analyst's SELECT-only login is refused a write). Without
    // it the session is the harness's own (an admin), as with IAM or a secret for the admin.
    if let Some(user) = shared.with(id, |s| s.target.db_user.clone()) {
        client
            .batch_execute(&format!(
                "SET SESSION AUTHORIZATION \"{}\"",
                user.replace('"', "\"\"")
            ))
            .await
            .map_err(|e| format!("ERROR: {}", db_message(&e)))?;
    }
    let tx = client
        .transaction()
        .await
        .map_err(|e| format!("ERROR: {}", db_message(&e)))?;
    for (n, sql) in sqls.iter().enumerate() {
        let cancelled = shared.with(id, |s| {
            s.subs[n].status = Status::Started;
            s.subs[n].started = crate::server::now();
            s.cancelled
        });
        if cancelled {
            return Err("ERROR: the statement was cancelled".into());
        }
        let result = one(&tx, sql, shared).await;
        let failed = shared.with(id, |s| {
            let sub = &mut s.subs[n];
            sub.updated = crate::server::now();
            match result {
                Ok((rows, result)) => {
                    sub.status = Status::Finished;
                    sub.result_rows = rows;
                    sub.result = result;
                    None
                }
                Err(text) => {
                    sub.status = if s.cancelled {
                        Status::Aborted
                    } else {
                        Status::Failed
                    };
                    sub.error = Some(text.clone());
                    Some(text)
                }
            }
        });
        if let Some(text) = failed {
            // Dropping the transaction rolls it back.
            return Err(text);
        }
    }
    tx.commit()
        .await
        .map_err(|e| format!("ERROR: {}", db_message(&e)))
}

struct AbortOnDrop(tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One statement: its ResultRows and, for a query, its result set.
async fn one(
    tx: &Transaction<'_>,
    sql: &str,
    shared: &Shared,
) -> Result<(i64, Option<ResultSet>), String> {
    let err = |e: tokio_postgres::Error| format!("ERROR: {}", db_message(&e));
    match translate::translate(sql) {
        Err(Refused::Syntax(m)) => Err(format!("ERROR: {m}")),
        Err(Refused::Rule(b)) => Err(format!("ERROR: {b}")),
        Ok(Plan::Copy(plan)) => copy::copy(
            tx,
            &plan,
            &*shared.source,
            shared.options.super_string_bytes,
        )
        .await
        .map(|n| (n as i64, None))
        .map_err(|f| format!("ERROR: Load into table '{}' failed: {}", plan.table, f.0)),
        Ok(Plan::Sql(t)) => {
            let outcome = match t.kind {
                Kind::Query => {
                    let result = query(tx, &t.sql).await.map_err(err)?;
                    (result.records.len() as i64, Some(result))
                }
                Kind::Rows => (tx.execute(&t.sql, &[]).await.map_err(err)? as i64, None),
                Kind::NoCount => {
                    tx.execute(&t.sql, &[]).await.map_err(err)?;
                    (-1, None)
                }
            };
            for check in &t.checks {
                run_check(tx, check).await?;
            }
            Ok(outcome)
        }
    }
}

/// A query's rows as Data API records: integers as `longValue`, floats as `doubleValue`,
/// booleans as `booleanValue`, everything else (decimals, dates and times included) as
/// `stringValue`, as the Management Guide's JDBC type mapping lists them.
async fn query(tx: &Transaction<'_>, sql: &str) -> Result<ResultSet, tokio_postgres::Error> {
    let statement = tx.prepare(sql).await?;
    let types: Vec<Type> = statement
        .columns()
        .iter()
        .map(|c| c.type_().clone())
        .collect();
    let mut result = ResultSet {
        columns: statement
            .columns()
            .iter()
            .map(|c| {
                json!({
                    "name": c.name(), "label": c.name(), "typeName": c.type_().name(),
                    "nullable": 1, "isCaseSensitive": true, "isSigned": false, "isCurrency": false,
                    "length": 0, "precision": 0, "scale": 0, "schemaName": "", "tableName": ""
                })
            })
            .collect(),
        ..ResultSet::default()
    };
    for message in tx.simple_query(sql).await? {
        let SimpleQueryMessage::Row(row) = message else {
            continue;
        };
        let record = (0..row.len())
            .map(|i| {
                let Some(text) = row.get(i) else {
                    return json!({"isNull": true});
                };
                result.bytes += text.len();
                let ty = types.get(i).cloned().unwrap_or(Type::TEXT);
                match ty {
                    Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => {
                        text.parse::<i64>().map_or_else(
                            |_| json!({"stringValue": text}),
                            |n| json!({"longValue": n}),
                        )
                    }
                    Type::FLOAT4 | Type::FLOAT8 => text.parse::<f64>().map_or_else(
                        |_| json!({"stringValue": text}),
                        |x| json!({"doubleValue": x}),
                    ),
                    Type::BOOL => json!({"booleanValue": text == "t"}),
                    _ => json!({"stringValue": text}),
                }
            })
            .collect();
        result.records.push(record);
    }
    Ok(result)
}

async fn run_check(tx: &Transaction<'_>, check: &Check) -> Result<(), String> {
    match check {
        Check::KeyColumns { table, columns } => {
            let rows = tx
                .query(
                    "SELECT c.name, t.typname::text FROM unnest($2::text[]) AS c(name) \
                     LEFT JOIN pg_attribute a ON a.attrelid = to_regclass($1) AND a.attname = c.name \
                       AND a.attnum > 0 AND NOT a.attisdropped \
                     LEFT JOIN pg_type t ON t.oid = a.atttypid",
                    &[table, columns],
                )
                .await
                .map_err(|e| format!("ERROR: {}", db_message(&e)))?;
            for row in rows {
                let (name, ty): (String, Option<String>) = (row.get(0), row.get(1));
                match ty.as_deref() {
                    None => {
                        return Err(format!(
                            "ERROR: column \"{name}\" named in DISTKEY or SORTKEY does not exist in table {table}"
                        ))
                    }
                    Some("super") => {
                        return Err(format!(
                            "ERROR: {}",
                            rules::Breach {
                                rule: rules::SUPER_KEY,
                                detail: format!(
                                    "column {name} of table {table} is SUPER and is named in DISTKEY or SORTKEY (\"You can't define SUPER columns as either a distribution or sort key.\")"
                                ),
                            }
                        ))
                    }
                    Some(_) => {}
                }
            }
            Ok(())
        }
    }
}
