//! ConfigMaps, Secrets and volumes on hollow nodes: the same planning and checks as on Docker
//! (only no files are written), so scale tests exercise the same code path.

use kubelab_agent::runtime::ContainerRuntime;
use kubelab_api::core::{ConfigMap, Event, Pod, Secret};
use kubelab_client::{Api, DeleteParams, ListParams};
use serde_json::json;

use crate::common::*;

fn waiting(pod: &Pod, container: &str) -> Option<(String, Option<String>)> {
    let status = pod.status.as_ref()?;
    let c = status.container_statuses.iter().find(|c| c.name == container)?;
    let w = c.state.as_ref()?.waiting.as_ref()?;
    Some((w.reason.clone()?, w.message.clone()))
}

#[tokio::test]
async fn missing_objects_hold_the_pod_back_until_they_exist() {
    let server = start_server().await;
    let runtime = hollow("n1");
    let _agent = start_agent(fast_config("n1"), &server.client, runtime.clone());
    let pods: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    pods.create(&pod(json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "nodeName": "n1",
            "containers": [{"name": "app", "image": "nginx:1.27",
                "env": [{"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}}],
                "volumeMounts": [{"name": "config", "mountPath": "/etc/config"}, {"name": "cache", "mountPath": "/cache"}]
            }],
            "volumes": [
                {"name": "config", "configMap": {"name": "app-config"}},
                {"name": "cache", "emptyDir": {"medium": "Memory"}}
            ]
        }
    })))
    .await
    .unwrap();

    // The ConfigMap volume cannot be set up: ContainerCreating, and a FailedMount event.
    eventually("ContainerCreating", || async {
        let p = get_pod(&server.client, "web").await?;
        (waiting(&p, "app")? == ("ContainerCreating".to_string(), None)).then_some(())
    })
    .await;
    let events: Api<Event> = Api::namespaced(server.client.clone(), "default");
    eventually("the FailedMount event", || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("FailedMount")
                    && e.message.as_deref()
                        == Some("MountVolume.SetUp failed for volume \"config\" : configmap \"app-config\" not found")
            })
            .then_some(())
    })
    .await;

    // The ConfigMap comes; the Secret of the env is still missing.
    let config_maps: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    config_maps
        .create(&serde_json::from_value(json!({"metadata": {"name": "app-config"}, "data": {"a": "1"}})).unwrap())
        .await
        .unwrap();
    eventually("CreateContainerConfigError", || async {
        let p = get_pod(&server.client, "web").await?;
        let expected = (
            "CreateContainerConfigError".to_string(),
            Some("secret \"creds\" not found".to_string()),
        );
        (waiting(&p, "app")? == expected).then_some(())
    })
    .await;

    // The Secret comes: the pod runs, with its memory emptyDir a volume of the runtime.
    let secrets: Api<Secret> = Api::namespaced(server.client.clone(), "default");
    secrets
        .create(
            &serde_json::from_value(json!({"metadata": {"name": "creds"}, "stringData": {"password": "x"}})).unwrap(),
        )
        .await
        .unwrap();
    let running = eventually("the pod to run", || async {
        let p = get_pod(&server.client, "web").await?;
        (phase(&p) == Some("Running")).then_some(p)
    })
    .await;
    let uid = running.metadata.uid.clone().unwrap();
    let volumes = runtime.list_volumes().await.unwrap();
    let cache = volumes
        .iter()
        .find(|v| v.labels.get("io.kubelab.pod-uid") == Some(&uid))
        .expect("the memory emptyDir's volume");
    assert!(cache.in_use);
    assert_eq!(cache.labels["io.kubelab.volume"], "cache");

    // Deleted with the pod.
    pods.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the pod's volume to go", || async {
        let volumes = runtime.list_volumes().await.ok()?;
        (get_pod(&server.client, "web").await.is_none() && volumes.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn bad_mounts_are_config_errors() {
    let server = start_server().await;
    let runtime = hollow("n1");
    let _agent = start_agent(fast_config("n1"), &server.client, runtime.clone());
    let pods: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    pods.create(&pod(json!({
        "metadata": {"name": "sub", "namespace": "default"},
        "spec": {
            "nodeName": "n1",
            "containers": [{"name": "app", "image": "nginx:1.27",
                "volumeMounts": [{"name": "mem", "mountPath": "/m", "subPath": "part"}]}],
            "volumes": [{"name": "mem", "emptyDir": {"medium": "Memory"}}]
        }
    })))
    .await
    .unwrap();
    eventually("CreateContainerConfigError for the subPath", || async {
        let p = get_pod(&server.client, "sub").await?;
        let (reason, message) = waiting(&p, "app")?;
        (reason == "CreateContainerConfigError"
            && message.as_deref()
                == Some(
                    "subPath \"part\" of volume \"mem\": a subPath inside a Docker volume needs Docker 26 or newer",
                ))
        .then_some(())
    })
    .await;
}
