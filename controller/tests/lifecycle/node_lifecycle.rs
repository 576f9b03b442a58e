//! A node whose Lease stops being renewed goes Unknown, gets tainted, loses its pods after
//! their toleration; when renewals (and status reports) resume, the taints go.

use std::sync::Arc;
use std::time::Duration;

use kubelab_api::coordination::{Lease, LeaseSpec};
use kubelab_api::core::{Node, Pod};
use kubelab_api::microtime::MicroTime;
use kubelab_api::{ObjectMeta, Time};
use kubelab_client::{Api, Client, Patch, SharedInformers};
use kubelab_controller::node_lifecycle::{self, NodeLifecycleConfig};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::common::{events, eventually, start, Running};

const LIMIT: Duration = Duration::from_secs(15);

/// Writes what a node agent reports: `Ready=True` with a fresh heartbeat.
async fn report_ready(client: &Client, name: &str) {
    let nodes: Api<Node> = Api::all(client.clone());
    for _ in 0..5 {
        let mut node = nodes.get(name).await.expect("node");
        node.status = Some(
            serde_json::from_value(json!({
                "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                    "lastHeartbeatTime": Time::now(), "lastTransitionTime": Time::now()}],
            }))
            .expect("status"),
        );
        match nodes.replace_status(name, &node).await {
            Ok(_) => return,
            Err(e) if e.is_conflict() => continue,
            Err(e) => panic!("node status: {e}"),
        }
    }
    panic!("node status kept conflicting");
}

async fn create_node(client: &Client, name: &str) {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({"metadata": {"name": name}})).expect("node");
    nodes.create(&node).await.expect("create node");
    report_ready(client, name).await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("kube-node-lease".into()),
            ..ObjectMeta::default()
        },
        spec: LeaseSpec {
            holder_identity: Some(name.into()),
            lease_duration_seconds: Some(40),
            renew_time: Some(MicroTime::now()),
            ..LeaseSpec::default()
        },
        ..Lease::default()
    };
    leases.create(&lease).await.expect("create lease");
}

/// A pretend agent: renews the node's Lease every 200 ms until aborted.
fn renew(client: &Client, name: &str) -> JoinHandle<()> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let name = name.to_string();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tick.tick().await;
            let patch = Patch::Merge(json!({"spec": {"renewTime": MicroTime::now()}}));
            let _ = leases.patch(&name, &patch).await;
        }
    })
}

async fn bound_pod(client: &Client, name: &str, node: &str, tolerations: serde_json::Value) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "app", "image": "nginx"}], "tolerations": tolerations},
    }))
    .expect("pod");
    pods.create(&pod).await.expect("create pod");
    pods.bind(name, node).await.expect("bind pod");
}

fn taints(node: &Node) -> Vec<String> {
    node.spec
        .taints
        .iter()
        .map(|t| format!("{}:{}", t.key, t.effect))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_node_is_tainted_its_pods_evicted_and_it_recovers() {
    let server = start().await;
    let client = server.client.clone();
    create_node(&client, "node-1").await;
    create_node(&client, "node-2").await;
    let node1 = renew(&client, "node-1");
    let _node2 = renew(&client, "node-2");
    bound_pod(&client, "web-x", "node-1", json!([])).await;
    bound_pod(
        &client,
        "patient",
        "node-1",
        json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}]),
    )
    .await;
    bound_pod(&client, "web-y", "node-2", json!([])).await;

    let config = NodeLifecycleConfig {
        node_monitor_grace_period: Duration::from_secs(2),
        default_eviction_seconds: 1,
        ..NodeLifecycleConfig::default()
    };
    let c = client.clone();
    let shared = Arc::new(SharedInformers::new(client.clone()));
    let controller = Running::spawn(move |stop| node_lifecycle::run(c, config, stop, shared));

    // node-1's agent dies.
    node1.abort();
    let nodes: Api<Node> = Api::all(client.clone());
    let dead = eventually("node-1 to be Unknown and tainted unreachable", LIMIT, || async {
        let node = nodes.get("node-1").await.ok()?;
        let ready = node
            .status
            .as_ref()?
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")?
            .clone();
        let tainted = taints(&node).contains(&"node.kubernetes.io/unreachable:NoExecute".to_string());
        (ready.status == "Unknown" && tainted).then_some((node, ready))
    })
    .await;
    let (node, ready) = dead;
    assert_eq!(ready.reason.as_deref(), Some("NodeStatusUnknown"));
    assert_eq!(ready.message.as_deref(), Some("Kubelet stopped posting node status."));
    assert_eq!(
        taints(&node),
        [
            "node.kubernetes.io/unreachable:NoSchedule",
            "node.kubernetes.io/unreachable:NoExecute"
        ]
    );
    let pressure = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "MemoryPressure"))
        .map(|c| c.status.clone());
    assert_eq!(pressure.as_deref(), Some("Unknown"));
    // node-2 kept renewing: untouched.
    let healthy = nodes.get("node-2").await.expect("node-2");
    assert!(
        healthy.spec.taints.is_empty(),
        "node-2 is healthy: {:?}",
        taints(&healthy)
    );

    // Its pod without a toleration is evicted after the (shortened) default; the one that
    // tolerates unreachable forever stays.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    eventually("web-x to be evicted", LIMIT, || async {
        pods.get_opt("web-x").await.ok()?.is_none().then_some(())
    })
    .await;
    // The event is written after the delete: wait for it too.
    let evicted = eventually("the eviction event", LIMIT, || async {
        let found = events(&client, "default", "web-x", "TaintManagerEviction").await;
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert_eq!(
        evicted.first().and_then(|e| e.message.clone()).as_deref(),
        Some("Marking for deletion Pod default/web-x")
    );
    assert!(
        pods.get_opt("patient").await.expect("get").is_some(),
        "tolerates forever"
    );
    assert!(pods.get_opt("web-y").await.expect("get").is_some(), "on a healthy node");
    let not_ready = events(&client, "default", "node-1", "NodeNotReady").await;
    assert_eq!(
        not_ready.first().and_then(|e| e.message.clone()).as_deref(),
        Some("Node node-1 status is now: NodeNotReady")
    );

    // The agent comes back: renews its lease and reports Ready.
    let _node1 = renew(&client, "node-1");
    report_ready(&client, "node-1").await;
    eventually("node-1's taints to go", LIMIT, || async {
        let node = nodes.get("node-1").await.ok()?;
        node.spec.taints.is_empty().then_some(())
    })
    .await;
    eventually("a NodeReady event", LIMIT, || async {
        let found = events(&client, "default", "node-1", "NodeReady").await;
        (!found.is_empty()).then_some(())
    })
    .await;
    controller.stop().await;
}
