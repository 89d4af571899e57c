//! Time as a dependency: the system clock, or a simulated one that moves only when told.
//!
//! ```
//! use std::time::Duration;
//! use chrono::{TimeZone, Utc};
//! use okd_gating::{Clock, SimulatedClock};
//! let clock = SimulatedClock::new(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap());
//! clock.advance(Duration::from_secs(3600));
//! assert_eq!(clock.now(), Utc.with_ymd_and_hms(2025, 1, 1, 1, 0, 0).unwrap());
//! ```

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::schedule::add_duration;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when advanced or set; clones share the same time.
#[derive(Debug, Clone)]
pub struct SimulatedClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl SimulatedClock {
    /// A clock at `start`.
    pub fn new(start: DateTime<Utc>) -> SimulatedClock {
        SimulatedClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = add_duration(*now, by);
    }

    /// Sets the clock to `to`; a clock never moves backwards, so an earlier time is ignored.
    pub fn set(&self, to: DateTime<Utc>) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        if to > *now {
            *now = to;
        }
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
