//! Server-side Tables through the router: what `kubectl get`, `-o wide` and `-w` receive.

use futures_util::StreamExt;
use serde_json::json;

use super::*;
use crate::store::sled_store::SledOptions;

/// What kubectl 1.32 sends for human-readable output.
const TABLE: &str =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

impl Fixture {
    /// A GET with an Accept header.
    async fn get_accept(&self, uri: &str, accept: &str) -> Reply {
        let request = Request::builder()
            .method(Method::GET)
            .uri(uri)
            .header("accept", accept)
            .body(Body::empty())
            .expect("request");
        let response = self.app().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        Reply {
            status,
            headers,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(&bytes).to_string(),
        }
    }

    /// A watch with an Accept header.
    async fn watch_accept(&self, uri: &str, accept: &str) -> WatchLines {
        let request = Request::builder()
            .method(Method::GET)
            .uri(uri)
            .header("accept", accept)
            .body(Body::empty())
            .expect("request");
        let response = self.app().oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        WatchLines {
            stream: response.into_body().into_data_stream().boxed(),
            buffer: Vec::new(),
        }
    }
}

/// The names of a Table's columns, with their priorities.
fn columns(table: &Value) -> Vec<(String, u64)> {
    table["columnDefinitions"]
        .as_array()
        .expect("columnDefinitions")
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["priority"].as_u64().unwrap()))
        .collect()
}

/// The cells of each row.
fn rows(table: &Value) -> Vec<Vec<Value>> {
    table["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["cells"].as_array().unwrap().clone())
        .collect()
}

#[tokio::test]
async fn list_answers_a_table_with_kubectl_columns() {
    let f = Fixture::new().await;
    f.create(PODS, &pod("a", json!({"app": "web"}))).await;
    f.create(PODS, &pod("b", json!({}))).await;
    let reply = f.get_accept(&format!("{PODS}?limit=500"), TABLE).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let table = &reply.json;
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    assert!(table["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .is_ok());
    let cols = columns(table);
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    // The -o wide columns are there, at priority 1; the others at 0.
    assert!(cols[..5].iter().all(|(_, p)| *p == 0));
    assert!(cols[5..].iter().all(|(_, p)| *p == 1));
    assert_eq!(table["columnDefinitions"][0]["format"], "name");
    let rows = rows(table);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][..4], [json!("a"), json!("0/1"), json!("Pending"), json!("0")]);
    assert_eq!(rows[0].len(), cols.len(), "every cell, wide ones included");
    // Each row carries the object's metadata, for -A and --show-labels.
    let object = &table["rows"][0]["object"];
    assert_eq!(object["kind"], "PartialObjectMetadata");
    assert_eq!(object["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(object["metadata"]["namespace"], "default");
    assert_eq!(object["metadata"]["labels"]["app"], "web");
    // Pages keep their continue token.
    let page = f.get_accept(&format!("{PODS}?limit=1"), TABLE).await.json;
    assert_eq!(rows_len(&page), 1);
    assert!(page["metadata"]["continue"].is_string(), "{page}");
    // Across namespaces, and with a selector.
    let all = f.get_accept("/api/v1/pods?labelSelector=app%3Dweb", TABLE).await.json;
    assert_eq!(rows_len(&all), 1);
}

fn rows_len(table: &Value) -> usize {
    table["rows"].as_array().map(Vec::len).unwrap_or(0)
}

#[tokio::test]
async fn get_answers_a_one_row_table() {
    let f = Fixture::new().await;
    let created = f.create(DEPLOYMENTS, &deployment("web", 3)).await;
    let reply = f.get_accept(&format!("{DEPLOYMENTS}/web"), TABLE).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["kind"], "Table");
    assert_eq!(
        reply.json["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
    assert_eq!(
        columns(&reply.json),
        [
            ("Name".to_string(), 0),
            ("Ready".to_string(), 0),
            ("Up-to-date".to_string(), 0),
            ("Available".to_string(), 0),
            ("Age".to_string(), 0),
            ("Containers".to_string(), 1),
            ("Images".to_string(), 1),
            ("Selector".to_string(), 1),
        ]
    );
    let rows = rows(&reply.json);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][..4], [json!("web"), json!("0/3"), json!(0), json!(0)]);
    assert_eq!(rows[0][5..], [json!("app"), json!("nginx:1.27"), json!("app=web")]);
    // Errors are Status objects, as without Tables.
    f.get_accept(&format!("{DEPLOYMENTS}/nope"), TABLE)
        .await
        .assert_status(404, "NotFound");
}

#[tokio::test]
async fn include_object_and_v1beta1() {
    let f = Fixture::new().await;
    let created = f.create(PODS, &pod("a", json!({}))).await;
    let full = f.get_accept(&format!("{PODS}?includeObject=Object"), TABLE).await.json;
    assert_eq!(full["rows"][0]["object"], created);
    let none = f.get_accept(&format!("{PODS}/a?includeObject=None"), TABLE).await.json;
    assert!(none["rows"][0].get("object").is_none(), "{none}");
    f.get_accept(&format!("{PODS}?includeObject=Everything"), TABLE)
        .await
        .assert_status(400, "BadRequest");
    let beta = f
        .get_accept(PODS, "application/json;as=Table;v=v1beta1;g=meta.k8s.io")
        .await
        .json;
    assert_eq!(beta["apiVersion"], "meta.k8s.io/v1beta1");
    assert_eq!(beta["rows"][0]["object"]["apiVersion"], "meta.k8s.io/v1beta1");
}

#[tokio::test]
async fn cluster_scoped_kinds_and_the_default_table() {
    let f = Fixture::new().await;
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1",
        "labels": {"node-role.kubernetes.io/worker": ""}}});
    f.create("/api/v1/nodes", &node).await;
    let table = f.get_accept("/api/v1/nodes", TABLE).await.json;
    let cols = columns(&table);
    assert_eq!(cols.len(), 10);
    assert_eq!(cols[9], ("Container-Runtime".to_string(), 1));
    assert_eq!(
        rows(&table)[0][..3],
        [json!("node-1"), json!("Unknown"), json!("worker")]
    );
    let namespaces = f.get_accept("/api/v1/namespaces", TABLE).await.json;
    assert!(rows(&namespaces)
        .iter()
        .any(|r| r[..2] == [json!("default"), json!("Active")]));
}

