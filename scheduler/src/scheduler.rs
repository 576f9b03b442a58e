//! The scheduler: informers in, bindings out.
//!
//! ```text
//!  pods with spec.nodeName="" and my schedulerName ──▶ queue.add / queue.delete
//!  pods with spec.nodeName set ──▶ cache (count them); deleted ──▶ queue.move_all_to_active
//!  nodes ──▶ cache; added or changed ──▶ queue.move_all_to_active
//!
//!  loop (leader only): key = queue.pop()
//!      pod = pending store[key]        (gone, or being deleted? forget it)
//!      node = framework.schedule(pod, cache's nodes)
//!        Ok  ──▶ cache.assume(pod, node); spawn: POST pods/{name}/binding, event Scheduled
//!        Err ──▶ queue.unschedulable; spawn: PodScheduled=False + event FailedScheduling
//! ```
//!
//! Decisions are made one at a time, in order, because each depends on the previous ones (the
//! cache counts assumed pods). Bindings, the slow part (an HTTP round trip and a durable write),
//! run concurrently in the background, at most `max_concurrent_binds` at once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kubelab_api::core::{Node, Pod};
use kubelab_client::{Api, Client, Informer, InformerEvent, LeaderElectionConfig, ListParams, Store};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::cache::{is_terminal, Cache};
use crate::election::{self, stopped, ElectionError};
use crate::events::{scheduled_message, Recorder};
use crate::framework::{Framework, ScoreWeights};
use crate::node_info::PodInfo;
use crate::queue::{BackoffConfig, SchedulingQueue};

/// The `spec.schedulerName` a pod gets when it names none.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// How the scheduler ended, other than by being asked to stop.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// Leadership was lost; the process should exit and be restarted (as kube-scheduler does).
    #[error(transparent)]
    Election(#[from] ElectionError),
}

/// Everything the scheduler can be told.
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// Pods whose `spec.schedulerName` is this are ours; others are left to other schedulers.
    pub scheduler_name: String,
    /// This replica's name, in its lease and its events' `reportingInstance`.
    pub identity: String,
    /// Compete for the lease and schedule only while holding it.
    pub leader_elect: bool,
    /// The lease and its timings (Kubernetes' defaults: 15 s, 10 s, 2 s).
    pub leader_election: LeaderElectionConfig,
    pub backoff: BackoffConfig,
    pub weights: ScoreWeights,
    /// Percentage of nodes to find feasible before scoring; 0 for Kubernetes' adaptive default.
    pub percentage_of_nodes_to_score: u32,
    /// How long an assumed pod whose binding succeeded is counted without the informer confirming it.
    pub assume_ttl: Duration,
    /// Bindings in flight at once.
    pub max_concurrent_binds: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        let identity = election::default_identity();
        SchedulerConfig {
            scheduler_name: DEFAULT_SCHEDULER_NAME.into(),
            leader_election: LeaderElectionConfig::new(election::LEASE_NAMESPACE, election::LEASE_NAME, &identity),
            identity,
            leader_elect: true,
            backoff: BackoffConfig::default(),
            weights: ScoreWeights::default(),
            percentage_of_nodes_to_score: 0,
            assume_ttl: Duration::from_secs(30),
            max_concurrent_binds: 64,
        }
    }
}

impl SchedulerConfig {
    /// Sets the identity in both places it is used.
    pub fn with_identity(mut self, identity: &str) -> Self {
        self.identity = identity.into();
        self.leader_election.identity = identity.into();
        self
    }
}

/// Aborts background tasks when dropped, so a cancelled `run` leaves nothing behind.
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Runs the scheduler until `shutdown` resolves (`Ok`) or leadership is lost (`Err`).
pub async fn run(
    config: SchedulerConfig,
    client: Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SchedulerError> {
    let (stop_tx, mut stop) = watch::channel(false);
    let mut tasks = Tasks(vec![tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    })]);

    let queue = SchedulingQueue::new(config.backoff);
    let cache = Cache::new(config.assume_ttl);
    let (stores, informer_tasks) = start_informers(&config, &client, &queue, &cache);
    tasks.0.extend(informer_tasks);

    let scheduler = SchedulingLoop {
        framework: {
            let mut framework = Framework::with_default_plugins(config.weights);
            framework.percentage_of_nodes_to_score = config.percentage_of_nodes_to_score;
            framework
        },
        recorder: Recorder::new(client.clone(), &config.scheduler_name, &config.identity),
        binds: Arc::new(Semaphore::new(config.max_concurrent_binds.max(1))),
        scheduler_name: config.scheduler_name.clone(),
        client: client.clone(),
        stores,
        queue: queue.clone(),
        cache,
    };
    tracing::info!(scheduler = %config.scheduler_name, identity = %config.identity, "scheduler started");
    let work = scheduler.run(stop.clone());
    let result = if config.leader_elect {
        election::lead(client, config.leader_election.clone(), stop.clone(), work)
            .await
            .map_err(SchedulerError::from)
    } else {
        tokio::select! {
            _ = work => {}
            _ = stopped(&mut stop) => {}
        }
        Ok(())
    };
    queue.close();
    drop(tasks);
    result
}

