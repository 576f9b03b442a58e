//! A real API server over a sled store in a temp dir, nodes and pods through its API, and a
//! scheduler running as a task.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use kubelab_api::core::{Event, Node, Pod};
use kubelab_apiserver::testing::InProcessApiserver;
use kubelab_client::{Api, Client, Config, ListParams};
use kubelab_scheduler::{BackoffConfig, SchedulerConfig, SchedulerError};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestServer {
    pub client: Client,
    pub server: InProcessApiserver,
}

pub async fn start() -> TestServer {
    let server = InProcessApiserver::start().await.expect("in-process apiserver");
    let client = Client::new(Config::new(server.url.clone())).expect("client");
    TestServer { client, server }
}

/// A Ready node with this much allocatable CPU and memory, and `extra` merged into the object
/// (labels, taints).
pub async fn create_node(client: &Client, name: &str, cpu: &str, memory: &str, extra: Value) -> Node {
    let mut object = json!({"metadata": {"name": name}});
    merge(&mut object, extra);
    let node: Node = serde_json::from_value(object).expect("node");
    let nodes: Api<Node> = Api::all(client.clone());
    let mut created = nodes.create(&node).await.expect("create node");
    created.status = Some(
        serde_json::from_value(json!({
            "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
            "capacity": {"cpu": cpu, "memory": memory, "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
        }))
        .expect("node status"),
    );
    nodes.replace_status(name, &created).await.expect("node status written")
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, value) => *slot = value,
    }
}

/// A pod in `default` with one container requesting `cpu`/`memory`, and `extra` merged in.
pub async fn create_pod(client: &Client, name: &str, cpu: &str, memory: &str, extra: Value) -> Pod {
    let mut object = json!({
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx",
            "resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
    });
    merge(&mut object, extra);
    let pod: Pod = serde_json::from_value(object).expect("pod");
    pods(client).create(&pod).await.expect("create pod")
}

pub fn pods(client: &Client) -> Api<Pod> {
    Api::namespaced(client.clone(), "default")
}

/// Polls `check` until it returns `Some`, failing the test after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The node a pod is bound to, once it is.
pub async fn bound_node(client: &Client, pod: &str) -> String {
    eventually(&format!("pod {pod} to be bound"), Duration::from_secs(10), || async {
        let pod = pods(client).get(pod).await.ok()?;
        pod.spec.node_name.filter(|n| !n.is_empty())
    })
    .await
}

/// The events about `pod` with `reason`.
pub async fn events_for(client: &Client, pod: &str, reason: &str) -> Vec<Event> {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let selector = format!("involvedObject.name={pod},reason={reason}");
    events
        .list(&ListParams::default().fields(&selector))
        .await
        .map(|list| list.items)
        .unwrap_or_default()
}

/// Scheduler settings for tests: no leader election unless asked, short back-offs.
pub fn config(identity: &str) -> SchedulerConfig {
    let mut config = SchedulerConfig::default().with_identity(identity);
    config.leader_elect = false;
    config.backoff = BackoffConfig {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(500),
        max_in_unschedulable: Duration::from_secs(60),
    };
    config
}

/// A scheduler running as a task; stopped (gracefully) by [`RunningScheduler::stop`] or killed by
/// dropping it.
pub struct RunningScheduler {
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<Result<(), SchedulerError>>,
}

impl RunningScheduler {
    pub async fn stop(mut self) -> Result<(), SchedulerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.expect("scheduler task")
    }
}

impl Drop for RunningScheduler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn spawn_scheduler(client: &Client, config: SchedulerConfig) -> RunningScheduler {
    let (stop, stopped) = oneshot::channel::<()>();
    let client = client.clone();
    let task = tokio::spawn(async move {
        kubelab_scheduler::run(config, client, async move {
            let _ = stopped.await;
        })
        .await
    });
    RunningScheduler { stop: Some(stop), task }
}
