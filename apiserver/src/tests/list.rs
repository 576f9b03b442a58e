use axum::http::StatusCode;
use serde_json::{json, Value};

use super::*;

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn empty_lists_carry_items_and_a_revision() {
    let f = Fixture::new().await;
    let reply = f.get(PODS).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["kind"], "PodList");
    assert_eq!(reply.json["apiVersion"], "v1");
    assert_eq!(reply.json["items"], json!([]));
    assert_eq!(
        reply.json["metadata"]["resourceVersion"],
        f.store.current_revision().to_string()
    );
    let deployments = f.get(DEPLOYMENTS).await;
    assert_eq!(deployments.json["kind"], "DeploymentList");
    assert_eq!(deployments.json["apiVersion"], "apps/v1");
}

#[tokio::test]
async fn selectors_filter_lists() {
    let f = Fixture::new().await;
    f.create(PODS, &pod("a", json!({"app": "web", "tier": "front"}))).await;
    f.create(PODS, &pod("b", json!({"app": "web"}))).await;
    f.create(PODS, &pod("c", json!({"app": "db"}))).await;
    f.create("/api/v1/namespaces/kube-system/pods", &pod("d", json!({"app": "web"})))
        .await;
    assert_eq!(
        names(&f.get(&format!("{PODS}?labelSelector=app%3Dweb")).await.json),
        ["a", "b"]
    );
    assert_eq!(
        names(&f.get(&format!("{PODS}?labelSelector=app+in+(web,db),!tier")).await.json),
        ["b", "c"]
    );
    assert_eq!(
        names(&f.get(&format!("{PODS}?fieldSelector=metadata.name%3Dc")).await.json),
        ["c"]
    );
    assert_eq!(
        names(&f.get(&format!("{PODS}?fieldSelector=metadata.name!%3Dc")).await.json),
        ["a", "b"]
    );
    assert_eq!(
        names(&f.get(&format!("{PODS}?fieldSelector=spec.nodeName%3D")).await.json),
        ["a", "b", "c"]
    );
    assert_eq!(
        names(&f.get("/api/v1/pods?labelSelector=app%3Dweb").await.json),
        ["a", "b", "d"]
    );
    let bad = f.get(&format!("{PODS}?labelSelector=app+in+(web")).await;
    bad.assert_status(400, "BadRequest");
    let unsupported = f.get(&format!("{PODS}?fieldSelector=spec.foo%3Dbar")).await;
    unsupported.assert_status(400, "BadRequest");
    assert_eq!(unsupported.json["message"], "field label not supported: spec.foo");
    // Events support involvedObject fields, as `kubectl describe` uses them.
    let event = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "e1"},
        "involvedObject": {"kind": "Pod", "name": "a", "namespace": "default"},
        "reason": "Scheduled", "message": "ok", "type": "Normal",
    });
    f.create("/api/v1/namespaces/default/events", &event).await;
    let events = f.get("/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Da,involvedObject.namespace%3Ddefault").await;
    assert_eq!(names(&events.json), ["e1"], "{}", events.text);
}

#[tokio::test]
async fn limit_and_continue_page_through_everything() {
    let f = Fixture::new().await;
    for i in 0..7 {
        f.create(PODS, &pod(&format!("p{i}"), json!({"app": "web"}))).await;
    }
    let mut seen = Vec::new();
    let mut uri = format!("{PODS}?limit=3");
    let mut pages = 0;
    loop {
        let page = f.get(&uri).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.json["items"].as_array().unwrap().len() <= 3);
        seen.extend(names(&page.json));
        pages += 1;
        match page.json["metadata"]["continue"].as_str() {
            Some(token) => uri = format!("{PODS}?limit=3&continue={}", urlencoding::encode(token)),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (0..7).map(|i| format!("p{i}")).collect::<Vec<_>>());
    f.get(&format!("{PODS}?limit=3&continue=garbage"))
        .await
        .assert_status(400, "BadRequest");
}

#[tokio::test]
async fn continue_tokens_older_than_the_history_expire() {
    let f = Fixture::with_options(crate::store::sled_store::SledOptions {
        history: 2,
        ..Default::default()
    })
    .await;
    for i in 0..5 {
        f.create(PODS, &pod(&format!("p{i}"), json!({}))).await;
    }
    let page = f.get(&format!("{PODS}?limit=2")).await;
    let token = page.json["metadata"]["continue"]
        .as_str()
        .expect("a continue token")
        .to_string();
    for i in 5..10 {
        f.create(PODS, &pod(&format!("p{i}"), json!({}))).await;
    }
    let reply = f
        .get(&format!("{PODS}?limit=2&continue={}", urlencoding::encode(&token)))
        .await;
    reply.assert_status(410, "Expired");
}
