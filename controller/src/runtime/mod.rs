//! The loop every controller here shares: informers fill caches and enqueue keys, workers take
//! keys from a [`WorkQueue`] and call `reconcile(key)`.
//!
//! ```text
//!  informers ──(handler: enqueue key)──▶ WorkQueue ──get──▶ worker ──▶ reconcile(key)
//!      │                                     ▲                           │
//!      └─ Store (cache) ◀── reads ───────────┼───────────────────────────┘
//!                                            └── Done: forget │ RequeueAfter │ Err: back off
//! ```
//!
//! Why this shape (Kubernetes' own): handlers run on the informer's task and must be quick, so
//! they only name *what* changed. The queue deduplicates keys and never hands one key to two
//! workers at once, so a reconcile never races with itself. A reconcile that fails is retried
//! with a growing per-key delay; one that must look again later (a pod becomes available after
//! `minReadySeconds`) asks for [`Action::RequeueAfter`].

mod claim;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kubelab_client::WorkQueue;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use claim::{claim, Claim};

/// What a successful reconcile asks for next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The object is as it should be; look again only when something changes.
    Done,
    /// Look again after this long even if nothing changes (time itself matters).
    RequeueAfter(Duration),
}

impl Action {
    /// The sooner of two requests.
    pub fn min(self, other: Action) -> Action {
        match (self, other) {
            (Action::Done, x) | (x, Action::Done) => x,
            (Action::RequeueAfter(a), Action::RequeueAfter(b)) => Action::RequeueAfter(a.min(b)),
        }
    }
}

/// A controller's reconcile: bring the object with `key` (`namespace/name`) to its desired state.
pub trait Reconciler: Send + Sync + 'static {
    type Error: std::fmt::Display + Send;
    fn reconcile(&self, key: &str) -> impl Future<Output = Result<Action, Self::Error>> + Send;
}

/// Resolves once `shutdown` says `true` (or its sender is gone).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Runs `workers` workers on `queue` until `shutdown`; then stops the queue and waits for the
/// reconciles in flight to finish, so nothing is cut off half-way through a write.
pub async fn run_workers<R: Reconciler>(
    name: &'static str,
    reconciler: Arc<R>,
    queue: WorkQueue,
    workers: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tasks = JoinSet::new();
    for _ in 0..workers.max(1) {
        let reconciler = reconciler.clone();
        let queue = queue.clone();
        tasks.spawn(async move { worker(name, reconciler.as_ref(), &queue).await });
    }
    stopped(&mut shutdown).await;
    queue.shut_down();
    while tasks.join_next().await.is_some() {}
}

async fn worker<R: Reconciler>(name: &'static str, reconciler: &R, queue: &WorkQueue) {
    while let Some(key) = queue.get().await {
        match reconciler.reconcile(&key).await {
            Ok(Action::Done) => queue.forget(&key),
            Ok(Action::RequeueAfter(after)) => {
                queue.forget(&key);
                queue.add_after(key.clone(), after);
            }
            Err(e) => {
                tracing::warn!(controller = name, key = %key, error = %e, "reconcile failed; will retry");
                queue.add_rate_limited(key.clone());
            }
        }
        queue.done(&key);
    }
}

/// Waits until every store has loaded its first list, or `shutdown`. Returns false on shutdown.
/// Acting on a half-loaded cache would, say, create pods that exist but were not listed yet.
pub async fn wait_for_sync(
    syncs: Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>>>,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        _ = futures_util::future::join_all(syncs) => true,
        _ = stopped(shutdown) => false,
    }
}

/// "now" as stored timestamps are: to the second. A status built with sub-second times would
/// never compare equal to the one read back, and the controller would rewrite it forever.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Flaky {
        calls: AtomicUsize,
    }

    impl Reconciler for Flaky {
        type Error = String;
        async fn reconcile(&self, _key: &str) -> Result<Action, String> {
            match self.calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err("first try fails".into()),
                1 => Ok(Action::RequeueAfter(Duration::from_secs(30))),
                _ => Ok(Action::Done),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_and_requeues_come_back() {
        let reconciler = Arc::new(Flaky {
            calls: AtomicUsize::new(0),
        });
        let queue = WorkQueue::new();
        let (stop, shutdown) = watch::channel(false);
        let runner = tokio::spawn(run_workers("test", reconciler.clone(), queue.clone(), 2, shutdown));
        let start = tokio::time::Instant::now();
        queue.add("default/a".to_string());
        while reconciler.calls.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // 5 ms back-off after the failure, then the 30 s requeue.
        assert!(start.elapsed() >= Duration::from_secs(30));
        assert!(start.elapsed() < Duration::from_secs(31));
        let _ = stop.send(true);
        runner.await.unwrap();
    }

    #[test]
    fn action_min() {
        let a = Action::RequeueAfter(Duration::from_secs(1));
        let b = Action::RequeueAfter(Duration::from_secs(2));
        assert_eq!(a.min(b), a);
        assert_eq!(Action::Done.min(b), b);
        assert_eq!(Action::Done.min(Action::Done), Action::Done);
    }
}
