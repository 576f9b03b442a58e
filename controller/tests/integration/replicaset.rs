//! The ReplicaSet controller on its own: creating, adopting, releasing, replacing, status.

use kubelab_api::apps::ReplicaSet;
use kubelab_api::core::Pod;
use kubelab_client::{DeleteParams, ListParams, Patch};
use serde_json::json;

use crate::common::*;

fn replica_set(name: &str, replicas: i32) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [{"name": "c", "image": "nginx"}]}}},
    }))
    .expect("replicaset")
}

fn controller_uid(pod: &Pod) -> Option<String> {
    pod.metadata.controller_ref().map(|r| r.uid.clone())
}

#[tokio::test]
async fn adopts_orphans_creates_the_rest_and_releases_relabelled_pods() {
    // No nodes: pods stay Pending, which is all the ReplicaSet needs to count them.
    let cluster = cluster(0, true).await;
    let client = &cluster.client;
    let orphan: Pod = serde_json::from_value(json!({
        "metadata": {"name": "orphan", "namespace": "default", "labels": {"app": "rs1"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }))
    .unwrap();
    pods(client).create(&orphan).await.expect("orphan");
    let rs = replica_sets(client)
        .create(&replica_set("rs1", 3))
        .await
        .expect("create rs");
    let uid = rs.metadata.uid.clone();

    let all = eventually("3 pods owned by the replicaset", || async {
        let all = live_pods(client, "rs1").await;
        (all.len() == 3 && all.iter().all(|p| controller_uid(p) == uid)).then_some(all)
    })
    .await;
    assert!(
        all.iter().any(|p| p.metadata.name() == "orphan"),
        "the orphan was adopted"
    );
    let reference = all[0].metadata.controller_ref().cloned().expect("owner");
    assert_eq!(
        (reference.kind.as_str(), reference.api_version.as_str()),
        ("ReplicaSet", "apps/v1")
    );
    assert_eq!(reference.block_owner_deletion, Some(true));
    let created: Vec<&Pod> = all.iter().filter(|p| p.metadata.name() != "orphan").collect();
    assert!(created.iter().all(|p| p.metadata.name().starts_with("rs1-")));

    let status = eventually("status replicas 3", || async {
        let rs = replica_sets(client).get("rs1").await.ok()?;
        rs.status.filter(|s| s.replicas == 3 && s.observed_generation == 1)
    })
    .await;
    assert_eq!(status.fully_labeled_replicas, 3);

    // Relabel one pod: it is released and replaced.
    pods(client)
        .patch(
            "orphan",
            &Patch::Merge(json!({"metadata": {"labels": {"app": "debug"}}})),
        )
        .await
        .expect("relabel");
    eventually("the relabelled pod released and replaced", || async {
        let released = pods(client).get("orphan").await.ok()?;
        let replaced = live_pods(client, "rs1").await.len() == 3;
        (released.metadata.owner_references.is_empty() && replaced).then_some(())
    })
    .await;

    let successful = events(client, "SuccessfulCreate").await;
    assert!(
        successful
            .iter()
            .any(|e| e.message.as_deref().is_some_and(|m| m.starts_with("Created pod: rs1-"))),
        "SuccessfulCreate events"
    );
}

#[tokio::test]
async fn scales_down_and_reports_ready_pods() {
    let cluster = cluster(2, true).await;
    let client = &cluster.client;
    replica_sets(client)
        .create(&replica_set("rs2", 4))
        .await
        .expect("create rs");
    eventually("4 ready replicas", || async {
        let rs = replica_sets(client).get("rs2").await.ok()?;
        rs.status.filter(|s| s.ready_replicas == 4 && s.available_replicas == 4)
    })
    .await;
    replica_sets(client)
        .patch("rs2", &Patch::Merge(json!({"spec": {"replicas": 1}})))
        .await
        .expect("scale down");
    eventually("1 pod left", || async {
        let all = pods(client)
            .list(&ListParams::default().labels("app=rs2"))
            .await
            .ok()?
            .items;
        let rs = replica_sets(client).get("rs2").await.ok()?;
        let status = rs.status?;
        (all.len() == 1 && status.replicas == 1 && status.observed_generation == 2).then_some(())
    })
    .await;
    // Events are recorded in the background: wait for it rather than expect it already there.
    eventually("a SuccessfulDelete event", || async {
        (!events(client, "SuccessfulDelete").await.is_empty()).then_some(())
    })
    .await;

    // Deleting the last pod brings a new one.
    let last = live_pods(client, "rs2").await.remove(0);
    pods(client)
        .delete(last.metadata.name(), &DeleteParams::default())
        .await
        .expect("delete");
    eventually("a replacement pod", || async {
        let all = live_pods(client, "rs2").await;
        (all.len() == 1 && all[0].metadata.name() != last.metadata.name() && is_ready(&all[0])).then_some(())
    })
    .await;
}

#[tokio::test]
async fn forty_creations_leave_combined_events_not_forty() {
    let cluster = cluster(0, true).await;
    let client = &cluster.client;
    replica_sets(client)
        .create(&replica_set("many", 40))
        .await
        .expect("create");
    eventually("40 pods", || async {
        (live_pods(client, "many").await.len() == 40).then_some(())
    })
    .await;
    // client-go's correlator: nine events as they are, then one combined event whose count rises,
    // and at most 25 writes per source and object (the spam filter's burst).
    let combined = eventually("a combined SuccessfulCreate event", || async {
        events(client, "SuccessfulCreate").await.into_iter().find(|e| {
            e.message
                .as_deref()
                .is_some_and(|m| m.starts_with("(combined from similar events): Created pod: many-"))
                && e.count.unwrap_or(0) > 1
        })
    })
    .await;
    let about_many = events(client, "SuccessfulCreate")
        .await
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some("many"))
        .count();
    assert_eq!(about_many, 10, "nine single events and one combined: {combined:?}");
}
