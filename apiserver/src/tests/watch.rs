use std::time::Duration;

use serde_json::json;

use super::*;
use crate::store::sled_store::SledOptions;

#[tokio::test]
async fn from_zero_sends_existing_objects_then_changes() {
    let f = Fixture::new().await;
    f.create(PODS, &pod("a", json!({}))).await;
    f.create(PODS, &pod("b", json!({}))).await;
    f.create("/api/v1/namespaces/kube-system/pods", &pod("other", json!({})))
        .await;
    let mut watch = f.watch(&format!("{PODS}?watch=true")).await;
    assert_eq!(watch.expect("ADDED").await["metadata"]["name"], "a");
    assert_eq!(watch.expect("ADDED").await["metadata"]["name"], "b");
    let c = f.create(PODS, &pod("c", json!({}))).await;
    let added = watch.expect("ADDED").await;
    assert_eq!(added, c, "the event carries the stored object");
    f.delete(&format!("{PODS}/a")).await;
    let deleted = watch.expect("DELETED").await;
    assert_eq!(deleted["metadata"]["name"], "a");
    assert!(rv(&deleted) > rv(&c));
}

#[tokio::test]
async fn from_a_revision_sends_later_events_in_order_and_resumes() {
    let f = Fixture::new().await;
    let a = f.create(PODS, &pod("a", json!({}))).await;
    let start = rv(&a);
    f.create(PODS, &pod("b", json!({}))).await;
    let mut changed = a.clone();
    changed["metadata"]["labels"] = json!({"x": "1"});
    f.put(&format!("{PODS}/a"), &changed).await;
    f.delete(&format!("{PODS}/b")).await;
    // watch=True, as the Python client 32 spells it.
    let mut watch = f.watch(&format!("{PODS}?watch=True&resourceVersion={start}")).await;
    let first = watch.expect("ADDED").await;
    assert_eq!(first["metadata"]["name"], "b");
    let second = watch.expect("MODIFIED").await;
    assert_eq!(second["metadata"]["labels"]["x"], "1");
    let third = watch.expect("DELETED").await;
    assert_eq!(third["metadata"]["name"], "b");
    assert!(rv(&first) < rv(&second) && rv(&second) < rv(&third));
    drop(watch);
    // Resume from the middle: only what came after.
    let mut resumed = f
        .watch(&format!("{PODS}?watch=1&resourceVersion={}", rv(&second)))
        .await;
    assert_eq!(resumed.expect("DELETED").await["metadata"]["name"], "b");
    assert!(
        resumed.next_within(Duration::from_millis(200)).await.is_err(),
        "nothing more"
    );
    // The legacy /watch/ prefix.
    let mut legacy = f
        .watch(&format!(
            "/api/v1/watch/namespaces/default/pods?resourceVersion={}",
            rv(&second)
        ))
        .await;
    assert_eq!(legacy.expect("DELETED").await["metadata"]["name"], "b");
}

#[tokio::test]
async fn too_old_revisions_get_a_410_error_event() {
    let f = Fixture::with_options(SledOptions {
        history: 2,
        ..SledOptions::default()
    })
    .await;
    for i in 0..10 {
        f.create(PODS, &pod(&format!("p{i}"), json!({}))).await;
    }
    let mut watch = f.watch(&format!("{PODS}?watch=true&resourceVersion=1")).await;
    let status = watch.expect("ERROR").await;
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["code"], 410);
    assert_eq!(status["reason"], "Expired");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .starts_with("too old resource version: 1"),
        "{status}"
    );
    assert_eq!(watch.next().await, None, "the stream ends after the error");
}