/// The three informers; returns their stores and tasks.
fn start_informers(
    config: &SchedulerConfig,
    client: &Client,
    queue: &SchedulingQueue,
    cache: &Cache,
) -> (Stores, Vec<JoinHandle<()>>) {
    let pending_selector = format!("spec.nodeName=,spec.schedulerName={}", config.scheduler_name);
    let mut pending = Informer::new(
        Api::<Pod>::all(client.clone()),
        ListParams::default().fields(&pending_selector),
    );
    let q = queue.clone();
    pending.on_event(move |event| match event {
        InformerEvent::Added(pod) => enqueue(&q, pod),
        InformerEvent::Updated { old, new } => {
            // Our own status writes (PodScheduled=False) change nothing that could make a pod
            // fit; reacting to them would retry every unschedulable pod once more for nothing.
            if old.spec != new.spec
                || old.metadata.labels != new.metadata.labels
                || old.metadata.deletion_timestamp != new.metadata.deletion_timestamp
            {
                enqueue(&q, new)
            }
        }
        InformerEvent::Deleted(pod) => q.delete(&kubelab_client::object_key(&pod.metadata)),
    });

    let mut assigned = Informer::new(
        Api::<Pod>::all(client.clone()),
        ListParams::default().fields("spec.nodeName!="),
    );
    let (q, c) = (queue.clone(), cache.clone());
    assigned.on_event(move |event| match event {
        InformerEvent::Added(pod) => c.upsert_pod(pod),
        InformerEvent::Updated { old, new } => {
            c.upsert_pod(new);
            if is_terminal(new) && !is_terminal(old) {
                q.move_all_to_active();
            }
        }
        InformerEvent::Deleted(pod) => {
            c.remove_pod(&kubelab_client::object_key(&pod.metadata));
            q.move_all_to_active();
        }
    });

    let mut nodes = Informer::new(Api::<Node>::all(client.clone()), ListParams::default());
    let (q, c) = (queue.clone(), cache.clone());
    nodes.on_event(move |event| match event {
        InformerEvent::Added(node) => {
            c.upsert_node(node.clone());
            q.move_all_to_active();
        }
        InformerEvent::Updated { old, new } => {
            c.upsert_node(new.clone());
            if node_changed_for_scheduling(old, new) {
                q.move_all_to_active();
            }
        }
        InformerEvent::Deleted(node) => c.remove_node(node.metadata.name()),
    });

    let stores = Stores {
        pending: pending.store(),
        assigned: assigned.store(),
        nodes: nodes.store(),
    };
    let tasks = vec![
        tokio::spawn(pending.run()),
        tokio::spawn(assigned.run()),
        tokio::spawn(nodes.run()),
    ];
    (stores, tasks)
}

/// The informers' caches.
struct Stores {
    pending: Store<Pod>,
    assigned: Store<Pod>,
    nodes: Store<Node>,
}

impl Stores {
    async fn wait_for_sync(&self) {
        self.pending.wait_for_sync().await;
        self.assigned.wait_for_sync().await;
        self.nodes.wait_for_sync().await;
    }
}

fn enqueue(queue: &SchedulingQueue, pod: &Arc<Pod>) {
    let key = kubelab_client::object_key(&pod.metadata);
    if pod.metadata.deletion_timestamp.is_some() {
        queue.delete(&key);
    } else {
        queue.add(&key);
    }
}

