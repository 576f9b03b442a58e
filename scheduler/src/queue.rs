//! The scheduling queue: which pod is tried next, and when a pod that did not fit is tried again.
//!
//! kube-scheduler keeps three places for pending pods, and so does this queue:
//!
//! ```text
//!   new / updated pod ──▶ active ──pop──▶ scheduling cycle ──bound──▶ (gone)
//!                           ▲  ▲                 │
//!          back-off expired │  │ cluster changed │ fit nowhere
//!                        back-off ◀───(still in back-off)── unschedulable ◀┘
//! ```
//!
//! - **active**: ready to be tried, first in first out.
//! - **unschedulable**: tried, and no node fitted. Trying again at once would give the same answer,
//!   so the pod waits for something that could change it: a node added or changed, or an assigned
//!   pod deleted (which frees its resources). Then *every* unschedulable pod is moved back. As a
//!   safety net, a pod left there for `max_in_unschedulable` (5 minutes) is retried anyway.
//! - **back-off**: a pod moved back, or one whose binding failed, waits out its back-off first:
//!   1 s after the first failure, doubling with each failure up to 10 s (Kubernetes'
//!   `podInitialBackoffDuration` and `podMaxBackoffDuration`), so a pod that keeps failing cannot
//!   monopolize the scheduler.
//!
//! One subtlety, straight from Kubernetes: a cluster change may happen *while* a pod is being
//! scheduled. If that pod then turns out unschedulable, parking it would miss the change that
//! may let it fit; so a pod whose cycle started before the latest change goes to back-off instead.
//!
//! Time is `tokio::time`, so tests pause the clock and step through back-offs instantly.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// How long pods wait before another try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffConfig {
    /// Back-off after the first failure (Kubernetes: 1 s).
    pub initial: Duration,
    /// Longest back-off (Kubernetes: 10 s).
    pub max: Duration,
    /// How long a pod may sit in unschedulable with nothing happening before it is retried anyway
    /// (Kubernetes: 5 minutes).
    pub max_in_unschedulable: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
            max_in_unschedulable: Duration::from_secs(300),
        }
    }
}

impl BackoffConfig {
    /// `initial × 2^(attempts−1)`, at most `max`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let mut delay = self.initial;
        for _ in 1..attempts {
            delay = delay.saturating_mul(2);
            if delay >= self.max {
                return self.max;
            }
        }
        delay.min(self.max)
    }
}

/// How often leftovers in unschedulable are checked (Kubernetes: every 30 s).
const UNSCHEDULABLE_SCAN_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Active,
    Backoff,
    Unschedulable,
    /// Popped, being scheduled right now.
    InFlight,
}

#[derive(Debug)]
struct Entry {
    place: Place,
    attempts: u32,
    backoff_until: Option<Instant>,
    unschedulable_since: Instant,
    /// The scheduling cycle in which the pod was last popped.
    cycle: u64,
    /// The pod changed while it was being scheduled.
    updated_in_flight: bool,
}

impl Entry {
    fn new(place: Place, now: Instant) -> Self {
        Entry {
            place,
            attempts: 0,
            backoff_until: None,
            unschedulable_since: now,
            cycle: 0,
            updated_in_flight: false,
        }
    }
}

#[derive(Default)]
struct State {
    active: VecDeque<String>,
    /// `(until, key)`, soonest first; stale items (the pod moved on) are skipped when popped.
    backoff: BinaryHeap<Reverse<(Instant, String)>>,
    entries: HashMap<String, Entry>,
    scheduling_cycle: u64,
    move_request_cycle: u64,
    next_unschedulable_scan: Option<Instant>,
    closed: bool,
}

/// How many pods wait where (for tests and logs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub active: usize,
    pub backoff: usize,
    pub unschedulable: usize,
    pub in_flight: usize,
}

/// The queue of pods to schedule, by key (`namespace/name`). Cheap to clone; clones share it.
#[derive(Clone)]
pub struct SchedulingQueue {
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
    config: BackoffConfig,
}

impl SchedulingQueue {
    pub fn new(config: BackoffConfig) -> Self {
        SchedulingQueue {
            state: Arc::default(),
            notify: Arc::new(Notify::new()),
            config,
        }
    }

    /// A new or changed pending pod. A new one becomes active; a parked one is moved back (its
    /// change may be what lets it fit); one in flight is marked, so a failure does not park it.
    pub fn add(&self, key: &str) {
        let now = Instant::now();
        let mut state = self.lock();
        let place = state.entries.get(key).map(|e| e.place);
        match place {
            None => {
                state.entries.insert(key.to_string(), Entry::new(Place::Active, now));
                state.active.push_back(key.to_string());
            }
            Some(Place::Unschedulable) => Self::move_back(&mut state, key, now),
            Some(Place::InFlight) => {
                if let Some(entry) = state.entries.get_mut(key) {
                    entry.updated_in_flight = true;
                }
            }
            Some(Place::Active | Place::Backoff) => {}
        }
        drop(state);
        self.notify.notify_one();
    }

