//! Shared helpers for the integration tests: temporary homes and the `pushfeed` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary PUSHFEED_HOME, removed when dropped (after its PostgreSQL was stopped).
pub struct TempHome {
    pub dir: tempfile::TempDir,
}

impl TempHome {
    pub fn new() -> TempHome {
        TempHome {
            dir: tempfile::Builder::new()
                .prefix("pf-")
                .tempdir_in(std::env::temp_dir())
                .expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `pushfeed --home <this> ARGS`, with the Firehose stand-in flushing quickly.
    pub fn pushfeed(&self, args: &[&str]) -> Output {
        self.pushfeed_env(args, &[])
    }

    pub fn pushfeed_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pushfeed"));
        cmd.arg("--home").arg(self.path()).args(args);
        cmd.env("PUSHFEED_FIREHOSE_INTERVAL_MS", "50")
            .env_remove("PUSHFEED_DATABASE_URL")
            .env_remove("PUSHFEED_ROUTES");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("pushfeed runs")
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        // A test that failed half-way may have left the private cluster running.
        let cluster = pg_cluster::PgCluster::new(self.path().join("postgres"));
        if cluster.is_running() {
            let _ = cluster.stop();
        }
    }
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and parses stdout as JSON.
pub fn json_ok(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "pushfeed failed: {}\n{}",
        stderr(o),
        stdout(o)
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(o)))
}
