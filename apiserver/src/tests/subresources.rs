use axum::http::StatusCode;
use serde_json::json;

use super::*;

#[tokio::test]
async fn binding_sets_the_node_once() {
    let f = Fixture::new().await;
    f.create(PODS, &pod("web", json!({}))).await;
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "web"}, "target": {"kind": "Node", "name": "n1"}});
    let reply = f.post(&format!("{PODS}/web/binding"), &binding).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["kind"], "Status");
    assert_eq!(reply.json["status"], "Success");
    let bound = f.get(&format!("{PODS}/web")).await.json;
    assert_eq!(bound["spec"]["nodeName"], "n1");
    assert!(bound["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "PodScheduled"));
    let before = f.store.current_revision();
    let again = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "web"}, "target": {"kind": "Node", "name": "n2"}});
    let reply = f.post(&format!("{PODS}/web/binding"), &again).await;
    reply.assert_status(409, "Conflict");
    assert!(
        reply.json["message"]
            .as_str()
            .unwrap()
            .contains("pod web is already assigned to node \"n1\""),
        "{}",
        reply.text
    );
    assert_eq!(f.store.current_revision(), before);
    let ghost = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "ghost"}, "target": {"kind": "Node", "name": "n1"}});
    f.post(&format!("{PODS}/ghost/binding"), &ghost)
        .await
        .assert_status(404, "NotFound");
    f.get(&format!("{PODS}/web/binding"))
        .await
        .assert_status(405, "MethodNotAllowed");
    // Deployments have no binding.
    f.post(&format!("{DEPLOYMENTS}/web/binding"), &binding)
        .await
        .assert_status(404, "NotFound");
}

#[tokio::test]
async fn scale_get_put_and_patch() {
    let f = Fixture::new().await;
    let created = f.create(DEPLOYMENTS, &deployment("web", 2)).await;
    let scale = f.get(&format!("{DEPLOYMENTS}/web/scale")).await;
    assert_eq!(scale.status, StatusCode::OK, "{}", scale.text);
    assert_eq!(scale.json["kind"], "Scale");
    assert_eq!(scale.json["apiVersion"], "autoscaling/v1");
    assert_eq!(scale.json["spec"]["replicas"], 2);
    assert_eq!(scale.json["status"]["selector"], "app=web");
    assert_eq!(scale.json["metadata"]["uid"], created["metadata"]["uid"]);
    // kubectl scale: a merge patch of the Scale.
    let reply = f
        .patch(
            &format!("{DEPLOYMENTS}/web/scale"),
            "application/merge-patch+json",
            &json!({"spec": {"replicas": 3}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["spec"]["replicas"], 3);
    let deploy = f.get(&format!("{DEPLOYMENTS}/web")).await.json;
    assert_eq!(deploy["spec"]["replicas"], 3);
    assert_eq!(deploy["metadata"]["generation"], 2);
    // The Python client: strategic merge.
    let reply = f
        .patch(
            &format!("{DEPLOYMENTS}/web/scale"),
            "application/strategic-merge-patch+json",
            &json!({"spec": {"replicas": 5}}),
        )
        .await;
    assert_eq!(reply.json["spec"]["replicas"], 5, "{}", reply.text);
    // PUT with a stale resourceVersion conflicts.
    let mut stale = scale.json.clone();
    stale["spec"]["replicas"] = json!(9);
    f.put(&format!("{DEPLOYMENTS}/web/scale"), &stale)
        .await
        .assert_status(409, "Conflict");
    let mut fresh = reply.json.clone();
    fresh["spec"]["replicas"] = json!(1);
    let reply = f.put(&format!("{DEPLOYMENTS}/web/scale"), &fresh).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(f.get(&format!("{DEPLOYMENTS}/web")).await.json["spec"]["replicas"], 1);
    let negative = f
        .patch(
            &format!("{DEPLOYMENTS}/web/scale"),
            "application/merge-patch+json",
            &json!({"spec": {"replicas": -1}}),
        )
        .await;
    negative.assert_status(422, "Invalid");
    f.get(&format!("{PODS}/web/scale")).await.assert_status(404, "NotFound");
}
