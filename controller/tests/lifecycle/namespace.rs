//! Deleting a namespace empties it, reports what holds it, then removes it.

use std::time::Duration;

use kubelab_api::core::Namespace;
use kubelab_client::{Api, DeleteParams, DynamicApi, Patch, PatchParams};
use kubelab_controller::namespace::{self, NamespaceConfig};
use serde_json::json;

use crate::common::{eventually, start, Running};

const LIMIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_deletion_empties_and_removes_it() {
    let server = start().await;
    let client = server.client.clone();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "shop"}})).expect("namespace");
    namespaces.create(&ns).await.expect("create namespace");
    let cms = DynamicApi::for_kind(client.clone(), "v1", "ConfigMap", Some("shop")).expect("configmaps");
    let pods = DynamicApi::for_kind(client.clone(), "v1", "Pod", Some("shop")).expect("pods");
    cms.create(&json!({"metadata": {"name": "plain"}})).await.expect("cm");
    cms.create(&json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}))
        .await
        .expect("held cm");
    pods.create(&json!({"metadata": {"name": "web"},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]}}))
        .await
        .expect("pod");

    let config = NamespaceConfig {
        recheck_interval: Duration::from_millis(200),
        ..NamespaceConfig::default()
    };
    let c = client.clone();
    let controller = Running::spawn(move |stop| namespace::run(c, config, stop));

    namespaces
        .delete("shop", &DeleteParams::default())
        .await
        .expect("delete namespace");
    // The finalizer on `held` keeps the namespace; the status says so.
    let status = eventually("the namespace to report what holds it", LIMIT, || async {
        let ns = namespaces.get_opt("shop").await.ok()??;
        let conditions = ns.status?.conditions;
        let finalizers = conditions.iter().find(|c| c.type_ == "NamespaceFinalizersRemaining")?;
        let remaining = conditions.iter().find(|c| c.type_ == "NamespaceContentRemaining")?;
        // The namespace settles once only `held` is left: a sweep may report `plain` or the pod
        // still on their way out first.
        let settled = remaining
            .message
            .as_deref()
            .is_some_and(|m| !m.contains("pods") && m.contains("has 1 resource"));
        (finalizers.status == "True" && settled).then(|| (finalizers.clone(), remaining.clone()))
    })
    .await;
    assert_eq!(
        status.0.message.as_deref(),
        Some("Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")
    );
    assert_eq!(
        status.1.message.as_deref(),
        Some("Some resources are remaining: configmaps. has 1 resource instances")
    );
    assert!(pods.get_opt("web").await.expect("get").is_none(), "the pod is gone");

    cms.patch(
        "held",
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        &PatchParams::default(),
    )
    .await
    .expect("release");
    eventually("the namespace to be removed", LIMIT, || async {
        namespaces.get_opt("shop").await.ok()?.is_none().then_some(())
    })
    .await;
    controller.stop().await;
}