/// Whether a node update could let a pod fit that did not: not the agent's heartbeat every few
/// seconds, but labels, taints, cordoning, allocatable or a condition's status.
pub fn node_changed_for_scheduling(old: &Node, new: &Node) -> bool {
    let conditions = |n: &Node| -> Vec<(String, String)> {
        n.status
            .as_ref()
            .map(|s| {
                s.conditions
                    .iter()
                    .map(|c| (c.type_.clone(), c.status.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let allocatable = |n: &Node| n.status.as_ref().map(|s| s.allocatable.clone()).unwrap_or_default();
    old.metadata.labels != new.metadata.labels
        || old.spec.unschedulable != new.spec.unschedulable
        || old.spec.taints != new.spec.taints
        || allocatable(old) != allocatable(new)
        || conditions(old) != conditions(new)
}

/// The state of the loop that makes decisions.
struct SchedulingLoop {
    framework: Framework,
    recorder: Recorder,
    binds: Arc<Semaphore>,
    scheduler_name: String,
    client: Client,
    stores: Stores,
    queue: SchedulingQueue,
    cache: Cache,
}

impl SchedulingLoop {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        // Decide nothing before the caches hold the whole cluster: an empty node list would make
        // every pod look unschedulable.
        tokio::select! {
            _ = self.stores.wait_for_sync() => tracing::info!("scheduler caches synced"),
            _ = stopped(&mut stop) => return,
        }
        loop {
            let key = tokio::select! {
                key = self.queue.pop() => key,
                _ = stopped(&mut stop) => None,
            };
            let Some(key) = key else { return };
            // Backpressure: wait for a free binding slot before deciding, so decisions never run
            // far ahead of what the API server has accepted.
            let permit = tokio::select! {
                permit = self.binds.clone().acquire_owned() => permit,
                _ = stopped(&mut stop) => return,
            };
            let Ok(permit) = permit else { return };
            self.schedule_one(&key, permit);
        }
    }

    fn schedule_one(&mut self, key: &str, permit: tokio::sync::OwnedSemaphorePermit) {
        let Some(pod) = self.stores.pending.get(key) else {
            // Deleted, or bound (by us a moment ago, or by someone else).
            self.queue.delete(key);
            return;
        };
        let ours = pod.spec.scheduler_name.as_deref().unwrap_or(DEFAULT_SCHEDULER_NAME) == self.scheduler_name;
        let bound = pod.spec.node_name.as_deref().is_some_and(|n| !n.is_empty());
        if !ours || bound || pod.metadata.deletion_timestamp.is_some() || !pod.spec.scheduling_gates.is_empty() {
            self.queue.delete(key);
            return;
        }
        if self.cache.is_assumed(key) {
            // Bound a moment ago; the pending informer has not caught up yet. (A pod whose
            // binding is still in flight is never popped: it stays "in flight" in the queue.)
            self.queue.delete(key);
            return;
        }
        let info = PodInfo::new(pod.clone());
        let framework = &mut self.framework;
        let decision = self.cache.with_nodes(|nodes| framework.schedule(&info, nodes));
        match decision {
            Ok(node) => {
                self.cache.assume(info, &node);
                let binding = Binding {
                    client: self.client.clone(),
                    recorder: self.recorder.clone(),
                    queue: self.queue.clone(),
                    cache: self.cache.clone(),
                };
                tokio::spawn(async move {
                    binding.bind(pod, node).await;
                    drop(permit);
                });
            }
            Err(fit) => {
                let message = fit.to_string();
                tracing::info!(pod = %key, %message, "unschedulable");
                self.queue.unschedulable(key);
                let recorder = self.recorder.clone();
                tokio::spawn(async move {
                    if let Err(e) = recorder.mark_unschedulable(&pod, &message).await {
                        tracing::warn!(error = %e, "cannot set PodScheduled=False");
                    }
                    recorder.event(&pod, "Warning", "FailedScheduling", &message);
                    drop(permit);
                });
            }
        }
    }
}

/// What a background binding needs.
struct Binding {
    client: Client,
    recorder: Recorder,
    queue: SchedulingQueue,
    cache: Cache,
}

impl Binding {
    async fn bind(self, pod: Arc<Pod>, node: String) {
        let key = kubelab_client::object_key(&pod.metadata);
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), pod.metadata.namespace());
        match pods.bind(pod.metadata.name(), &node).await {
            Ok(()) => {
                self.cache.finish_binding(&key);
                self.queue.done(&key);
                tracing::debug!(pod = %key, %node, "bound");
                let message = scheduled_message(&pod, &node);
                self.recorder.event(&pod, "Normal", "Scheduled", &message);
            }
            // Deleted, being deleted, or already bound by someone else: nothing left to do.
            Err(e) if e.is_not_found() || e.is_conflict() => {
                tracing::info!(pod = %key, error = %e, "binding refused");
                self.cache.forget(&key);
                self.queue.done(&key);
            }
            Err(e) => {
                tracing::warn!(pod = %key, %node, error = %e, "binding failed, will retry");
                self.cache.forget(&key);
                self.queue.error(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node_info::testing::*;

    #[test]
    fn heartbeats_do_not_count_as_node_changes() {
        let old = node("n", "1", "1Gi", 110);
        let mut heartbeat = old.clone();
        heartbeat.metadata.resource_version = Some("99".into());
        assert!(!node_changed_for_scheduling(&old, &heartbeat));
        let mut relabelled = old.clone();
        relabelled.metadata.labels.insert("disk".into(), "ssd".into());
        assert!(node_changed_for_scheduling(&old, &relabelled));
        let mut cordoned = old.clone();
        cordoned.spec.unschedulable = Some(true);
        assert!(node_changed_for_scheduling(&old, &cordoned));
    }
}
