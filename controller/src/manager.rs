//! The controller manager: every controller in one process, active on one replica only.
//!
//! Kubernetes runs its controllers (ReplicaSet, Deployment, node lifecycle, garbage collector,
//! namespace, ...) in one binary, `kube-controller-manager`, for a simple reason: they are small
//! loops over a shared API, and one process is easier to deploy than thirty. For availability
//! several replicas run, but two ReplicaSet controllers acting at once would each create the
//! missing pods: so all replicas compete for one Lease, `kube-system/kube-controller-manager`
//! (15 s lease, 10 s renew deadline, 2 s retry, Kubernetes' defaults), and only the holder runs
//! the controllers.
//!
//! **Losing the lease** (renewal failed for the renew deadline, or someone else holds it) stops
//! every controller at once and [`run`] returns [`ManagerError::LeadershipLost`]: the process
//! exits and its supervisor restarts it as a fresh candidate, as kube-controller-manager does.
//! Carrying on in-process would risk acting on caches and expectations from a term that ended.
//!
//! **Stopping** (SIGTERM) lets the controllers finish their reconciles in flight, then releases
//! the lease so another replica takes over at its next retry rather than after 15 s.

use std::sync::Arc;

use kubelab_client::leader::LeaderOutcome;
use kubelab_client::{Client, LeaderElectionConfig, LeaderElector, SharedInformers};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::deployment::{self, DeploymentConfig};
use crate::endpoints::{self, EndpointsConfig};
use crate::gc::{self, GcConfig};
use crate::namespace::{self, NamespaceConfig};
use crate::node_lifecycle::{self, NodeLifecycleConfig};
use crate::replicaset::{self, ReplicaSetConfig};
use crate::statefulset::{self, StatefulSetConfig};
use crate::volume::{self, VolumeConfig};

/// Where the controller manager's lease lives.
pub const LEASE_NAMESPACE: &str = "kube-system";
pub const LEASE_NAME: &str = "kube-controller-manager";

/// The controllers, by the names `--controllers` takes (Kubernetes' names).
pub const CONTROLLERS: &[&str] = &[
    "replicaset",
    "deployment",
    "nodelifecycle",
    "garbagecollector",
    "namespace",
    "persistentvolume-binder",
    "endpoint",
    "statefulset",
];

/// Why the manager stopped other than by being asked to.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// The lease could not be renewed in time, or another replica holds it now.
    #[error("leader election lost: this replica no longer holds lease {namespace}/{name}")]
    LeadershipLost { namespace: String, name: String },
    /// `--controllers` named a controller that does not exist.
    #[error("unknown controller {0:?} (known: {known})", known = CONTROLLERS.join(", "))]
    UnknownController(String),
    /// A controller stopped with an error (usually a configuration it rejected).
    #[error("controller {name} failed: {message}")]
    Controller { name: &'static str, message: String },
}

/// Settings of the whole manager and of each controller.
#[derive(Clone, Debug)]
pub struct ManagerConfig {
    /// Compete for the lease (`true`), or run the controllers at once (a single replica).
    pub leader_elect: bool,
    pub leader_election: LeaderElectionConfig,
    /// Which controllers run: `*` for all, a name to enable one, `-name` to disable one
    /// (`["*", "-namespace"]`), as `--controllers` in Kubernetes.
    pub controllers: Vec<String>,
    pub replica_set: ReplicaSetConfig,
    pub deployment: DeploymentConfig,
    pub node_lifecycle: NodeLifecycleConfig,
    pub gc: GcConfig,
    pub namespace: NamespaceConfig,
    pub volume: VolumeConfig,
    pub endpoints: EndpointsConfig,
    pub stateful_set: StatefulSetConfig,
}

