//! A small cluster in one process: a real API server over sled in a temp dir, hollow node
//! agents, the real scheduler, and the controller manager, each as a task.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kubelab_agent::runtime::hollow::{HollowConfig, HollowRuntime};
use kubelab_agent::AgentConfig;
use kubelab_api::apps::{Deployment, ReplicaSet};
use kubelab_api::core::{Event, Pod};
use kubelab_apiserver::testing::InProcessApiserver;
use kubelab_client::{Api, Client, Config, ListParams};
use kubelab_controller::manager::{self, ManagerConfig, ManagerError};
use serde_json::Value;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub const LIMIT: Duration = Duration::from_secs(30);

pub struct Cluster {
    pub client: Client,
    _server: InProcessApiserver,
    agents: Vec<(oneshot::Sender<()>, JoinHandle<()>)>,
    scheduler: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
    pub manager: Option<RunningManager>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, task) in &self.agents {
            task.abort();
        }
        if let Some((_, task)) = &self.scheduler {
            task.abort();
        }
    }
}

/// A controller manager as a task; `stop` asks it to stop, dropping it kills it.
pub struct RunningManager {
    stop: watch::Sender<bool>,
    pub task: JoinHandle<Result<(), ManagerError>>,
}

impl RunningManager {
    pub async fn stop(self) -> Result<(), ManagerError> {
        let _ = self.stop.send(true);
        let task = &mut { self }.task;
        tokio::time::timeout(LIMIT, task)
            .await
            .expect("manager stops in time")
            .expect("manager task")
    }
}

impl Drop for RunningManager {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn spawn_manager(client: &Client, config: ManagerConfig) -> RunningManager {
    let (stop, shutdown) = watch::channel(false);
    let client = client.clone();
    let task = tokio::spawn(async move { manager::run(client, config, shutdown).await });
    RunningManager { stop, task }
}

/// Manager settings for tests: ReplicaSet and Deployment controllers, no leader election.
pub fn manager_config(identity: &str) -> ManagerConfig {
    let mut config = ManagerConfig::new(identity);
    config.leader_elect = false;
    config.controllers = vec!["replicaset".into(), "deployment".into()];
    config
}

pub async fn start_server() -> (Client, InProcessApiserver) {
    let server = InProcessApiserver::start().await.expect("in-process apiserver");
    let client = Client::new(Config::new(server.url.clone())).expect("client");
    (client, server)
}

fn agent_config(node: &str) -> AgentConfig {
    let mut config = AgentConfig::new(node, "test");
    config.lease_renew_interval = Duration::from_millis(300);
    config.status_update_interval = Duration::from_secs(1);
    config.relist_interval = Duration::from_millis(100);
    config.housekeeping_interval = Duration::from_millis(300);
    config.resync_interval = Duration::from_secs(5);
    config
}

/// `nodes` hollow nodes (`node-1`...), the scheduler, and (if `with_manager`) the manager.
pub async fn cluster(nodes: usize, with_manager: bool) -> Cluster {
    let (client, server) = start_server().await;
    let mut agents = Vec::new();
    for i in 1..=nodes {
        let name = format!("node-{i}");
        let runtime = Arc::new(HollowRuntime::new(HollowConfig::new(&name, "test")));
        let (tx, rx) = oneshot::channel::<()>();
        let (client, config) = (client.clone(), agent_config(&name));
        let task = tokio::spawn(async move {
            let _ = kubelab_agent::run(config, client, runtime, async {
                let _ = rx.await;
            })
            .await;
        });
        agents.push((tx, task));
    }
    let scheduler = {
        let mut config = kubelab_scheduler::SchedulerConfig::default().with_identity("test-scheduler");
        config.leader_elect = false;
        let (tx, rx) = oneshot::channel::<()>();
        let client = client.clone();
        let task = tokio::spawn(async move {
            let _ = kubelab_scheduler::run(config, client, async move {
                let _ = rx.await;
            })
            .await;
        });
        (tx, task)
    };
    let manager = with_manager.then(|| spawn_manager(&client, manager_config("test-manager")));
    Cluster {
        client,
        _server: server,
        agents,
        scheduler: Some(scheduler),
        manager,
    }
}

/// Polls `check` every 50 ms until it returns `Some`; fails the test after [`LIMIT`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + LIMIT;
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    loop {
        ticker.tick().await;
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {LIMIT:?} waiting for {what}");
        }
    }
}

pub fn deployments(client: &Client) -> Api<Deployment> {
    Api::namespaced(client.clone(), "default")
}

pub fn replica_sets(client: &Client) -> Api<ReplicaSet> {
    Api::namespaced(client.clone(), "default")
}

pub fn pods(client: &Client) -> Api<Pod> {
    Api::namespaced(client.clone(), "default")
}

/// A Deployment `name` of `replicas` pods labelled `app: name` running `image`, with `extra`
/// merged into its spec.
pub fn deployment(name: &str, replicas: i32, image: &str, extra_spec: Value) -> Deployment {
    let mut object = serde_json::json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "app", "image": image}]},
            },
        },
    });
    merge(&mut object["spec"], extra_spec);
    serde_json::from_value(object).expect("deployment")
}

pub fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, value) => *slot = value,
    }
}

pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub fn is_running(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

/// The pods with label `app=<app>` that are not being deleted.
pub async fn live_pods(client: &Client, app: &str) -> Vec<Pod> {
    pods(client)
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

/// Waits until `kubectl rollout status` would succeed for the Deployment, with `replicas`
/// running, ready pods and no others; returns the Deployment.
pub async fn rolled_out(client: &Client, name: &str, replicas: usize) -> Deployment {
    eventually(
        &format!("deployment {name} to roll out with {replicas} replicas"),
        || async {
            let d = deployments(client).get(name).await.ok()?;
            if !kubelab_controller::deployment::rollout_complete_for_kubectl(&d) {
                return None;
            }
            let all = pods(client)
                .list(&ListParams::default().labels(&format!("app={name}")))
                .await
                .ok()?
                .items;
            let ok = all.len() == replicas && all.iter().all(|p| is_running(p) && is_ready(p));
            ok.then_some(d)
        },
    )
    .await
}

/// The events with `reason` in `default`.
pub async fn events(client: &Client, reason: &str) -> Vec<Event> {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    events
        .list(&ListParams::default().fields(&format!("reason={reason}")))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}
