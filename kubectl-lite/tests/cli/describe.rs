//! `describe`: the pages of a pod (with its events), a deployment, a node, a service, and the
//! generic page of a ConfigMap.

use serde_json::json;

use crate::harness::{deployment, pod, Lab};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_with_events() {
    let lab = Lab::start().await;
    lab.apply(&format!(
        "{}---\n{}",
        pod("web-1", "{app: web}"),
        deployment("web", 2, "kubelab/demo:latest")
    ))
    .await
    .ok();
    let uid = lab.json(&["get", "pod", "web-1"]).await["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    lab.raw(
        "POST",
        "/api/v1/namespaces/default/events",
        Some(json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web-1.1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default", "uid": uid},
            "reason": "Scheduled", "message": "Successfully assigned default/web-1 to node-1",
            "type": "Normal", "source": {"component": "default-scheduler"}, "count": 1,
            "firstTimestamp": chrono::Utc::now().to_rfc3339(), "lastTimestamp": chrono::Utc::now().to_rfc3339()
        })),
    )
    .await;

    let out = lab.run(&["describe", "pod", "web-1"]).await;
    let page = out.ok();
    assert!(
        page.starts_with("Name:             web-1\nNamespace:        default\n"),
        "{page}"
    );
    assert!(page.contains("\nLabels:           app=web\n"), "{page}");
    assert!(page.contains("\nContainers:\n  main:\n    Image:"), "{page}");
    assert!(page.contains("kubelab/demo:latest"), "{page}");
    assert!(page.contains("\nQoS Class:"), "{page}");
    assert!(page.contains("\nEvents:\n  Type    Reason     Age"), "{page}");
    assert!(
        page.contains("Normal  Scheduled")
            && page.contains("default-scheduler  Successfully assigned default/web-1 to node-1"),
        "{page}"
    );

    let out = lab.run(&["describe", "deploy/web"]).await;
    let page = out.ok();
    assert!(
        page.contains("\nReplicas:               2 desired | 0 updated | 0 total | 0 available | 0 unavailable\n"),
        "{page}"
    );
    assert!(page.contains("\nStrategyType:           RollingUpdate\n"), "{page}");
    assert!(
        page.contains("\nRollingUpdateStrategy:  25% max unavailable, 25% max surge\n"),
        "{page}"
    );
    assert!(
        page.contains("\nPod Template:\n  Labels:  app=web\n  Containers:\n    web:\n"),
        "{page}"
    );
    assert!(page.contains("Port:         8080/TCP"), "{page}");
    assert!(
        page.contains("\nNewReplicaSet:") && page.contains("\nEvents:"),
        "{page}"
    );
    assert!(page.ends_with("<none>\n"), "{page}");

    // A name prefix describes every match.
    lab.apply(&pod("web-2", "{app: web}")).await.ok();
    let out = lab.run(&["describe", "pods", "web-"]).await;
    assert_eq!(out.ok().matches("\nNamespace:").count(), 2, "{}", out.stdout);

    lab.run_with(
        &["apply", "-f", "-"],
        &[],
        Some("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: 8080\n"),
    )
    .await
    .ok();
    let out = lab.run(&["describe", "svc", "web"]).await;
    let page = out.ok();
    assert!(page.contains("\nSelector:") && page.contains("app=web"), "{page}");
    assert!(page.contains("80/TCP") && page.contains("8080/TCP"), "{page}");

    lab.raw(
        "POST",
        "/api/v1/nodes",
        Some(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}}})),
    )
    .await;
    let out = lab.run(&["describe", "node", "node-1"]).await;
    let page = out.ok();
    assert!(
        page.starts_with("Name:") && page.contains("\nRoles:") && page.contains("\nConditions:\n"),
        "{page}"
    );
    assert!(page.contains("Non-terminated Pods:"), "{page}");

    lab.run_with(
        &["apply", "-f", "-"],
        &[],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  mode: fast\n"),
    )
    .await
    .ok();
    let out = lab.run(&["describe", "configmap", "cfg"]).await;
    let page = out.ok();
    assert!(
        page.contains("Kind:") && page.contains("ConfigMap") && page.contains("Data:\n  Mode:"),
        "{page}"
    );

    let missing = lab.run(&["describe", "pod", "nope"]).await;
    assert_eq!(
        missing.fails(),
        "Error from server (NotFound): pods \"nope\" not found\n"
    );
}
