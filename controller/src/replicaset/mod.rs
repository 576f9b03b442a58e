//! The ReplicaSet controller: keeps `spec.replicas` pods matching the selector alive.
//!
//! Desired state: "3 pods like this template". Observed state: the pods in the informer cache
//! that this ReplicaSet owns. Each reconcile compares the two and closes the gap, one step:
//!
//! 1. **Claim** pods through ownerReferences ([`crate::runtime::claim`]): adopt matching orphans,
//!    release owned pods whose labels no longer match.
//! 2. **Count** the active ones ([`pods`]): being deleted or finished does not count.
//! 3. **Manage** ([`scale`]): create the missing ones from the template in slow-start batches,
//!    or delete the extras, the least useful first — but only once the cache has caught up with
//!    our previous creations and deletions ([`expectations`]), or we would do them twice.
//! 4. **Report** ([`status`]): replicas, fullyLabeledReplicas, readyReplicas, availableReplicas,
//!    observedGeneration, written only when they changed.
//!
//! The controller is *level-triggered*: a pod event only says which ReplicaSet to look at; the
//! reconcile recounts everything, so a lost or duplicated event cannot make it miscount.

pub mod expectations;
pub mod pods;
pub mod scale;
pub mod status;
mod sync;

use std::sync::Arc;

use kubelab_api::apps::ReplicaSet;
use kubelab_api::core::Pod;
use kubelab_api::selector::{Selector, SelectorError};
use kubelab_client::{
    object_key, Api, Client, ClientError, Informer, InformerEvent, ListParams, SharedInformers, Store, WorkQueue,
};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::events::Recorder;
use crate::runtime::{self, run_workers};
use expectations::Expectations;

/// The name events are reported under.
pub const COMPONENT: &str = "replicaset-controller";

/// Settings of the ReplicaSet controller.
#[derive(Clone, Debug)]
pub struct ReplicaSetConfig {
    /// How many ReplicaSets are reconciled at once (Kubernetes' `--concurrent-replicaset-syncs`).
    pub workers: usize,
}

impl Default for ReplicaSetConfig {
    fn default() -> Self {
        ReplicaSetConfig { workers: 5 }
    }
}

/// What can go wrong in a reconcile (each is retried with back-off).
#[derive(Debug, thiserror::Error)]
pub enum ReplicaSetError {
    /// A request to the API server failed.
    #[error("{action}: {source}")]
    Api {
        action: String,
        #[source]
        source: ClientError,
    },
    /// The ReplicaSet's selector cannot be parsed (the API server validates it, so rare).
    #[error("replicaset {key}: invalid selector: {source}")]
    Selector {
        key: String,
        #[source]
        source: SelectorError,
    },
}

/// The state a reconcile works from: caches, expectations, and where to write.
pub(crate) struct ReplicaSetController {
    client: Client,
    replica_sets: Store<ReplicaSet>,
    pods: Store<Pod>,
    expectations: Arc<Expectations>,
    recorder: Recorder,
}

/// Runs the ReplicaSet controller until `shutdown` is `true`.
/// Its Pod informer comes from `shared`, which the other controllers of the manager use too.
pub async fn run(
    client: Client,
    config: ReplicaSetConfig,
    mut shutdown: watch::Receiver<bool>,
    shared: Arc<SharedInformers>,
) -> Result<(), ReplicaSetError> {
    let queue: WorkQueue = WorkQueue::new();
    let expectations = Arc::new(Expectations::new());
    let mut rs_informer = Informer::new(Api::<ReplicaSet>::all(client.clone()), ListParams::default());
    let pod_informer = shared.get::<Pod>();
    let replica_sets = rs_informer.store();
    let pods = pod_informer.store();
    {
        let queue = queue.clone();
        rs_informer.on_event(move |event| queue.add(event.key()));
    }
    {
        let (queue, expectations, replica_sets) = (queue.clone(), expectations.clone(), replica_sets.clone());
        pod_informer.on_event(move |event| on_pod_event(event, &queue, &expectations, &replica_sets));
    }
    // Dropping the set (on return) stops the informers.
    let mut informers = JoinSet::new();
    informers.spawn(rs_informer.run());
    if !runtime::wait_for_sync(
        vec![Box::pin(replica_sets.wait_for_sync()), Box::pin(pods.wait_for_sync())],
        &mut shutdown,
    )
    .await
    {
        return Ok(());
    }
    tracing::info!("replicaset controller: caches synced, starting workers");
    let controller = Arc::new(ReplicaSetController {
        recorder: Recorder::new(client.clone(), COMPONENT),
        client,
        replica_sets,
        pods,
        expectations,
    });
    run_workers("replicaset", controller, queue, config.workers, shutdown).await;
    Ok(())
}

/// The key of the ReplicaSet that controls `pod`, if one does.
fn owner_key(pod: &Pod) -> Option<String> {
    let owner = pod.metadata.controller_ref()?;
    (owner.kind == "ReplicaSet").then(|| format!("{}/{}", pod.metadata.namespace(), owner.name))
}

/// Keys of the ReplicaSets in the pod's namespace whose selector matches it (for orphans).
fn matching_keys(pod: &Pod, replica_sets: &Store<ReplicaSet>) -> Vec<String> {
    replica_sets
        .list()
        .into_iter()
        .filter(|rs| rs.metadata.namespace() == pod.metadata.namespace())
        .filter(|rs| {
            Selector::from_label_selector(&rs.spec.selector)
                .is_ok_and(|s| !s.is_empty() && s.matches(&pod.metadata.labels))
        })
        .map(|rs| object_key(&rs.metadata))
        .collect()
}

/// A pod changed: settle expectations and enqueue the ReplicaSet(s) that may care. Quick and
/// non-blocking, as informer handlers must be.
fn on_pod_event(
    event: &InformerEvent<Pod>,
    queue: &WorkQueue,
    expectations: &Expectations,
    replica_sets: &Store<ReplicaSet>,
) {
    let pod_key = event.key();
    match event {
        InformerEvent::Added(pod) => match owner_key(pod) {
            Some(rs) => {
                if pods::is_deleting(pod) {
                    expectations.deletion_observed(&rs, &pod_key);
                } else {
                    expectations.creation_observed(&rs);
                }
                queue.add(rs);
            }
            None => matching_keys(pod, replica_sets).into_iter().for_each(|k| queue.add(k)),
        },
        InformerEvent::Updated { old, new } => {
            let (old_owner, new_owner) = (owner_key(old), owner_key(new));
            if let Some(rs) = &new_owner {
                if pods::is_deleting(new) {
                    expectations.deletion_observed(rs, &pod_key);
                }
            }
            if old_owner != new_owner {
                if let Some(rs) = old_owner.clone() {
                    queue.add(rs);
                }
            }
            match new_owner {
                Some(rs) => queue.add(rs),
                None if old.metadata.labels != new.metadata.labels || old_owner.is_some() => {
                    matching_keys(new, replica_sets).into_iter().for_each(|k| queue.add(k))
                }
                None => {}
            }
        }
        InformerEvent::Deleted(pod) => {
            if let Some(rs) = owner_key(pod) {
                expectations.deletion_observed(&rs, &pod_key);
                queue.add(rs);
            }
        }
    }
}
