//! Background, foreground and orphan propagation through ownerReferences.

use std::time::Duration;

use kubelab_client::{DeleteParams, Patch, PatchParams, PropagationPolicy};
use kubelab_controller::gc::{self, GcConfig};
use serde_json::{json, Value};

use crate::common::{api, create, eventually, owner_ref, start, uid, Running};

const LIMIT: Duration = Duration::from_secs(15);

fn config_map(name: &str, owners: Vec<Value>) -> Value {
    json!({"metadata": {"name": name, "ownerReferences": owners}, "data": {"k": "v"}})
}

fn pod(name: &str, owners: Vec<Value>, finalizers: Vec<&str>) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"app": "web"}, "ownerReferences": owners, "finalizers": finalizers},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]},
    })
}

async fn exists(api_version: &str, kind: &str, name: &str, client: &kubelab_client::Client) -> Option<Value> {
    api(client, api_version, kind).get_opt(name).await.ok().flatten()
}

fn delete_with(policy: PropagationPolicy) -> DeleteParams {
    DeleteParams {
        propagation_policy: Some(policy),
        ..DeleteParams::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_deletion_and_uid_checks() {
    let server = start().await;
    let client = server.client.clone();
    let owner = create(&client, "v1", "ConfigMap", config_map("owner", vec![])).await;
    create(
        &client,
        "v1",
        "ConfigMap",
        config_map("dep", vec![owner_ref(&owner, false)]),
    )
    .await;
    create(
        &client,
        "v1",
        "Pod",
        pod("dep-pod", vec![owner_ref(&owner, true)], vec![]),
    )
    .await;
    // Same name as the owner, another uid: that owner does not exist.
    let mut stranger = owner_ref(&owner, false);
    stranger["uid"] = json!("00000000-0000-0000-0000-000000000000");
    create(&client, "v1", "ConfigMap", config_map("stranger", vec![stranger])).await;
    // A cluster-scoped owner of a namespaced dependent.
    let node = api(&client, "v1", "Node")
        .create(&json!({"metadata": {"name": "node-9"}}))
        .await
        .expect("node");
    create(
        &client,
        "v1",
        "ConfigMap",
        config_map("node-dep", vec![owner_ref(&node, false)]),
    )
    .await;

    let c = client.clone();
    let controller = Running::spawn(move |stop| gc::run(c, GcConfig::default(), stop));

    eventually("the dependent of a uid nobody has to go", LIMIT, || async {
        exists("v1", "ConfigMap", "stranger", &client)
            .await
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        exists("v1", "ConfigMap", "dep", &client).await.is_some(),
        "its owner lives"
    );

    api(&client, "v1", "ConfigMap")
        .delete("owner", &delete_with(PropagationPolicy::Background))
        .await
        .expect("delete owner");
    api(&client, "v1", "Node")
        .delete("node-9", &DeleteParams::default())
        .await
        .expect("delete node");
    eventually("every dependent to be collected", LIMIT, || async {
        let left = [
            exists("v1", "ConfigMap", "dep", &client).await,
            exists("v1", "Pod", "dep-pod", &client).await,
            exists("v1", "ConfigMap", "node-dep", &client).await,
        ];
        left.iter().all(Option::is_none).then_some(())
    })
    .await;
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_keeps_the_owner_until_blocking_dependents_are_gone() {
    let server = start().await;
    let client = server.client.clone();
    let owner = create(
        &client,
        "apps/v1",
        "ReplicaSet",
        json!({
            "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx"}]}}},
        }),
    )
    .await;
    // web-a blocks and is held by a finalizer of its own; web-b does not block.
    create(
        &client,
        "v1",
        "Pod",
        pod("web-a", vec![owner_ref(&owner, true)], vec!["example.com/hold"]),
    )
    .await;
    create(
        &client,
        "v1",
        "Pod",
        pod("web-b", vec![owner_ref(&owner, false)], vec![]),
    )
    .await;
    let c = client.clone();
    let controller = Running::spawn(move |stop| gc::run(c, GcConfig::default(), stop));

    api(&client, "apps/v1", "ReplicaSet")
        .delete("web", &delete_with(PropagationPolicy::Foreground))
        .await
        .expect("delete owner");
    eventually("web-b gone and web-a terminating", LIMIT, || async {
        let b = exists("v1", "Pod", "web-b", &client).await;
        let a = exists("v1", "Pod", "web-a", &client).await?;
        (b.is_none() && a.pointer("/metadata/deletionTimestamp").is_some()).then_some(())
    })
    .await;
    let rs = exists("apps/v1", "ReplicaSet", "web", &client)
        .await
        .expect("the owner waits for its blocking dependent");
    assert!(rs.pointer("/metadata/deletionTimestamp").is_some());
    assert_eq!(rs["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    assert_eq!(uid(&rs), uid(&owner));

    // Release web-a: it goes, and then so does the owner.
    api(&client, "v1", "Pod")
        .patch(
            "web-a",
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
            &PatchParams::default(),
        )
        .await
        .expect("release web-a");
    eventually("the owner to go after its dependents", LIMIT, || async {
        let a = exists("v1", "Pod", "web-a", &client).await;
        let rs = exists("apps/v1", "ReplicaSet", "web", &client).await;
        (a.is_none() && rs.is_none()).then_some(())
    })
    .await;
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_leaves_dependents_without_the_reference() {
    let server = start().await;
    let client = server.client.clone();
    let owner = create(&client, "v1", "ConfigMap", config_map("parent", vec![])).await;
    let other = create(&client, "v1", "Secret", json!({"metadata": {"name": "other"}})).await;
    create(
        &client,
        "v1",
        "ConfigMap",
        config_map(
            "child",
            vec![owner_ref(&owner, true), {
                let mut r = owner_ref(&other, false);
                r["controller"] = json!(false);
                r
            }],
        ),
    )
    .await;
    let c = client.clone();
    let controller = Running::spawn(move |stop| gc::run(c, GcConfig::default(), stop));

    api(&client, "v1", "ConfigMap")
        .delete("parent", &delete_with(PropagationPolicy::Orphan))
        .await
        .expect("delete owner");
    let child = eventually("the owner gone, the child released", LIMIT, || async {
        let parent = exists("v1", "ConfigMap", "parent", &client).await;
        let child = exists("v1", "ConfigMap", "child", &client).await?;
        parent.is_none().then_some(child)
    })
    .await;
    let refs = child["metadata"]["ownerReferences"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(refs.len(), 1, "only the reference to the Secret is left: {refs:?}");
    assert_eq!(refs[0]["uid"], json!(uid(&other)));
    controller.stop().await;
}
