//! The Lambda functions' configuration, read from environment variables (the CDK app sets exactly
//! these), and the adapters built from it once per container.
//!
//! Each field's comment is its documentation (docs/aws.md repeats them as a table). A missing
//! variable is reported only by the function that needs it, in one sentence naming it.

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};

use super::firehose::FirehoseDelivery;
use super::kinesis::KinesisStream;
use super::redshift::{RedshiftAuth, RedshiftTarget, RedshiftWarehouse};
use super::s3::S3ObjectStore;
use crate::domain::routes::RoutingTable;
use crate::ports::{Clock, SystemClock};
use crate::steps::Settings;

/// A configuration problem: one plain sentence naming the variable.
#[derive(thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The sentence itself: a binary's `main` that returns this error prints it with `Debug`.
impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The environment of a task function.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskEnv {
    /// `PUSHFEED_STREAM_NAME`: the Kinesis stream the vendor writes (ReadWindow).
    pub stream_name: Option<String>,
    /// `PUSHFEED_BUCKET`: the one bucket of raw, staging, rejected, unrouted, checkpoints,
    /// Firehose output and manifests (every task).
    pub bucket: Option<String>,
    /// `PUSHFEED_DELIVERY_STREAM_PREFIX`: put before a route's `delivery_stream` to name its
    /// Firehose stream (Deliver); empty by default.
    pub delivery_stream_prefix: String,
    /// `PUSHFEED_REDSHIFT_WORKGROUP`: the Redshift Serverless workgroup (Load); or
    /// `PUSHFEED_REDSHIFT_CLUSTER_ID`: a provisioned cluster. Exactly one of the two.
    pub redshift_target: Option<RedshiftTarget>,
    /// `PUSHFEED_REDSHIFT_DATABASE`: the database of the tables (Load).
    pub redshift_database: Option<String>,
    /// `PUSHFEED_REDSHIFT_SECRET_ARN`: a Secrets Manager secret with the database credentials
    /// (workgroups, or clusters); or `PUSHFEED_REDSHIFT_DB_USER`: a database user (clusters). The
    /// same identity `pushfeed schema --aws` created the tables with.
    pub redshift_auth: RedshiftAuth,
    /// `PUSHFEED_COPY_ROLE_ARN`: the IAM role Redshift's COPY assumes to read the bucket (Load).
    pub copy_role_arn: Option<String>,
    /// `PUSHFEED_LAG_MINUTES`: minutes between a scheduled time and its window's end; default 1.
    pub lag_minutes: u32,
    /// `PUSHFEED_SETTLE_SECONDS`: how long after a window's end records may still arrive;
    /// default 5.
    pub settle_seconds: u32,
    /// `PUSHFEED_AWAIT_ATTEMPTS`: AwaitObjects checks before `Pushfeed.ObjectsNotDelivered`;
    /// default 20.
    pub await_attempts: u32,
    /// `PUSHFEED_ROUTES_JSON`: the routing file's content, replacing the built-in
    /// config/routes.json; optional.
    pub routes_json: Option<String>,
}

/// A numeric variable, checked against its range in [`crate::bounds`] like every flag.
fn number<T: crate::bounds::Bounded>(
    name: &str,
    value: Option<String>,
    bounds: crate::bounds::Bounds<T>,
    default: T,
) -> Result<T, ConfigError> {
    bounds
        .lookup(name, default, |_| value.clone())
        .map_err(|e| ConfigError(format!("{e}.")))
}

