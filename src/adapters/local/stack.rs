//! The embedded local stack assembled under one home directory (PUSHFEED_HOME, default
//! `.pushfeed/`). Starting it starts the Firehose stand-in's flusher and, unless
//! PUSHFEED_DATABASE_URL names a database, a private PostgreSQL; `shutdown` stops what it started.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::firehose::{BufferHints, LocalFirehose};
use super::object_store::LocalObjectStore;
use super::outbox::LocalOutbox;
use super::postgres::PostgresWarehouse;
use super::stream::LocalStream;
use crate::domain::routes::RoutingTable;
use crate::ports::{ObjectStore, PortError, PortResult};
use pg_cluster::PgCluster;

/// Environment variables the local stack reads.
pub mod env {
    /// The home directory of the local stack.
    pub const HOME: &str = "PUSHFEED_HOME";
    /// A PostgreSQL connection string to use instead of the private cluster.
    pub const DATABASE_URL: &str = "PUSHFEED_DATABASE_URL";
    /// Milliseconds the Firehose stand-in buffers records before writing an object.
    pub const FIREHOSE_INTERVAL_MS: &str = "PUSHFEED_FIREHOSE_INTERVAL_MS";
}

pub const DEFAULT_HOME: &str = ".pushfeed";
pub const STREAM_NAME: &str = "pushfeed";
pub const DATABASE_NAME: &str = "pushfeed";

/// The directories of a home, in one place.
#[derive(Debug, Clone)]
pub struct Home {
    pub root: PathBuf,
}

impl Home {
    pub fn new(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    pub fn stream_dir(&self) -> PathBuf {
        self.root.join("stream").join(STREAM_NAME)
    }
    pub fn bucket_dir(&self) -> PathBuf {
        self.root.join("s3")
    }
    pub fn firehose_dir(&self) -> PathBuf {
        self.root.join("firehose")
    }
    pub fn postgres_dir(&self) -> PathBuf {
        self.root.join("postgres")
    }
    pub fn outbox_dir(&self) -> PathBuf {
        self.root.join("outbox")
    }
    pub fn executions_dir(&self) -> PathBuf {
        self.root.join("executions")
    }
}

/// Where the warehouse is.
#[derive(Debug, Clone)]
pub enum Database {
    /// The private cluster under the home; started if needed, stopped by `shutdown` if we did.
    Private,
    Url(String),
}

impl Database {
    pub fn from_env() -> Database {
        match std::env::var(env::DATABASE_URL) {
            Ok(url) if !url.trim().is_empty() => Database::Url(url),
            _ => Database::Private,
        }
    }
}

pub struct LocalStack {
    pub home: Home,
    pub store: Arc<LocalObjectStore>,
    pub firehose: Arc<LocalFirehose>,
    pub warehouse: Arc<PostgresWarehouse>,
    pub outbox: Arc<LocalOutbox>,
    flusher: Option<(
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<PortResult<()>>,
    )>,
    cluster: Option<ClusterLease>,
}

impl LocalStack {
    /// Opens the stack: object store, Firehose stand-in (with its flusher running), warehouse
    /// (with the routes' tables created), outbox.
    pub async fn start(
        home: Home,
        routes: &RoutingTable,
        database: Database,
        hints: BufferHints,
    ) -> PortResult<LocalStack> {
        std::fs::create_dir_all(&home.root)
            .map_err(|e| PortError::io(format!("creating home {}", home.root.display()), e))?;
        // A crash or a full disk between writing an object and renaming it into place leaves a
        // partial file under s3/.tmp that nothing reads again; its writer is gone, so it goes.
        crate::gc::sweep_temp(&home.bucket_dir(), false)
            .map_err(|e| PortError::permanent("cleaning partial objects", e))?;
        let store = Arc::new(LocalObjectStore::new(home.bucket_dir(), "pushfeed-local"));
        let dyn_store: Arc<dyn ObjectStore> = store.clone();
        let firehose = Arc::new(LocalFirehose::new(
            home.firehose_dir(),
            dyn_store.clone(),
            routes.clone(),
            hints,
        ));
        let (conninfo, cluster) = match database {
            Database::Url(url) => (url, None),
            Database::Private => {
                let (conninfo, lease) = lease_private(&home.postgres_dir()).await?;
                (conninfo, Some(lease))
            }
        };
        let warehouse = match PostgresWarehouse::connect(&conninfo, dyn_store).await {
            Ok(w) => Arc::new(w),
            Err(e) if cluster.is_none() => {
                return Err(PortError::new(
                    e.kind,
                    format!("connecting to the database {} names", env::DATABASE_URL),
                    format!(
                        "{}: check that the server runs and the URL's host, port and database, or unset {} to use the private cluster under {}",
                        e.source,
                        env::DATABASE_URL,
                        home.postgres_dir().display()
                    ),
                ))
            }
            Err(e) => {
                release(cluster).await;
                return Err(e);
            }
        };
        if let Err(e) = crate::analysts::apply_schema(&*warehouse, routes.routes()).await {
            release(cluster).await;
            return Err(e);
        }
        let (tx, rx) = tokio::sync::watch::channel(false);
        let handle = tokio::spawn(firehose.clone().run_flusher(rx));
        Ok(LocalStack {
            outbox: Arc::new(LocalOutbox::new(home.outbox_dir(), true)),
            home,
            store,
            firehose,
            warehouse,
            flusher: Some((tx, handle)),
            cluster,
        })
    }

