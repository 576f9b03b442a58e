//! # Pod sync: running the pods bound to this node (the kubelet's `syncPod`)
//!
//! ```text
//!  API server ──watch pods with spec.nodeName=<me>──▶ informer ──key──▶ WorkQueue ──▶ workers
//!  runtime ──relist every second (PLEG)──────────────────────────key──▶    ▲            │
//!  probes ──result changed───────────────────────────────────────key──────┘            ▼
//!                                                                         sync_pod(key):
//!   1. read the pod from the informer's cache, list its sandboxes and containers  (observe)
//!   2. compute_pod_actions(pod, observed)                                          (plan, pure)
//!   3. carry the plan out with the runtime                                         (act)
//!   4. observe again, compute the status, write it if it changed                   (report)
//! ```
//!
//! Everything that could trigger work — a pod changed, a container exited on its own, a probe
//! flipped, a back-off ended — only *enqueues the pod's key*. The work queue hands a key to one
//! worker at a time and coalesces repeats, so a pod is never synced twice at once and a burst
//! of changes costs one sync. A sync that fails is retried with back-off.
//!
//! Modules: [`observed`] (what exists), [`plan`] (what to do), [`backoff`] (crash loops),
//! [`actions`] (doing it), [`env`] (spec → runtime config), [`env_sources`] and
//! [`service_env`] (values from ConfigMaps, Secrets and Services), [`objects`] (fetching what
//! a pod consumes), [`volumes`] (what containers mount), [`status`] (reporting), [`probes`]
//! (health checks), [`relist`] (noticing changes and orphans).

pub mod actions;
pub mod backoff;
pub mod env;
pub mod env_sources;
pub mod objects;
pub mod observed;
pub mod plan;
pub mod probes;
pub mod relist;
pub mod service_env;
pub mod status;
pub mod volumes;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use kubelab_api::core::{Pod, Service};
use kubelab_client::{
    split_key, Api, ClientError, DeleteParams, Informer, ListParams, Preconditions, Store, WorkQueue,
};
use tokio::task::JoinSet;

use crate::config::AgentConfig;
use crate::events::{EventRecorder, EventType};
use crate::runtime::{ContainerRuntime, ContainerStatus, RuntimeError, SandboxStatus};
use backoff::BackoffPolicy;
use observed::{is_alive, ObservedPod, StartFailure};
use plan::compute_pod_actions;
use probes::ProbeManager;
use status::{compute_pod_status, StatusContext};

