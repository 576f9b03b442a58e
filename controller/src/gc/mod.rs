//! # Garbage collector: deleting an owner deletes what it owns
//!
//! A Deployment owns ReplicaSets, which own Pods: each dependent names its owners in
//! `metadata.ownerReferences` (kind, name and, what counts, uid). Nobody deletes the dependents
//! explicitly; this controller (Kubernetes' garbage collector) watches every kind, builds the
//! ownership graph ([`graph`]) and acts on what the delete asked for
//! (`deleteOptions.propagationPolicy`):
//!
//! - **Background** (the default): the API server removes the owner at once; its dependents
//!   now point at a uid nobody has, and the collector deletes them, then theirs.
//! - **Foreground**: the API server marks the owner (`deletionTimestamp` and the
//!   `foregroundDeletion` finalizer) and keeps it; the collector deletes the dependents, and
//!   once none with `blockOwnerDeletion: true` is left, removes the finalizer, which lets the
//!   API server remove the owner. `kubectl get` shows the owner until its pods are gone.
//! - **Orphan**: the `orphan` finalizer; the collector removes the owner's references from its
//!   dependents, which live on unowned, then removes the finalizer.
//!
//! | file | concern |
//! | --- | --- |
//! | [`graph`] | the ownership graph, kept by the informers' handlers |
//! | [`decide`] | what to do with a dependent and with an owner being deleted (pure) |
//! | [`caches`] | one informer per kind, seen as metadata only |
//! | [`reconcile`] | one object: read, decide, delete or patch |

pub mod caches;
pub mod decide;
pub mod graph;
pub mod metadata_only;
pub mod reconcile;

use std::sync::{Arc, Mutex};

use kubelab_client::{Client, ClientError, WorkQueue};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use graph::{Graph, ItemKey};
pub use reconcile::{reconcile, Context};

/// Settings of the garbage collector.
#[derive(Clone, Debug, PartialEq)]
pub struct GcConfig {
    /// How many objects are reconciled at once (Kubernetes' `--concurrent-gc-syncs`, 20).
    pub workers: usize,
}

impl Default for GcConfig {
    fn default() -> Self {
        GcConfig { workers: 4 }
    }
}

/// What can go wrong in the garbage collector. Every failure is retried with back-off.
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    /// A setting makes no sense.
    #[error("invalid garbage collector configuration: {0}")]
    InvalidConfig(String),
    /// Reading an owner from the API server (to confirm it is gone) failed.
    #[error("looking up owner {owner}: {source}")]
    Lookup {
        owner: String,
        #[source]
        source: ClientError,
    },
    /// Deleting a dependent failed.
    #[error("deleting {object}: {source}")]
    Delete {
        object: String,
        #[source]
        source: ClientError,
    },
    /// Removing owner references or a finalizer failed (a conflict if the object changed).
    #[error("updating {field} of {object}: {source}")]
    Patch {
        object: String,
        field: String,
        #[source]
        source: ClientError,
    },
}

/// Runs the garbage collector until `shutdown` turns true (or its sender is dropped).
pub async fn run(client: Client, config: GcConfig, mut shutdown: watch::Receiver<bool>) -> Result<(), GcError> {
    if config.workers == 0 {
        return Err(GcError::InvalidConfig("workers must be at least 1".into()));
    }
    let queue: WorkQueue<ItemKey> = WorkQueue::new();
    let graph = Arc::new(Mutex::new(Graph::default()));
    let caches::Watching {
        caches,
        mut tasks,
        synced,
    } = caches::watch_all(&client, &graph, &queue);

    // Deciding "the owner is gone" from a cache that is not loaded yet would be a disaster.
    let all_synced = async {
        for kind in synced {
            kind.await;
        }
    };
    tokio::select! {
        _ = all_synced => {}
        _ = wait_for_shutdown(&mut shutdown) => {
            tasks.abort_all();
            return Ok(());
        }
    }
    tracing::info!(workers = config.workers, "garbage collector started");

    let ctx = Arc::new(Context { client, caches, graph });
    let mut workers = JoinSet::new();
    for _ in 0..config.workers {
        workers.spawn(worker(ctx.clone(), queue.clone()));
    }
    wait_for_shutdown(&mut shutdown).await;
    queue.shut_down();
    tasks.abort_all();
    while workers.join_next().await.is_some() {}
    Ok(())
}

async fn wait_for_shutdown(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn worker(ctx: Arc<Context>, queue: WorkQueue<ItemKey>) {
    while let Some(key) = queue.get().await {
        match reconcile(&ctx, &key).await {
            Ok(()) => queue.forget(&key),
            Err(e) => {
                tracing::warn!(object = %key, error = %e, "garbage collection failed; retrying");
                queue.add_rate_limited(key.clone());
            }
        }
        queue.done(&key);
    }
}
