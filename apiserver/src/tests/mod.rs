//! Handler tests: the whole router, driven without a socket (`Router::oneshot`), over a real
//! sled store in a temporary directory.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;

use crate::registry::namespace::ensure_built_in;
use crate::state::AppState;
use crate::store::sled_store::{SledOptions, SledStore};
use crate::store::Store;

mod crud;
mod deletion;
mod discovery;
mod errors;
mod list;
mod server;
mod services;
mod subresources;
mod tables;
mod watch;

/// How long a test waits for something that should happen at once.
const DEADLINE: Duration = Duration::from_secs(10);

/// A server over a fresh store.
pub struct Fixture {
    _dir: TempDir,
    pub state: AppState,
    pub store: Arc<dyn Store>,
}

impl Fixture {
    pub async fn new() -> Self {
        Self::with_options(SledOptions::default()).await
    }

    pub async fn with_options(options: SledOptions) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), options).expect("open store"));
        ensure_built_in(store.as_ref()).await.expect("built-in namespaces");
        let state = AppState::new(store.clone())
            .with_bookmark_interval(Duration::from_millis(100))
            .with_namespace_sweep_interval(Duration::from_millis(20));
        Fixture {
            _dir: dir,
            state,
            store,
        }
    }

    pub fn app(&self) -> Router {
        crate::app(self.state.clone())
    }

    /// Sends a request; the body is sent as is, with `content_type` if given.
    pub async fn send(&self, method: Method, uri: &str, body: Option<&str>, content_type: Option<&str>) -> Reply {
        let body = body.unwrap_or("").as_bytes().to_vec();
        self.send_bytes(method, uri, body, content_type).await
    }

    /// As [`Fixture::send`], with a binary body.
    pub async fn send_bytes(&self, method: Method, uri: &str, body: Vec<u8>, content_type: Option<&str>) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let request = request.body(Body::from(body)).expect("request");
        let response = self.app().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = tokio::time::timeout(DEADLINE, axum::body::to_bytes(response.into_body(), usize::MAX))
            .await
            .expect("body in time")
            .expect("body");
        let text = String::from_utf8_lossy(&bytes).to_string();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            json,
            text,
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, None, None).await
    }

    pub async fn post(&self, uri: &str, body: &Value) -> Reply {
        self.send(Method::POST, uri, Some(&body.to_string()), Some("application/json"))
            .await
    }

    pub async fn put(&self, uri: &str, body: &Value) -> Reply {
        self.send(Method::PUT, uri, Some(&body.to_string()), Some("application/json"))
            .await
    }

    pub async fn patch(&self, uri: &str, content_type: &str, body: &Value) -> Reply {
        self.send(Method::PATCH, uri, Some(&body.to_string()), Some(content_type))
            .await
    }

    pub async fn delete(&self, uri: &str) -> Reply {
        self.send(Method::DELETE, uri, None, None).await
    }

    /// Creates an object and insists it worked.
    pub async fn create(&self, uri: &str, body: &Value) -> Value {
        let reply = self.post(uri, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.json
    }

    /// Opens a watch and returns its line stream.
    pub async fn watch(&self, uri: &str) -> WatchLines {
        let request = Request::builder()
            .method(Method::GET)
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        let response = self.app().oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        WatchLines {
            stream: response.into_body().into_data_stream().boxed(),
            buffer: Vec::new(),
        }
    }
}

/// A finished response.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Reply {
    /// Asserts this is a Status failure with the code and reason.
    pub fn assert_status(&self, code: u16, reason: &str) {
        assert_eq!(self.status.as_u16(), code, "{}", self.text);
        assert_eq!(self.json["kind"], "Status", "{}", self.text);
        assert_eq!(self.json["status"], "Failure", "{}", self.text);
        assert_eq!(self.json["code"], code, "{}", self.text);
        assert_eq!(self.json["reason"], reason, "{}", self.text);
        assert_eq!(self.headers["content-type"], "application/json");
    }
}

/// The events of a watch response, one JSON line at a time.
pub struct WatchLines {
    stream: futures_util::stream::BoxStream<'static, Result<axum::body::Bytes, axum::Error>>,
    buffer: Vec<u8>,
}

impl WatchLines {
    /// The next event, or None if the stream ended. Panics after the deadline.
    pub async fn next(&mut self) -> Option<Value> {
        self.next_within(DEADLINE).await.expect("a watch event in time")
    }

    /// The next event within `wait`: Err(()) on timeout, Ok(None) at the end.
    pub async fn next_within(&mut self, wait: Duration) -> Result<Option<Value>, ()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(pos) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=pos).collect();
                return Ok(Some(serde_json::from_slice(&line).expect("each line is JSON")));
            }
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Err(()),
                Ok(None) => return Ok(None),
                Ok(Some(chunk)) => self.buffer.extend_from_slice(&chunk.expect("chunk")),
            }
        }
    }

    /// The next event, insisting on its type; returns its object.
    pub async fn expect(&mut self, event_type: &str) -> Value {
        let event = self.next().await.expect("stream still open");
        assert_eq!(event["type"], event_type, "{event}");
        event["object"].clone()
    }
}

pub const PODS: &str = "/api/v1/namespaces/default/pods";
pub const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";

/// A valid pod.
pub fn pod(name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
    })
}

/// A valid deployment.
pub fn deployment(name: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
        },
    })
}

/// The resourceVersion of an object, as a number.
pub fn rv(object: &Value) -> u64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("resourceVersion")
}
