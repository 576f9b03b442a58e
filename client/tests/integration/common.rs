//! A real API server, in-process, on a free loopback port, over a sled store in a temp dir.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use kubelab_apiserver::store::sled_store::SledOptions;
use kubelab_apiserver::testing::InProcessApiserver;
use kubelab_client::{Client, Config};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub struct TestServer {
    pub client: Client,
    pub server: InProcessApiserver,
}

pub async fn start() -> TestServer {
    start_with(SledOptions::default()).await
}

pub async fn start_with(options: SledOptions) -> TestServer {
    let server = InProcessApiserver::start_with(options)
        .await
        .expect("in-process apiserver");
    let client = Client::new(Config::new(server.url.clone())).expect("client");
    TestServer { client, server }
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
