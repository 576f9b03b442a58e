//! Placement, failure messages, selectors and taints, and schedulerName.

use std::collections::BTreeSet;
use std::time::Duration;

use kubelab_api::core::Pod;
use serde_json::json;

use crate::common::*;

/// The `PodScheduled=False` message, once the scheduler has written one.
async fn unschedulable_message(server: &TestServer, pod: &str) -> String {
    eventually(
        &format!("{pod} to be marked unschedulable"),
        Duration::from_secs(10),
        || async {
            let pod: Pod = pods(&server.client).get(pod).await.ok()?;
            let condition = pod
                .status?
                .conditions
                .into_iter()
                .find(|c| c.type_ == "PodScheduled" && c.status == "False")?;
            assert_eq!(condition.reason.as_deref(), Some("Unschedulable"));
            condition.message
        },
    )
    .await
}

#[tokio::test]
async fn three_replicas_spread_over_three_equal_nodes() {
    let server = start().await;
    for name in ["node-1", "node-2", "node-3"] {
        create_node(&server.client, name, "2", "4Gi", json!({})).await;
    }
    let scheduler = spawn_scheduler(&server.client, config("s1"));
    for i in 0..3 {
        create_pod(&server.client, &format!("web-{i}"), "100m", "128Mi", json!({})).await;
    }
    let mut placed = BTreeSet::new();
    for i in 0..3 {
        placed.insert(bound_node(&server.client, &format!("web-{i}")).await);
    }
    assert_eq!(
        placed,
        BTreeSet::from(["node-1".into(), "node-2".into(), "node-3".into()])
    );

    let node = bound_node(&server.client, "web-0").await;
    let events = eventually("a Scheduled event", Duration::from_secs(10), || async {
        Some(events_for(&server.client, "web-0", "Scheduled").await).filter(|e| !e.is_empty())
    })
    .await;
    let expected = format!("Successfully assigned default/web-0 to {node}");
    assert_eq!(events[0].message.as_deref(), Some(expected.as_str()));
    assert_eq!(events[0].type_.as_deref(), Some("Normal"));
    assert_eq!(
        events[0].source.as_ref().and_then(|s| s.component.as_deref()),
        Some("default-scheduler")
    );
    scheduler.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_pod_too_big_for_every_node_waits_until_a_big_node_arrives() {
    let server = start().await;
    for name in ["node-1", "node-2", "node-3"] {
        create_node(&server.client, name, "1", "2Gi", json!({})).await;
    }
    let _scheduler = spawn_scheduler(&server.client, config("s1"));
    create_pod(&server.client, "big", "4", "1Gi", json!({})).await;

    let message = unschedulable_message(&server, "big").await;
    assert_eq!(message, "0/3 nodes are available: 3 Insufficient cpu.");
    let failed = eventually("a FailedScheduling event", Duration::from_secs(10), || async {
        Some(events_for(&server.client, "big", "FailedScheduling").await).filter(|e| !e.is_empty())
    })
    .await;
    assert_eq!(failed[0].message.as_deref(), Some(message.as_str()));
    assert_eq!(failed[0].type_.as_deref(), Some("Warning"));
    let pod = pods(&server.client).get("big").await.expect("pod");
    assert_eq!(pod.spec.node_name, None, "still pending");

    create_node(&server.client, "node-big", "8", "16Gi", json!({})).await;
    assert_eq!(bound_node(&server.client, "big").await, "node-big");
    let pod = pods(&server.client).get("big").await.expect("pod");
    let scheduled = pod
        .status
        .and_then(|s| s.conditions.into_iter().find(|c| c.type_ == "PodScheduled"))
        .expect("PodScheduled condition");
    assert_eq!(scheduled.status, "True");
}

#[tokio::test]
async fn node_selector_affinity_and_taints_are_respected() {
    let server = start().await;
    create_node(
        &server.client,
        "ssd",
        "4",
        "8Gi",
        json!({"metadata": {"labels": {"disk": "ssd"}}}),
    )
    .await;
    create_node(
        &server.client,
        "gpu",
        "4",
        "8Gi",
        json!({"spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}}),
    )
    .await;
    create_node(
        &server.client,
        "plain",
        "4",
        "8Gi",
        json!({"metadata": {"labels": {"zone": "b"}}}),
    )
    .await;
    let _scheduler = spawn_scheduler(&server.client, config("s1"));

    create_pod(
        &server.client,
        "wants-ssd",
        "100m",
        "64Mi",
        json!({"spec": {"nodeSelector": {"disk": "ssd"}}}),
    )
    .await;
    create_pod(
        &server.client,
        "gpu-job",
        "100m",
        "64Mi",
        json!({"spec": {
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["gpu"]}]}
            ]}}},
        }}),
    )
    .await;
    create_pod(
        &server.client,
        "not-zone-a",
        "100m",
        "64Mi",
        json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b", "c"]}]}]
        }}}}}),
    )
    .await;
    create_pod(
        &server.client,
        "wants-nvme",
        "100m",
        "64Mi",
        json!({"spec": {"nodeSelector": {"disk": "nvme"}}}),
    )
    .await;

    assert_eq!(bound_node(&server.client, "wants-ssd").await, "ssd");
    assert_eq!(bound_node(&server.client, "gpu-job").await, "gpu");
    assert_eq!(bound_node(&server.client, "not-zone-a").await, "plain");
    assert_eq!(
        unschedulable_message(&server, "wants-nvme").await,
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, \
         2 node(s) didn't match Pod's node affinity/selector."
    );
}

