//! The volume controller against a real API server: the default class, dynamic provisioning,
//! static matching, and reclaiming with Delete and Retain. No nodes are needed: binding is all
//! API objects (the node agent mounts the Docker volume later).

use kubelab_api::core::{PersistentVolume, PersistentVolumeClaim};
use kubelab_api::storage::StorageClass;
use kubelab_client::{Api, Client, DeleteParams};
use kubelab_controller::volume::claims::BIND_COMPLETED;
use kubelab_controller::volume::provision::PROVISIONER;
use serde_json::json;

use crate::common::*;

async fn volume_cluster() -> Cluster {
    let mut cluster = cluster(0, false).await;
    let mut config = manager_config("test-manager");
    config.controllers = vec!["persistentvolume-binder".into()];
    cluster.manager = Some(spawn_manager(&cluster.client, config));
    cluster
}

fn claims(client: &Client) -> Api<PersistentVolumeClaim> {
    Api::namespaced(client.clone(), "default")
}

fn volumes(client: &Client) -> Api<PersistentVolume> {
    Api::all(client.clone())
}

fn classes(client: &Client) -> Api<StorageClass> {
    Api::all(client.clone())
}

fn claim(name: &str, size: &str, class: Option<&str>) -> PersistentVolumeClaim {
    let mut spec = json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}});
    if let Some(class) = class {
        spec["storageClassName"] = json!(class);
    }
    serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default"}, "spec": spec})).expect("claim")
}

fn host_path_volume(name: &str, size: &str, class: &str) -> PersistentVolume {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], "storageClassName": class,
            "hostPath": {"path": format!("/tmp/kubelab-test-{name}")}},
    }))
    .expect("volume")
}

