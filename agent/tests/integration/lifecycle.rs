//! Pods from start to deletion: running, crash loops, image errors, deletion, adoption.

use std::collections::HashSet;

use kubelab_agent::runtime::{ContainerRuntime, ContainerState};
use kubelab_api::core::{Event, Pod};
use kubelab_client::{Api, DeleteParams, ListParams};

use crate::common::*;

#[tokio::test]
async fn a_bound_pod_runs_and_reports_status() {
    let server = start_server().await;
    let runtime = hollow("n1");
    let agent = start_agent(fast_config("n1"), &server.client, runtime.clone());
    let pods: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    pods.create(&pod(serde_json::json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "nodeName": "n1",
            "initContainers": [{"name": "setup", "image": "tools-complete"}],
            "containers": [{"name": "app", "image": "nginx:1.27"}, {"name": "side", "image": "busybox:1"}]
        }
    })))
    .await
    .unwrap();

    let running = eventually("the pod to run", || async {
        let p = get_pod(&server.client, "web").await?;
        (phase(&p) == Some("Running") && condition(&p, "Ready").as_deref() == Some("True")).then_some(p)
    })
    .await;
    let status = running.status.unwrap();
    assert!(status.pod_ip.as_deref().is_some_and(|ip| ip.starts_with("10.")));
    assert_eq!(status.host_ip.as_deref(), Some("127.0.0.1"));
    assert!(status.start_time.is_some());
    assert_eq!(status.container_statuses.len(), 2);
    for c in &status.container_statuses {
        assert!(c.ready && c.started == Some(true));
        assert!(c.state.as_ref().unwrap().running.is_some());
        assert!(c.container_id.as_deref().unwrap().starts_with("hollow://"));
        assert!(!c.image_id.is_empty());
        assert_eq!(c.restart_count, 0);
    }
    let init = &status.init_container_statuses[0];
    let done = init.state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!((done.exit_code, done.reason.as_deref()), (0, Some("Completed")));
    for type_ in [
        "PodScheduled",
        "Initialized",
        "ContainersReady",
        "Ready",
        "PodReadyToStartContainers",
    ] {
        assert_eq!(
            condition(
                &Pod {
                    status: Some(status.clone()),
                    ..Default::default()
                },
                type_
            )
            .as_deref(),
            Some("True"),
            "{type_}"
        );
    }

    // The kubelet's events, about the pod and its containers.
    let events: Api<Event> = Api::namespaced(server.client.clone(), "default");
    eventually("Started events", || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        let started: Vec<&Event> = list
            .items
            .iter()
            .filter(|e| e.reason.as_deref() == Some("Started"))
            .collect();
        (started.len() >= 3).then_some(())
    })
    .await;
    let list = events.list(&ListParams::default()).await.unwrap();
    let started = list
        .items
        .iter()
        .find(|e| e.reason.as_deref() == Some("Started"))
        .unwrap();
    assert_eq!(started.source.as_ref().unwrap().component.as_deref(), Some("kubelet"));
    assert_eq!(started.source.as_ref().unwrap().host.as_deref(), Some("n1"));
    assert_eq!(started.involved_object.kind.as_deref(), Some("Pod"));
    assert!(started
        .involved_object
        .field_path
        .as_deref()
        .unwrap()
        .starts_with("spec."));
    agent.stop().await;
}

#[tokio::test]
async fn a_crashing_container_backs_off_and_its_restart_count_grows() {
    let server = start_server().await;
    let agent = start_agent(fast_config("n1"), &server.client, hollow("n1"));
    let pods: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    pods.create(&bound_pod("crasher", "n1", &[("app", "demo-crash")]))
        .await
        .unwrap();

    let reasons = std::sync::Mutex::new(HashSet::new());
    let reasons = &reasons;
    let last = eventually("restartCount >= 3 with CrashLoopBackOff seen", || {
        let client = server.client.clone();
        async move {
            let p = get_pod(&client, "crasher").await?;
            let c = p.status.as_ref()?.container_statuses.first()?.clone();
            let mut seen = reasons.lock().unwrap();
            if let Some(w) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) {
                seen.insert(w.reason.clone().unwrap_or_default());
            }
            (c.restart_count >= 3 && seen.contains("CrashLoopBackOff")).then_some(c)
        }
    })
    .await;
    let last_state = last.last_state.unwrap().terminated.unwrap();
    assert_eq!((last_state.exit_code, last_state.reason.as_deref()), (1, Some("Error")));
    let p = get_pod(&server.client, "crasher").await.unwrap();
    assert_eq!(phase(&p), Some("Running"), "Always: a crash-looping pod stays Running");

    let events: Api<Event> = Api::namespaced(server.client.clone(), "default");
    eventually("a BackOff event", || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items.into_iter().find(|e| e.reason.as_deref() == Some("BackOff"))
    })
    .await;
    agent.stop().await;
}

