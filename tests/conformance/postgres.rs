//! A private PostgreSQL for the warehouse scenarios, started with pushfeed's own cluster code
//! (`start_private`) under a temporary directory and stopped when dropped, even after a failed
//! assertion. Each scenario takes a database of its own.

use pg_cluster::PgCluster;
use pushfeed::adapters::local::stack::start_private;

pub struct Postgres {
    dir: tempfile::TempDir,
    cluster: Option<PgCluster>,
}

impl Postgres {
    pub async fn start() -> Postgres {
        let dir = tempfile::Builder::new().prefix("pf-wh-").tempdir().unwrap();
        let (_, cluster) = start_private(&dir.path().join("postgres"))
            .await
            .expect("the private PostgreSQL starts");
        Postgres { dir, cluster }
    }

    /// A fresh database, as a connection string.
    pub async fn database(&self, name: &str) -> String {
        let cluster = PgCluster::new(self.dir.path().join("postgres"));
        let (c, n) = (cluster.clone(), name.to_string());
        tokio::task::spawn_blocking(move || c.ensure_database(&n))
            .await
            .unwrap()
            .expect("the database is created");
        cluster.connection_string(name)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(c) = self.cluster.take() {
            let _ = c.stop();
        }
    }
}
