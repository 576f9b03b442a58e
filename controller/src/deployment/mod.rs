//! The Deployment controller: one ReplicaSet per version of the pod template, and rollouts
//! between them.
//!
//! Desired state: "3 replicas of *this* template, replaced at most 1 extra / 0 missing at a
//! time". Observed state: the ReplicaSets the Deployment owns and their statuses. A Deployment
//! never touches pods itself; it only sets ReplicaSets' `spec.replicas`, and the ReplicaSet
//! controller does the rest. Each reconcile:
//!
//! 1. claims ReplicaSets by selector and ownerReference ([`crate::runtime::claim`]);
//! 2. finds the *new* ReplicaSet, the one whose template equals the Deployment's ([`hash`],
//!    [`sync`]), creating it if needed, and keeps revisions in order ([`rollback`]);
//! 3. if paused, or only `replicas` changed, just scales ([`sync`]);
//! 4. otherwise takes one step of the strategy: [`rolling`] or [`recreate`];
//! 5. writes the status `kubectl rollout status` reads ([`status`]) and the `Progressing` /
//!    `Available` conditions ([`progress`]).
//!
//! Level-triggered like every controller here: a ReplicaSet's status changing (a pod became
//! available) enqueues its Deployment, and the reconcile recomputes the next step from scratch.

pub mod hash;
pub mod progress;
pub mod recreate;
pub mod rollback;
pub mod rolling;
pub mod status;
mod sync;

use std::sync::Arc;

use kubelab_api::apps::{Deployment, DeploymentStatus, ReplicaSet};
use kubelab_api::core::Pod;
use kubelab_api::selector::{Selector, SelectorError};
use kubelab_client::{
    object_key, Api, Client, ClientError, Informer, InformerEvent, ListParams, SharedInformers, Store, WorkQueue,
};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::events::{Recorder, WARNING};
use crate::runtime::{self, run_workers, Action, Reconciler};

pub use status::rollout_complete_for_kubectl;

/// The name events are reported under.
pub const COMPONENT: &str = "deployment-controller";

/// Settings of the Deployment controller.
#[derive(Clone, Debug)]
pub struct DeploymentConfig {
    /// How many Deployments are reconciled at once (`--concurrent-deployment-syncs`).
    pub workers: usize,
}

impl Default for DeploymentConfig {
    fn default() -> Self {
        DeploymentConfig { workers: 5 }
    }
}

/// What can go wrong in a reconcile (each is retried with back-off).
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// A request to the API server failed.
    #[error("{action}: {source}")]
    Api {
        action: String,
        #[source]
        source: ClientError,
    },
    /// The selector cannot be parsed (the API server validates it, so rare).
    #[error("deployment {key}: invalid selector: {source}")]
    Selector {
        key: String,
        #[source]
        source: SelectorError,
    },
    /// A ReplicaSet with the new one's name exists but belongs to something else; the
    /// collision count was bumped so the next attempt uses another hash.
    #[error("deployment {key}: replicaset name {name} is taken; retrying with a new hash")]
    HashCollision { key: String, name: String },
    /// The new ReplicaSet should exist after creating it, but does not.
    #[error("deployment {0}: no new replicaset")]
    NoNewReplicaSet(String),
}

/// One reconcile's working copy: the Deployment (whose status conditions the steps update) and
/// the status as stored, to write only what changed.
pub(crate) struct Work {
    pub key: String,
    pub d: Deployment,
    pub stored_status: Option<DeploymentStatus>,
}

pub(crate) struct DeploymentController {
    client: Client,
    deployments: Store<Deployment>,
    replica_sets: Store<ReplicaSet>,
    pods: Store<Pod>,
    recorder: Recorder,
}

/// `spec.replicas` of a ReplicaSet (pods wanted).
pub(crate) fn spec_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.replicas.unwrap_or(1).max(0)
}

/// `status.availableReplicas` of a ReplicaSet.
pub(crate) fn available(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map(|s| s.available_replicas).unwrap_or(0)
}

/// Oldest first, by creation time then name, so decisions are deterministic.
pub(crate) fn sort_oldest_first(list: &mut [ReplicaSet]) {
    list.sort_by(|a, b| {
        (a.metadata.creation_timestamp, a.metadata.name()).cmp(&(b.metadata.creation_timestamp, b.metadata.name()))
    });
}

