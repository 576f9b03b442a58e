//! Create, read, update, patch and delete through `Api<T>` and `DynamicApi`.

use kubelab_api::apps::Deployment;
use kubelab_api::core::{ConfigMap, Pod};
use kubelab_api::Object;
use kubelab_client::{Api, DeleteParams, DeleteResponse, DynamicApi, ListParams, Patch, PatchParams};
use serde_json::{json, Value};

use crate::common::{object, start};

fn config_map(name: &str, labels: Value, data: Value) -> ConfigMap {
    object(json!({"metadata": {"name": name, "labels": labels}, "data": data}))
}

fn pod(name: &str) -> Pod {
    object(json!({
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"containers": [
            {"name": "app", "image": "nginx:1.27"},
            {"name": "sidecar", "image": "busybox:1.36"},
        ]},
    }))
}

fn as_json<T: serde::Serialize>(object: &T) -> Value {
    serde_json::to_value(object).expect("serializes")
}

#[tokio::test]
async fn config_map_crud() {
    let server = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");

    let created = cms
        .create(&config_map("settings", json!({"app": "web"}), json!({"a": "1"})))
        .await
        .unwrap();
    assert_eq!(created.metadata().name(), "settings");
    assert_eq!(created.metadata().namespace(), "default");
    assert!(created.metadata().uid.is_some());
    let rv1 = created.metadata().revision().expect("resourceVersion");

    let got = cms.get("settings").await.unwrap();
    assert_eq!(got.metadata().uid, created.metadata().uid);
    assert_eq!(as_json(&got)["data"], json!({"a": "1"}));

    cms.create(&config_map("other", json!({"app": "db"}), json!({})))
        .await
        .unwrap();
    let web = cms.list(&ListParams::default().labels("app=web")).await.unwrap();
    assert_eq!(web.items.len(), 1);
    assert!(
        web.metadata.resource_version.is_some(),
        "a list carries the revision to watch from"
    );
    assert_eq!(cms.list(&ListParams::default()).await.unwrap().items.len(), 2);

    let mut changed = got.clone();
    let mut body = as_json(&changed);
    body["data"] = json!({"a": "2"});
    changed = object(body);
    let replaced = cms.replace("settings", &changed).await.unwrap();
    assert_eq!(as_json(&replaced)["data"], json!({"a": "2"}));
    assert!(replaced.metadata().revision().unwrap() > rv1);

    let patched = cms
        .patch(
            "settings",
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "x"}}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.metadata().labels.get("tier").map(String::as_str), Some("x"));
    assert_eq!(patched.metadata().labels.get("app").map(String::as_str), Some("web"));

    match cms.delete("settings", &DeleteParams::default()).await.unwrap() {
        DeleteResponse::Object(deleted) => assert_eq!(deleted.metadata().name(), "settings"),
        DeleteResponse::Status(status) => assert_eq!(status.status, "Success"),
    }
    assert!(cms.get_opt("settings").await.unwrap().is_none());
    let err = cms.get("settings").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(cms
        .delete("settings", &DeleteParams::default())
        .await
        .unwrap_err()
        .is_not_found());
}

#[tokio::test]
async fn stale_updates_conflict_and_duplicates_already_exist() {
    let server = start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(server.client.clone());
    let created = cms
        .create(&config_map("c", json!({}), json!({"k": "v"})))
        .await
        .unwrap();
    let err = cms.create(&config_map("c", json!({}), json!({}))).await.unwrap_err();
    assert!(err.is_already_exists(), "{err}");

    // Two writers read the same version; the first update wins, the second is refused.
    let mut first = as_json(&created);
    first["data"] = json!({"k": "first"});
    let mut second = as_json(&created);
    second["data"] = json!({"k": "second"});
    cms.replace("c", &object::<ConfigMap>(first)).await.unwrap();
    let err = cms.replace("c", &object::<ConfigMap>(second)).await.unwrap_err();
    assert!(err.is_conflict(), "a second update from the same stale read: {err}");
    assert_eq!(err.code(), Some(409));
}