impl TaskEnv {
    /// Reads the process environment.
    pub fn from_env() -> Result<TaskEnv, ConfigError> {
        TaskEnv::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get` (tests pass a map). Empty values count as unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<TaskEnv, ConfigError> {
        let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let redshift_target =
            match (
                var("PUSHFEED_REDSHIFT_WORKGROUP"),
                var("PUSHFEED_REDSHIFT_CLUSTER_ID"),
            ) {
                (Some(_), Some(_)) => return Err(ConfigError(
                    "Set only one of PUSHFEED_REDSHIFT_WORKGROUP and PUSHFEED_REDSHIFT_CLUSTER_ID."
                        .into(),
                )),
                (Some(w), None) => Some(RedshiftTarget::Workgroup(w)),
                (None, Some(c)) => Some(RedshiftTarget::Cluster(c)),
                (None, None) => None,
            };
        let redshift_auth =
            match (
                var("PUSHFEED_REDSHIFT_SECRET_ARN"),
                var("PUSHFEED_REDSHIFT_DB_USER"),
            ) {
                (Some(_), Some(_)) => return Err(ConfigError(
                    "Set only one of PUSHFEED_REDSHIFT_SECRET_ARN and PUSHFEED_REDSHIFT_DB_USER."
                        .into(),
                )),
                (Some(s), None) => RedshiftAuth::SecretArn(s),
                (None, Some(u)) => RedshiftAuth::DbUser(u),
                (None, None) => RedshiftAuth::Iam,
            };
        Ok(TaskEnv {
            stream_name: var("PUSHFEED_STREAM_NAME"),
            bucket: var("PUSHFEED_BUCKET"),
            delivery_stream_prefix: get("PUSHFEED_DELIVERY_STREAM_PREFIX").unwrap_or_default(),
            redshift_target,
            redshift_database: var("PUSHFEED_REDSHIFT_DATABASE"),
            redshift_auth,
            copy_role_arn: var("PUSHFEED_COPY_ROLE_ARN"),
            lag_minutes: number(
                "PUSHFEED_LAG_MINUTES",
                var("PUSHFEED_LAG_MINUTES"),
                crate::bounds::LAG_MINUTES,
                1,
            )?,
            settle_seconds: number(
                "PUSHFEED_SETTLE_SECONDS",
                var("PUSHFEED_SETTLE_SECONDS"),
                crate::bounds::SETTLE_SECONDS,
                5,
            )?,
            await_attempts: number(
                "PUSHFEED_AWAIT_ATTEMPTS",
                var("PUSHFEED_AWAIT_ATTEMPTS"),
                crate::bounds::AWAIT_ATTEMPTS,
                20,
            )?,
            routes_json: var("PUSHFEED_ROUTES_JSON"),
        })
    }

    fn required<'a>(
        value: &'a Option<String>,
        name: &str,
        what: &str,
    ) -> Result<&'a str, ConfigError> {
        value
            .as_deref()
            .ok_or_else(|| ConfigError(format!("{name} is not set: set it to {what}.")))
    }

    /// The steps' settings from these variables.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let routes = match &self.routes_json {
            Some(text) => RoutingTable::from_json(text, "PUSHFEED_ROUTES_JSON").map_err(|e| {
                ConfigError(format!(
                    "PUSHFEED_ROUTES_JSON is not a valid routing file: {e}."
                ))
            })?,
            None => RoutingTable::default_routes(),
        };
        Ok(Settings {
            routes,
            lag_minutes: self.lag_minutes,
            settle_ms: i64::from(self.settle_seconds) * 1000,
            await_attempts: self.await_attempts,
            copy_role: self.copy_role_arn.clone(),
            ..Settings::default()
        })
    }
}

/// Loads the SDK configuration (region, credentials, endpoint overrides such as
/// `AWS_ENDPOINT_URL`, which tests point at moto) with the latest behaviour version.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// True when an endpoint override is configured (an emulator): S3 then uses path-style URLs,
/// since an emulator on 127.0.0.1 has no bucket subdomains.
fn endpoint_overridden(sdk: &SdkConfig) -> bool {
    sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
}

/// An S3 client for `sdk`, path-style when talking to an emulator.
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(endpoint_overridden(sdk))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// The adapters a task function uses, built once per container. Each is built only if its
/// variables are set, so a function needs only its own; asking for a missing one names the
/// variable.
pub struct AwsPorts {
    pub env: TaskEnv,
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
    store: Option<Arc<S3ObjectStore>>,
    stream: Option<Arc<KinesisStream>>,
    delivery: Arc<FirehoseDelivery>,
    warehouse: Option<Arc<RedshiftWarehouse>>,
}

impl AwsPorts {
    /// Reads the environment and builds the clients.
    pub async fn from_env() -> Result<AwsPorts, ConfigError> {
        let env = TaskEnv::from_env()?;
        let sdk = load_sdk_config().await;
        AwsPorts::build(env, &sdk)
    }

    pub fn build(env: TaskEnv, sdk: &SdkConfig) -> Result<AwsPorts, ConfigError> {
        let settings = env.settings()?;
        let store = env
            .bucket
            .as_ref()
            .map(|b| Arc::new(S3ObjectStore::new(s3_client(sdk), b.clone())));
        let stream = env.stream_name.as_ref().map(|s| {
            Arc::new(KinesisStream::new(
                aws_sdk_kinesis::Client::new(sdk),
                s.clone(),
            ))
        });
        let delivery = Arc::new(FirehoseDelivery::new(
            aws_sdk_firehose::Client::new(sdk),
            env.delivery_stream_prefix.clone(),
        ));
        let warehouse = match (&env.redshift_target, &env.redshift_database) {
            (Some(t), Some(db)) => Some(Arc::new(RedshiftWarehouse::new(
                aws_sdk_redshiftdata::Client::new(sdk),
                t.clone(),
                db.clone(),
                env.redshift_auth.clone(),
            ))),
            _ => None,
        };
        Ok(AwsPorts {
            env,
            settings,
            clock: Arc::new(SystemClock),
            store,
            stream,
            delivery,
            warehouse,
        })
    }

    pub fn store(&self) -> Result<Arc<S3ObjectStore>, ConfigError> {
        TaskEnv::required(
            &self.env.bucket,
            "PUSHFEED_BUCKET",
            "the pushfeed bucket's name",
        )?;
        Ok(self.store.clone().expect("set with the bucket"))
    }

    pub fn stream(&self) -> Result<Arc<KinesisStream>, ConfigError> {
        TaskEnv::required(
            &self.env.stream_name,
            "PUSHFEED_STREAM_NAME",
            "the Kinesis stream's name",
        )?;
        Ok(self.stream.clone().expect("set with the stream name"))
    }

    pub fn delivery(&self) -> Arc<FirehoseDelivery> {
        self.delivery.clone()
    }

    pub fn warehouse(&self) -> Result<Arc<RedshiftWarehouse>, ConfigError> {
        if self.env.redshift_target.is_none() {
            return Err(ConfigError(
                "PUSHFEED_REDSHIFT_WORKGROUP is not set: set it to the Redshift Serverless workgroup, or set PUSHFEED_REDSHIFT_CLUSTER_ID to a cluster.".into(),
            ));
        }
        TaskEnv::required(
            &self.env.redshift_database,
            "PUSHFEED_REDSHIFT_DATABASE",
            "the database of the tables",
        )?;
        self.env.check_load_identity()?;
        TaskEnv::required(
            &self.env.copy_role_arn,
            "PUSHFEED_COPY_ROLE_ARN",
            "the IAM role Redshift's COPY assumes to read the bucket",
        )?;
        Ok(self
            .warehouse
            .clone()
            .expect("set with the target and database"))
    }
}

impl TaskEnv {
    /// The Load must connect as the database user that `pushfeed schema --aws` created the
    /// tables as (their owner): a secret or a cluster's database user, which both sides are given.
    /// The Load role's own IAM-derived user would be a different user, with no rights on them.
    fn check_load_identity(&self) -> Result<(), ConfigError> {
        match (&self.redshift_target, &self.redshift_auth) {
            (Some(RedshiftTarget::Cluster(_)), RedshiftAuth::Iam) => Err(ConfigError(
                "PUSHFEED_REDSHIFT_SECRET_ARN is not set: a cluster needs it, or PUSHFEED_REDSHIFT_DB_USER.".into(),
            )),
            (Some(RedshiftTarget::Workgroup(_)), RedshiftAuth::Iam) => Err(ConfigError(
                "PUSHFEED_REDSHIFT_SECRET_ARN is not set: the Load connects to a workgroup with the secret that `pushfeed schema --aws` used, so that it is the tables' owner.".into(),
            )),
            (Some(RedshiftTarget::Workgroup(_)), RedshiftAuth::DbUser(_)) => Err(ConfigError(
                "PUSHFEED_REDSHIFT_DB_USER is for clusters: a workgroup needs PUSHFEED_REDSHIFT_SECRET_ARN instead.".into(),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Result<TaskEnv, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TaskEnv::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_apply_and_numbers_parse() {
        let e = env(&[("PUSHFEED_BUCKET", "b"), ("PUSHFEED_AWAIT_ATTEMPTS", "7")]).unwrap();
        assert_eq!(
            (e.lag_minutes, e.settle_seconds, e.await_attempts),
            (1, 5, 7)
        );
        assert_eq!(e.delivery_stream_prefix, "");
        let s = e.settings().unwrap();
        assert_eq!((s.settle_ms, s.await_attempts), (5000, 7));
        let bad = env(&[("PUSHFEED_LAG_MINUTES", "one")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            bad,
            "PUSHFEED_LAG_MINUTES `one` is not a number: use a number from 0 to 60 (minutes)."
        );
    }

    #[test]
    fn the_load_connects_as_the_tables_owner() {
        let check = |pairs: &[(&str, &str)]| env(pairs).unwrap().check_load_identity();
        let workgroup = ("PUSHFEED_REDSHIFT_WORKGROUP", "w");
        let secret = ("PUSHFEED_REDSHIFT_SECRET_ARN", "arn:s");
        assert!(check(&[workgroup, secret]).is_ok());
        let e = check(&[workgroup]).unwrap_err().to_string();
        assert!(
            e.contains("PUSHFEED_REDSHIFT_SECRET_ARN is not set") && e.contains("owner"),
            "{e}"
        );
        assert!(check(&[workgroup, ("PUSHFEED_REDSHIFT_DB_USER", "u")]).is_err());
        let cluster = ("PUSHFEED_REDSHIFT_CLUSTER_ID", "c");
        assert!(check(&[cluster, ("PUSHFEED_REDSHIFT_DB_USER", "u")]).is_ok());
        assert!(check(&[cluster]).is_err());
    }

    #[test]
    fn redshift_target_and_auth_are_exclusive() {
        let e = env(&[
            ("PUSHFEED_REDSHIFT_CLUSTER_ID", "c"),
            ("PUSHFEED_REDSHIFT_DB_USER", "u"),
        ])
        .unwrap();
        assert_eq!(e.redshift_target, Some(RedshiftTarget::Cluster("c".into())));
        assert_eq!(e.redshift_auth, RedshiftAuth::DbUser("u".into()));
        assert!(env(&[
            ("PUSHFEED_REDSHIFT_CLUSTER_ID", "c"),
            ("PUSHFEED_REDSHIFT_WORKGROUP", "w")
        ])
        .is_err());
    }

    #[test]
    fn bad_routes_json_names_the_variable() {
        let e = env(&[("PUSHFEED_ROUTES_JSON", "{")]).unwrap();
        assert!(e
            .settings()
            .unwrap_err()
            .to_string()
            .starts_with("PUSHFEED_ROUTES_JSON is not a valid routing file"));
    }
}
