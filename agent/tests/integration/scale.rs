//! Many hollow nodes in one process, as `kubelab agent --runtime hollow --nodes N` runs them.

use std::sync::Arc;

use kubelab_agent::runtime::hollow::{HollowConfig, HollowRuntime};
use kubelab_api::core::{Node, Pod};
use kubelab_client::{Api, ListParams};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_hollow_nodes_register_and_run_pods() {
    const NODES: usize = 100;
    let server = start_server().await;
    let mut agents = Vec::new();
    for i in 0..NODES {
        let name = format!("hollow-{i}");
        let mut config = fast_config(&name);
        // Slower heartbeats, as a real fleet would have, so 100 nodes do not flood the test server.
        config.lease_renew_interval = std::time::Duration::from_secs(5);
        config.status_update_interval = std::time::Duration::from_secs(10);
        config.relist_interval = std::time::Duration::from_millis(500);
        config.housekeeping_interval = std::time::Duration::from_secs(5);
        config.workers = 1;
        let runtime: Arc<dyn kubelab_agent::runtime::ContainerRuntime> = Arc::new(HollowRuntime::new(HollowConfig {
            ip_range_index: Some(i as u16),
            ..HollowConfig::new(&name, "test")
        }));
        agents.push(start_agent(config, &server.client, runtime));
    }
    let nodes: Api<Node> = Api::all(server.client.clone());
    eventually("100 nodes", || async {
        let list = nodes.list(&ListParams::default()).await.ok()?;
        (list.items.len() == NODES).then_some(())
    })
    .await;

    let pods: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    for i in 0..NODES {
        pods.create(&bound_pod(
            &format!("p-{i}"),
            &format!("hollow-{i}"),
            &[("app", "nginx")],
        ))
        .await
        .unwrap();
    }
    eventually("every pod running", || async {
        let list = pods.list(&ListParams::default()).await.ok()?;
        let running = list.items.iter().filter(|p| phase(p) == Some("Running")).count();
        (running == NODES).then_some(())
    })
    .await;
    let list = pods.list(&ListParams::default()).await.unwrap();
    let mut ips: Vec<String> = list
        .items
        .iter()
        .filter_map(|p| p.status.as_ref()?.pod_ip.clone())
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), NODES, "pod IPs are unique across hollow nodes");
    for agent in agents {
        agent.stop().await;
    }
}