impl ManagerConfig {
    /// Every controller, leader election with Kubernetes' timings, this replica named `identity`.
    pub fn new(identity: &str) -> Self {
        ManagerConfig {
            leader_elect: true,
            leader_election: LeaderElectionConfig::new(LEASE_NAMESPACE, LEASE_NAME, identity),
            controllers: vec!["*".into()],
            replica_set: ReplicaSetConfig::default(),
            deployment: DeploymentConfig::default(),
            node_lifecycle: NodeLifecycleConfig::default(),
            gc: GcConfig::default(),
            namespace: NamespaceConfig::default(),
            volume: VolumeConfig::default(),
            endpoints: EndpointsConfig::default(),
            stateful_set: StatefulSetConfig::default(),
        }
    }

    /// Whether `name` runs under `controllers`: an explicit `-name` wins, then `name`, then `*`.
    pub fn is_enabled(&self, name: &str) -> bool {
        let has = |entry: &str| self.controllers.iter().any(|c| c == entry);
        if has(&format!("-{name}")) {
            return false;
        }
        has(name) || has("*")
    }

    fn check(&self) -> Result<(), ManagerError> {
        for entry in &self.controllers {
            let name = entry.strip_prefix('-').unwrap_or(entry);
            if name != "*" && !CONTROLLERS.contains(&name) {
                return Err(ManagerError::UnknownController(entry.clone()));
            }
        }
        Ok(())
    }
}

/// This replica's name among the candidates: the host name and a random suffix, so two
/// replicas on one machine (or one restarted) are different candidates.
pub fn default_identity() -> String {
    use std::hash::{BuildHasher, Hasher};
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kubelab-controller".into());
    // `RandomState` is seeded randomly per process: enough for a suffix without a new crate.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    format!("{host}_{:08x}", hasher.finish() as u32)
}

/// Runs the enabled controllers until `shutdown` is `true`, under leader election if configured.
pub async fn run(client: Client, config: ManagerConfig, shutdown: watch::Receiver<bool>) -> Result<(), ManagerError> {
    config.check()?;
    if !config.leader_elect {
        return run_controllers(client, &config, shutdown).await;
    }
    lead(client, config, shutdown).await
}

async fn lead(client: Client, config: ManagerConfig, mut shutdown: watch::Receiver<bool>) -> Result<(), ManagerError> {
    let election = config.leader_election.clone();
    let mut elector = LeaderElector::new(client.clone(), election.clone());
    if !elector.acquire(&mut shutdown).await {
        return Ok(());
    }
    // We hold the lease: `LeaderElector::run` keeps renewing it while the controllers run, and
    // drops (cancels) them if it is lost.
    let mut result = Ok(());
    let outcome = elector
        .run(async {
            result = run_controllers(client, &config, shutdown).await;
        })
        .await;
    match outcome {
        LeaderOutcome::Finished => result,
        LeaderOutcome::Lost => Err(ManagerError::LeadershipLost {
            namespace: election.namespace,
            name: election.lease_name,
        }),
    }
}

