//! Readiness and liveness probes, answered by the hollow runtime.

use kubelab_agent::runtime::ProbeKind;
use kubelab_api::core::Pod;
use kubelab_client::Api;

use crate::common::*;

#[tokio::test]
async fn readiness_gates_ready_and_liveness_restarts() {
    let server = start_server().await;
    let runtime = hollow("n1");
    let agent = start_agent(fast_config("n1"), &server.client, runtime.clone());
    let pods: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    pods.create(&pod(serde_json::json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"nodeName": "n1", "containers": [{
            "name": "app", "image": "web-unready",
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1}
        }]}
    })))
    .await
    .unwrap();
    let p = eventually("the pod to run, not ready", || async {
        let p = get_pod(&server.client, "web").await?;
        let c = p.status.as_ref()?.container_statuses.first()?.clone();
        (phase(&p) == Some("Running") && c.state?.running.is_some()).then_some(p)
    })
    .await;
    assert_eq!(condition(&p, "Ready").as_deref(), Some("False"));
    assert_eq!(condition(&p, "ContainersReady").as_deref(), Some("False"));

    runtime.set_probe_result("web", "app", ProbeKind::Readiness, true);
    eventually("Ready", || async {
        let p = get_pod(&server.client, "web").await?;
        (condition(&p, "Ready").as_deref() == Some("True")).then_some(())
    })
    .await;
    runtime.set_probe_result("web", "app", ProbeKind::Readiness, false);
    eventually("not Ready again", || async {
        let p = get_pod(&server.client, "web").await?;
        (condition(&p, "Ready").as_deref() == Some("False")).then_some(())
    })
    .await;

    pods.create(&pod(serde_json::json!({
        "metadata": {"name": "sick", "namespace": "default"},
        "spec": {"nodeName": "n1", "containers": [{
            "name": "app", "image": "app-unhealthy",
            "livenessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 1, "failureThreshold": 1}
        }]}
    })))
    .await
    .unwrap();
    eventually("the liveness probe to restart the container", || async {
        let p = get_pod(&server.client, "sick").await?;
        let c = p.status?.container_statuses.first()?.clone();
        (c.restart_count >= 1).then_some(())
    })
    .await;
    agent.stop().await;
}