    /// The pod is gone (deleted, or bound by someone): forget it wherever it is.
    pub fn delete(&self, key: &str) {
        self.lock().entries.remove(key);
    }

    /// The pod was bound: forget it, attempts and all.
    pub fn done(&self, key: &str) {
        self.delete(key);
    }

    /// No node fitted: park the pod until the cluster changes (or in back-off, see the module doc).
    pub fn unschedulable(&self, key: &str) {
        let now = Instant::now();
        let mut state = self.lock();
        let move_request_cycle = state.move_request_cycle;
        let Some(entry) = state.entries.get_mut(key) else {
            return;
        };
        entry.attempts += 1;
        let until = now + self.config.backoff(entry.attempts);
        entry.backoff_until = Some(until);
        if entry.updated_in_flight || entry.cycle <= move_request_cycle {
            entry.place = Place::Backoff;
            entry.updated_in_flight = false;
            state.backoff.push(Reverse((until, key.to_string())));
        } else {
            entry.place = Place::Unschedulable;
            entry.unschedulable_since = now;
            if state.next_unschedulable_scan.is_none() {
                state.next_unschedulable_scan = Some(now + UNSCHEDULABLE_SCAN_INTERVAL);
            }
        }
        drop(state);
        self.notify.notify_one();
    }

    /// Something failed that is not the pod's fault (binding, an API error): retry after back-off.
    pub fn error(&self, key: &str) {
        let now = Instant::now();
        let mut state = self.lock();
        // The pod must not be lost even if its entry went away meanwhile.
        let entry = state
            .entries
            .entry(key.to_string())
            .or_insert_with(|| Entry::new(Place::Backoff, now));
        entry.attempts += 1;
        let until = now + self.config.backoff(entry.attempts);
        entry.backoff_until = Some(until);
        entry.place = Place::Backoff;
        entry.updated_in_flight = false;
        state.backoff.push(Reverse((until, key.to_string())));
        drop(state);
        self.notify.notify_one();
    }

    /// The cluster changed in a way that may let parked pods fit: move them all back.
    pub fn move_all_to_active(&self) {
        let now = Instant::now();
        let mut state = self.lock();
        state.move_request_cycle = state.scheduling_cycle;
        let parked: Vec<String> = state
            .entries
            .iter()
            .filter(|(_, e)| e.place == Place::Unschedulable)
            .map(|(k, _)| k.clone())
            .collect();
        for key in parked {
            Self::move_back(&mut state, &key, now);
        }
        drop(state);
        self.notify.notify_one();
    }

