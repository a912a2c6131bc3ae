//! The embedded local stack, under PUSHFEED_HOME: a file-backed stream, a directory for S3, a
//! Firehose stand-in, PostgreSQL for Redshift and an outbox for SNS.

pub mod copy_text;
pub mod firehose;
pub mod object_store;
pub mod outbox;
pub mod postgres;
pub mod stack;
pub mod stream;
