use axum::http::{Method, StatusCode};
use serde_json::json;

use super::*;

#[tokio::test]
async fn namespaced_crud() {
    let f = Fixture::new().await;
    let created = f.create(PODS, &pod("web", json!({"app": "web"}))).await;
    assert_eq!(created["metadata"]["namespace"], "default");
    assert_eq!(created["metadata"]["generation"], 1);
    assert!(created["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36));
    assert!(created["metadata"]["creationTimestamp"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    let first_rv = rv(&created);

    let got = f.get(&format!("{PODS}/web")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json, created);

    f.post(PODS, &pod("web", json!({})))
        .await
        .assert_status(409, "AlreadyExists");

    let mut changed = created.clone();
    changed["metadata"]["labels"]["tier"] = json!("front");
    let updated = f.put(&format!("{PODS}/web"), &changed).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert!(rv(&updated.json) > first_rv);
    assert_eq!(updated.json["metadata"]["labels"]["tier"], "front");
    assert_eq!(updated.json["metadata"]["uid"], created["metadata"]["uid"]);

    let deleted = f.delete(&format!("{PODS}/web")).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    assert_eq!(deleted.json["metadata"]["name"], "web");
    let gone = f.get(&format!("{PODS}/web")).await;
    gone.assert_status(404, "NotFound");
    assert_eq!(gone.json["message"], "pods \"web\" not found");
    assert_eq!(gone.json["details"], json!({"name": "web", "kind": "pods"}));
    f.delete(&format!("{PODS}/web")).await.assert_status(404, "NotFound");
}

#[tokio::test]
async fn cluster_scoped_crud() {
    let f = Fixture::new().await;
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"zone": "a"}}});
    let created = f.create("/api/v1/nodes", &node).await;
    assert!(created["metadata"].get("namespace").is_none());
    assert_eq!(f.get("/api/v1/nodes/n1").await.json, created);
    let list = f.get("/api/v1/nodes").await;
    assert_eq!(list.json["kind"], "NodeList");
    assert_eq!(list.json["items"].as_array().map(Vec::len), Some(1));
    f.get("/api/v1/namespaces/default/nodes")
        .await
        .assert_status(404, "NotFound");
    f.get("/api/v1/namespaces/default/nodes/n1")
        .await
        .assert_status(404, "NotFound");
    let mut patched = created.clone();
    patched["metadata"]["labels"]["zone"] = json!("b");
    assert_eq!(f.put("/api/v1/nodes/n1", &patched).await.status, StatusCode::OK);
    assert_eq!(f.delete("/api/v1/nodes/n1").await.status, StatusCode::OK);
    f.get("/api/v1/nodes/n1").await.assert_status(404, "NotFound");
}

#[tokio::test]
async fn namespaces_are_objects_at_their_own_path() {
    let f = Fixture::new().await;
    let ns = f.get("/api/v1/namespaces/default").await;
    assert_eq!(ns.status, StatusCode::OK);
    assert_eq!(ns.json["status"]["phase"], "Active");
    let created = f
        .create(
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        )
        .await;
    assert_eq!(created["status"]["phase"], "Active");
    let status = f.get("/api/v1/namespaces/shop/status").await;
    assert_eq!(status.json["metadata"]["name"], "shop");
    let names: Vec<String> = f.get("/api/v1/namespaces").await.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["default", "kube-node-lease", "kube-system", "shop"]);
}

#[tokio::test]
async fn generate_name_completes_the_name() {
    let f = Fixture::new().await;
    let body =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "cfg-"}, "data": {"a": "b"}});
    let a = f.create("/api/v1/namespaces/default/configmaps", &body).await;
    let b = f.create("/api/v1/namespaces/default/configmaps", &body).await;
    let name = a["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("cfg-") && name.len() == 9, "{name}");
    assert_ne!(a["metadata"]["name"], b["metadata"]["name"]);
    // Kinds without spec have no generation.
    assert!(a["metadata"].get("generation").is_none());
    let nameless = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
    f.post("/api/v1/namespaces/default/configmaps", &nameless)
        .await
        .assert_status(422, "Invalid");
}

