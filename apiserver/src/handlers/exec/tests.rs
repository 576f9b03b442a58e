//! The exec proxy's checks, without a socket: everything refused before an upgrade. The upgrade
//! itself, through a real agent to a real container, is `tests/exec.rs` at the workspace root.

use serde_json::json;

use super::*;
use crate::tests::Fixture;

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

#[test]
fn the_query_keeps_every_command_word_in_order() {
    let query = parse_query(Some(
        "command=sh&command=-c&command=echo%20hi%3B%20exit%203&container=app&stdin=true&stdout=1&tty=True",
    ))
    .unwrap();
    assert_eq!(
        query,
        ExecQuery {
            command: vec!["sh".into(), "-c".into(), "echo hi; exit 3".into()],
            container: Some("app".into()),
            streams: vec!["stdin", "stdout", "tty"],
        }
    );
    assert_eq!(
        agent_path("default", "web", "app", &query),
        "/exec/default/web/app?command=sh&command=-c&command=echo%20hi%3B%20exit%203&stdin=true&stdout=true&tty=true"
    );
    // The kubelet's older names.
    assert_eq!(
        parse_query(Some("command=ls&output=1")).unwrap().streams,
        vec!["stdout"]
    );
    let none = parse_query(Some("stdout=true")).unwrap_err();
    assert!(none.to_string().contains("at least 1 command"), "{none}");
    let no_stream = parse_query(Some("command=ls&tty=true")).unwrap_err();
    assert!(no_stream.to_string().contains("stdin, stdout, stderr"), "{no_stream}");
    assert!(parse_query(Some("command=ls&stdout=perhaps")).is_err());
}

#[test]
fn the_agent_address_comes_from_the_node() {
    let node = json!({"status": {
        "addresses": [{"type": "Hostname", "address": "n"}, {"type": "InternalIP", "address": "127.0.0.2"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}
    }});
    assert_eq!(agent_address(&node), Some(("127.0.0.2".parse().unwrap(), 10250)));
    assert_eq!(agent_address(&json!({"status": {}})), None);
    let no_port = json!({"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.2"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}}}});
    assert_eq!(agent_address(&no_port), None);
}

#[tokio::test]
async fn refusals_are_statuses_with_kubernetes_wording() {
    let f = Fixture::new().await;
    let exec = |pod: &str, query: &str| format!("/api/v1/namespaces/default/pods/{pod}/exec?{query}");
    f.get(&exec("ghost", "command=ls&stdout=true"))
        .await
        .assert_status(404, "NotFound");

    pod(&f, "web", Some("node-a"), &["app", "side"]).await;
    let reply = f.get(&exec("web", "command=ls&stdout=true&container=nope")).await;
    reply.assert_status(400, "BadRequest");
    assert_eq!(reply.json["message"], "container nope is not valid for pod web");
    let reply = f.get(&exec("web", "command=ls&stdout=true")).await;
    reply.assert_status(400, "BadRequest");
    assert!(reply.json["message"]
        .as_str()
        .unwrap()
        .contains("choose one of: [app side]"));
    f.get(&exec("web", "stdout=true&container=app"))
        .await
        .assert_status(400, "BadRequest");

    // A container that does not run (yet): kubectl's wording.
    let reply = f.get(&exec("web", "command=ls&stdout=true&container=app")).await;
    reply.assert_status(400, "BadRequest");
    assert_eq!(
        reply.json["message"],
        "unable to upgrade connection: container not found (\"app\")"
    );
    let mut running = f.get("/api/v1/namespaces/default/pods/web").await.json;
    running["status"]["containerStatuses"] = json!([{
        "name": "app", "image": "kubelab/demo:latest", "imageID": "", "ready": true, "restartCount": 0,
        "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    }]);
    let reply = f.put("/api/v1/namespaces/default/pods/web/status", &running).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    // Not a WebSocket upgrade (kubectl's SPDY fallback, or curl): says what is needed, once
    // everything else checked out.
    f.get(&exec("web", "command=ls&stdout=true&container=app"))
        .await
        .assert_status(503, "ServiceUnavailable");
    f.create("/api/v1/nodes", &json!({"metadata": {"name": "node-a"}}))
        .await;
    let mut node = f.get("/api/v1/nodes/node-a").await.json;
    node["status"] = json!({
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}
    });
    assert_eq!(f.put("/api/v1/nodes/node-a/status", &node).await.status, StatusCode::OK);
    let reply = f.get(&exec("web", "command=ls&stdout=true&container=app")).await;
    reply.assert_status(400, "BadRequest");
    assert!(
        reply.json["message"].as_str().unwrap().contains("WebSocket"),
        "{}",
        reply.text
    );

    pod(&f, "pending", None, &["app"]).await;
    let reply = f.get(&exec("pending", "command=ls&stdout=true")).await;
    reply.assert_status(400, "BadRequest");
    assert_eq!(reply.json["message"], "pod pending does not have a host assigned");

    let reply = f
        .send(Method::DELETE, &exec("web", "command=ls&stdout=true"), None, None)
        .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{}", reply.text);
}
