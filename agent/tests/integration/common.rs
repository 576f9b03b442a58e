//! A real API server in-process (sled in a temp dir, on a free loopback port) and agents on the
//! hollow runtime, with every interval shortened so the tests run in seconds.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kubelab_agent::runtime::hollow::{HollowConfig, HollowRuntime};
use kubelab_agent::runtime::ContainerRuntime;
use kubelab_agent::AgentConfig;
use kubelab_api::core::Pod;
use kubelab_apiserver::testing::InProcessApiserver;
use kubelab_client::{Api, Client, Config};
use serde_json::Value;
use tokio::sync::oneshot;

pub struct TestServer {
    pub client: Client,
    pub server: InProcessApiserver,
}

pub async fn start_server() -> TestServer {
    let server = InProcessApiserver::start().await.expect("in-process apiserver");
    let client = Client::new(Config::new(server.url.clone())).expect("client");
    TestServer { client, server }
}

/// An agent configuration with test-sized intervals.
pub fn fast_config(node: &str) -> AgentConfig {
    let mut config = AgentConfig::new(node, "test");
    config.lease_renew_interval = Duration::from_millis(300);
    config.status_update_interval = Duration::from_secs(1);
    config.relist_interval = Duration::from_millis(100);
    config.housekeeping_interval = Duration::from_millis(300);
    config.resync_interval = Duration::from_secs(5);
    config.crash_backoff_base = Duration::from_millis(200);
    config.crash_backoff_max = Duration::from_secs(1);
    config
}

pub fn hollow(node: &str) -> Arc<HollowRuntime> {
    Arc::new(HollowRuntime::new(HollowConfig {
        run_for: Duration::from_millis(200),
        ..HollowConfig::new(node, "test")
    }))
}

/// A running agent; dropping it (or calling `stop`) stops it, leaving its containers.
pub struct RunningAgent {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), kubelab_agent::AgentError>>,
}

impl RunningAgent {
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = &mut self.task;
        let result = within("the agent to stop", task).await;
        assert!(matches!(result, Ok(Ok(()))), "agent ended with {result:?}");
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn start_agent(config: AgentConfig, client: &Client, runtime: Arc<dyn ContainerRuntime>) -> RunningAgent {
    let (tx, rx) = oneshot::channel::<()>();
    let client = client.clone();
    let task = tokio::spawn(async move {
        kubelab_agent::run(config, client, runtime, async {
            let _ = rx.await;
        })
        .await
    });
    RunningAgent { stop: Some(tx), task }
}

/// Fails the test if `future` takes longer than 30 s.
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(30), future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Polls `check` every 50 ms until it returns `Some`, for at most 30 s.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    within(what, async {
        let mut ticker = tokio::time::interval(Duration::from_millis(50));
        loop {
            ticker.tick().await;
            if let Some(value) = check().await {
                return value;
            }
        }
    })
    .await
}

pub fn pod(value: Value) -> Pod {
    serde_json::from_value(value).expect("test pod decodes")
}

/// A pod bound to `node` with one container per `(name, image)`.
pub fn bound_pod(name: &str, node: &str, containers: &[(&str, &str)]) -> Pod {
    let containers: Vec<Value> = containers
        .iter()
        .map(|(n, i)| serde_json::json!({"name": n, "image": i}))
        .collect();
    pod(serde_json::json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "containers": containers, "terminationGracePeriodSeconds": 2}
    }))
}

pub async fn get_pod(client: &Client, name: &str) -> Option<Pod> {
    Api::<Pod>::namespaced(client.clone(), "default")
        .get_opt(name)
        .await
        .expect("get pod")
}

pub fn condition(pod: &Pod, type_: &str) -> Option<String> {
    pod.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.clone())
}

pub fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.phase.as_deref()
}
