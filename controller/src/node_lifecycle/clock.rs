//! Wall-clock time, read through tokio's clock.
//!
//! The node lifecycle controller compares timestamps written into objects (a Lease's
//! `renewTime`, a taint's `timeAdded`) with "now". Those are wall-clock times, but reading
//! `chrono::Utc::now()` directly would make the decisions impossible to test without waiting:
//! a test would have to sleep 40 s to see a node go stale. So "now" is an anchor (the wall clock
//! when the controller started) plus the time elapsed on tokio's monotonic clock. In production
//! the two agree to within the drift of the system clock; under `tokio::time::pause()` a test
//! advances both at once.

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// A wall clock that moves with `tokio::time`.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    wall: DateTime<Utc>,
    instant: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock that reads the system time now and follows tokio's clock from here on.
    pub fn new() -> Self {
        Self::starting_at(Utc::now())
    }

    /// A clock that says `wall` now (tests pick a round date).
    pub fn starting_at(wall: DateTime<Utc>) -> Self {
        Clock {
            wall,
            instant: Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.instant.elapsed()).unwrap_or_else(|_| chrono::Duration::zero());
        self.wall + elapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn follows_tokio_time() {
        let start = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let clock = Clock::starting_at(start);
        assert_eq!(clock.now(), start);
        tokio::time::advance(Duration::from_secs(41)).await;
        assert_eq!(clock.now(), start + chrono::Duration::seconds(41));
    }
}
