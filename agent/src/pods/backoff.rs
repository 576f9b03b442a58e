//! Crash-loop back-off: why a crashing container is restarted less and less often.
//!
//! A container that exits is restarted (per `restartPolicy`), but one that keeps crashing would
//! otherwise be restarted in a tight loop, burning CPU and flooding logs. The kubelet waits
//! before each restart: not at all the first time, then 10 s, 20 s, 40 s... up to 5 minutes.
//! While it waits, the container shows `waiting: {reason: CrashLoopBackOff}`.
//!
//! The kubelet keeps that back-off in memory. kubelab derives it from what the runtime already
//! knows: the restart count of the exited container (kept in a label) says how many times it
//! crashed, and its finish time says when the wait started. So the back-off is a pure function,
//! survives an agent restart, and tests can check it without a clock.
//!
//! Image pulls that fail back off the same way (`ImagePullBackOff`), counted by the agent.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The back-off schedule: `base`, doubling, capped at `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffPolicy {
    pub base: Duration,
    pub max: Duration,
}

impl Default for BackoffPolicy {
    /// Kubernetes' schedule: 10 s doubling to 5 min.
    fn default() -> Self {
        BackoffPolicy {
            base: Duration::from_secs(10),
            max: Duration::from_secs(300),
        }
    }
}

impl BackoffPolicy {
    /// The kubelet's volume manager retries a failed mount after 500 ms, doubling up to 2 min
    /// 2 s (its `nestedpendingoperations` back-off): a claim bound a moment after its pod (a
    /// StatefulSet creates both together) is mounted within a second, not a sync period later.
    pub const MOUNT: BackoffPolicy = BackoffPolicy {
        base: Duration::from_millis(500),
        max: Duration::from_secs(122),
    };

    /// How long to wait before restarting a container that exited after `restarts` restarts:
    /// 0 for the first crash, then `base`, `2 × base`, ... up to `max`.
    pub fn restart_delay(&self, restarts: u32) -> Duration {
        if restarts == 0 {
            return Duration::ZERO;
        }
        self.doubled(restarts - 1)
    }

    /// How long to wait after the `failures`-th failure in a row of an image pull or a create.
    pub fn retry_delay(&self, failures: u32) -> Duration {
        self.doubled(failures.saturating_sub(1))
    }

    fn doubled(&self, doublings: u32) -> Duration {
        let factor = 1u32.checked_shl(doublings.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// How much longer to wait at `now` when the wait of `delay` started at `since`; `None` when
    /// the wait is over.
    pub fn remaining(since: DateTime<Utc>, delay: Duration, now: DateTime<Utc>) -> Option<Duration> {
        let until = since + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
        (until > now).then(|| (until - now).to_std().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_schedule() {
        let p = BackoffPolicy::default();
        let secs: Vec<u64> = (0..9).map(|r| p.restart_delay(r).as_secs()).collect();
        assert_eq!(secs, vec![0, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(p.restart_delay(u32::MAX), Duration::from_secs(300));
        assert_eq!(p.retry_delay(1), Duration::from_secs(10));
        assert_eq!(p.retry_delay(3), Duration::from_secs(40));
        let mount: Vec<u128> = (1..6)
            .map(|f| BackoffPolicy::MOUNT.retry_delay(f).as_millis())
            .collect();
        assert_eq!(mount, vec![500, 1000, 2000, 4000, 8000]);
        assert_eq!(BackoffPolicy::MOUNT.retry_delay(30), Duration::from_secs(122));
    }

    #[test]
    fn remaining_wait() {
        let t0 = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().to_utc();
        let later = t0 + chrono::Duration::seconds(4);
        assert_eq!(
            BackoffPolicy::remaining(t0, Duration::from_secs(10), later),
            Some(Duration::from_secs(6))
        );
        assert_eq!(BackoffPolicy::remaining(t0, Duration::from_secs(3), later), None);
    }
}
