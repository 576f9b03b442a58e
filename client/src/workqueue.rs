//! A rate-limited work queue of keys, like client-go's `workqueue.RateLimitingInterface`.
//!
//! Informer handlers put *keys* (`default/web`) here, and workers take them out and reconcile.
//! It looks like a channel, but three rules make it fit for controllers:
//!
//! 1. **Deduplication.** A key queued twice is handed out once. Ten changes to one object
//!    before a worker gets to it mean one reconcile, which reads the latest state anyway.
//! 2. **Exclusivity.** A key being processed (between [`WorkQueue::get`] and
//!    [`WorkQueue::done`]) is never handed to a second worker. If it is added meanwhile, it is
//!    remembered ("dirty") and queued again when `done` is called, so the change is not lost and
//!    the two reconciles do not race.
//! 3. **Back-off.** A reconcile that failed calls [`WorkQueue::add_rate_limited`]: the key comes
//!    back after 5 ms, then 10, 20, 40 ms... up to 1000 s, per key; [`WorkQueue::forget`] after
//!    a success starts that key's count again. A broken object is retried less and less often
//!    without slowing the others.
//!
//! [`WorkQueue::add_after`] schedules a key for later ("requeue after 30 s"). The usual worker:
//!
//! ```ignore
//! while let Some(key) = queue.get().await {
//!     match reconcile(&key).await {
//!         Ok(()) => queue.forget(&key),
//!         Err(_) => queue.add_rate_limited(key.clone()),
//!     }
//!     queue.done(&key);
//! }
//! ```
//!
//! Time is `tokio::time`, so tests pause the clock and back-offs of minutes take no time.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// A queue of keys shared by handlers and workers. Cheap to clone.
pub struct WorkQueue<K = String> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for WorkQueue<K> {
    fn clone(&self) -> Self {
        WorkQueue {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<K> {
    state: Mutex<State<K>>,
    /// Wakes workers waiting in `get` when a key may be ready.
    notify: Notify,
    base_delay: Duration,
    max_delay: Duration,
}

struct State<K> {
    /// Keys ready to be handed out, in order.
    queue: VecDeque<K>,
    /// Keys that need processing: those in `queue`, and those added while being processed.
    dirty: HashSet<K>,
    /// Keys handed out and not yet `done`.
    processing: HashSet<K>,
    /// Keys added with a delay, and when they become ready (the earliest, if added twice).
    waiting: HashMap<K, Instant>,
    /// How many times each key was added with back-off since it was last forgotten.
    failures: HashMap<K, u32>,
    shutting_down: bool,
}

impl<K: Clone + Eq + Hash + Send + 'static> Default for WorkQueue<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Clone + Eq + Hash + Send + 'static> WorkQueue<K> {
    /// A queue whose back-off goes from 5 ms, doubling, to 1000 s (client-go's default).
    pub fn new() -> Self {
        Self::with_backoff(Duration::from_millis(5), Duration::from_secs(1000))
    }

    /// A queue with another per-key back-off.
    pub fn with_backoff(base_delay: Duration, max_delay: Duration) -> Self {
        let state = State {
            queue: VecDeque::new(),
            dirty: HashSet::new(),
            processing: HashSet::new(),
            waiting: HashMap::new(),
            failures: HashMap::new(),
            shutting_down: false,
        };
        WorkQueue {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                notify: Notify::new(),
                base_delay,
                max_delay,
            }),
        }
    }

    /// Queues `key`, unless it is queued already. If it is being processed, it is queued again
    /// when that ends.
    pub fn add(&self, key: K) {
        let queued = {
            let mut state = self.lock();
            state.add(key)
        };
        if queued {
            self.inner.notify.notify_one();
        }
    }

    /// Waits for a key and marks it as being processed. Call [`WorkQueue::done`] when finished.
    /// Returns `None` once the queue is shut down.
    pub async fn get(&self) -> Option<K> {
        loop {
            // Register for a wake-up *before* looking, so an `add` between the look and the wait
            // is not missed.
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();

            let next_ready = {
                let mut state = self.lock();
                if state.shutting_down {
                    return None;
                }
                state.promote_due(Instant::now());
                if let Some(key) = state.queue.pop_front() {
                    state.dirty.remove(&key);
                    state.processing.insert(key.clone());
                    if !state.queue.is_empty() {
                        // More is ready: make sure another waiting worker looks too.
                        self.inner.notify.notify_one();
                    }
                    return Some(key);
                }
                state.waiting.values().min().copied()
            };
            match next_ready {
                Some(at) => {
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Marks `key` as processed. If it was added while being processed, it is queued again now.
    pub fn done(&self, key: &K) {
        let requeued = {
            let mut state = self.lock();
            state.processing.remove(key);
            if state.dirty.contains(key) && !state.shutting_down {
                state.queue.push_back(key.clone());
                true
            } else {
                false
            }
        };
        if requeued {
            self.inner.notify.notify_one();
        }
    }

    /// Queues `key` after `delay`. Added again before then, it keeps the earlier time.
    pub fn add_after(&self, key: K, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        {
            let mut state = self.lock();
            if state.shutting_down {
                return;
            }
            let at = Instant::now() + delay;
            let entry = state.waiting.entry(key).or_insert(at);
            *entry = (*entry).min(at);
        }
        // A worker sleeping until a later time must look again.
        self.inner.notify.notify_one();
    }

    /// Queues `key` after its back-off, and lengthens the back-off for next time.
    pub fn add_rate_limited(&self, key: K) {
        let delay = {
            let mut state = self.lock();
            let failures = state.failures.entry(key.clone()).or_insert(0);
            let delay = backoff_delay(self.inner.base_delay, self.inner.max_delay, *failures);
            *failures = failures.saturating_add(1);
            delay
        };
        self.add_after(key, delay);
    }

    /// Forgets `key`'s failures: its next back-off starts from the beginning.
    pub fn forget(&self, key: &K) {
        self.lock().failures.remove(key);
    }

    /// How many times `key` was added with back-off since it was last forgotten.
    pub fn num_requeues(&self, key: &K) -> u32 {
        self.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// How many keys are ready to be handed out (keys still waiting out a delay not counted).
    pub fn len(&self) -> usize {
        let mut state = self.lock();
        state.promote_due(Instant::now());
        state.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops the queue: waiting and later `get`s return `None`, adds are ignored.
    pub fn shut_down(&self) {
        {
            let mut state = self.lock();
            state.shutting_down = true;
            state.queue.clear();
            state.waiting.clear();
        }
        self.inner.notify.notify_waiters();
    }

    pub fn is_shutting_down(&self) -> bool {
        self.lock().shutting_down
    }

    // The state is only touched in short sections that cannot leave it half-changed; carry on
    // after a panic elsewhere.
    fn lock(&self) -> MutexGuard<'_, State<K>> {
        self.inner.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<K: Clone + Eq + Hash> State<K> {
    /// Returns whether the key went into the ready queue.
    fn add(&mut self, key: K) -> bool {
        if self.shutting_down || self.dirty.contains(&key) {
            return false;
        }
        self.dirty.insert(key.clone());
        if self.processing.contains(&key) {
            return false;
        }
        self.queue.push_back(key);
        true
    }

    /// Moves keys whose delay is over into the ready queue. (A scan of all waiting keys: fine
    /// for the hundreds a controller has; client-go keeps a heap ordered by time.)
    fn promote_due(&mut self, now: Instant) {
        if self.waiting.is_empty() {
            return;
        }
        let mut due: Vec<(K, Instant)> = self
            .waiting
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(k, at)| (k.clone(), *at))
            .collect();
        due.sort_by_key(|(_, at)| *at);
        for (key, _) in due {
            self.waiting.remove(&key);
            self.add(key);
        }
    }
}

/// `base * 2^failures`, capped at `max`.
fn backoff_delay(base: Duration, max: Duration, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures);
    base.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(3600);

    /// `get` with a time limit; with the clock paused, waiting an hour takes no time.
    async fn get_within(queue: &WorkQueue, limit: Duration) -> Option<String> {
        tokio::time::timeout(limit, queue.get()).await.ok().flatten()
    }

    #[tokio::test(start_paused = true)]
    async fn keys_are_deduplicated() {
        let queue = WorkQueue::new();
        queue.add("a".to_string());
        queue.add("b".to_string());
        queue.add("a".to_string());
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.get().await.as_deref(), Some("a"));
        assert_eq!(queue.get().await.as_deref(), Some("b"));
        assert_eq!(get_within(&queue, LONG).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_in_process_is_not_handed_out_again_but_requeued_after_done() {
        let queue = WorkQueue::new();
        queue.add("a".to_string());
        let key = queue.get().await.unwrap();
        queue.add("a".to_string());
        queue.add("a".to_string());
        assert_eq!(queue.len(), 0, "a is being processed: not ready");
        assert_eq!(get_within(&queue, LONG).await, None);
        queue.done(&key);
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.get().await.as_deref(), Some("a"));
        queue.done(&key);
        assert_eq!(
            get_within(&queue, LONG).await,
            None,
            "added twice while processing, handed out once"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_workers_are_woken_one_key_each() {
        let queue: WorkQueue = WorkQueue::new();
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let queue = queue.clone();
                tokio::spawn(async move { queue.get().await })
            })
            .collect();
        tokio::task::yield_now().await;
        queue.add("a".to_string());
        queue.add("b".to_string());
        let mut got = Vec::new();
        for worker in workers {
            got.push(tokio::time::timeout(LONG, worker).await.unwrap().unwrap().unwrap());
        }
        got.sort();
        assert_eq!(got, ["a", "b"]);
    }

    #[tokio::test(start_paused = true)]
    async fn add_after_waits() {
        let queue = WorkQueue::new();
        let start = Instant::now();
        queue.add_after("late".to_string(), Duration::from_secs(10));
        queue.add_after("late".to_string(), Duration::from_secs(20));
        queue.add_after("early".to_string(), Duration::from_secs(5));
        assert_eq!(queue.len(), 0);
        assert_eq!(queue.get().await.as_deref(), Some("early"));
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert_eq!(queue.get().await.as_deref(), Some("late"));
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        assert_eq!(
            get_within(&queue, LONG).await,
            None,
            "the second add_after kept the earlier time only"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limited_back_off_grows_and_forget_resets_it() {
        let queue = WorkQueue::new();
        let key = "a".to_string();
        for expected_ms in [5, 10, 20, 40] {
            let start = Instant::now();
            queue.add_rate_limited(key.clone());
            assert_eq!(queue.get().await.as_deref(), Some("a"));
            assert_eq!(start.elapsed(), Duration::from_millis(expected_ms));
            queue.done(&key);
        }
        assert_eq!(queue.num_requeues(&key), 4);
        queue.forget(&key);
        assert_eq!(queue.num_requeues(&key), 0);
        let start = Instant::now();
        queue.add_rate_limited(key.clone());
        assert_eq!(queue.get().await.as_deref(), Some("a"));
        assert_eq!(start.elapsed(), Duration::from_millis(5));
    }

    #[test]
    fn back_off_is_capped() {
        let (base, max) = (Duration::from_millis(5), Duration::from_secs(1000));
        assert_eq!(backoff_delay(base, max, 0), Duration::from_millis(5));
        assert_eq!(backoff_delay(base, max, 3), Duration::from_millis(40));
        assert_eq!(backoff_delay(base, max, 20), max);
        assert_eq!(backoff_delay(base, max, u32::MAX), max);
    }

    #[tokio::test(start_paused = true)]
    async fn shut_down_releases_waiting_workers() {
        let queue: WorkQueue = WorkQueue::new();
        let worker = {
            let queue = queue.clone();
            tokio::spawn(async move { queue.get().await })
        };
        tokio::task::yield_now().await;
        queue.shut_down();
        assert_eq!(tokio::time::timeout(LONG, worker).await.unwrap().unwrap(), None);
        queue.add("a".to_string());
        assert_eq!(queue.get().await, None);
        assert!(queue.is_shutting_down());
    }
}