    /// The stream, which exists once something was produced into it.
    pub fn stream(&self) -> PortResult<LocalStream> {
        LocalStream::open(self.home.stream_dir())
    }

    /// Flushes the Firehose stand-in and stops what `start` started.
    pub async fn shutdown(mut self) -> PortResult<()> {
        let mut result = Ok(());
        if let Some((tx, handle)) = self.flusher.take() {
            let _ = tx.send(true);
            result = match handle.await {
                Ok(r) => r,
                Err(e) => Err(PortError::permanent("stopping the Firehose stand-in", e)),
            };
        }
        release(self.cluster.take()).await;
        result
    }
}

async fn release(lease: Option<ClusterLease>) {
    if let Some(lease) = lease {
        let _ = tokio::task::spawn_blocking(move || lease.release()).await;
    }
}

/// One process's use of the private cluster. Every user holds a shared lock on `users.lock`;
/// the last one out (the only one that can then lock it exclusively) stops the server, whoever
/// started it. A crashed user's lock goes with its process.
pub struct ClusterLease {
    cluster: PgCluster,
    users: std::fs::File,
}

impl ClusterLease {
    fn release(self) {
        let ClusterLease { cluster, users } = self;
        let _ = users.unlock();
        if users.try_lock().is_ok() {
            let _ = cluster.stop();
        }
    }
}

/// Starts (if needed) the private cluster and its database, and holds a use of it until the
/// lease is released. Returns the connection string.
pub async fn lease_private(dir: &Path) -> PortResult<(String, ClusterLease)> {
    let op = "starting the private PostgreSQL";
    std::fs::create_dir_all(dir)
        .map_err(|e| PortError::io(format!("creating {}", dir.display()), e))?;
    let users = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("users.lock"))
        .map_err(|e| PortError::io(format!("opening {}", dir.join("users.lock").display()), e))?;
    let cluster = PgCluster::new(dir);
    let c = cluster.clone();
    let users = tokio::task::spawn_blocking(move || -> Result<std::fs::File, String> {
        // Waits while a last user is stopping the server, then starts it again if needed.
        users.lock_shared().map_err(|e| e.to_string())?;
        c.ensure_started().map_err(|e| e.to_string())?;
        c.ensure_database(DATABASE_NAME)
            .map_err(|e| e.to_string())?;
        Ok(users)
    })
    .await
    .map_err(|e| PortError::permanent(op, e))?
    .map_err(|e| PortError::permanent(op, e))?;
    Ok((
        cluster.connection_string(DATABASE_NAME),
        ClusterLease { cluster, users },
    ))
}

/// Starts (if needed) the private cluster and its database. Returns the connection string, and
/// the cluster when this call started it.
pub async fn start_private(dir: &Path) -> PortResult<(String, Option<PgCluster>)> {
    let cluster = PgCluster::new(dir);
    let c = cluster.clone();
    let started = tokio::task::spawn_blocking(move || -> Result<_, pg_cluster::ClusterError> {
        let started = c.ensure_started()?;
        c.ensure_database(DATABASE_NAME)?;
        Ok(started)
    })
    .await
    .map_err(|e| PortError::permanent("starting the private PostgreSQL", e))?
    .map_err(|e| PortError::permanent("starting the private PostgreSQL", e))?;
    let conninfo = cluster.connection_string(DATABASE_NAME);
    Ok((conninfo, started.by_this_call().then_some(cluster)))
}

/// The Firehose stand-in's buffering from the environment, for quick tests and demos.
pub fn hints_from_env() -> Result<BufferHints, crate::bounds::OutOfBounds> {
    let mut hints = BufferHints::default();
    let default = u64::try_from(hints.interval.as_millis()).unwrap_or(u64::MAX);
    let ms = crate::bounds::FIREHOSE_INTERVAL_MS.env(env::FIREHOSE_INTERVAL_MS, default)?;
    hints.interval = std::time::Duration::from_millis(ms);
    Ok(hints)
}
