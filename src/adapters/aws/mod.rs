//! The AWS adapters: each port over its AWS service (aws-sdk-*), one file per service, plus the
//! Lambda wiring (`config`) that builds them from environment variables.
//!
//! Every adapter is thin: it turns the port's call into the service's and the service's errors
//! into [`crate::ports::ErrorKind`]s (see `error`). Retrying whole steps is the state machine's
//! job; an adapter only retries what the port promises to hide (Kinesis iterator renewal and
//! per-shard throttling, Firehose whole-call throttling, Redshift statement polling).

pub mod audit;
pub mod config;
#[cfg(feature = "local")]
pub mod doctor;
pub mod error;
pub mod firehose;
pub mod kinesis;
pub mod kinesis_producer;
pub mod lambda;
pub mod redshift;
pub mod s3;
pub mod sfn;
pub mod sns;

pub use config::{AwsPorts, TaskEnv};
pub use firehose::FirehoseDelivery;
pub use kinesis::KinesisStream;
pub use kinesis_producer::KinesisProducer;
pub use redshift::{RedshiftAuth, RedshiftTarget, RedshiftWarehouse};
pub use s3::S3ObjectStore;
pub use sfn::StepFunctions;
pub use sns::SnsNotifier;

/// The SDK crates, re-exported so the Lambda binaries and tests build requests and fixtures with
/// exactly the versions the adapters use.
pub mod sdk {
    pub use aws_config;
    pub use aws_sdk_cloudformation as cloudformation;
    pub use aws_sdk_firehose as firehose;
    pub use aws_sdk_kinesis as kinesis;
    pub use aws_sdk_redshiftdata as redshiftdata;
    pub use aws_sdk_s3 as s3;
    pub use aws_sdk_scheduler as scheduler;
    pub use aws_sdk_sfn as sfn;
    pub use aws_sdk_sns as sns;
}
