//! The API server as users meet it: a real process on a loopback port, driven over HTTP with the
//! example manifests from `examples/`, as the README's curl walk-through does.

mod common;

use std::time::Duration;

use common::{get_json, Apiserver};
use futures_util::StreamExt;

fn example(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))).expect("example file")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_examples_apply_and_watch_sees_them() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Apiserver::start(data.path()).await;
    let base = server.base_url();
    let http = reqwest::Client::new();

    // Start a watch on deployments first, from "now".
    let list = get_json(&http, &format!("{base}/apis/apps/v1/namespaces/default/deployments")).await;
    assert_eq!(list["kind"], "DeploymentList");
    assert_eq!(list["items"], serde_json::json!([]));
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .expect("list resourceVersion")
        .to_string();
    let watch = http
        .get(format!(
            "{base}/apis/apps/v1/namespaces/default/deployments?watch=true&resourceVersion={rv}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(watch.status(), 200);
    let mut events = watch.bytes_stream();

    // A YAML body is accepted whatever the Content-Type says.
    let created = http
        .post(format!("{base}/apis/apps/v1/namespaces/default/deployments"))
        .header("content-type", "application/yaml")
        .body(example("web-deployment.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.unwrap();
    assert_eq!(created["metadata"]["generation"], 1);
    assert!(created["metadata"]["uid"].as_str().is_some_and(|u| !u.is_empty()));

    // The watch delivers it, as one newline-terminated JSON line.
    let mut pending = Vec::new();
    let line = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(end) = pending.iter().position(|b| *b == b'\n') {
                return pending[..end].to_vec();
            }
            let chunk = events.next().await.expect("watch stream ended").expect("watch chunk");
            pending.extend_from_slice(&chunk);
        }
    })
    .await
    .expect("no watch event within 10 s");
    let event: serde_json::Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(event["type"], "ADDED");
    assert_eq!(event["object"]["metadata"]["name"], "web");
    assert_eq!(
        event["object"]["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    // A misspelt field is refused with its path, and nothing is stored.
    let refused = http
        .post(format!("{base}/apis/apps/v1/namespaces/default/deployments"))
        .body(example("typo-deployment.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let status: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(status["kind"], "Status");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("spec.selector.matchLables"),
        "{status}"
    );
    let typo = http
        .get(format!("{base}/apis/apps/v1/namespaces/default/deployments/typo"))
        .send()
        .await
        .unwrap();
    assert_eq!(typo.status(), 404);

    server.stop().await;
}
