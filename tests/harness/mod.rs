//! The Redshift harness (crates/redshift-harness) for the AWS tests: the harness serving the Data
//! API over a PostgreSQL database (tests/conformance/postgres.rs starts one), its COPY reading the
//! test's ObjectStore (moto's bucket or a local directory), and the real `RedshiftWarehouse`
//! adapter with a real SDK client pointed at it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use pushfeed::adapters::aws::redshift::Polling;
use pushfeed::adapters::aws::sdk::{aws_config, redshiftdata};
use pushfeed::adapters::aws::{RedshiftAuth, RedshiftTarget, RedshiftWarehouse};
use pushfeed::ports::{ErrorKind, ObjectStore};
use pushfeed::steps::Settings;
use redshift_harness::{Harness, HarnessOptions, ObjectSource};

/// The COPY role the tests' Load steps name (the harness checks its shape only).
pub const COPY_ROLE: &str = "arn:aws:iam::123456789012:role/pushfeed-copy";

/// The steps' settings for a load through Redshift's COPY from S3.
pub fn redshift_settings() -> Settings {
    Settings {
        copy_role: Some(COPY_ROLE.to_string()),
        ..Settings::default()
    }
}

/// COPY's view of an ObjectStore: `s3://<its bucket>/<key>`.
pub struct StoreSource(pub Arc<dyn ObjectStore>);

#[async_trait::async_trait]
impl ObjectSource for StoreSource {
    async fn get(&self, url: &str) -> Result<Option<Vec<u8>>, String> {
        let bucket = self.0.url("");
        let key = url
            .strip_prefix(&bucket)
            .ok_or_else(|| format!("{url} is not in the test's bucket ({bucket})"))?;
        match self.0.get(key).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// A Data API client for the harness at `endpoint`, as the Lambda builds one (region and
/// credentials are the SDK's usual ones; the harness ignores signatures).
pub async fn data_api_client(endpoint: &str) -> redshiftdata::Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(redshiftdata::config::Credentials::new(
            "harness", "harness", None, None, "harness",
        ))
        .load()
        .await;
    redshiftdata::Client::new(&sdk)
}

/// The real adapter against the harness, polling quickly (the harness's statements take
/// milliseconds; its first DescribeStatement of each still says STARTED).
pub async fn warehouse(harness: &Harness) -> RedshiftWarehouse {
    RedshiftWarehouse::new(
        data_api_client(harness.endpoint()).await,
        RedshiftTarget::Workgroup("harness".into()),
        "pushfeed",
        RedshiftAuth::Iam,
    )
    .with_polling(Polling {
        first: Duration::from_millis(5),
        max: Duration::from_millis(50),
        deadline: Duration::from_secs(300),
    })
}

/// A harness over `conninfo` whose COPY reads `store`.
pub async fn harness(conninfo: &str, store: Arc<dyn ObjectStore>) -> Harness {
    harness_with(conninfo, store, HarnessOptions::default()).await
}

pub async fn harness_with(
    conninfo: &str,
    store: Arc<dyn ObjectStore>,
    options: HarnessOptions,
) -> Harness {
    Harness::start_with(conninfo, Arc::new(StoreSource(store)), options)
        .await
        .expect("the harness starts")
}
