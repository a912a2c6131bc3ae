//! Time sources: the wall clock, the wall clock with shortened waits, or a virtual clock under
//! which waits are free.

use crate::timefmt::{parse_rfc3339, system_now, Millis};

/// Under `Virtual`, each execution path carries its own "now": Wait states and
/// retry backoff advance it instantly, task invocations take zero virtual time
/// (a timed-out task advances it by its timeout), and a Parallel/Map continues at
/// the latest end among its branches/iterations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    Real,
    /// The wall clock, but each Wait state and retry interval lasts `1/divisor` of its written
    /// time: for a local stand-in that does in milliseconds what its AWS service does in
    /// seconds, where the waits must still let real work happen between tries (a virtual clock
    /// would turn a Wait-and-check loop into a busy loop). Not what AWS does: a local knob.
    Hurried {
        divisor: u32,
    },
    Virtual {
        start: Millis,
    },
}

impl Clock {
    /// A virtual clock starting at the current wall-clock time.
    pub fn virtual_now() -> Clock {
        Clock::Virtual {
            start: system_now(),
        }
    }

    /// A virtual clock starting at an RFC 3339 instant; `None` if it does not parse.
    pub fn virtual_at(rfc3339: &str) -> Option<Clock> {
        parse_rfc3339(rfc3339).map(|start| Clock::Virtual { start })
    }

    pub fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual { .. })
    }

    /// How long a wait of `ms` written milliseconds takes on this clock's wall time.
    pub(crate) fn wait_ms(&self, ms: i64) -> i64 {
        match self {
            Clock::Hurried { divisor } => ms / i64::from((*divisor).max(1)),
            Clock::Real | Clock::Virtual { .. } => ms,
        }
    }

    pub(crate) fn start(&self) -> Millis {
        match self {
            Clock::Real | Clock::Hurried { .. } => system_now(),
            Clock::Virtual { start } => *start,
        }
    }
}
