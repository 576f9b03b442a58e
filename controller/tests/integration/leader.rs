//! Two controller managers: only the leader acts; the other takes over when it goes away.

use std::time::Duration;

use kubelab_api::coordination::Lease;
use kubelab_client::{Api, Patch};
use kubelab_controller::manager::{LEASE_NAME, LEASE_NAMESPACE};
use serde_json::json;

use crate::common::*;

fn elected(identity: &str) -> kubelab_controller::ManagerConfig {
    let mut config = manager_config(identity);
    config.leader_elect = true;
    // Every controller, as the binary runs them.
    config.controllers = vec!["*".into()];
    config.leader_election.lease_duration = Duration::from_secs(3);
    config.leader_election.renew_deadline = Duration::from_secs(2);
    config.leader_election.retry_period = Duration::from_millis(200);
    config
}

async fn holder(client: &kubelab_client::Client) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let lease = leases.get(LEASE_NAME).await.ok()?;
    let value = serde_json::to_value(&lease).ok()?;
    value
        .pointer("/spec/holderIdentity")
        .and_then(|v| v.as_str())
        .filter(|h| !h.is_empty())
        .map(str::to_string)
}

#[tokio::test]
async fn only_the_leader_acts_and_the_other_takes_over() {
    let cluster = cluster(2, false).await;
    let client = &cluster.client;
    let a = spawn_manager(client, elected("manager-a"));
    eventually("manager-a to lead", || async {
        (holder(client).await.as_deref() == Some("manager-a")).then_some(())
    })
    .await;
    let b = spawn_manager(client, elected("manager-b"));

    deployments(client)
        .create(&deployment("ha", 3, "nginx:1", json!({})))
        .await
        .expect("create");
    rolled_out(client, "ha", 3).await;
    assert_eq!(holder(client).await.as_deref(), Some("manager-a"));
    assert!(!b.task.is_finished(), "the follower waits");

    // The leader dies without releasing the lease: the follower takes over after it expires.
    drop(a);
    eventually("manager-b to lead", || async {
        (holder(client).await.as_deref() == Some("manager-b")).then_some(())
    })
    .await;
    deployments(client)
        .patch("ha", &Patch::Merge(json!({"spec": {"replicas": 4}})))
        .await
        .expect("scale");
    rolled_out(client, "ha", 4).await;

    // A graceful stop releases the lease.
    b.stop().await.expect("clean stop");
    eventually("the lease released", || async {
        holder(client).await.is_none().then_some(())
    })
    .await;
}
