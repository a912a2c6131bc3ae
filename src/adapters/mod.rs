//! Adapters: the ports' implementations. `local` is the embedded stack for one machine.

#[cfg(feature = "aws")]
pub mod aws;
pub mod local;
