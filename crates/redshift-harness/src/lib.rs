//! A Redshift execution harness for tests: the Redshift Data API (ExecuteStatement,
//! BatchExecuteStatement, DescribeStatement, GetStatementResult, CancelStatement) served over
//! HTTP on 127.0.0.1, each statement run for real on a PostgreSQL database.
//!
//! A test instrument, not a Redshift emulator. Only what PostgreSQL lacks is translated
//! ([`translate`]); Redshift's and the Data API's documented limits are enforced ([`rules`]);
//! everything else goes to PostgreSQL as it is, so SQL that neither knows fails. What it cannot
//! check is listed in docs/aws.md ("The Redshift harness").
//!
//! ```no_run
//! # async fn demo(source: std::sync::Arc<dyn redshift_harness::ObjectSource>) {
//! let harness = redshift_harness::Harness::start("host=/tmp dbname=test", source).await.unwrap();
//! // Point an aws-sdk-redshiftdata client at harness.endpoint().
//! # }
//! ```

mod copy;
mod exec;
pub mod rules;
mod server;
pub mod translate;

pub use server::{Harness, HarnessError, HarnessOptions};

/// Where COPY reads manifests, jsonpaths files and data files: the test's bucket (moto's, or a
/// local directory), by `s3://bucket/key` URL.
#[async_trait::async_trait]
pub trait ObjectSource: Send + Sync {
    /// The object's bytes, or `Ok(None)` when nothing is stored at the URL.
    async fn get(&self, url: &str) -> Result<Option<Vec<u8>>, String>;
}
