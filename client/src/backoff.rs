//! Exponential back-off: wait a little after the first failure, twice as long after the next,
//! up to a cap; start again from the beginning after a success.
//!
//! Every loop that talks to a server needs this. Retrying at once after a failure turns one
//! unhealthy API server into a flood of requests from every client at the same moment; waiting
//! longer and longer gives it room to recover, and the cap keeps a client from sleeping so long
//! that it notices recovery late. (client-go adds random jitter as well, so clients that failed
//! together do not retry together; kubelab leaves it out to keep tests deterministic.)

use std::time::Duration;

/// Delays that double from `initial` up to `max`.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            next: initial,
        }
    }

    /// The delay to wait now; the one after it will be twice as long (up to the cap).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    /// After a success: the next failure waits only `initial` again.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

impl Default for Backoff {
    /// 500 ms doubling to 30 s, about what client-go's reflector uses.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(500), Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let delays: Vec<u128> = (0..5).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 400, 500, 500]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
    }
}
