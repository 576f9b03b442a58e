//! Expectations: remembering what we asked for until the informer shows it happened.
//!
//! The cache lags the API server. Right after creating 3 pods, a reconcile that read the cache
//! would still see too few and create 3 more. So before creating, the controller records "I
//! expect 3 creations for `default/web`"; each pod ADDED event lowers the count, and until it
//! reaches zero the ReplicaSet's replica count is not managed (its status still is). Deletions
//! are tracked by pod key, so seeing the same deletion twice (first `deletionTimestamp`, then the
//! DELETED event) is counted once.
//!
//! Expectations expire after five minutes, as in Kubernetes: an event lost for good (a watch
//! that was down while the pod came and went) must not block a ReplicaSet forever.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

/// How long expectations hold before they are considered satisfied anyway.
pub const EXPECTATIONS_TTL: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
struct Entry {
    adds: i64,
    deletes: HashSet<String>,
    set_at: Instant,
}

/// Outstanding creations and deletions per ReplicaSet key. Shared by handlers and workers.
#[derive(Debug, Default)]
pub struct Expectations {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Expectations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the cache has caught up with our last creations and deletions for `key` (or they
    /// expired), so counting pods in it gives the truth.
    pub fn satisfied(&self, key: &str) -> bool {
        match self.lock().get(key) {
            None => true,
            Some(e) => (e.adds <= 0 && e.deletes.is_empty()) || e.set_at.elapsed() > EXPECTATIONS_TTL,
        }
    }

    /// We are about to create `count` pods for `key`.
    pub fn expect_creations(&self, key: &str, count: usize) {
        self.lock().insert(
            key.to_string(),
            Entry {
                adds: count as i64,
                deletes: HashSet::new(),
                set_at: Instant::now(),
            },
        );
    }

    /// We are about to delete these pods (by `namespace/name`) for `key`.
    pub fn expect_deletions(&self, key: &str, pods: impl IntoIterator<Item = String>) {
        self.lock().insert(
            key.to_string(),
            Entry {
                adds: 0,
                deletes: pods.into_iter().collect(),
                set_at: Instant::now(),
            },
        );
    }

    /// A pod of `key` appeared in the cache (or a creation failed and never will).
    pub fn creation_observed(&self, key: &str) {
        if let Some(entry) = self.lock().get_mut(key) {
            entry.adds -= 1;
        }
    }

    /// Pod `pod` of `key` is being deleted or gone (or its deletion failed and never will be).
    pub fn deletion_observed(&self, key: &str, pod: &str) {
        if let Some(entry) = self.lock().get_mut(key) {
            entry.deletes.remove(pod);
        }
    }

    /// Drops what we remember about `key` (the ReplicaSet is gone).
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    // Only short, non-panicking sections hold the lock; carry on after a poison.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn creations_block_until_observed() {
        let e = Expectations::new();
        assert!(e.satisfied("d/web"));
        e.expect_creations("d/web", 2);
        assert!(!e.satisfied("d/web"));
        e.creation_observed("d/web");
        assert!(!e.satisfied("d/web"));
        e.creation_observed("d/web");
        assert!(e.satisfied("d/web"));
        // Observing without expecting (a pod adopted, the initial list) does not go negative in
        // a way that matters: the next expectation replaces the entry.
        e.creation_observed("d/other");
        assert!(e.satisfied("d/other"));
    }

    #[tokio::test(start_paused = true)]
    async fn deletions_are_counted_once_per_pod() {
        let e = Expectations::new();
        e.expect_deletions("d/web", ["d/a".to_string(), "d/b".to_string()]);
        e.deletion_observed("d/web", "d/a");
        e.deletion_observed("d/web", "d/a");
        assert!(!e.satisfied("d/web"));
        e.deletion_observed("d/web", "d/b");
        assert!(e.satisfied("d/web"));
    }

    #[tokio::test(start_paused = true)]
    async fn expectations_expire() {
        let e = Expectations::new();
        e.expect_creations("d/web", 5);
        tokio::time::advance(EXPECTATIONS_TTL - Duration::from_secs(1)).await;
        assert!(!e.satisfied("d/web"));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(e.satisfied("d/web"));
        e.forget("d/web");
        assert!(e.satisfied("d/web"));
    }
}