/// Runs every enabled controller until `shutdown`; the first one to fail ends them all.
/// Dropping this future (leadership lost) aborts them, since the JoinSet aborts its tasks.
async fn run_controllers(
    client: Client,
    config: &ManagerConfig,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ManagerError> {
    let mut tasks: JoinSet<Result<(), ManagerError>> = JoinSet::new();
    // One Pod informer for the five controllers that watch pods (client-go's shared informers):
    // one watch, one decode and one cached copy of each pod instead of five.
    let shared = Arc::new(SharedInformers::new(client.clone()));
    let failed = |name: &'static str| {
        move |e: &dyn std::fmt::Display| ManagerError::Controller {
            name,
            message: e.to_string(),
        }
    };
    if config.is_enabled("replicaset") {
        let (client, cfg, stop) = (client.clone(), config.replica_set.clone(), shutdown.clone());
        let shared = shared.clone();
        tasks.spawn(async move {
            replicaset::run(client, cfg, stop, shared)
                .await
                .map_err(|e| failed("replicaset")(&e))
        });
    }
    if config.is_enabled("deployment") {
        let (client, cfg, stop) = (client.clone(), config.deployment.clone(), shutdown.clone());
        let shared = shared.clone();
        tasks.spawn(async move {
            deployment::run(client, cfg, stop, shared)
                .await
                .map_err(|e| failed("deployment")(&e))
        });
    }
    if config.is_enabled("nodelifecycle") {
        let (client, cfg, stop) = (client.clone(), config.node_lifecycle.clone(), shutdown.clone());
        let shared = shared.clone();
        tasks.spawn(async move {
            node_lifecycle::run(client, cfg, stop, shared)
                .await
                .map_err(|e| failed("nodelifecycle")(&e))
        });
    }
    if config.is_enabled("garbagecollector") {
        let (client, cfg, stop) = (client.clone(), config.gc.clone(), shutdown.clone());
        tasks.spawn(async move {
            gc::run(client, cfg, stop)
                .await
                .map_err(|e| failed("garbagecollector")(&e))
        });
    }
    if config.is_enabled("namespace") {
        let (client, cfg, stop) = (client.clone(), config.namespace.clone(), shutdown.clone());
        tasks.spawn(async move {
            namespace::run(client, cfg, stop)
                .await
                .map_err(|e| failed("namespace")(&e))
        });
    }
    if config.is_enabled("persistentvolume-binder") {
        let (client, cfg, stop) = (client.clone(), config.volume.clone(), shutdown.clone());
        tasks.spawn(async move {
            volume::run(client, cfg, stop)
                .await
                .map_err(|e| failed("persistentvolume-binder")(&e))
        });
    }
    if config.is_enabled("endpoint") {
        let (client, cfg, stop) = (client.clone(), config.endpoints.clone(), shutdown.clone());
        let shared = shared.clone();
        tasks.spawn(async move {
            endpoints::run(client, cfg, stop, shared)
                .await
                .map_err(|e| failed("endpoint")(&e))
        });
    }
    if config.is_enabled("statefulset") {
        let (client, cfg, stop) = (client.clone(), config.stateful_set.clone(), shutdown.clone());
        let shared = shared.clone();
        tasks.spawn(async move {
            statefulset::run(client, cfg, stop, shared)
                .await
                .map_err(|e| failed("statefulset")(&e))
        });
    }
    tracing::info!(count = tasks.len(), "controller manager: controllers started");
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(e) if e.is_panic() => {
                return Err(ManagerError::Controller {
                    name: "unknown",
                    message: format!("panicked: {e}"),
                })
            }
            Err(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn controller_selection() {
        let mut config = ManagerConfig::new("me");
        assert!(CONTROLLERS.iter().all(|c| config.is_enabled(c)));
        config.controllers = vec!["*".into(), "-namespace".into()];
        assert!(config.is_enabled("deployment") && !config.is_enabled("namespace"));
        config.controllers = vec!["replicaset".into()];
        assert!(config.is_enabled("replicaset") && !config.is_enabled("deployment"));
        assert!(config.check().is_ok());
        config.controllers = vec!["bogus".into()];
        assert!(matches!(config.check(), Err(ManagerError::UnknownController(_))));
    }

    #[test]
    fn defaults_are_kubernetes() {
        let config = ManagerConfig::new("me");
        assert!(config.leader_elect);
        assert_eq!(config.leader_election.namespace, "kube-system");
        assert_eq!(config.leader_election.lease_name, "kube-controller-manager");
        assert_eq!(config.leader_election.lease_duration, Duration::from_secs(15));
        assert_eq!(config.leader_election.renew_deadline, Duration::from_secs(10));
        assert_eq!(config.leader_election.retry_period, Duration::from_secs(2));
        assert_eq!(config.node_lifecycle.node_monitor_grace_period, Duration::from_secs(40));
        assert_eq!(config.node_lifecycle.default_eviction_seconds, 300);
        assert_ne!(default_identity(), "");
    }
}
