//! The StatefulSet controller: pods with a stable identity, each with its own storage.
//!
//! Where a ReplicaSet keeps *some* N interchangeable pods, a StatefulSet keeps pods `web-0` to
//! `web-N-1`, each created, updated and removed in order, each mounting its own claims. That is
//! what replicated databases need: `web-0` starts first and can become the primary, `web-1`
//! joins it by its DNS name `web-0.<service>`, and whichever node a pod lands on, it finds its
//! data again.
//!
//! | concern | file |
//! | --- | --- |
//! | names, ordinals, labels, hostname/subdomain | [`identity`] |
//! | one claim per pod and template, retention on scale-down and deletion | [`claims`] |
//! | revisions, partition, OnDelete | [`update`] |
//! | what to create or delete next (OrderedReady, Parallel, rolling update) | [`plan`] |
//! | the status `kubectl rollout status` reads | [`status`] |
//! | carrying a plan out against the API server | `sync.rs` |
//!
//! The controller needs no "expectations" (the ReplicaSet's bookkeeping of creations in flight):
//! pod names are fixed, so creating `web-1` twice is harmless — the second create fails with
//! AlreadyExists. Deletions carry the pod's uid as a precondition, so a stale cache can never
//! make it delete the *new* `web-1` that replaced the one it meant.

pub mod claims;
pub mod identity;
pub mod plan;
pub mod status;
mod sync;
pub mod update;

use std::sync::Arc;

use kubelab_api::apps::StatefulSet;
use kubelab_api::core::{PersistentVolumeClaim, Pod};
use kubelab_api::selector::{Selector, SelectorError};
use kubelab_client::{
    object_key, Api, Client, ClientError, Informer, InformerEvent, ListParams, SharedInformers, Store, WorkQueue,
};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::events::Recorder;
use crate::runtime::{self, run_workers};

pub use status::rollout_complete_for_kubectl;

/// The name events are reported under.
pub const COMPONENT: &str = "statefulset-controller";

/// Settings of the StatefulSet controller.
#[derive(Clone, Debug)]
pub struct StatefulSetConfig {
    /// How many StatefulSets are reconciled at once (Kubernetes' `--concurrent-statefulset-syncs`).
    pub workers: usize,
}

impl Default for StatefulSetConfig {
    fn default() -> Self {
        StatefulSetConfig { workers: 5 }
    }
}

/// What can go wrong in a reconcile (each is retried with back-off).
#[derive(Debug, thiserror::Error)]
pub enum StatefulSetError {
    /// A request to the API server failed.
    #[error("{action}: {source}")]
    Api {
        action: String,
        #[source]
        source: ClientError,
    },
    /// The set's selector cannot be parsed (the API server validates it, so rare).
    #[error("statefulset {key}: invalid selector: {source}")]
    Selector {
        key: String,
        #[source]
        source: SelectorError,
    },
    /// A claim the next pod needs is being deleted: the pod waits until it is gone.
    #[error("statefulset {set}: claim {claim} is being deleted; pod {pod} waits for it to go")]
    ClaimTerminating { set: String, claim: String, pod: String },
}

/// The caches a reconcile reads, and where it writes.
pub(crate) struct StatefulSetController {
    client: Client,
    sets: Store<StatefulSet>,
    pods: Store<Pod>,
    claims: Store<PersistentVolumeClaim>,
    recorder: Recorder,
}

/// Runs the StatefulSet controller until `shutdown` is `true`.
/// Its Pod informer comes from `shared`, which the other controllers of the manager use too.
pub async fn run(
    client: Client,
    config: StatefulSetConfig,
    mut shutdown: watch::Receiver<bool>,
    shared: Arc<SharedInformers>,
) -> Result<(), StatefulSetError> {
    let queue: WorkQueue = WorkQueue::new();
    let mut set_informer = Informer::new(Api::<StatefulSet>::all(client.clone()), ListParams::default());
    let pod_informer = shared.get::<Pod>();
    let claim_informer = Informer::new(Api::<PersistentVolumeClaim>::all(client.clone()), ListParams::default());
    let (sets, pods, claims) = (set_informer.store(), pod_informer.store(), claim_informer.store());
    {
        let queue = queue.clone();
        set_informer.on_event(move |event| queue.add(event.key()));
    }
    {
        let (queue, sets) = (queue.clone(), sets.clone());
        pod_informer.on_event(move |event| on_pod_event(event, &queue, &sets));
    }
    let mut informers = JoinSet::new();
    informers.spawn(set_informer.run());
    informers.spawn(claim_informer.run());
    if !runtime::wait_for_sync(
        vec![
            Box::pin(sets.wait_for_sync()),
            Box::pin(pods.wait_for_sync()),
            Box::pin(claims.wait_for_sync()),
        ],
        &mut shutdown,
    )
    .await
    {
        return Ok(());
    }
    tracing::info!("statefulset controller: caches synced, starting workers");
    let controller = Arc::new(StatefulSetController {
        recorder: Recorder::new(client.clone(), COMPONENT),
        client,
        sets,
        pods,
        claims,
    });
    run_workers("statefulset", controller, queue, config.workers, shutdown).await;
    Ok(())
}

/// The key of the StatefulSet that controls `pod`, if one does.
fn owner_key(pod: &Pod) -> Option<String> {
    let owner = pod.metadata.controller_ref()?;
    (owner.kind == "StatefulSet").then(|| format!("{}/{}", pod.metadata.namespace(), owner.name))
}

/// A pod changed: enqueue its set, or for an orphan the sets that could adopt it.
fn on_pod_event(event: &InformerEvent<Pod>, queue: &WorkQueue, sets: &Store<StatefulSet>) {
    let pod = event.object();
    if let InformerEvent::Updated { old, .. } = event {
        if let Some(previous) = owner_key(old) {
            queue.add(previous);
        }
    }
    match owner_key(pod) {
        Some(key) => queue.add(key),
        None => {
            for set in sets.list() {
                let adoptable = set.metadata.namespace() == pod.metadata.namespace()
                    && identity::parse_ordinal(set.metadata.name(), pod.metadata.name()).is_some()
                    && Selector::from_label_selector(&set.spec.selector)
                        .is_ok_and(|s| !s.is_empty() && s.matches(&pod.metadata.labels));
                if adoptable {
                    queue.add(object_key(&set.metadata));
                }
            }
        }
    }
}

/// Merges `from` into `into` (objects key by key), for building test fixtures.
#[cfg(test)]
pub(crate) fn tests_merge(into: &mut serde_json::Value, from: serde_json::Value) {
    use serde_json::Value;
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                tests_merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, value) => *slot = value,
    }
}