#[tokio::test]
async fn pods_for_another_scheduler_are_left_alone() {
    let server = start().await;
    create_node(&server.client, "node-1", "2", "4Gi", json!({})).await;
    let _scheduler = spawn_scheduler(&server.client, config("s1"));
    create_pod(
        &server.client,
        "custom",
        "100m",
        "64Mi",
        json!({"spec": {"schedulerName": "my-scheduler"}}),
    )
    .await;
    create_pod(&server.client, "normal", "100m", "64Mi", json!({})).await;
    assert_eq!(bound_node(&server.client, "normal").await, "node-1");
    // The scheduler handles pods in creation order and has handled the later one: the first is
    // still unbound and carries no event of ours.
    let custom = pods(&server.client).get("custom").await.expect("pod");
    assert_eq!(custom.spec.node_name, None);
    assert!(events_for(&server.client, "custom", "FailedScheduling")
        .await
        .is_empty());
    assert!(events_for(&server.client, "custom", "Scheduled").await.is_empty());
}

#[tokio::test]
async fn assumed_pods_count_so_a_burst_does_not_overfill_a_node() {
    let server = start().await;
    create_node(&server.client, "small", "1", "4Gi", json!({})).await;
    let _scheduler = spawn_scheduler(&server.client, config("s1"));
    // Each pod takes 400m: two fit, the third must not, however fast they arrive.
    for i in 0..3 {
        create_pod(&server.client, &format!("p{i}"), "400m", "64Mi", json!({})).await;
    }
    let message = eventually("one pod to be unschedulable", Duration::from_secs(10), || async {
        for i in 0..3 {
            let pod = pods(&server.client).get(&format!("p{i}")).await.ok()?;
            let unschedulable = pod
                .status
                .iter()
                .flat_map(|s| s.conditions.iter())
                .find(|c| c.status == "False");
            if let Some(c) = unschedulable {
                return c.message.clone();
            }
        }
        None
    })
    .await;
    assert_eq!(message, "0/1 nodes are available: 1 Insufficient cpu.");
    let mut bound = 0;
    for i in 0..3 {
        let pod = pods(&server.client).get(&format!("p{i}")).await.expect("pod");
        bound += usize::from(pod.spec.node_name.is_some());
    }
    assert_eq!(bound, 2);

    // Deleting a bound pod frees room: the waiting one is retried and fits.
    let first_bound = (0..3).map(|i| format!("p{i}"));
    let mut victim = None;
    for name in first_bound {
        if pods(&server.client)
            .get(&name)
            .await
            .expect("pod")
            .spec
            .node_name
            .is_some()
        {
            victim = Some(name);
            break;
        }
    }
    let victim = victim.expect("a bound pod");
    pods(&server.client)
        .delete(
            &victim,
            &kubelab_client::DeleteParams {
                grace_period_seconds: Some(0),
                ..Default::default()
            },
        )
        .await
        .expect("delete");
    eventually("the waiting pod to be bound", Duration::from_secs(10), || async {
        let mut bound = 0;
        for i in 0..3 {
            let name = format!("p{i}");
            if name == victim {
                continue;
            }
            let pod = pods(&server.client).get(&name).await.ok()?;
            bound += usize::from(pod.spec.node_name.is_some());
        }
        (bound == 2).then_some(())
    })
    .await;
}