fn phase_of_claim(claim: &PersistentVolumeClaim) -> &str {
    claim.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

async fn bound_claim(client: &Client, name: &str) -> PersistentVolumeClaim {
    eventually(&format!("claim {name} Bound"), || async {
        let claim = claims(client).get(name).await.ok()?;
        (phase_of_claim(&claim) == "Bound").then_some(claim)
    })
    .await
}

async fn volume_phase(client: &Client, name: &str, phase: &str) -> PersistentVolume {
    eventually(&format!("volume {name} {phase}"), || async {
        let volume = volumes(client).get(name).await.ok()?;
        (volume.phase() == phase).then_some(volume)
    })
    .await
}

async fn gone(client: &Client, name: &str) {
    eventually(&format!("volume {name} deleted"), || async {
        volumes(client).get_opt(name).await.ok()?.is_none().then_some(())
    })
    .await
}

#[tokio::test]
async fn a_claim_without_a_class_gets_a_provisioned_docker_volume() {
    let cluster = volume_cluster().await;
    let client = &cluster.client;
    let standard = eventually("the standard class", || async {
        classes(client).get("standard").await.ok()
    })
    .await;
    assert_eq!(standard.provisioner, PROVISIONER);
    assert_eq!(
        standard
            .metadata
            .annotations
            .get("storageclass.kubernetes.io/is-default-class")
            .map(String::as_str),
        Some("true")
    );
    assert_eq!(standard.reclaim_policy.as_deref(), Some("Delete"));

    let created = claims(client).create(&claim("data", "2Gi", None)).await.expect("claim");
    let uid = created.metadata.uid.clone().expect("uid");
    let bound = bound_claim(client, "data").await;
    assert_eq!(
        bound.spec.storage_class_name.as_deref(),
        Some("standard"),
        "the default class was set"
    );
    let volume_name = format!("pvc-{uid}");
    assert_eq!(bound.spec.volume_name.as_deref(), Some(volume_name.as_str()));
    assert_eq!(
        bound.metadata.annotations.get(BIND_COMPLETED).map(String::as_str),
        Some("yes")
    );
    let status = bound.status.clone().expect("status");
    assert_eq!(status.capacity["storage"].as_str(), "2Gi");
    assert_eq!(status.access_modes, ["ReadWriteOnce"]);

    let volume = volume_phase(client, &volume_name, "Bound").await;
    let csi = volume.spec.csi.clone().expect("csi source");
    assert_eq!(csi.driver, PROVISIONER);
    assert!(
        csi.volume_handle.starts_with("kubelab-") && csi.volume_handle.ends_with(&format!("-pvc-{uid}")),
        "{}",
        csi.volume_handle
    );
    assert_eq!(volume.spec.capacity["storage"].as_str(), "2Gi");
    assert_eq!(volume.spec.persistent_volume_reclaim_policy.as_deref(), Some("Delete"));
    let reference = volume.spec.claim_ref.clone().expect("claimRef");
    assert_eq!(
        (
            reference.namespace.as_deref(),
            reference.name.as_deref(),
            reference.uid.as_deref()
        ),
        (Some("default"), Some("data"), Some(uid.as_str()))
    );

    // reclaimPolicy Delete: the claim goes, the volume goes.
    claims(client)
        .delete("data", &DeleteParams::default())
        .await
        .expect("delete claim");
    gone(client, &volume_name).await;
}

#[tokio::test]
async fn retain_keeps_a_released_volume() {
    let cluster = volume_cluster().await;
    let client = &cluster.client;
    let keep: StorageClass = serde_json::from_value(json!({
        "metadata": {"name": "keep"}, "provisioner": PROVISIONER, "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
    }))
    .unwrap();
    classes(client).create(&keep).await.expect("class");
    claims(client)
        .create(&claim("kept", "1Gi", Some("keep")))
        .await
        .expect("claim");
    let bound = bound_claim(client, "kept").await;
    let volume_name = bound.spec.volume_name.clone().expect("volumeName");
    let volume = volume_phase(client, &volume_name, "Bound").await;
    assert_eq!(volume.spec.persistent_volume_reclaim_policy.as_deref(), Some("Retain"));
    claims(client)
        .delete("kept", &DeleteParams::default())
        .await
        .expect("delete claim");
    let released = volume_phase(client, &volume_name, "Released").await;
    assert!(
        released.spec.claim_ref.is_some(),
        "a released volume still names its old claim"
    );
    // A new claim of the same name is another claim: it does not get the old data.
    claims(client)
        .create(&claim("kept", "1Gi", Some("keep")))
        .await
        .expect("claim again");
    let again = bound_claim(client, "kept").await;
    assert_ne!(again.spec.volume_name.as_deref(), Some(volume_name.as_str()));
    assert_eq!(
        volumes(client).get(&volume_name).await.expect("kept").phase(),
        "Released"
    );
}

#[tokio::test]
async fn static_volumes_are_matched_by_class_mode_and_the_smallest_size() {
    let cluster = volume_cluster().await;
    let client = &cluster.client;
    for (name, size) in [("pv-small", "1Gi"), ("pv-medium", "5Gi"), ("pv-large", "10Gi")] {
        volumes(client)
            .create(&host_path_volume(name, size, "manual"))
            .await
            .expect("volume");
    }
    volumes(client)
        .create(&host_path_volume("pv-other-class", "4Gi", "slow"))
        .await
        .expect("volume");
    for name in ["pv-small", "pv-medium", "pv-large", "pv-other-class"] {
        volume_phase(client, name, "Available").await;
    }
    claims(client)
        .create(&claim("want3", "3Gi", Some("manual")))
        .await
        .expect("claim");
    let bound = bound_claim(client, "want3").await;
    assert_eq!(
        bound.spec.volume_name.as_deref(),
        Some("pv-medium"),
        "the smallest that fits"
    );
    assert_eq!(bound.status.clone().unwrap().capacity["storage"].as_str(), "5Gi");
    volume_phase(client, "pv-medium", "Bound").await;

    // A claim created before its volume binds when the volume appears.
    claims(client)
        .create(&claim("later", "20Gi", Some("manual")))
        .await
        .expect("claim");
    volumes(client)
        .create(&host_path_volume("pv-huge", "50Gi", "manual"))
        .await
        .expect("volume");
    let later = bound_claim(client, "later").await;
    assert_eq!(later.spec.volume_name.as_deref(), Some("pv-huge"));

    // Retain (the default for volumes made by hand): Released when the claim goes.
    claims(client)
        .delete("want3", &DeleteParams::default())
        .await
        .expect("delete");
    volume_phase(client, "pv-medium", "Released").await;

    // A hostPath volume with Delete cannot be deleted by kubelab: Failed, with the reason.
    let mut doomed = host_path_volume("pv-doomed", "1Gi", "gone");
    doomed.spec.persistent_volume_reclaim_policy = Some("Delete".into());
    volumes(client).create(&doomed).await.expect("volume");
    claims(client)
        .create(&claim("doomed", "1Gi", Some("gone")))
        .await
        .expect("claim");
    bound_claim(client, "doomed").await;
    claims(client)
        .delete("doomed", &DeleteParams::default())
        .await
        .expect("delete");
    let failed = volume_phase(client, "pv-doomed", "Failed").await;
    let status = failed.status.expect("status");
    assert_eq!(status.reason.as_deref(), Some("VolumeFailedDelete"));
    assert!(status.message.unwrap_or_default().contains("pv-doomed"));
}