/// Why a pod sync failed (it is retried with back-off).
#[derive(Debug, thiserror::Error)]
pub enum PodError {
    /// The container runtime failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The API server refused or did not answer.
    #[error(transparent)]
    Api(#[from] ClientError),
    /// A queue key that is not `namespace/name`.
    #[error("bad pod key {0:?}")]
    BadKey(String),
}

/// What every worker shares.
pub struct Shared {
    pub node_name: String,
    pub node_ip: String,
    pub runtime: Arc<dyn ContainerRuntime>,
    pub client: kubelab_client::Client,
    pub pods: Store<Pod>,
    pub queue: WorkQueue,
    pub events: EventRecorder,
    pub probes: ProbeManager,
    pub backoff: BackoffPolicy,
    /// `docker` or `hollow`: the scheme of `containerID`s.
    pub runtime_scheme: String,
    /// Every Service of the cluster, for the containers' Service variables.
    pub services: Store<Service>,
    /// Where pods' volumes live on this node.
    pub volumes: volumes::VolumeLayout,
    /// Start failures by pod uid, then container name.
    failures: Mutex<HashMap<String, BTreeMap<String, StartFailure>>>,
}

impl Shared {
    fn lock_failures(&self) -> MutexGuard<'_, HashMap<String, BTreeMap<String, StartFailure>>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Watches this node's pods and keeps them running until the task is aborted.
pub async fn run(
    config: AgentConfig,
    client: kubelab_client::Client,
    runtime: Arc<dyn ContainerRuntime>,
    events: EventRecorder,
    runtime_scheme: String,
) {
    let queue = WorkQueue::new();
    let selector = format!("spec.nodeName={}", config.node_name);
    let mut informer = Informer::new(Api::<Pod>::all(client.clone()), ListParams::default().fields(&selector));
    let handler_queue = queue.clone();
    informer.on_event(move |event| handler_queue.add(event.key()));
    let pods = informer.store();
    let mut tasks = JoinSet::new();
    tasks.spawn(informer.run());
    // Services, for the variables every container gets (the kubelet's service lister).
    let service_informer = Informer::new(Api::<Service>::all(client.clone()), ListParams::default());
    let services = service_informer.store();
    tasks.spawn(service_informer.run());
    // Until the first list is in, "no pod" would mean "don't know": acting on it would remove
    // containers of pods that exist. Likewise, a container started before the Services are
    // known would miss their variables for its whole life.
    pods.wait_for_sync().await;
    services.wait_for_sync().await;

    let shared = Arc::new(Shared {
        node_name: config.node_name.clone(),
        node_ip: config.node_ip.clone(),
        probes: ProbeManager::new(runtime.clone(), queue.clone(), events.clone()),
        runtime,
        client,
        pods,
        queue: queue.clone(),
        events,
        backoff: BackoffPolicy {
            base: config.crash_backoff_base,
            max: config.crash_backoff_max,
        },
        runtime_scheme,
        services,
        volumes: volumes::VolumeLayout {
            root: config.root_dir.clone(),
            cluster: config.cluster.clone(),
            node: config.node_name.clone(),
        },
        failures: Mutex::default(),
    });
    let _stop_probes = StopProbesOnDrop(shared.probes.clone());
    for _ in 0..config.workers.max(1) {
        tasks.spawn(worker(shared.clone(), config.resync_interval));
    }
    tasks.spawn(relist::pleg(shared.clone(), config.relist_interval));
    tasks.spawn(relist::housekeeping(shared.clone(), config.housekeeping_interval));
    tasks.spawn(volumes::refresh::run(shared.clone(), config.volume_refresh_interval));
    tasks.spawn(volumes::cleanup::run(shared.clone(), config.volume_cleanup_interval));
    // The tasks run forever; when this future is dropped (the agent stops), the JoinSet aborts
    // them all.
    while tasks.join_next().await.is_some() {}
    queue.shut_down();
}

/// Stops the probe runners when the pod loop is dropped (the agent stops).
struct StopProbesOnDrop(ProbeManager);

impl Drop for StopProbesOnDrop {
    fn drop(&mut self) {
        self.0.stop_all();
    }
}

async fn worker(shared: Arc<Shared>, resync: Duration) {
    while let Some(key) = shared.queue.get().await {
        match sync_pod(&shared, &key).await {
            Ok(requeue) => {
                shared.queue.forget(&key);
                if shared.pods.get(&key).is_some() {
                    shared
                        .queue
                        .add_after(key.clone(), requeue.unwrap_or(resync).min(resync));
                }
            }
            Err(e) => {
                tracing::warn!(pod = %key, error = %e, "pod sync failed; retrying");
                shared.queue.add_rate_limited(key.clone());
            }
        }
        shared.queue.done(&key);
    }
}

/// Observes pod `pod`: lists its runtime objects again (see [`observed_from`]).
async fn observe(shared: &Shared, pod: &Pod) -> Result<ObservedPod, RuntimeError> {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let (sandboxes, containers) = shared
        .runtime
        .list_pod(pod.metadata.namespace(), pod.metadata.name())
        .await?;
    Ok(observed_from(
        shared,
        uid,
        sandboxes.into_iter().filter(|s| s.pod_uid == uid).collect(),
        containers.into_iter().filter(|c| c.pod_uid == uid).collect(),
    ))
}

/// What is known of the pod of `uid`, given its runtime objects: those, plus its remembered
/// start failures and its probe results.
fn observed_from(
    shared: &Shared,
    uid: &str,
    sandboxes: Vec<SandboxStatus>,
    containers: Vec<ContainerStatus>,
) -> ObservedPod {
    let mut observed = ObservedPod::new(sandboxes, containers);
    observed.failures = shared.lock_failures().get(uid).cloned().unwrap_or_default();
    observed.probes = shared
        .probes
        .results_for(observed.containers.iter().map(|c| c.id.as_str()));
    observed
}

/// Syncs one pod; returns when to sync it again at the latest.
pub async fn sync_pod(shared: &Shared, key: &str) -> Result<Option<Duration>, PodError> {
    let (Some(namespace), name) = split_key(key) else {
        return Err(PodError::BadKey(key.to_string()));
    };
    // Only this pod's objects: asking the runtime about the whole node on every sync would make
    // a node of n pods cost n times more per sync.
    let (sandboxes, containers) = shared.runtime.list_pod(namespace, name).await?;
    let Some(pod) = shared.pods.get(key) else {
        // Gone from the API (force-deleted, or deleted while the agent was down): whatever is
        // left of it is an orphan.
        shared.probes.forget(key);
        remove_objects(shared, &sandboxes, &containers).await?;
        return Ok(None);
    };
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    // Leftovers of an earlier pod of the same name go; the rest is what the plan starts from.
    let (sandboxes, stale_sandboxes): (Vec<_>, Vec<_>) = sandboxes.into_iter().partition(|s| s.pod_uid == uid);
    let (containers, stale_containers): (Vec<_>, Vec<_>) = containers.into_iter().partition(|c| c.pod_uid == uid);
    if !stale_sandboxes.is_empty() || !stale_containers.is_empty() {
        remove_objects(shared, &stale_sandboxes, &stale_containers).await?;
    }

    let mut observed = observed_from(shared, &uid, sandboxes, containers);
    let plan = compute_pod_actions(&pod, &observed, Utc::now(), &shared.backoff);
    let mut outcome = actions::Outcome::default();
    if !plan.is_empty() {
        tracing::debug!(pod = %key, ?plan, "syncing pod");
        outcome = actions::execute(shared, &pod, &observed, &plan).await?;
        observed = observe(shared, &pod).await?;
    }

    if plan.delete_pod {
        shared.probes.forget(key);
        shared.lock_failures().remove(&uid);
        // Its containers are gone: so go its emptyDirs and ConfigMap files (not its claims' data).
        volumes::cleanup::remove_pod_volumes(shared, &uid).await;
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(uid),
                resource_version: None,
            }),
            ..Default::default()
        };
        let api: Api<Pod> = Api::namespaced(shared.client.clone(), namespace);
        match api.delete(name, &dp).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() || e.is_conflict() => {}
            Err(e) => return Err(e.into()),
        }
        return Ok(None);
    }

    let next = compute_pod_actions(&pod, &observed, Utc::now(), &shared.backoff);
    for (container, waiting) in &next.waiting {
        let message = match waiting.reason.as_str() {
            "CrashLoopBackOff" => format!(
                "Back-off restarting failed container {container} in pod {}",
                pod_ref(&pod)
            ),
            "ImagePullBackOff" => waiting.message.clone().unwrap_or_default(),
            _ => continue,
        };
        if !outcome.failed_now.contains_key(container) {
            shared
                .events
                .pod(&pod, Some(container), EventType::Warning, "BackOff", message);
        }
    }
    let mut waiting = next.waiting.clone();
    waiting.extend(outcome.failed_now.clone());
    let ctx = StatusContext {
        node_ip: &shared.node_ip,
        runtime_scheme: &shared.runtime_scheme,
    };
    let status = compute_pod_status(&pod, &observed, &waiting, &ctx, Utc::now());
    if pod.status.as_ref() != Some(&status) {
        write_status(shared, &pod, status).await?;
    }
    shared.probes.sync(key, &pod, &observed);

    let mut requeue = next.requeue_after;
    if !next.is_empty() || !outcome.failed_now.is_empty() {
        // More to do (the next init container, a restart after a kill), or a failure to show
        // as its back-off reason: come back soon.
        let soon = Duration::from_millis(200);
        requeue = Some(requeue.map_or(soon, |d| d.min(soon)));
    }
    Ok(requeue)
}

