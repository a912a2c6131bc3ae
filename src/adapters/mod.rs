//! Adapters: the ports' implementations. `local` is the embedded stack for one machine.

pub mod local;