#[tokio::test]
async fn plain_requests_are_unchanged() {
    let f = Fixture::new().await;
    let created = f.create(PODS, &pod("a", json!({}))).await;
    for accept in ["application/json", "application/json, */*", "*/*"] {
        let list = f.get_accept(PODS, accept).await.json;
        assert_eq!(list["kind"], "PodList", "{accept}");
        assert_eq!(list["items"][0], created);
        let one = f.get_accept(&format!("{PODS}/a"), accept).await.json;
        assert_eq!(one, created);
    }
    // No Accept header at all.
    assert_eq!(f.get(&format!("{PODS}/a")).await.json, created);
    let mut watch = f.watch(&format!("{PODS}?watch=true")).await;
    assert_eq!(watch.expect("ADDED").await, created);
}

#[tokio::test]
async fn watch_events_are_one_row_tables() {
    let f = Fixture::new().await;
    f.create(PODS, &pod("a", json!({}))).await;
    let list = f.get_accept(PODS, TABLE).await.json;
    let from = list["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    // From "0": the existing pod first, as an ADDED one-row Table.
    let mut initial = f.watch_accept(&format!("{PODS}?watch=true"), TABLE).await;
    let added = initial.expect("ADDED").await;
    assert_eq!(added["kind"], "Table");
    assert_eq!(rows(&added).len(), 1);
    assert_eq!(rows(&added)[0][0], "a");
    // As kubectl does it: from the list's revision, only what changes after.
    let mut watch = f
        .watch_accept(&format!("{PODS}?resourceVersion={from}&watch=true"), TABLE)
        .await;
    let b = f.create(PODS, &pod("b", json!({}))).await;
    let event = watch.expect("ADDED").await;
    assert_eq!(event["kind"], "Table");
    assert_eq!(event["metadata"]["resourceVersion"], b["metadata"]["resourceVersion"]);
    assert_eq!(columns(&event).len(), 9);
    assert_eq!(rows(&event)[0][..3], [json!("b"), json!("0/1"), json!("Pending")]);
    assert_eq!(event["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    f.patch(
        &format!("{PODS}/b/status"),
        "application/merge-patch+json",
        &json!({"status": {"phase": "Running"}}),
    )
    .await;
    let modified = watch.expect("MODIFIED").await;
    assert_eq!(rows(&modified)[0][2], "Running");
    f.delete(&format!("{PODS}/b")).await;
    let deleted = watch.expect("DELETED").await;
    assert_eq!(rows(&deleted)[0][0], "b");
}

#[tokio::test]
async fn bookmark_and_error_events_are_not_tables() {
    let f = Fixture::with_options(SledOptions {
        history: 2,
        ..SledOptions::default()
    })
    .await;
    let mut watch = f
        .watch_accept(
            &format!("{PODS}?watch=true&allowWatchBookmarks=true&labelSelector=app%3Dnone"),
            TABLE,
        )
        .await;
    f.create(PODS, &pod("web", json!({"app": "web"}))).await;
    assert_eq!(watch.expect("BOOKMARK").await["kind"], "Pod");
    for i in 0..10 {
        f.create(PODS, &pod(&format!("p{i}"), json!({}))).await;
    }
    let mut old = f
        .watch_accept(&format!("{PODS}?watch=true&resourceVersion=1"), TABLE)
        .await;
    let status = old.expect("ERROR").await;
    assert_eq!(
        (status["kind"].as_str(), status["code"].as_u64()),
        (Some("Status"), Some(410))
    );
}