#[tokio::test]
async fn stale_resource_version_conflicts_and_unconditional_update_wins() {
    let f = Fixture::new().await;
    let created = f.create(PODS, &pod("web", json!({}))).await;
    let mut first = created.clone();
    first["metadata"]["labels"] = json!({"v": "1"});
    assert_eq!(f.put(&format!("{PODS}/web"), &first).await.status, StatusCode::OK);
    let before = f.store.current_revision();
    let mut stale = created.clone();
    stale["metadata"]["labels"] = json!({"v": "2"});
    let reply = f.put(&format!("{PODS}/web"), &stale).await;
    reply.assert_status(409, "Conflict");
    assert_eq!(
        reply.json["message"],
        "Operation cannot be fulfilled on pods \"web\": the object has been modified; please apply your changes to the latest version and try again"
    );
    assert_eq!(f.store.current_revision(), before, "nothing written");
    let mut unconditional = stale.clone();
    unconditional["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    let reply = f.put(&format!("{PODS}/web"), &unconditional).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["metadata"]["labels"]["v"], "2");
    // A different uid is a failed precondition.
    let mut other_uid = reply.json.clone();
    other_uid["metadata"]["uid"] = json!("00000000-0000-0000-0000-000000000000");
    f.put(&format!("{PODS}/web"), &other_uid)
        .await
        .assert_status(409, "Conflict");
    // PUT of a missing object does not create it.
    f.put(&format!("{PODS}/nope"), &pod("nope", json!({})))
        .await
        .assert_status(404, "NotFound");
    // The body's name must be the URL's.
    f.put(&format!("{PODS}/web"), &pod("other", json!({})))
        .await
        .assert_status(400, "BadRequest");
}

#[tokio::test]
async fn generation_moves_with_spec_only() {
    let f = Fixture::new().await;
    let created = f.create(DEPLOYMENTS, &deployment("web", 1)).await;
    assert_eq!(created["metadata"]["generation"], 1);
    let mut labelled = created.clone();
    labelled["metadata"]["labels"] = json!({"team": "a"});
    let labelled = f.put(&format!("{DEPLOYMENTS}/web"), &labelled).await.json;
    assert_eq!(labelled["metadata"]["generation"], 1);
    let mut scaled = labelled.clone();
    scaled["spec"]["replicas"] = json!(4);
    let scaled = f.put(&format!("{DEPLOYMENTS}/web"), &scaled).await.json;
    assert_eq!(scaled["metadata"]["generation"], 2);
    // Writing the same object again is a no-op: no new revision.
    let again = f.put(&format!("{DEPLOYMENTS}/web"), &scaled).await.json;
    assert_eq!(
        again["metadata"]["resourceVersion"],
        scaled["metadata"]["resourceVersion"]
    );
    // A client cannot set generation or uid or creationTimestamp.
    let mut forged = again.clone();
    forged["metadata"]["generation"] = json!(99);
    forged["metadata"]["creationTimestamp"] = json!("2000-01-01T00:00:00Z");
    let kept = f.put(&format!("{DEPLOYMENTS}/web"), &forged).await.json;
    assert_eq!(kept["metadata"]["generation"], 2);
    assert_eq!(
        kept["metadata"]["creationTimestamp"],
        created["metadata"]["creationTimestamp"]
    );
}

#[tokio::test]
async fn status_is_written_apart_from_the_object() {
    let f = Fixture::new().await;
    let created = f.create(PODS, &pod("web", json!({}))).await;
    // The main resource keeps the stored status.
    let mut with_status = created.clone();
    with_status["status"] = json!({"phase": "Running"});
    let reply = f.put(&format!("{PODS}/web"), &with_status).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_ne!(reply.json["status"]["phase"], "Running");
    // /status writes status only.
    let mut status_write = reply.json.clone();
    status_write["status"] = json!({"phase": "Running"});
    status_write["metadata"]["labels"] = json!({"sneaky": "yes"});
    status_write["spec"]["containers"][0]["image"] = json!("other:1");
    let reply = f.put(&format!("{PODS}/web/status"), &status_write).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["status"]["phase"], "Running");
    assert_eq!(reply.json["spec"]["containers"][0]["image"], "nginx:1.27");
    assert!(reply.json["metadata"]
        .get("labels")
        .is_none_or(|l| l.get("sneaky").is_none()));
    assert_eq!(reply.json["metadata"]["generation"], 1);
    // Merge patch of /status.
    let reply = f
        .patch(
            &format!("{PODS}/web/status"),
            "application/merge-patch+json",
            &json!({"status": {"podIP": "10.0.0.5"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["status"]["podIP"], "10.0.0.5");
    assert_eq!(reply.json["status"]["phase"], "Running");
    // Kinds without a status subresource have no /status.
    f.get("/api/v1/namespaces/default/configmaps/x/status")
        .await
        .assert_status(404, "NotFound");
}

#[tokio::test]
async fn create_checks_namespace_and_resource_version() {
    let f = Fixture::new().await;
    let mut other_ns = pod("web", json!({}));
    other_ns["metadata"]["namespace"] = json!("kube-system");
    let reply = f.post(PODS, &other_ns).await;
    reply.assert_status(400, "BadRequest");
    assert_eq!(
        reply.json["message"],
        "the namespace of the provided object does not match the namespace sent on the request"
    );
    let reply = f.post("/api/v1/namespaces/nowhere/pods", &pod("web", json!({}))).await;
    reply.assert_status(404, "NotFound");
    assert_eq!(reply.json["message"], "namespaces \"nowhere\" not found");
    let mut with_rv = pod("web", json!({}));
    with_rv["metadata"]["resourceVersion"] = json!("5");
    let reply = f.post(PODS, &with_rv).await;
    reply.assert_status(400, "BadRequest");
    assert_eq!(
        reply.json["message"],
        "resourceVersion should not be set on objects to be created"
    );
    f.get(&format!("{PODS}/web")).await.assert_status(404, "NotFound");
}

#[tokio::test]
async fn dry_run_stores_nothing() {
    let f = Fixture::new().await;
    let before = f.store.current_revision();
    let reply = f.post(&format!("{PODS}?dryRun=All"), &pod("web", json!({}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["metadata"]["name"], "web");
    assert_eq!(f.store.current_revision(), before);
    f.get(&format!("{PODS}/web")).await.assert_status(404, "NotFound");
}

#[tokio::test]
async fn yaml_bodies_without_content_type_are_accepted() {
    let f = Fixture::new().await;
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  key: value\n";
    let reply = f
        .send(Method::POST, "/api/v1/namespaces/default/configmaps", Some(yaml), None)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["data"]["key"], "value");
    // JSON without a content type too (the Python client sends none).
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg2"}}).to_string();
    let reply = f
        .send(Method::POST, "/api/v1/namespaces/default/configmaps", Some(&body), None)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}
