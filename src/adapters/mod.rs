//! Adapters: the ports' implementations. `local` is the embedded stack for one machine
//! (the `local` feature), `aws` the AWS services (the `aws` feature).

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "local")]
pub mod local;
