//! # Namespace controller: deleting a namespace empties it, then removes it
//!
//! `kubectl delete namespace shop` cannot simply remove one object: everything *in* the
//! namespace must go first, pods included, and pods on nodes take their grace period to stop.
//! So the API server only marks the namespace (`deletionTimestamp`, phase `Terminating`, and no
//! new objects accepted in it), and the emptying happens afterwards.
//!
//! In kubelab today the API server runs that emptying itself (a sweep in
//! `apiserver/src/registry/namespace.rs`), and it is also what removes the namespace once it is
//! empty. This controller is the part Kubernetes' namespace controller adds on top, and the
//! half of a hand-over:
//!
//! - it deletes what is left in a terminating namespace through the API, as a client, gracefully
//!   (deleting twice what the sweep deletes is harmless: a delete is idempotent);
//! - it reports progress in the namespace's status, with Kubernetes' conditions
//!   (`NamespaceContentRemaining`, `NamespaceFinalizersRemaining`,
//!   `NamespaceDeletionContentFailure`, ...), so `kubectl describe ns` says what a namespace stuck
//!   in `Terminating` waits for.
//!
//! The other half (the API server leaving the emptying to this controller and removing the
//! namespace when its `kubernetes` finalizer is released through `namespaces/{name}/finalize`)
//! is an API server change, described in the controller manager's notes.
//!
//! | file | concern |
//! | --- | --- |
//! | [`conditions`] | the status conditions of a terminating namespace (pure) |
//! | [`reconcile`] | one namespace: delete content, count what is left, write status |

pub mod conditions;
pub mod reconcile;

use std::sync::Arc;
use std::time::Duration;

use kubelab_api::core::Namespace;
use kubelab_client::{Api, Client, ClientError, Informer, ListParams, WorkQueue};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use reconcile::{reconcile, Context, Outcome};

/// Settings of the namespace controller.
#[derive(Clone, Debug, PartialEq)]
pub struct NamespaceConfig {
    /// How often a terminating namespace is looked at again while it empties (pods on nodes
    /// take their grace period; objects with finalizers wait for their controllers).
    pub recheck_interval: Duration,
    /// How many namespaces are emptied at once (Kubernetes' `--concurrent-namespace-syncs`, 10).
    pub workers: usize,
}

impl Default for NamespaceConfig {
    fn default() -> Self {
        NamespaceConfig {
            recheck_interval: Duration::from_secs(2),
            workers: 2,
        }
    }
}

/// What can go wrong in the namespace controller.
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    /// A setting makes no sense.
    #[error("invalid namespace controller configuration: {0}")]
    InvalidConfig(String),
    /// Writing the namespace's status conditions failed.
    #[error("writing the status of namespace {namespace}: {source}")]
    Status {
        namespace: String,
        #[source]
        source: ClientError,
    },
}

/// Runs the controller until `shutdown` turns true (or its sender is dropped).
pub async fn run(
    client: Client,
    config: NamespaceConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), NamespaceError> {
    if config.workers == 0 {
        return Err(NamespaceError::InvalidConfig("workers must be at least 1".into()));
    }
    if config.recheck_interval.is_zero() {
        return Err(NamespaceError::InvalidConfig(
            "recheck_interval must be more than zero".into(),
        ));
    }
    let queue: WorkQueue<String> = WorkQueue::new();
    let mut namespaces = Informer::new(Api::<Namespace>::all(client.clone()), ListParams::default());
    let q = queue.clone();
    namespaces.on_event(move |event| {
        if reconcile::is_terminating(event.object()) {
            q.add(event.key());
        }
    });
    let ctx = Arc::new(Context {
        client,
        namespaces: namespaces.store(),
        config: config.clone(),
    });
    let informer = tokio::spawn(namespaces.run());
    tokio::select! {
        _ = ctx.namespaces.wait_for_sync() => {}
        _ = wait_for_shutdown(&mut shutdown) => {
            informer.abort();
            return Ok(());
        }
    }
    tracing::info!("namespace controller started");
    let mut workers = JoinSet::new();
    for _ in 0..config.workers {
        workers.spawn(worker(ctx.clone(), queue.clone()));
    }
    wait_for_shutdown(&mut shutdown).await;
    queue.shut_down();
    informer.abort();
    while workers.join_next().await.is_some() {}
    Ok(())
}

async fn wait_for_shutdown(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn worker(ctx: Arc<Context>, queue: WorkQueue<String>) {
    while let Some(key) = queue.get().await {
        match reconcile(&ctx, &key).await {
            Ok(outcome) => {
                queue.forget(&key);
                if let Outcome::RequeueAfter(after) = outcome {
                    queue.add_after(key.clone(), after);
                }
            }
            Err(e) => {
                tracing::warn!(namespace = %key, error = %e, "namespace reconcile failed; retrying");
                queue.add_rate_limited(key.clone());
            }
        }
        queue.done(&key);
    }
}