#[tokio::test]
async fn never_and_missing_images() {
    let server = start_server().await;
    let agent = start_agent(fast_config("n1"), &server.client, hollow("n1"));
    let pods: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    let mut job = bound_pod("job", "n1", &[("work", "batch-complete")]);
    job.spec.restart_policy = Some("Never".into());
    pods.create(&job).await.unwrap();
    let mut failing = bound_pod("failing", "n1", &[("work", "batch-crash")]);
    failing.spec.restart_policy = Some("Never".into());
    pods.create(&failing).await.unwrap();
    pods.create(&bound_pod("nope", "n1", &[("app", "missing/image:1")]))
        .await
        .unwrap();

    eventually("the job to succeed", || async {
        let p = get_pod(&server.client, "job").await?;
        (phase(&p) == Some("Succeeded")).then_some(())
    })
    .await;
    eventually("the failing job to fail", || async {
        let p = get_pod(&server.client, "failing").await?;
        (phase(&p) == Some("Failed")).then_some(())
    })
    .await;
    let waiting = eventually("ImagePullBackOff", || async {
        let p = get_pod(&server.client, "nope").await?;
        let w = p.status?.container_statuses.first()?.state.clone()?.waiting?;
        (w.reason.as_deref() == Some("ImagePullBackOff")).then_some(w)
    })
    .await;
    assert!(waiting.message.unwrap().contains("missing/image:1"));
    let p = get_pod(&server.client, "nope").await.unwrap();
    assert_eq!(phase(&p), Some("Pending"));
    agent.stop().await;
}

#[tokio::test]
async fn deleting_a_pod_stops_it_and_removes_it_from_the_api() {
    let server = start_server().await;
    let runtime = hollow("n1");
    let agent = start_agent(fast_config("n1"), &server.client, runtime.clone());
    let pods: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    pods.create(&bound_pod("web", "n1", &[("app", "nginx")])).await.unwrap();
    eventually("the pod to run", || async {
        let p = get_pod(&server.client, "web").await?;
        (phase(&p) == Some("Running")).then_some(())
    })
    .await;

    // A graceful delete only marks the pod; the agent stops it and then removes it for good.
    pods.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the pod to be gone", || async {
        get_pod(&server.client, "web").await.is_none().then_some(())
    })
    .await;
    assert!(runtime.list_containers().await.unwrap().is_empty());
    assert!(runtime.list_sandboxes().await.unwrap().is_empty());

    // Orphans: containers of a pod the API never had are removed by housekeeping.
    let orphan = kubelab_agent::runtime::SandboxConfig {
        pod_uid: "ghost".into(),
        namespace: "default".into(),
        pod_name: "ghost".into(),
        ..Default::default()
    };
    runtime.run_sandbox(&orphan).await.unwrap();
    eventually("the orphan to be removed", || async {
        runtime.list_sandboxes().await.unwrap().is_empty().then_some(())
    })
    .await;
    agent.stop().await;
}

#[tokio::test]
async fn a_restarted_agent_adopts_its_containers() {
    let server = start_server().await;
    let runtime = hollow("n1");
    let agent = start_agent(fast_config("n1"), &server.client, runtime.clone());
    let pods: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    pods.create(&bound_pod("stable", "n1", &[("app", "nginx")]))
        .await
        .unwrap();
    pods.create(&bound_pod("crasher", "n1", &[("app", "demo-crash")]))
        .await
        .unwrap();
    let stable_id = eventually("the stable pod to run", || async {
        let p = get_pod(&server.client, "stable").await?;
        let c = p.status.clone()?.container_statuses.first()?.clone();
        (phase(&p) == Some("Running")).then_some(c.container_id?)
    })
    .await;
    let restarts = eventually("the crasher to restart twice", || async {
        let p = get_pod(&server.client, "crasher").await?;
        let c = p.status?.container_statuses.first()?.clone();
        (c.restart_count >= 2).then_some(c.restart_count)
    })
    .await;
    agent.stop().await;

    // A new agent, the same containers (as after `kill -9` of the agent).
    let agent = start_agent(fast_config("n1"), &server.client, runtime.clone());
    pods.create(&bound_pod("after", "n1", &[("app", "nginx")]))
        .await
        .unwrap();
    eventually("a pod created after the restart to run", || async {
        let p = get_pod(&server.client, "after").await?;
        (phase(&p) == Some("Running")).then_some(())
    })
    .await;
    eventually("the crasher's count to go on", || async {
        let p = get_pod(&server.client, "crasher").await?;
        let c = p.status?.container_statuses.first()?.clone();
        assert!(c.restart_count >= restarts, "restart count went back");
        (c.restart_count > restarts).then_some(())
    })
    .await;
    let p = get_pod(&server.client, "stable").await.unwrap();
    let c = p.status.unwrap().container_statuses[0].clone();
    assert_eq!(
        c.container_id.as_deref(),
        Some(stable_id.as_str()),
        "the stable container was adopted"
    );
    let containers = runtime.list_containers().await.unwrap();
    let stable: Vec<_> = containers.iter().filter(|c| c.pod_name == "stable").collect();
    assert_eq!(stable.len(), 1, "nothing was started twice");
    let alive = containers
        .iter()
        .filter(|c| c.pod_name == "crasher" && matches!(c.state, ContainerState::Running { .. }))
        .count();
    assert!(alive <= 1);
    assert_eq!(runtime.list_sandboxes().await.unwrap().len(), 3);
    agent.stop().await;
}