fn pod_ref(pod: &Pod) -> String {
    format!(
        "{}_{}({})",
        pod.metadata.name(),
        pod.metadata.namespace(),
        pod.metadata.uid.as_deref().unwrap_or_default()
    )
}

/// Writes `status` (PUT `pods/{name}/status`), reading the pod again on a conflict.
async fn write_status(shared: &Shared, pod: &Pod, status: kubelab_api::core::PodStatus) -> Result<(), ClientError> {
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), pod.metadata.namespace());
    let mut target = pod.clone();
    target.status = Some(status.clone());
    for _ in 0..3 {
        match api.replace_status(pod.metadata.name(), &target).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) if e.is_conflict() => {
                let Some(fresh) = api.get_opt(pod.metadata.name()).await? else {
                    return Ok(());
                };
                if fresh.metadata.uid != pod.metadata.uid {
                    return Ok(());
                }
                target = fresh;
                target.status = Some(status.clone());
            }
            Err(e) => return Err(e),
        }
    }
    // Still conflicting: the informer will bring the newer pod and sync again.
    Ok(())
}

/// Stops and removes runtime objects whose pod no longer exists.
async fn remove_objects(
    shared: &Shared,
    sandboxes: &[SandboxStatus],
    containers: &[ContainerStatus],
) -> Result<(), RuntimeError> {
    for container in containers {
        if is_alive(&container.state) {
            tracing::info!(pod = %container.pod_name, container = %container.name, "stopping orphaned container");
            shared
                .runtime
                .stop_container(&container.id, actions::ORPHAN_GRACE)
                .await?;
        }
        shared.runtime.remove_container(&container.id).await?;
    }
    for sandbox in sandboxes {
        shared.runtime.stop_sandbox(&sandbox.id).await?;
        shared.runtime.remove_sandbox(&sandbox.id).await?;
    }
    let mut failures = shared.lock_failures();
    for uid in sandboxes
        .iter()
        .map(|s| &s.pod_uid)
        .chain(containers.iter().map(|c| &c.pod_uid))
    {
        failures.remove(uid);
    }
    Ok(())
}
