//! The local stand-in for Redshift: PostgreSQL, with the same DDL and merge SQL. The stage is
//! filled by COPY FROM STDIN from the delivered objects instead of COPY from S3.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::SinkExt;
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use super::copy_text::append_copy_rows;
use crate::domain::sql::{Dialect, Role};
use crate::object_lines::ObjectLines;
use crate::ports::{
    ErrorKind, LoadCounts, LoadJob, ObjectStore, PortError, PortResult, QueryResult, Warehouse,
};

pub struct PostgresWarehouse {
    client: Mutex<Client>,
    store: Arc<dyn ObjectStore>,
    connection: tokio::task::JoinHandle<()>,
}

impl Drop for PostgresWarehouse {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// Classifies a database error by SQLSTATE: contention and lost connections are worth a retry.
pub fn classify(operation: impl Into<String>, e: tokio_postgres::Error) -> PortError {
    let kind = match e.code().map(|c| c.code()) {
        // serialization_failure, deadlock_detected, lock_not_available, query_canceled (timeouts),
        // admin_shutdown, too_many_connections, cannot_connect_now
        Some("40001" | "40P01" | "55P03" | "57014" | "57P01" | "53300" | "57P03") => {
            ErrorKind::Transient
        }
        Some(c) if c.starts_with("08") => ErrorKind::Transient,
        Some(_) => ErrorKind::Permanent,
        None if e.is_closed() => ErrorKind::Transient,
        None => ErrorKind::Transient,
    };
    let message = match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        // "error connecting to server" alone hides the cause (refused, no such host, timeout):
        // the chain of sources says which.
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            text
        }
    };
    PortError::new(kind, operation, message)
}

impl PostgresWarehouse {
    /// Connects with a libpq-style connection string (URL or key=value).
    pub async fn connect(
        conninfo: &str,
        store: Arc<dyn ObjectStore>,
    ) -> PortResult<PostgresWarehouse> {
        let (client, connection) = tokio_postgres::connect(conninfo, NoTls)
            .await
            .map_err(|e| classify("connecting to PostgreSQL", e))?;
        let connection = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(PostgresWarehouse {
            client: Mutex::new(client),
            store,
            connection,
        })
    }

    /// Streams the delivered objects into the COPY as typed columns ([`append_copy_rows`]),
    /// about 1 MiB at a time so the server parses one chunk while the next is converted.
    async fn copy_objects(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        sql: &str,
        job: &LoadJob,
    ) -> PortResult<u64> {
        const CHUNK: usize = 1 << 20;
        // Inflated bytes read from an object at a time.
        const PART: usize = 4 << 20;
        let op = || format!("copying delivered objects into the stage of {}", job.table);
        let sink = tx
            .copy_in::<_, Bytes>(sql)
            .await
            .map_err(|e| classify(op(), e))?;
        futures_util::pin_mut!(sink);
        let mut chunk = Vec::with_capacity(CHUNK + CHUNK / 4);
        for key in &job.objects {
            // Read and inflated in parts: a delivered object may hold up to 128 MiB of rows.
            let mut lines = ObjectLines::open(&*self.store, key, PART).await?;
            let mut lines_before = 0;
            while let Some(block) = lines.next_block().await? {
                append_copy_rows(block, &job.columns, &mut chunk).map_err(|e| {
                    PortError::permanent(
                        format!("reading delivered object {key}"),
                        format!("line {}: {}", lines_before + e.line, e.source),
                    )
                })?;
                lines_before += block.iter().filter(|&&b| b == b'\n').count();
                if chunk.len() >= CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK + CHUNK / 4));
                    sink.send(Bytes::from(full))
                        .await
                        .map_err(|e| classify(op(), e))?;
                }
            }
        }
        if !chunk.is_empty() {
            sink.send(Bytes::from(chunk))
                .await
                .map_err(|e| classify(op(), e))?;
        }
        sink.as_mut().finish().await.map_err(|e| classify(op(), e))
    }
}

#[async_trait]
impl Warehouse for PostgresWarehouse {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn apply_schema(&self, statements: &[String]) -> PortResult<()> {
        let mut client = self.client.lock().await;
        let tx = client
            .transaction()
            .await
            .map_err(|e| classify("applying the schema", e))?;
        // Concurrent CREATE ... IF NOT EXISTS can still collide in the catalog; one at a time.
        tx.batch_execute("SELECT pg_advisory_xact_lock(7478628)")
            .await
            .map_err(|e| classify("locking the schema", e))?;
        for sql in statements {
            let first_line = sql.lines().next().unwrap_or_default();
            tx.batch_execute(sql)
                .await
                .map_err(|e| classify(format!("applying `{first_line}`"), e))?;
        }
        tx.commit()
            .await
            .map_err(|e| classify("applying the schema", e))
    }

    async fn load(&self, job: &LoadJob) -> PortResult<LoadCounts> {
        let op = |what: &str| format!("loading {} ({what})", job.table);
        let mut client = self.client.lock().await;
        let tx = client
            .transaction()
            .await
            .map_err(|e| classify(op("begin"), e))?;
        let (mut copied, mut other, mut distinct, mut replaced, mut inserted) = (0, 0, 0, 0, 0);
        for st in &job.statements {
            match st.role {
                Role::Copy => copied = self.copy_objects(&tx, &st.sql, job).await?,
                Role::Setup | Role::Ledger => tx
                    .batch_execute(&st.sql)
                    .await
                    .map_err(|e| classify(op(&st.sql), e))?,
                role => {
                    let n = tx
                        .execute(&st.sql, &[])
                        .await
                        .map_err(|e| classify(op(&st.sql), e))?;
                    match role {
                        Role::OtherBatches => other = n,
                        Role::Distinct => distinct = n,
                        Role::Replace => replaced = n,
                        _ => inserted = n,
                    }
                }
            }
        }
        tx.commit().await.map_err(|e| classify(op("commit"), e))?;
        Ok(LoadCounts {
            rows_staged: copied - other,
            rows_inserted: inserted - replaced,
            rows_replaced: replaced,
            rows_unchanged: distinct.saturating_sub(inserted),
        })
    }

    async fn query(&self, sql: &str) -> PortResult<QueryResult> {
        let client = self.client.lock().await;
        let messages = client
            .simple_query(sql)
            .await
            .map_err(|e| classify("running the query", e))?;
        let mut result = QueryResult::default();
        for m in messages {
            match m {
                SimpleQueryMessage::RowDescription(cols) => {
                    // A new result set: keep only the last statement's rows.
                    result = QueryResult {
                        columns: cols.iter().map(|c| c.name().to_string()).collect(),
                        rows: Vec::new(),
                    };
                }
                SimpleQueryMessage::Row(row) => {
                    if result.columns.is_empty() {
                        result.columns =
                            row.columns().iter().map(|c| c.name().to_string()).collect();
                    }
                    result.rows.push(
                        (0..row.len())
                            .map(|i| row.get(i).map(str::to_string))
                            .collect(),
                    );
                }
                _ => {}
            }
        }
        Ok(result)
    }
}
