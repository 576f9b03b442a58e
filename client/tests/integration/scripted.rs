//! The watcher against a scripted fake server, to drive it through the paths a healthy server
//! rarely takes: bookmarks, an ERROR 410 event, an HTTP 410, and resuming from the right
//! revision each time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;
use kubelab_api::core::ConfigMap;
use kubelab_api::Object;
use kubelab_client::watcher::watcher_with_backoff;
use kubelab_client::{Api, Backoff, Client, Config, ListParams, WatcherEvent};
use serde_json::json;

use crate::common::within;

#[derive(Clone, Default)]
struct Script {
    /// Each request as `list` or `watch@<resourceVersion>`.
    requests: Arc<Mutex<Vec<String>>>,
}

fn cm(name: &str, rv: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default", "resourceVersion": rv}})
}

fn list(items: Vec<serde_json::Value>, rv: &str) -> Response {
    let body =
        json!({"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {"resourceVersion": rv}, "items": items});
    ([("content-type", "application/json")], body.to_string()).into_response()
}

fn events(lines: &[serde_json::Value]) -> Response {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    ([("content-type", "application/json")], body).into_response()
}

async fn handler(State(script): State<Script>, Query(query): Query<HashMap<String, String>>) -> Response {
    let watching = query.get("watch").map(String::as_str) == Some("true");
    let request = if watching {
        assert_eq!(query.get("allowWatchBookmarks").map(String::as_str), Some("true"));
        assert!(query.contains_key("timeoutSeconds"));
        format!("watch@{}", query.get("resourceVersion").cloned().unwrap_or_default())
    } else {
        "list".to_string()
    };
    let number = {
        let mut requests = script.requests.lock().unwrap_or_else(|e| e.into_inner());
        requests.push(request.clone());
        requests.len()
    };
    let gone = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired",
        "message": "too old resource version", "code": 410});
    match (number, request.as_str()) {
        (1, "list") => list(vec![cm("a", "5")], "5"),
        (2, "watch@5") => events(&[
            json!({"type": "ADDED", "object": cm("b", "6")}),
            json!({"type": "BOOKMARK", "object": {"kind": "ConfigMap", "metadata": {"resourceVersion": "8"}}}),
        ]),
        (3, "watch@8") => events(&[json!({"type": "ERROR", "object": gone})]),
        (4, "list") => list(vec![cm("b", "9")], "9"),
        (5, "watch@9") => (
            StatusCode::GONE,
            [("content-type", "application/json")],
            gone.to_string(),
        )
            .into_response(),
        (6, "list") => list(vec![], "10"),
        (_, "watch@10") => events(&[]),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("unexpected request {number}: {request}"),
        )
            .into_response(),
    }
}

#[tokio::test]
async fn watcher_follows_bookmarks_and_relists_after_410() {
    let script = Script::default();
    let app = Router::new()
        .route("/api/v1/namespaces/default/configmaps", get(handler))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = Client::new(Config::new(format!("http://{addr}"))).unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let backoff = Backoff::new(Duration::from_millis(5), Duration::from_millis(20));
    let mut stream = watcher_with_backoff(api, ListParams::default(), backoff);

    let mut seen = Vec::new();
    while seen.len() < 4 {
        let item = within("watcher events", stream.next()).await.expect("never ends");
        let event = item.unwrap_or_else(|e| panic!("watcher error: {e}"));
        let names = |items: &[ConfigMap]| {
            items
                .iter()
                .map(|o| o.metadata().name().to_string())
                .collect::<Vec<_>>()
        };
        seen.push(match event {
            WatcherEvent::Restarted(items) => format!("restarted {:?}", names(&items)),
            WatcherEvent::Added(o) => format!("added {}", o.metadata().name()),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(
        seen,
        ["restarted [\"a\"]", "added b", "restarted [\"b\"]", "restarted []"]
    );
    // Let it reconnect at least once more from revision 10.
    within("another watch", async {
        loop {
            let done = script.requests.lock().map(|r| r.len() >= 7).unwrap_or(true);
            if done {
                break;
            }
            tokio::select! {
                _ = stream.next() => {}
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        }
    })
    .await;
    let requests = script.requests.lock().unwrap().clone();
    assert_eq!(
        requests[..7],
        ["list", "watch@5", "watch@8", "list", "watch@9", "list", "watch@10"]
    );
    server.abort();
}
