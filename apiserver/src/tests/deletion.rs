use axum::http::{Method, StatusCode};
use serde_json::json;

use super::*;

#[tokio::test]
async fn finalizers_hold_an_object_until_removed() {
    let f = Fixture::new().await;
    let mut body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "finalizers": ["example.com/cleanup"]}});
    f.create("/api/v1/namespaces/default/configmaps", &body).await;
    let uri = "/api/v1/namespaces/default/configmaps/cfg";
    let reply = f.delete(uri).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(
        reply.json["metadata"]["deletionTimestamp"].is_string(),
        "{}",
        reply.text
    );
    let marked = f.get(uri).await;
    assert_eq!(marked.status, StatusCode::OK);
    assert_eq!(marked.json["metadata"]["finalizers"], json!(["example.com/cleanup"]));
    // A second delete leaves it marked.
    assert_eq!(f.delete(uri).await.status, StatusCode::OK);
    assert_eq!(f.get(uri).await.status, StatusCode::OK);
    // Removing the last finalizer removes the object.
    body = marked.json.clone();
    body["metadata"]["finalizers"] = json!([]);
    let reply = f.put(uri, &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    f.get(uri).await.assert_status(404, "NotFound");
}

#[tokio::test]
async fn foreground_propagation_adds_a_finalizer_and_preconditions_are_checked() {
    let f = Fixture::new().await;
    let created = f.create(DEPLOYMENTS, &deployment("web", 1)).await;
    let uri = format!("{DEPLOYMENTS}/web");
    let wrong = json!({"preconditions": {"uid": "not-the-uid"}}).to_string();
    let before = f.store.current_revision();
    f.send(Method::DELETE, &uri, Some(&wrong), Some("application/json"))
        .await
        .assert_status(409, "Conflict");
    assert_eq!(f.store.current_revision(), before);
    let body =
        json!({"propagationPolicy": "Foreground", "preconditions": {"uid": created["metadata"]["uid"]}}).to_string();
    let reply = f
        .send(Method::DELETE, &uri, Some(&body), Some("application/json"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    assert!(reply.json["metadata"]["deletionTimestamp"].is_string());
    let bad = f.send(Method::DELETE, &uri, Some("{not json"), None).await;
    bad.assert_status(400, "BadRequest");
}

#[tokio::test]
async fn bound_pods_terminate_gracefully() {
    let f = Fixture::new().await;
    // Unbound: removed at once.
    f.create(PODS, &pod("loose", json!({}))).await;
    assert_eq!(f.delete(&format!("{PODS}/loose")).await.status, StatusCode::OK);
    f.get(&format!("{PODS}/loose")).await.assert_status(404, "NotFound");
    // Bound: marked with the grace period, removed when the agent confirms with 0.
    let mut bound = pod("web", json!({}));
    bound["spec"]["nodeName"] = json!("n1");
    bound["spec"]["terminationGracePeriodSeconds"] = json!(20);
    f.create(PODS, &bound).await;
    let reply = f
        .send(
            Method::DELETE,
            &format!("{PODS}/web"),
            Some("{\"propagationPolicy\":\"Background\"}"),
            Some("application/json"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["metadata"]["deletionGracePeriodSeconds"], 20);
    assert!(reply.json["metadata"]["deletionTimestamp"].is_string());
    let still = f.get(&format!("{PODS}/web")).await;
    assert_eq!(still.status, StatusCode::OK);
    // Status updates from the agent while terminating do not remove it.
    let status = f
        .patch(
            &format!("{PODS}/web/status"),
            "application/merge-patch+json",
            &json!({"status": {"phase": "Running"}}),
        )
        .await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.text);
    assert_eq!(f.get(&format!("{PODS}/web")).await.status, StatusCode::OK);
    let reply = f.delete(&format!("{PODS}/web?gracePeriodSeconds=0")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    f.get(&format!("{PODS}/web")).await.assert_status(404, "NotFound");
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_contents() {
    let f = Fixture::new().await;
    f.create(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
    )
    .await;
    f.create("/api/v1/namespaces/shop/pods", &pod("web", json!({}))).await;
    f.create(
        "/api/v1/namespaces/shop/configmaps",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}),
    )
    .await;
    let mut watch = f
        .watch("/api/v1/namespaces?watch=true&fieldSelector=metadata.name%3Dshop")
        .await;
    watch.expect("ADDED").await;
    let reply = f.delete("/api/v1/namespaces/shop").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["status"]["phase"], "Terminating");
    // Terminating namespaces take nothing new (unless the sweep already removed it).
    let refused = f.post("/api/v1/namespaces/shop/pods", &pod("late", json!({}))).await;
    assert!(matches!(refused.status.as_u16(), 403 | 404), "{}", refused.text);
    loop {
        let event = watch.next().await.expect("stream open");
        if event["type"] == "DELETED" {
            break;
        }
    }
    f.get("/api/v1/namespaces/shop").await.assert_status(404, "NotFound");
    assert_eq!(f.get("/api/v1/namespaces/shop/pods").await.json["items"], json!([]));
    assert_eq!(
        f.get("/api/v1/namespaces/shop/configmaps").await.json["items"],
        json!([])
    );
    for builtin in ["default", "kube-system", "kube-node-lease"] {
        f.delete(&format!("/api/v1/namespaces/{builtin}"))
            .await
            .assert_status(403, "Forbidden");
    }
}

#[tokio::test]
async fn delete_collection_uses_selectors() {
    let f = Fixture::new().await;
    f.create(PODS, &pod("a", json!({"app": "web"}))).await;
    f.create(PODS, &pod("b", json!({"app": "web"}))).await;
    f.create(PODS, &pod("c", json!({"app": "db"}))).await;
    let reply = f.delete(&format!("{PODS}?labelSelector=app%3Dweb")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["items"].as_array().unwrap().len(), 2);
    let left = f.get(PODS).await.json;
    assert_eq!(left["items"].as_array().unwrap().len(), 1);
    assert_eq!(left["items"][0]["metadata"]["name"], "c");
}
