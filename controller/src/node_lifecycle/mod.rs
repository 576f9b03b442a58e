//! # Node lifecycle controller: notice dead nodes, move their pods
//!
//! A node agent proves it is alive by renewing its Lease in `kube-node-lease` every few
//! seconds. This controller (Kubernetes' node lifecycle controller plus its taint-eviction
//! manager, small) watches those Leases and the Nodes, and when a node falls silent for longer
//! than `node_monitor_grace_period`:
//!
//! 1. sets its `Ready` condition (and the pressure conditions) to `Unknown`, reason
//!    `NodeStatusUnknown`: nobody knows whether the machine is down or just unreachable;
//! 2. taints it `node.kubernetes.io/unreachable` (`NoSchedule` so nothing new lands there,
//!    `NoExecute` so what runs there leaves); a node whose agent reports `Ready=False` gets
//!    `node.kubernetes.io/not-ready` instead, and both go when the node is `Ready` again;
//! 3. evicts each pod on a `NoExecute`-tainted node once its toleration of the taint runs out
//!    (`default_eviction_seconds` for pods that do not say), deleting it at once since its agent
//!    cannot finish a graceful delete. The pod's ReplicaSet then creates a replacement, which the
//!    scheduler puts on a healthy node.
//!
//! | file | concern |
//! | --- | --- |
//! | [`health`] | heartbeat age → conditions and taints (pure) |
//! | [`eviction`] | tolerations → eviction deadlines (pure) |
//! | [`reconcile`] | one node: read caches, decide, write, requeue |
//! | [`events`] | `NodeNotReady`, `NodeReady`, `TaintManagerEviction` |
//! | [`clock`] | wall-clock time that follows `tokio::time` |
//!
//! Not here (Kubernetes has them): eviction rate limits and the per-zone "is the whole zone
//! down?" logic that stops evicting when too many nodes fail at once.

pub mod clock;
pub mod events;
pub mod eviction;
pub mod health;
pub mod reconcile;

use std::sync::Arc;
use std::time::Duration;

use kubelab_api::coordination::Lease;
use kubelab_api::core::{Node, Pod};
use kubelab_client::{Api, Client, ClientError, Informer, ListParams, SharedInformers, WorkQueue};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use clock::Clock;
pub use reconcile::{reconcile, Context, Outcome};

/// Where node agents keep their Leases.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";

/// Settings of the node lifecycle controller.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeLifecycleConfig {
    /// How long a node may go without renewing its Lease (or posting status) before it is
    /// marked `Unknown` and tainted unreachable. Kubernetes' `--node-monitor-grace-period`,
    /// 40 s: four missed renewals of a 10 s renew interval.
    pub node_monitor_grace_period: Duration,
    /// Seconds a pod without its own toleration for `not-ready`/`unreachable` stays on such a
    /// node before it is evicted. Kubernetes' `--default-not-ready-toleration-seconds` and
    /// `--default-unreachable-toleration-seconds`, 300.
    pub default_eviction_seconds: u64,
    /// How many nodes are reconciled at once.
    pub workers: usize,
}

impl Default for NodeLifecycleConfig {
    fn default() -> Self {
        NodeLifecycleConfig {
            node_monitor_grace_period: Duration::from_secs(40),
            default_eviction_seconds: 300,
            workers: 2,
        }
    }
}

/// What can go wrong in the node lifecycle controller.
#[derive(Debug, thiserror::Error)]
pub enum NodeLifecycleError {
    /// A setting makes no sense (a zero grace period would mark every node dead at once).
    #[error("invalid node lifecycle configuration: {0}")]
    InvalidConfig(String),
    /// Writing a node's status or taints failed (often a conflict: retried with back-off).
    #[error("writing the {what} of node {node}: {source}")]
    WriteNode {
        node: String,
        what: &'static str,
        #[source]
        source: ClientError,
    },
    /// Deleting a pod from a tainted node failed.
    #[error("evicting pod {pod}: {source}")]
    Evict {
        pod: String,
        #[source]
        source: ClientError,
    },
}

impl NodeLifecycleConfig {
    fn check(&self) -> Result<(), NodeLifecycleError> {
        if self.node_monitor_grace_period.is_zero() {
            return Err(NodeLifecycleError::InvalidConfig(
                "node_monitor_grace_period must be more than zero".into(),
            ));
        }
        if self.workers == 0 {
            return Err(NodeLifecycleError::InvalidConfig("workers must be at least 1".into()));
        }
        Ok(())
    }
}

/// Runs the controller until `shutdown` turns true (or its sender is dropped).
/// Its Pod informer comes from `shared`, which the other controllers of the manager use too.
pub async fn run(
    client: Client,
    config: NodeLifecycleConfig,
    mut shutdown: watch::Receiver<bool>,
    shared: Arc<SharedInformers>,
) -> Result<(), NodeLifecycleError> {
    config.check()?;
    let queue: WorkQueue<String> = WorkQueue::new();

    // Handlers only enqueue node names; the reconcile reads everything from the caches.
    let mut nodes = Informer::new(Api::<Node>::all(client.clone()), ListParams::default());
    let q = queue.clone();
    nodes.on_event(move |event| q.add(event.key()));

    let mut leases = Informer::new(
        Api::<Lease>::namespaced(client.clone(), LEASE_NAMESPACE),
        ListParams::default(),
    );
    let q = queue.clone();
    leases.on_event(move |event| q.add(event.object().metadata.name().to_string()));

    // A pod matters only when it lands on a node that has NoExecute taints; other pod changes
    // (tens of thousands of status updates) are not this controller's business.
    let pods = shared.get::<Pod>();
    let node_store = nodes.store();
    let q = queue.clone();
    pods.on_event(move |event| {
        let Some(node) = event.object().spec.node_name.as_deref().filter(|n| !n.is_empty()) else {
            return;
        };
        if node_store
            .get(node)
            .is_some_and(|n| n.spec.taints.iter().any(|t| t.effect == "NoExecute"))
        {
            q.add(node.to_string());
        }
    });

    let ctx = Arc::new(Context::new(
        client,
        nodes.store(),
        leases.store(),
        pods.store(),
        config.clone(),
        Clock::new(),
    ));
    let mut informers = JoinSet::new();
    informers.spawn(nodes.run());
    informers.spawn(leases.run());

    let synced = async {
        ctx.nodes.wait_for_sync().await;
        ctx.leases.wait_for_sync().await;
        ctx.pods.wait_for_sync().await;
    };
    tokio::select! {
        _ = synced => {}
        _ = wait_for_shutdown(&mut shutdown) => {
            informers.abort_all();
            return Ok(());
        }
    }
    tracing::info!(
        grace = ?config.node_monitor_grace_period,
        eviction_seconds = config.default_eviction_seconds,
        "node lifecycle controller started"
    );

    let mut workers = JoinSet::new();
    for _ in 0..config.workers {
        workers.spawn(worker(ctx.clone(), queue.clone()));
    }
    wait_for_shutdown(&mut shutdown).await;
    queue.shut_down();
    informers.abort_all();
    while workers.join_next().await.is_some() {}
    Ok(())
}

async fn wait_for_shutdown(shutdown: &mut watch::Receiver<bool>) {
    // A dropped sender also means "stop": nobody is left to say otherwise.
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
                tracing::warn!(node = %key, error = %e, "node lifecycle reconcile failed; retrying");
                queue.add_rate_limited(key.clone());
            }
        }
        queue.done(&key);
    }
}
