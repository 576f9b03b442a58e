//! Registration, node status and the node Lease.

use kubelab_api::coordination::Lease;
use kubelab_api::core::Node;
use kubelab_client::Api;

use crate::common::*;

#[tokio::test]
async fn the_agent_registers_a_ready_node_and_renews_its_lease() {
    let server = start_server().await;
    let mut config = fast_config("node-a");
    config.labels.insert("zone".into(), "lab".into());
    config.capacity = kubelab_agent::Capacity::parse("cpu=4,memory=8Gi,pods=50").unwrap();
    let agent = start_agent(config, &server.client, hollow("node-a"));

    let nodes: Api<Node> = Api::all(server.client.clone());
    let node = eventually("a Ready node", || async {
        let node = nodes.get_opt("node-a").await.ok()??;
        let ready = node.status.as_ref()?.conditions.iter().find(|c| c.type_ == "Ready")?;
        (ready.status == "True").then_some(node)
    })
    .await;
    let status = node.status.clone().unwrap();
    let info = status.node_info.unwrap();
    assert_eq!(info.kubelet_version, "v1.32.0-kubelab");
    assert_eq!(info.container_runtime_version, "hollow://1");
    assert!(!info.boot_id.is_empty() && !info.machine_id.is_empty() && !info.system_uuid.is_empty());
    assert!(!info.kernel_version.is_empty() && !info.os_image.is_empty());
    assert_eq!(status.capacity["pods"].as_str(), "50");
    assert_eq!(status.allocatable["memory"].as_str(), "8Gi");
    assert_eq!(node.metadata.labels["kubernetes.io/hostname"], "node-a");
    assert_eq!(node.metadata.labels["zone"], "lab");
    for pressure in ["MemoryPressure", "DiskPressure", "PIDPressure"] {
        let c = status.conditions.iter().find(|c| c.type_ == pressure).unwrap();
        assert_eq!(c.status, "False");
    }
    assert!(status.addresses.iter().any(|a| a.type_ == "InternalIP"));
    assert!(status
        .addresses
        .iter()
        .any(|a| a.type_ == "Hostname" && a.address == "node-a"));

    let leases: Api<Lease> = Api::namespaced(server.client.clone(), "kube-node-lease");
    let first = eventually("the node lease", || async { leases.get_opt("node-a").await.ok()? }).await;
    assert_eq!(first.spec.holder_identity.as_deref(), Some("node-a"));
    assert_eq!(first.spec.lease_duration_seconds, Some(40));
    assert_eq!(first.metadata.owner_references[0].kind, "Node");
    let renewed = first.spec.renew_time;
    eventually("the lease to be renewed", || async {
        let lease = leases.get_opt("node-a").await.ok()??;
        (lease.spec.renew_time > renewed).then_some(())
    })
    .await;

    // The heartbeat in the status moves too.
    let heartbeat = |n: &Node| {
        n.status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
            .and_then(|c| c.last_heartbeat_time)
    };
    let before = heartbeat(&node);
    eventually("a newer node heartbeat", || async {
        let n = nodes.get_opt("node-a").await.ok()??;
        (heartbeat(&n) > before).then_some(())
    })
    .await;
    agent.stop().await;

    // A second agent with the same name adopts the node.
    let again = start_agent(fast_config("node-a"), &server.client, hollow("node-a"));
    let uid = node.metadata.uid.clone();
    eventually("the node to be adopted", || async {
        let n = nodes.get_opt("node-a").await.ok()??;
        (n.metadata.uid == uid && heartbeat(&n) > heartbeat(&node)).then_some(())
    })
    .await;
    again.stop().await;
}
