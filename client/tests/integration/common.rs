//! A real API server, in-process, on a free loopback port, over a sled store in a temp dir.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kubelab_apiserver::store::sled_store::{SledOptions, SledStore};
use kubelab_apiserver::store::Store;
use kubelab_apiserver::AppState;
use kubelab_client::{Client, Config};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub struct TestServer {
    pub client: Client,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start() -> TestServer {
    start_with(SledOptions::default()).await
}

pub async fn start_with(options: SledOptions) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), options).expect("open sled store"));
    kubelab_apiserver::registry::namespace::ensure_built_in(store.as_ref())
        .await
        .expect("built-in namespaces");
    let app = kubelab_apiserver::app(AppState::new(store));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = Client::new(Config::new(format!("http://{addr}"))).expect("client");
    TestServer {
        client,
        task,
        _dir: dir,
    }
}

/// Decodes a typed object from JSON, so tests do not depend on the types' Rust shape.
pub fn object<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("test object decodes")
}

/// Fails the test if `future` takes longer than 10 s.
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(10), future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}