#[tokio::test]
async fn selectors_turn_leaving_into_deleted_and_joining_into_added() {
    let f = Fixture::new().await;
    let created = f.create(PODS, &pod("web", json!({"app": "web"}))).await;
    f.create(PODS, &pod("db", json!({"app": "db"}))).await;
    let mut watch = f.watch(&format!("{PODS}?watch=true&labelSelector=app%3Dweb")).await;
    assert_eq!(watch.expect("ADDED").await["metadata"]["name"], "web");
    let mut moved = created.clone();
    moved["metadata"]["labels"] = json!({"app": "other"});
    moved["metadata"].as_object_mut().unwrap().remove("resourceVersion");
    f.put(&format!("{PODS}/web"), &moved).await;
    let left = watch.expect("DELETED").await;
    assert_eq!(left["metadata"]["labels"]["app"], "other");
    // db's changes are not ours until it joins.
    f.patch(
        &format!("{PODS}/db"),
        "application/merge-patch+json",
        &json!({"metadata": {"annotations": {"n": "1"}}}),
    )
    .await;
    f.patch(
        &format!("{PODS}/db"),
        "application/merge-patch+json",
        &json!({"metadata": {"labels": {"app": "web"}}}),
    )
    .await;
    let joined = watch.expect("ADDED").await;
    assert_eq!(joined["metadata"]["name"], "db");
    f.delete(&format!("{PODS}/db")).await;
    assert_eq!(watch.expect("DELETED").await["metadata"]["name"], "db");
    // A bad selector is refused before streaming.
    f.get(&format!("{PODS}?watch=true&labelSelector=%3D%3D"))
        .await
        .assert_status(400, "BadRequest");
    f.get(&format!("{PODS}?watch=true&resourceVersion=abc"))
        .await
        .assert_status(400, "BadRequest");
}

#[tokio::test]
async fn timeout_seconds_ends_the_stream() {
    let f = Fixture::new().await;
    let mut watch = f.watch(&format!("{PODS}?watch=true&timeoutSeconds=1")).await;
    assert_eq!(watch.next_within(Duration::from_secs(5)).await, Ok(None));
}

#[tokio::test]
async fn bookmarks_carry_the_latest_revision() {
    let f = Fixture::new().await;
    let mut watch = f
        .watch(&format!(
            "{PODS}?watch=true&allowWatchBookmarks=true&labelSelector=app%3Dnone"
        ))
        .await;
    let created = f.create(PODS, &pod("web", json!({"app": "web"}))).await;
    let bookmark = watch.expect("BOOKMARK").await;
    assert_eq!(bookmark["kind"], "Pod");
    assert_eq!(bookmark["apiVersion"], "v1");
    assert_eq!(rv(&bookmark), rv(&created));
}

#[tokio::test]
async fn shutdown_ends_open_watches() {
    let f = Fixture::new().await;
    let mut watch = f.watch(&format!("{PODS}?watch=true")).await;
    let metrics = f.get("/metrics").await.text;
    assert!(
        metrics.contains("apiserver_registered_watchers{resource=\"pods\"} 1"),
        "{metrics}"
    );
    f.state.begin_shutdown();
    assert_eq!(watch.next().await, None);
}

/// The node agents' and the scheduler's watches go through the pod trigger index: the binding
/// that moves a pod from "nobody" to `n1` leaves the scheduler's set (DELETED) and enters n1's
/// (ADDED); n2's watcher hears nothing.
#[tokio::test]
async fn node_pinned_pod_watches_see_binds_as_leaving_and_joining() {
    let f = Fixture::new().await;
    let created = f.create(PODS, &pod("web", json!({}))).await;
    let from = rv(&created);
    let mut unscheduled = f
        .watch("/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3D&resourceVersion=0")
        .await;
    assert_eq!(unscheduled.expect("ADDED").await["metadata"]["name"], "web");
    let mut n1 = f
        .watch(&format!(
            "{PODS}?watch=true&fieldSelector=spec.nodeName%3Dn1&resourceVersion={from}"
        ))
        .await;
    let mut n2 = f
        .watch(&format!(
            "{PODS}?watch=true&fieldSelector=spec.nodeName%3Dn2&resourceVersion={from}"
        ))
        .await;
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "web"},
                         "target": {"kind": "Node", "name": "n1"}});
    let reply = f.post(&format!("{PODS}/web/binding"), &binding).await;
    assert!(reply.status.is_success(), "binding: {}", reply.text);
    assert_eq!(unscheduled.expect("DELETED").await["spec"]["nodeName"], "n1");
    assert_eq!(n1.expect("ADDED").await["spec"]["nodeName"], "n1");
    f.delete(&format!("{PODS}/web")).await;
    assert_eq!(
        n1.expect("MODIFIED").await["metadata"]["name"],
        "web",
        "graceful deletion starts"
    );
    assert!(
        n2.next_within(Duration::from_millis(200)).await.is_err(),
        "n2's watcher hears nothing of n1's pod"
    );
}
