//! Time sources: the wall clock, or a virtual clock under which waits are free.

use crate::timefmt::{parse_rfc3339, system_now, Millis};

/// Under `Virtual`, each execution path carries its own "now": Wait states and
/// retry backoff advance it instantly, task invocations take zero virtual time
/// (a timed-out task advances it by its timeout), and a Parallel/Map continues at
/// the latest end among its branches/iterations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    Real,
    Virtual { start: Millis },
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

    pub(crate) fn start(&self) -> Millis {
        match self {
            Clock::Real => system_now(),
            Clock::Virtual { start } => *start,
        }
    }
}
