//! The Data API's JSON protocol (AWS JSON 1.1, `X-Amz-Target: RedshiftData.<Operation>`) over
//! HTTP/1.1 on 127.0.0.1. Statements are accepted at once and run in the background, so a client
//! must poll DescribeStatement as it must with Redshift.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};

use crate::exec::{self, ResultSet, Status, Sub};
use crate::{rules, translate, ObjectSource};

/// How the harness behaves where Redshift leaves a choice.
#[derive(Debug, Clone)]
pub struct HarnessOptions {
    /// DescribeStatement reports a statement STARTED this many times before its real status, so
    /// a client that does not poll until FINISHED fails even when PostgreSQL was quick.
    pub pending_describes: u32,
    /// Records per GetStatementResult page, so clients page with NextToken.
    pub page_rows: usize,
    /// The longest string inside a SUPER value: [`rules::SUPER_STRING_BYTES`] (a cluster without
    /// `enable_large_strings_opt_in`) or [`rules::SUPER_STRING_BYTES_OPT_IN`].
    pub super_string_bytes: usize,
}

impl Default for HarnessOptions {
    fn default() -> HarnessOptions {
        HarnessOptions {
            pending_describes: 1,
            page_rows: 500,
            super_string_bytes: rules::SUPER_STRING_BYTES,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("the harness could not connect to its PostgreSQL database: {0}")]
    Connect(#[source] tokio_postgres::Error),
    #[error("the harness could not prepare its PostgreSQL database (the super domain): {0}")]
    Preamble(#[source] tokio_postgres::Error),
    #[error("the harness could not listen on 127.0.0.1: {0}")]
    Listen(#[source] std::io::Error),
}

/// Where the request said the statement runs, echoed back as the Data API does.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    database: Option<String>,
    workgroup: Option<String>,
    cluster: Option<String>,
    pub(crate) db_user: Option<String>,
    secret_arn: Option<String>,
}

pub(crate) struct Statement {
    id: String,
    batch: bool,
    pub(crate) target: Target,
    pub(crate) status: Status,
    pub(crate) error: Option<String>,
    pub(crate) subs: Vec<Sub>,
    created: f64,
    pub(crate) updated: f64,
    describes: u32,
    pub(crate) cancel: Option<tokio_postgres::CancelToken>,
    pub(crate) cancelled: bool,
}

pub(crate) struct Shared {
    pub(crate) conninfo: String,
    pub(crate) source: Arc<dyn ObjectSource>,
    pub(crate) options: HarnessOptions,
    statements: Mutex<HashMap<String, Statement>>,
    received: Mutex<Vec<Vec<String>>>,
    describe_calls: AtomicU64,
}

impl Shared {
    /// Runs `f` on statement `id`, which the caller knows exists.
    pub(crate) fn with<R>(&self, id: &str, f: impl FnOnce(&mut Statement) -> R) -> R {
        let mut all = self.statements.lock().expect("statements lock");
        f(all.get_mut(id).expect("a statement the harness created"))
    }
}

pub(crate) fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

fn new_id() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default() as u64;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (t >> 32) as u32,
        (t >> 16) as u16,
        t as u16,
        std::process::id() as u16,
        n & 0xffff_ffff_ffff
    )
}

/// A running harness; it stops serving when dropped.
pub struct Harness {
    endpoint: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Harness {
    /// Starts serving on 127.0.0.1 (a free port) against the PostgreSQL database `conninfo`
    /// (libpq style), with COPY reading through `source`.
    pub async fn start(
        conninfo: impl Into<String>,
        source: Arc<dyn ObjectSource>,
    ) -> Result<Harness, HarnessError> {
        Harness::start_with(conninfo, source, HarnessOptions::default()).await
    }

    pub async fn start_with(
        conninfo: impl Into<String>,
        source: Arc<dyn ObjectSource>,
        options: HarnessOptions,
    ) -> Result<Harness, HarnessError> {
        let conninfo = conninfo.into();
        let (client, connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
            .await
            .map_err(HarnessError::Connect)?;
        let connection = tokio::spawn(connection);
        let prepared = client.batch_execute(translate::PREAMBLE).await;
        drop(client);
        let _ = connection.await;
        prepared.map_err(HarnessError::Preamble)?;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(HarnessError::Listen)?;
        let endpoint = format!(
            "http://{}",
            listener.local_addr().map_err(HarnessError::Listen)?
        );
        let shared = Arc::new(Shared {
            conninfo,
            source,
            options,
            statements: Mutex::new(HashMap::new()),
            received: Mutex::new(Vec::new()),
            describe_calls: AtomicU64::new(0),
        });
        let serving = shared.clone();
        let server = tokio::spawn(async move {
            // Dropping the set (when this task is aborted) closes every connection.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = serving.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(handle(&shared, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(Harness {
            endpoint,
            shared,
            server,
        })
    }

    /// The endpoint URL to give the SDK (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// DescribeStatement calls served so far.
    pub fn describe_calls(&self) -> u64 {
        self.shared.describe_calls.load(Ordering::Relaxed)
    }

    /// The SQL of every ExecuteStatement (one string) and BatchExecuteStatement accepted so far,
    /// as the client sent it.
    pub fn received(&self) -> Vec<Vec<String>> {
        self.shared.received.lock().expect("received lock").clone()
    }
}

struct ApiError {
    status: u16,
    code: &'static str,
    message: String,
}

fn validation(message: impl Into<String>) -> ApiError {
    ApiError {
        status: 400,
        code: "ValidationException",
        message: message.into(),
    }
}

async fn handle(shared: &Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let result = match target.strip_prefix("RedshiftData.") {
        Some("ExecuteStatement") => submit(shared, &input, false),
        Some("BatchExecuteStatement") => submit(shared, &input, true),
        Some("DescribeStatement") => describe(shared, &input),
        Some("GetStatementResult") => statement_result(shared, &input),
        Some("CancelStatement") => cancel(shared, &input),
        _ => Err(ApiError {
            status: 400,
            code: "UnknownOperationException",
            message: format!("the harness serves ExecuteStatement, BatchExecuteStatement, DescribeStatement, GetStatementResult and CancelStatement, not `{target}`"),
        }),
    };
    let (status, body) = match result {
        Ok(v) => (200, v),
        Err(e) => (
            e.status,
            json!({"__type": e.code, "message": e.message, "Message": e.message, "ResourceId": ""}),
        ),
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", new_id())
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}

fn text(input: &Value, key: &str) -> Option<String> {
    input.get(key).and_then(Value::as_str).map(str::to_string)
}

/// ExecuteStatement (`Sql`) and BatchExecuteStatement (`Sqls`): checked as the Data API checks
/// them, then run in the background.
fn submit(shared: &Arc<Shared>, input: &Value, batch: bool) -> Result<Value, ApiError> {
    let sqls: Vec<String> = if batch {
        let list = input
            .get("Sqls")
            .and_then(Value::as_array)
            .ok_or_else(|| validation("Sqls is required"))?;
        rules::batch_size(list.len()).map_err(|b| validation(b.to_string()))?;
        list.iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| validation("Sqls holds strings"))
            })
            .collect::<Result<_, _>>()?
    } else {
        vec![text(input, "Sql").ok_or_else(|| validation("Sql is required"))?]
    };
    for sql in &sqls {
        rules::sql_size(sql).map_err(|b| validation(b.to_string()))?;
    }
    for unmodelled in [
        "Parameters",
        "SessionId",
        "SessionKeepAliveSeconds",
        "ResultFormat",
    ] {
        if input.get(unmodelled).is_some() {
            return Err(validation(format!(
                "the harness does not model {unmodelled}"
            )));
        }
    }
    let target = Target {
        database: text(input, "Database"),
        workgroup: text(input, "WorkgroupName"),
        cluster: text(input, "ClusterIdentifier"),
        db_user: text(input, "DbUser"),
        secret_arn: text(input, "SecretArn"),
    };
    if target.database.is_none() {
        return Err(validation("Database is required"));
    }
    if target.workgroup.is_some() == target.cluster.is_some() {
        return Err(validation(
            "give exactly one of WorkgroupName and ClusterIdentifier",
        ));
    }
    let id = new_id();
    let created = now();
    shared
        .received
        .lock()
        .expect("received lock")
        .push(sqls.clone());
    shared.statements.lock().expect("statements lock").insert(
        id.clone(),
        Statement {
            id: id.clone(),
            batch,
            target: target.clone(),
            status: Status::Submitted,
            error: None,
            subs: sqls.into_iter().map(|s| Sub::new(s, created)).collect(),
            created,
            updated: created,
            describes: 0,
            cancel: None,
            cancelled: false,
        },
    );
    tokio::spawn(exec::run(shared.clone(), id.clone()));
    let mut out = json!({"Id": id, "CreatedAt": created});
    echo(&mut out, &target);
    Ok(out)
}

fn echo(out: &mut Value, t: &Target) {
    for (key, value) in [
        ("Database", &t.database),
        ("WorkgroupName", &t.workgroup),
        ("ClusterIdentifier", &t.cluster),
        ("DbUser", &t.db_user),
        ("SecretArn", &t.secret_arn),
    ] {
        if let Some(v) = value {
            out[key] = json!(v);
        }
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError {
        status: 400,
        code: "ResourceNotFoundException",
        message: format!("Query {id} does not exist"),
    }
}

/// `<id>` or `<id>:<n>` (n from 1, a sub-statement of a batch).
fn split_id(id: &str) -> (&str, Option<usize>) {
    match id.rsplit_once(':') {
        Some((base, n)) => match n.parse() {
            Ok(n) => (base, Some(n)),
            Err(_) => (id, None),
        },
        None => (id, None),
    }
}

fn sub_json(id: &str, n: usize, sub: &Sub, masked: bool) -> Value {
    let status = if masked && sub.status.is_done() && sub.status != Status::Finished {
        Status::Started
    } else {
        sub.status
    };
    let mut v = json!({
        "Id": format!("{id}:{n}"),
        "Status": status.as_str(),
        "QueryString": sub.sql,
        "CreatedAt": sub.started,
        "UpdatedAt": sub.updated,
        "Duration": if sub.status.is_done() { ((sub.updated - sub.started) * 1e9) as i64 } else { -1 },
        "HasResultSet": sub.result.is_some(),
        "ResultRows": if sub.status == Status::Finished { sub.result_rows } else { -1 },
        "ResultSize": sub.result.as_ref().map_or(0, |r| r.bytes as i64),
        "RedshiftQueryId": 0,
    });
    if !masked {
        if let Some(e) = &sub.error {
            v["Error"] = json!(e);
        }
    }
    v
}

fn describe(shared: &Shared, input: &Value) -> Result<Value, ApiError> {
    shared.describe_calls.fetch_add(1, Ordering::Relaxed);
    let id = text(input, "Id").ok_or_else(|| validation("Id is required"))?;
    let (base, part) = split_id(&id);
    let mut all = shared.statements.lock().expect("statements lock");
    let s = all.get_mut(base).ok_or_else(|| not_found(&id))?;
    s.describes += 1;
    let masked = s.describes <= shared.options.pending_describes && s.status.is_done();
    if let Some(n) = part {
        let sub = s
            .subs
            .get(n.wrapping_sub(1))
            .filter(|_| s.batch)
            .ok_or_else(|| not_found(&id))?;
        let mut v = sub_json(&s.id, n, sub, masked);
        echo(&mut v, &s.target);
        return Ok(v);
    }
    let status = if masked { Status::Started } else { s.status };
    let mut v = json!({
        "Id": s.id,
        "Status": status.as_str(),
        "CreatedAt": s.created,
        "UpdatedAt": s.updated,
        "Duration": if status.is_done() { ((s.updated - s.created) * 1e9) as i64 } else { -1 },
        "HasResultSet": s.subs.iter().any(|x| x.result.is_some()),
        "RedshiftPid": 0,
        "RedshiftQueryId": 0,
    });
    if s.batch {
        v["ResultRows"] = json!(-1);
        v["ResultSize"] = json!(-1);
        v["SubStatements"] = s
            .subs
            .iter()
            .enumerate()
            .map(|(i, sub)| sub_json(&s.id, i + 1, sub, masked))
            .collect();
    } else {
        let sub = &s.subs[0];
        v["QueryString"] = json!(sub.sql);
        v["ResultRows"] = json!(if status == Status::Finished {
            sub.result_rows
        } else {
            -1
        });
        v["ResultSize"] = json!(sub.result.as_ref().map_or(0, |r| r.bytes as i64));
    }
    if !masked {
        if let Some(e) = &s.error {
            v["Error"] = json!(e);
        }
    }
    echo(&mut v, &s.target);
    Ok(v)
}

fn statement_result(shared: &Shared, input: &Value) -> Result<Value, ApiError> {
    let id = text(input, "Id").ok_or_else(|| validation("Id is required"))?;
    let (base, part) = split_id(&id);
    let all = shared.statements.lock().expect("statements lock");
    let s = all.get(base).ok_or_else(|| not_found(&id))?;
    let sub = match part {
        Some(n) if s.batch => s
            .subs
            .get(n.wrapping_sub(1))
            .ok_or_else(|| not_found(&id))?,
        Some(_) => return Err(not_found(&id)),
        None if s.batch => {
            return Err(validation(format!(
                "{id} is a batch: ask for the result of one of its statements (<id>:<n>)"
            )))
        }
        None => &s.subs[0],
    };
    if sub.status != Status::Finished {
        return Err(validation(format!(
            "Query {id} is {}, not FINISHED: poll DescribeStatement first",
            sub.status.as_str()
        )));
    }
    let Some(ResultSet {
        columns, records, ..
    }) = &sub.result
    else {
        return Err(ApiError {
            status: 400,
            code: "ResourceNotFoundException",
            message: format!("Query {id} does not have result. Please check query status with DescribeStatement."),
        });
    };
    let from: usize = match text(input, "NextToken") {
        Some(t) => t
            .parse()
            .map_err(|_| validation("NextToken is not one this harness gave"))?,
        None => 0,
    };
    let to = (from + shared.options.page_rows.max(1)).min(records.len());
    let mut v = json!({
        "Records": records.get(from..to).unwrap_or_default(),
        "ColumnMetadata": columns,
        "TotalNumRows": records.len(),
    });
    if to < records.len() {
        v["NextToken"] = json!(to.to_string());
    }
    Ok(v)
}

fn cancel(shared: &Shared, input: &Value) -> Result<Value, ApiError> {
    let id = text(input, "Id").ok_or_else(|| validation("Id is required"))?;
    let mut all = shared.statements.lock().expect("statements lock");
    let s = all.get_mut(split_id(&id).0).ok_or_else(|| not_found(&id))?;
    if s.status.is_done() {
        return Err(validation(format!(
            "Could not cancel a query that is already in {} state.",
            s.status.as_str()
        )));
    }
    s.cancelled = true;
    if let Some(token) = s.cancel.clone() {
        tokio::spawn(async move {
            let _ = token.cancel_query(tokio_postgres::NoTls).await;
        });
    }
    Ok(json!({"Status": true}))
}