    /// The next pod to schedule, waiting until there is one; `None` once closed. Meant for one
    /// consumer, the scheduling loop.
    pub async fn pop(&self) -> Option<String> {
        loop {
            let notified = self.notify.notified();
            let wake_at = {
                let now = Instant::now();
                let mut state = self.lock();
                if state.closed {
                    return None;
                }
                self.flush(&mut state, now);
                while let Some(key) = state.active.pop_front() {
                    state.scheduling_cycle += 1;
                    let cycle = state.scheduling_cycle;
                    if let Some(entry) = state.entries.get_mut(&key).filter(|e| e.place == Place::Active) {
                        entry.place = Place::InFlight;
                        entry.cycle = cycle;
                        return Some(key);
                    }
                }
                let backoff = state.backoff.peek().map(|Reverse((until, _))| *until);
                match (backoff, state.next_unschedulable_scan) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            };
            match wake_at {
                Some(at) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Wakes `pop` with `None`, for shutdown.
    pub fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_one();
    }

    pub fn counts(&self) -> QueueCounts {
        let state = self.lock();
        let mut counts = QueueCounts::default();
        for entry in state.entries.values() {
            match entry.place {
                Place::Active => counts.active += 1,
                Place::Backoff => counts.backoff += 1,
                Place::Unschedulable => counts.unschedulable += 1,
                Place::InFlight => counts.in_flight += 1,
            }
        }
        counts
    }

    /// Moves due back-offs to active, and retries pods parked too long.
    fn flush(&self, state: &mut State, now: Instant) {
        while let Some(Reverse((until, _))) = state.backoff.peek() {
            if *until > now {
                break;
            }
            let Some(Reverse((until, key))) = state.backoff.pop() else {
                break;
            };
            let due = state
                .entries
                .get_mut(&key)
                .filter(|e| e.place == Place::Backoff && e.backoff_until == Some(until));
            if let Some(entry) = due {
                entry.place = Place::Active;
                state.active.push_back(key);
            }
        }
        if state.next_unschedulable_scan.is_some_and(|at| at <= now) {
            let limit = self.config.max_in_unschedulable;
            let stale: Vec<String> = state
                .entries
                .iter()
                .filter(|(_, e)| e.place == Place::Unschedulable && e.unschedulable_since + limit <= now)
                .map(|(k, _)| k.clone())
                .collect();
            for key in stale {
                Self::move_back(state, &key, now);
            }
            let any_left = state.entries.values().any(|e| e.place == Place::Unschedulable);
            state.next_unschedulable_scan = any_left.then_some(now + UNSCHEDULABLE_SCAN_INTERVAL.min(limit));
        }
    }

    /// Unschedulable → back-off if its back-off has not expired yet, else active.
    fn move_back(state: &mut State, key: &str, now: Instant) {
        let Some(entry) = state.entries.get_mut(key) else {
            return;
        };
        match entry.backoff_until.filter(|until| *until > now) {
            Some(until) => {
                entry.place = Place::Backoff;
                state.backoff.push(Reverse((until, key.to_string())));
            }
            None => {
                entry.place = Place::Active;
                state.active.push_back(key.to_string());
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing in the critical sections panics; if something did, the state is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> SchedulingQueue {
        SchedulingQueue::new(BackoffConfig::default())
    }

    /// Pops, failing the test if nothing comes within `limit` of (paused) time.
    async fn pop_within(q: &SchedulingQueue, limit: Duration) -> Option<String> {
        tokio::time::timeout(limit, q.pop()).await.ok().flatten()
    }

    #[test]
    fn backoff_doubles_from_one_second_to_ten() {
        let config = BackoffConfig::default();
        let delays: Vec<u64> = (1..=6).map(|n| config.backoff(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 10, 10]);
    }

    #[tokio::test(start_paused = true)]
    async fn first_in_first_out_without_duplicates() {
        let q = queue();
        q.add("d/a");
        q.add("d/b");
        q.add("d/a");
        assert_eq!(q.pop().await.as_deref(), Some("d/a"));
        assert_eq!(q.pop().await.as_deref(), Some("d/b"));
        assert_eq!(pop_within(&q, Duration::from_secs(3600)).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn unschedulable_pods_wait_for_a_cluster_change_then_their_backoff() {
        let q = queue();
        q.add("d/a");
        assert_eq!(q.pop().await.as_deref(), Some("d/a"));
        q.unschedulable("d/a");
        assert_eq!(q.counts().unschedulable, 1);
        // Nothing changes: the pod stays parked, however long we wait (short of the 5 min net).
        assert_eq!(pop_within(&q, Duration::from_secs(60)).await, None);

        // A node is added; its 1 s back-off has long passed, so it is active at once.
        let start = Instant::now();
        q.move_all_to_active();
        assert_eq!(q.pop().await.as_deref(), Some("d/a"));
        assert_eq!(start.elapsed(), Duration::ZERO);

        // Second failure: 2 s back-off. A change right away moves it to back-off, not active.
        q.unschedulable("d/a");
        let start = Instant::now();
        q.move_all_to_active();
        assert_eq!(q.counts().backoff, 1);
        assert_eq!(q.pop().await.as_deref(), Some("d/a"));
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_during_the_cycle_sends_the_pod_to_backoff() {
        let q = queue();
        q.add("d/a");
        assert_eq!(q.pop().await.as_deref(), Some("d/a"));
        q.move_all_to_active(); // e.g. a node was added while we were filtering
        q.unschedulable("d/a");
        let start = Instant::now();
        assert_eq!(q.pop().await.as_deref(), Some("d/a"));
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn errors_back_off_and_leftovers_are_retried_after_five_minutes() {
        let q = queue();
        q.add("d/a");
        q.pop().await;
        q.error("d/a");
        let start = Instant::now();
        assert_eq!(q.pop().await.as_deref(), Some("d/a"));
        assert_eq!(start.elapsed(), Duration::from_secs(1));

        q.unschedulable("d/a");
        let start = Instant::now();
        assert_eq!(q.pop().await.as_deref(), Some("d/a"));
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_secs(300) && waited <= Duration::from_secs(330),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn deleted_pods_are_forgotten_and_close_ends_pop() {
        let q = queue();
        q.add("d/a");
        q.add("d/b");
        q.delete("d/a");
        assert_eq!(q.pop().await.as_deref(), Some("d/b"));
        q.done("d/b");
        assert_eq!(q.counts(), QueueCounts::default());
        let waiter = {
            let q = q.clone();
            tokio::spawn(async move { q.pop().await })
        };
        tokio::task::yield_now().await;
        q.close();
        assert_eq!(waiter.await.ok().flatten(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_binding_is_retried_even_if_the_pod_was_forgotten() {
        let q = queue();
        q.error("d/a");
        let start = Instant::now();
        assert_eq!(q.pop().await.as_deref(), Some("d/a"));
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn an_update_moves_a_parked_pod_back() {
        let q = queue();
        q.add("d/a");
        q.pop().await;
        q.unschedulable("d/a");
        tokio::time::sleep(Duration::from_secs(5)).await;
        q.add("d/a"); // the user fixed its nodeSelector
        assert_eq!(pop_within(&q, Duration::from_millis(1)).await.as_deref(), Some("d/a"));
    }
}
