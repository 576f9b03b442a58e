//! Two schedulers, one lease: only the leader binds, and the other takes over when it dies.

use std::time::Duration;

use kubelab_client::DynamicApi;
use kubelab_scheduler::SchedulerConfig;
use serde_json::json;

use crate::common::*;

fn elected(identity: &str) -> SchedulerConfig {
    let mut config = config(identity);
    config.leader_elect = true;
    config.leader_election.lease_duration = Duration::from_secs(1);
    config.leader_election.renew_deadline = Duration::from_millis(800);
    config.leader_election.retry_period = Duration::from_millis(100);
    config
}

async fn holder(server: &TestServer) -> Option<String> {
    let leases = DynamicApi::for_kind(
        server.client.clone(),
        "coordination.k8s.io/v1",
        "Lease",
        Some("kube-system"),
    )
    .ok()?;
    let lease = leases.get("kube-scheduler").await.ok()?;
    lease["spec"]["holderIdentity"].as_str().map(str::to_string)
}

async fn reporter(server: &TestServer, pod: &str) -> String {
    let events = eventually(
        &format!("a Scheduled event for {pod}"),
        Duration::from_secs(10),
        || async { Some(events_for(&server.client, pod, "Scheduled").await).filter(|e| !e.is_empty()) },
    )
    .await;
    assert_eq!(events.len(), 1, "exactly one scheduler bound {pod}");
    events[0].reporting_instance.clone().unwrap_or_default()
}

#[tokio::test]
async fn only_the_leader_schedules_and_the_other_takes_over_when_it_dies() {
    let server = start().await;
    for name in ["node-1", "node-2"] {
        create_node(&server.client, name, "4", "8Gi", json!({})).await;
    }
    let a = spawn_scheduler(&server.client, elected("sched-a"));
    eventually("sched-a to lead", Duration::from_secs(10), || async {
        (holder(&server).await.as_deref() == Some("sched-a")).then_some(())
    })
    .await;
    let b = spawn_scheduler(&server.client, elected("sched-b"));

    for i in 0..4 {
        create_pod(&server.client, &format!("before-{i}"), "100m", "64Mi", json!({})).await;
    }
    for i in 0..4 {
        let pod = format!("before-{i}");
        bound_node(&server.client, &pod).await;
        assert_eq!(reporter(&server, &pod).await, "sched-a");
    }
    assert_eq!(holder(&server).await.as_deref(), Some("sched-a"));

    // The leader dies without releasing its lease (a crash, not a clean stop).
    drop(a);
    let died = tokio::time::Instant::now();
    for i in 0..2 {
        create_pod(&server.client, &format!("after-{i}"), "100m", "64Mi", json!({})).await;
    }
    for i in 0..2 {
        let pod = format!("after-{i}");
        bound_node(&server.client, &pod).await;
        assert_eq!(reporter(&server, &pod).await, "sched-b");
    }
    let took = died.elapsed();
    // The lease lasts 1 s; b checks every 100 ms. Allow generously for a loaded machine.
    assert!(took < Duration::from_secs(4), "takeover took {took:?}");
    assert_eq!(holder(&server).await.as_deref(), Some("sched-b"));

    // A clean stop releases the lease at once.
    b.stop().await.expect("clean stop");
    assert_eq!(holder(&server).await.as_deref(), Some(""));
}