/// Runs the Deployment controller until `shutdown` is `true`.
/// Its Pod informer comes from `shared`, which the other controllers of the manager use too.
pub async fn run(
    client: Client,
    config: DeploymentConfig,
    mut shutdown: watch::Receiver<bool>,
    shared: Arc<SharedInformers>,
) -> Result<(), DeploymentError> {
    let queue: WorkQueue = WorkQueue::new();
    let mut d_informer = Informer::new(Api::<Deployment>::all(client.clone()), ListParams::default());
    let mut rs_informer = Informer::new(Api::<ReplicaSet>::all(client.clone()), ListParams::default());
    let pod_informer = shared.get::<Pod>();
    let (deployments, replica_sets, pods) = (d_informer.store(), rs_informer.store(), pod_informer.store());
    {
        let queue = queue.clone();
        d_informer.on_event(move |event| queue.add(event.key()));
    }
    {
        let (queue, deployments) = (queue.clone(), deployments.clone());
        rs_informer.on_event(move |event| on_replica_set_event(event, &queue, &deployments));
    }
    {
        // Only deletions matter: Recreate waits for the old pods to be gone.
        let (queue, replica_sets) = (queue.clone(), replica_sets.clone());
        pod_informer.on_delete(move |pod| {
            if let Some(key) = deployment_of_pod(pod, &replica_sets) {
                queue.add(key);
            }
        });
    }
    let mut informers = JoinSet::new();
    informers.spawn(d_informer.run());
    informers.spawn(rs_informer.run());
    if !runtime::wait_for_sync(
        vec![
            Box::pin(deployments.wait_for_sync()),
            Box::pin(replica_sets.wait_for_sync()),
            Box::pin(pods.wait_for_sync()),
        ],
        &mut shutdown,
    )
    .await
    {
        return Ok(());
    }
    tracing::info!("deployment controller: caches synced, starting workers");
    let controller = Arc::new(DeploymentController {
        recorder: Recorder::new(client.clone(), COMPONENT),
        client,
        deployments,
        replica_sets,
        pods,
    });
    run_workers("deployment", controller, queue, config.workers, shutdown).await;
    Ok(())
}

fn owner_key(rs: &ReplicaSet) -> Option<String> {
    let owner = rs.metadata.controller_ref()?;
    (owner.kind == "Deployment").then(|| format!("{}/{}", rs.metadata.namespace(), owner.name))
}

fn matching_deployments(rs: &ReplicaSet, deployments: &Store<Deployment>) -> Vec<String> {
    deployments
        .list()
        .into_iter()
        .filter(|d| d.metadata.namespace() == rs.metadata.namespace())
        .filter(|d| {
            Selector::from_label_selector(&d.spec.selector)
                .is_ok_and(|s| !s.is_empty() && s.matches(&rs.metadata.labels))
        })
        .map(|d| object_key(&d.metadata))
        .collect()
}

fn on_replica_set_event(event: &InformerEvent<ReplicaSet>, queue: &WorkQueue, deployments: &Store<Deployment>) {
    let enqueue_owner_or_matching = |rs: &ReplicaSet| match owner_key(rs) {
        Some(key) => queue.add(key),
        None => matching_deployments(rs, deployments)
            .into_iter()
            .for_each(|k| queue.add(k)),
    };
    match event {
        InformerEvent::Added(rs) | InformerEvent::Deleted(rs) => enqueue_owner_or_matching(rs),
        InformerEvent::Updated { old, new } => {
            if owner_key(old) != owner_key(new) {
                if let Some(key) = owner_key(old) {
                    queue.add(key);
                }
            }
            enqueue_owner_or_matching(new);
        }
    }
}

/// The Deployment owning the ReplicaSet owning `pod`, if any.
fn deployment_of_pod(pod: &Pod, replica_sets: &Store<ReplicaSet>) -> Option<String> {
    let owner = pod.metadata.controller_ref().filter(|o| o.kind == "ReplicaSet")?;
    let rs = replica_sets.get(&format!("{}/{}", pod.metadata.namespace(), owner.name))?;
    owner_key(&rs)
}

impl Reconciler for DeploymentController {
    type Error = DeploymentError;

    async fn reconcile(&self, key: &str) -> Result<Action, DeploymentError> {
        let Some(d) = self.deployments.get(key) else {
            return Ok(Action::Done);
        };
        if d.metadata.deletion_timestamp.is_some() {
            // Its ReplicaSets are the garbage collector's business now.
            return Ok(Action::Done);
        }
        let selector = Selector::from_label_selector(&d.spec.selector).map_err(|source| DeploymentError::Selector {
            key: key.to_string(),
            source,
        })?;
        if selector.is_empty() {
            self.recorder.record(
                d.as_ref(),
                WARNING,
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            );
            return Ok(Action::Done);
        }
        let mut work = Work {
            key: key.to_string(),
            d: (*d).clone(),
            stored_status: d.status.clone(),
        };
        let rs_list = self.claim_replica_sets(&work.d, &selector).await?;

        let now = runtime::now();
        let mut status = work.d.status.clone().unwrap_or_default();
        if progress::check_paused(&work.d, &mut status, now) {
            work.d.status = Some(status);
        }
        if work.d.spec.paused.unwrap_or(false) || sync::is_scaling_event(&work.d, &rs_list) {
            return self.sync(&mut work, rs_list).await;
        }
        if rolling::is_rolling(&work.d) {
            self.rollout_rolling(&mut work, rs_list).await
        } else {
            self.rollout_recreate(&mut work, rs_list).await
        }
    }
}
