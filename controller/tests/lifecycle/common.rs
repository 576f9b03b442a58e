//! A real API server over a sled store in a temp dir, and helpers to run a controller against it.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use kubelab_api::core::Event;
use kubelab_apiserver::testing::InProcessApiserver;
use kubelab_client::{Api, Client, Config, DynamicApi, ListParams};
use serde_json::Value;
use tokio::sync::watch;
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

/// A controller running as a task, stopped through its shutdown channel when dropped.
pub struct Running<E: Send + 'static> {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<Result<(), E>>>,
}

impl<E: Send + std::fmt::Debug + 'static> Running<E> {
    pub fn spawn<F>(run: impl FnOnce(watch::Receiver<bool>) -> F) -> Self
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(stopped));
        Running { stop, task: Some(task) }
    }

    /// Asks the controller to stop and checks that it stops cleanly and soon.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("controller stops within 10 s")
                .expect("controller task");
            result.expect("controller ends without error");
        }
    }
}

impl<E: Send + 'static> Drop for Running<E> {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
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
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The untyped API of `kind` in `default` (or cluster-wide for cluster-scoped kinds).
pub fn api(client: &Client, api_version: &str, kind: &str) -> DynamicApi {
    DynamicApi::for_kind(client.clone(), api_version, kind, Some("default")).expect("served kind")
}

pub async fn create(client: &Client, api_version: &str, kind: &str, object: Value) -> Value {
    api(client, api_version, kind)
        .create(&object)
        .await
        .unwrap_or_else(|e| panic!("create {kind}: {e}"))
}

pub fn uid(object: &Value) -> String {
    object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .expect("uid")
        .to_string()
}

/// An ownerReference to `owner`.
pub fn owner_ref(owner: &Value, block: bool) -> Value {
    serde_json::json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": block,
    })
}

/// Events in `namespace` with `reason` about the object named `name`.
pub async fn events(client: &Client, namespace: &str, name: &str, reason: &str) -> Vec<Event> {
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let selector = format!("involvedObject.name={name},reason={reason}");
    events
        .list(&ListParams::default().fields(&selector))
        .await
        .map(|list| list.items)
        .unwrap_or_default()
}
