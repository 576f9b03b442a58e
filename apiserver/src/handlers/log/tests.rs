//! The log proxy against a fake agent: an axum server on a free loopback port.

use std::time::Duration;

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;
use serde_json::json;

use super::*;
use crate::tests::Fixture;

/// A fake agent: `/containerLogs/...` answers with the path and query it got; container
/// `missing` is a 404, and `follow=true` streams a line, then another after a pause.
async fn fake_agent() -> u16 {
    let app = Router::new().route(
        "/containerLogs/{ns}/{pod}/{container}",
        get(
            |Path((ns, pod, container)): Path<(String, String, String)>, RawQuery(q): RawQuery| async move {
                let q = q.unwrap_or_default();
                if container == "missing" {
                    return (StatusCode::NOT_FOUND, "container \"missing\" is not available\n").into_response();
                }
                let first = format!("{ns}/{pod}/{container} {q}\n");
                if q.contains("follow=true") {
                    let lines = futures_util::stream::iter([first, "second\n".to_string()]).then(|line| async move {
                        if line == "second\n" {
                            tokio::time::sleep(Duration::from_millis(300)).await;
                        }
                        Ok::<_, std::io::Error>(line)
                    });
                    return Response::new(Body::from_stream(lines));
                }
                first.into_response()
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port
}

use axum::response::IntoResponse;

async fn node(f: &Fixture, name: &str, ip: &str, port: u16) {
    f.create("/api/v1/nodes", &json!({"metadata": {"name": name}})).await;
    let mut node = f.get(&format!("/api/v1/nodes/{name}")).await.json;
    node["status"] = json!({
        "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}
    });
    let reply = f.put(&format!("/api/v1/nodes/{name}/status"), &node).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

async fn pod(f: &Fixture, name: &str, node: Option<&str>, containers: &[&str]) {
    let containers: Vec<Value> = containers
        .iter()
        .map(|c| json!({"name": c, "image": "kubelab/demo:latest"}))
        .collect();
    let mut spec = json!({"containers": containers});
    if let Some(node) = node {
        spec["nodeName"] = json!(node);
    }
    f.create(
        "/api/v1/namespaces/default/pods",
        &json!({"metadata": {"name": name}, "spec": spec}),
    )
    .await;
}

#[tokio::test]
async fn logs_are_proxied_from_the_pods_node() {
    let f = Fixture::new().await;
    let port = fake_agent().await;
    node(&f, "node-a", "127.0.0.1", port).await;
    pod(&f, "solo", Some("node-a"), &["app"]).await;
    pod(&f, "web", Some("node-a"), &["a", "b"]).await;

    let reply = f.get("/api/v1/namespaces/default/pods/solo/log").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.headers["content-type"], "text/plain");
    assert_eq!(reply.text, "default/solo/app \n");

    let reply = f
        .get("/api/v1/namespaces/default/pods/web/log?container=b&tailLines=10&timestamps=true&previous=1")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.text, "default/web/b timestamps=true&previous=true&tailLines=10\n");

    let reply = f.get("/api/v1/namespaces/default/pods/web/log").await;
    reply.assert_status(400, "BadRequest");
    assert_eq!(
        reply.json["message"],
        "a container name must be specified for pod web, choose one of: [a b]"
    );
    let reply = f.get("/api/v1/namespaces/default/pods/web/log?container=c").await;
    reply.assert_status(400, "BadRequest");
    assert_eq!(reply.json["message"], "container c is not valid for pod web");
    f.get("/api/v1/namespaces/default/pods/solo/log?tailLines=-1")
        .await
        .assert_status(400, "BadRequest");
    f.get("/api/v1/namespaces/default/pods/solo/log?follow=perhaps")
        .await
        .assert_status(400, "BadRequest");
}

#[tokio::test]
async fn follow_streams_as_the_agent_writes() {
    let f = Fixture::new().await;
    let port = fake_agent().await;
    node(&f, "node-a", "127.0.0.1", port).await;
    pod(&f, "solo", Some("node-a"), &["app"]).await;
    let request = axum::http::Request::builder()
        .uri("/api/v1/namespaces/default/pods/solo/log?follow=true")
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(f.app(), request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body().into_data_stream();
    let first = tokio::time::timeout(Duration::from_secs(5), body.next()).await.unwrap();
    assert_eq!(first.unwrap().unwrap(), "default/solo/app follow=true\n");
    let second = tokio::time::timeout(Duration::from_secs(5), body.next()).await.unwrap();
    assert_eq!(second.unwrap().unwrap(), "second\n");
}

#[tokio::test]
async fn clear_errors_when_the_pod_or_its_node_cannot_answer() {
    let f = Fixture::new().await;
    f.get("/api/v1/namespaces/default/pods/ghost/log")
        .await
        .assert_status(404, "NotFound");

    pod(&f, "pending", None, &["app"]).await;
    let reply = f.get("/api/v1/namespaces/default/pods/pending/log").await;
    reply.assert_status(400, "BadRequest");
    assert_eq!(reply.json["message"], "pod pending does not have a host assigned");

    // A port nothing listens on: the agent is down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    node(&f, "node-down", "127.0.0.1", closed).await;
    pod(&f, "orphan", Some("node-down"), &["app"]).await;
    let reply = f.get("/api/v1/namespaces/default/pods/orphan/log").await;
    reply.assert_status(503, "ServiceUnavailable");
    assert!(
        reply.json["message"].as_str().unwrap().contains("node-down"),
        "{}",
        reply.text
    );

    // An address outside loopback and kubelab's networks is never contacted.
    node(&f, "node-far", "192.0.2.7", 10250).await;
    pod(&f, "far", Some("node-far"), &["app"]).await;
    let reply = f.get("/api/v1/namespaces/default/pods/far/log").await;
    reply.assert_status(403, "Forbidden");
    assert!(reply.json["message"].as_str().unwrap().contains("192.0.2.7"));

    // The agent's own refusal is passed on.
    let port = fake_agent().await;
    node(&f, "node-a", "127.0.0.1", port).await;
    pod(&f, "half", Some("node-a"), &["missing"]).await;
    let reply = f.get("/api/v1/namespaces/default/pods/half/log").await;
    reply.assert_status(400, "BadRequest");
    assert!(reply.text.contains("is not available"), "{}", reply.text);

    let discovery = f.get("/api/v1").await.json;
    let names: Vec<&str> = discovery["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(names.contains(&"pods/log"), "{names:?}");
}

#[test]
fn only_loopback_and_kubelab_networks() {
    let ok = |s: &str| allowed_agent_address(s.parse().unwrap());
    assert!(ok("127.0.0.1") && ok("127.0.0.9") && ok("::1"));
    assert!(ok("10.128.0.1") && ok("10.255.255.254"));
    assert!(!ok("10.127.255.255") && !ok("192.168.1.1") && !ok("8.8.8.8") && !ok("::"));
}