#[tokio::test]
async fn pods_strategic_merge_status_and_binding() {
    let server = start().await;
    let pods: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    pods.create(&pod("web")).await.unwrap();

    // Strategic merge: the containers list is merged by name, so the sidecar survives.
    let patch = json!({"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}});
    let patched = as_json(&pods.patch("web", &Patch::Strategic(patch.clone())).await.unwrap());
    let containers = patched["spec"]["containers"].as_array().cloned().unwrap_or_default();
    assert_eq!(containers.len(), 2, "{patched}");
    assert_eq!(containers[0]["image"], "nginx:1.28");

    let err = pods.patch("missing", &Patch::Merge(json!({}))).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let mut with_status = as_json(&pods.get("web").await.unwrap());
    with_status["status"] = json!({"phase": "Running"});
    let updated = as_json(&pods.replace_status("web", &object::<Pod>(with_status)).await.unwrap());
    assert_eq!(updated["status"]["phase"], "Running");
    let patched = as_json(
        &pods
            .patch_status("web", &Patch::Merge(json!({"status": {"phase": "Succeeded"}})))
            .await
            .unwrap(),
    );
    assert_eq!(patched["status"]["phase"], "Succeeded");

    pods.create(&pod("unbound")).await.unwrap();
    pods.bind("unbound", "node-1").await.unwrap();
    assert_eq!(
        as_json(&pods.get("unbound").await.unwrap())["spec"]["nodeName"],
        "node-1"
    );

    // Api::all lists across namespaces but cannot address one pod.
    let all: Api<Pod> = Api::all(server.client.clone());
    assert_eq!(all.list(&ListParams::default()).await.unwrap().items.len(), 2);
    assert!(matches!(
        all.get("web").await,
        Err(kubelab_client::ClientError::Request(_))
    ));
}

#[tokio::test]
async fn deployment_scale_subresource() {
    let server = start().await;
    let deployments: Api<Deployment> = Api::namespaced(server.client.clone(), "default");
    let deployment: Deployment = object(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "nginx"}]},
            },
        },
    }));
    deployments.create(&deployment).await.unwrap();
    let scale = deployments.get_scale("web").await.unwrap();
    assert_eq!((scale.kind.as_str(), scale.spec.replicas), ("Scale", 1));
    let scale = deployments
        .patch_scale("web", &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await
        .unwrap();
    assert_eq!(scale.spec.replicas, 3);
    assert_eq!(as_json(&deployments.get("web").await.unwrap())["spec"]["replicas"], 3);
}

#[tokio::test]
async fn dynamic_api_on_json() {
    let server = start().await;
    let api = DynamicApi::for_kind(server.client.clone(), "v1", "ConfigMap", Some("default")).unwrap();
    let manifest = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dyn"}, "data": {"x": "1"}});
    let created = api.create(&manifest).await.unwrap();
    assert_eq!(created["metadata"]["namespace"], "default");
    assert_eq!(api.get("dyn").await.unwrap()["data"]["x"], "1");
    assert_eq!(api.list(&ListParams::default()).await.unwrap().items.len(), 1);

    let applied = api
        .patch(
            "applied",
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "applied"}, "data": {"y": "2"}})),
            &PatchParams::default(),
        )
        .await
        .unwrap();
    assert_eq!(applied["data"]["y"], "2", "server-side apply creates a missing object");

    let patched = api
        .patch(
            "dyn",
            &Patch::Json(json!([{"op": "replace", "path": "/data/x", "value": "9"}])),
            &PatchParams::default(),
        )
        .await
        .unwrap();
    assert_eq!(patched["data"]["x"], "9");
    api.delete("dyn", &DeleteParams::default()).await.unwrap();
    assert!(api.get_opt("dyn").await.unwrap().is_none());

    let nodes = DynamicApi::for_kind(server.client.clone(), "v1", "Node", Some("ignored")).unwrap();
    assert!(nodes.list(&ListParams::default()).await.unwrap().items.is_empty());
    assert!(DynamicApi::for_kind(server.client.clone(), "v1", "Nope", None).is_err());
}
