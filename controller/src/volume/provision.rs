//! Dynamic provisioning: a new volume made to order for a claim, as a pure function.
//!
//! When no existing volume fits a claim and the claim's class names kubelab's provisioner
//! (`kubelab.io/docker-volume`), the controller creates a PersistentVolume `pvc-<claim uid>`:
//!
//! - `spec.csi.driver: kubelab.io/docker-volume`, `spec.csi.volumeHandle`: the name of the Docker
//!   volume that holds the data, `kubelab-<cluster id>-pvc-<claim uid>`. kubelab never calls
//!   Docker from the controller: the node agent creates that Docker volume the first time a pod
//!   mounts the claim, and removes it once the PersistentVolume is gone. The cluster id is the
//!   start of the `kube-system` namespace's uid (Kubernetes tools use that uid as a cluster's
//!   identity too), so two clusters on one Docker engine never share a volume name;
//! - the claim's request as capacity and its access modes and volume mode;
//! - the class's `reclaimPolicy`, and the class name;
//! - `claimRef` to the claim (with its uid) already set: the volume is reserved for the claim
//!   from birth, so no other claim can take it before the binding completes.
//!
//! The name comes from the claim's uid, so provisioning twice (a retry after a crash) finds the
//! volume already there instead of making a second one.
//!
//! Which class a claim gets: its `storageClassName`; when it names none at all (not even ""),
//! the default class, as Kubernetes' `DefaultStorageClass` admission plugin does. With several
//! classes marked default, the newest one wins (Kubernetes ≥ 1.28).

use std::collections::BTreeMap;
use std::sync::Arc;

use kubelab_api::core::{CsiPersistentVolumeSource, ObjectReference, PersistentVolume, PersistentVolumeClaim};
use kubelab_api::storage::{is_default_class, StorageClass};
use kubelab_api::ObjectMeta;

/// kubelab's provisioner and CSI driver: volumes are Docker volumes the node agent manages.
pub const PROVISIONER: &str = "kubelab.io/docker-volume";
/// The class every cluster starts with.
pub const DEFAULT_CLASS: &str = "standard";
/// On a provisioned volume: who made it (Kubernetes' annotation).
pub const PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";

/// The class claims without a `storageClassName` get: the newest default one (name breaks ties).
pub fn default_class(classes: &[Arc<StorageClass>]) -> Option<Arc<StorageClass>> {
    classes
        .iter()
        .filter(|c| is_default_class(c) && c.metadata.deletion_timestamp.is_none())
        .max_by_key(|c| {
            (
                c.metadata.creation_timestamp.map(|t| t.0),
                std::cmp::Reverse(c.metadata.name().to_string()),
            )
        })
        .cloned()
}

/// The `standard` class kubelab makes at start: the default, provisioned as Docker volumes.
pub fn standard_class() -> StorageClass {
    let mut class = StorageClass {
        metadata: ObjectMeta {
            name: Some(DEFAULT_CLASS.into()),
            ..ObjectMeta::default()
        },
        provisioner: PROVISIONER.into(),
        reclaim_policy: Some("Delete".into()),
        volume_binding_mode: Some("Immediate".into()),
        ..StorageClass::default()
    };
    class
        .metadata
        .annotations
        .insert(kubelab_api::storage::DEFAULT_CLASS_ANNOTATION.into(), "true".into());
    class
        .metadata
        .labels
        .insert("addonmanager.kubernetes.io/mode".into(), "EnsureExists".into());
    class
}

/// The cluster id in volume handles: the first 8 characters of `kube-system`'s uid.
pub fn cluster_id(kube_system_uid: &str) -> String {
    kube_system_uid.chars().filter(|c| *c != '-').take(8).collect()
}

/// The Docker volume name of the volume provisioned for a claim.
pub fn volume_handle(cluster_id: &str, claim_uid: &str) -> String {
    format!("kubelab-{cluster_id}-pvc-{claim_uid}")
}

/// The name of the volume provisioned for a claim: `pvc-<uid>`, as Kubernetes' provisioners.
pub fn volume_name(claim: &PersistentVolumeClaim) -> String {
    format!("pvc-{}", claim.metadata.uid.as_deref().unwrap_or(""))
}

/// A reference to the claim, for a volume's `claimRef`.
pub fn claim_ref(claim: &PersistentVolumeClaim) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("PersistentVolumeClaim".into()),
        namespace: claim.metadata.namespace.clone(),
        name: claim.metadata.name.clone(),
        uid: claim.metadata.uid.clone(),
        resource_version: claim.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// The volume to create for `claim` of `class`.
pub fn provisioned_volume(claim: &PersistentVolumeClaim, class: &StorageClass, cluster_id: &str) -> PersistentVolume {
    let uid = claim.metadata.uid.as_deref().unwrap_or("");
    let mut capacity = BTreeMap::new();
    if let Some(request) = claim.spec.resources.as_ref().and_then(|r| r.requests.get("storage")) {
        capacity.insert("storage".to_string(), request.clone());
    }
    let mut volume = PersistentVolume {
        metadata: ObjectMeta {
            name: Some(volume_name(claim)),
            ..ObjectMeta::default()
        },
        ..PersistentVolume::default()
    };
    volume
        .metadata
        .annotations
        .insert(PROVISIONED_BY.into(), class.provisioner.clone());
    let spec = &mut volume.spec;
    spec.capacity = capacity;
    spec.access_modes = claim.spec.access_modes.clone();
    spec.claim_ref = Some(claim_ref(claim));
    spec.persistent_volume_reclaim_policy = Some(class.reclaim_policy().to_string());
    spec.storage_class_name = Some(class.metadata.name().to_string());
    spec.volume_mode = claim.spec.volume_mode.clone();
    spec.mount_options = class.mount_options.clone();
    spec.csi = Some(CsiPersistentVolumeSource {
        driver: PROVISIONER.into(),
        volume_handle: volume_handle(cluster_id, uid),
        fs_type: Some("ext4".into()),
        volume_attributes: class.parameters.clone(),
        read_only: None,
    });
    volume
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubelab_api::Time;
    use serde_json::json;

    fn class(name: &str, default: bool, created: i64) -> Arc<StorageClass> {
        let mut class = standard_class();
        class.metadata.name = Some(name.into());
        if !default {
            class.metadata.annotations.clear();
        }
        class.metadata.creation_timestamp = Some(Time(chrono::DateTime::from_timestamp(created, 0).unwrap()));
        Arc::new(class)
    }

    #[test]
    fn the_newest_default_class_wins() {
        assert!(default_class(&[class("plain", false, 1)]).is_none());
        let classes = [class("old", true, 1), class("new", true, 5), class("plain", false, 9)];
        assert_eq!(default_class(&classes).unwrap().metadata.name(), "new");
    }

    #[test]
    fn a_provisioned_volume_is_made_for_its_claim() {
        let claim: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": "data", "namespace": "shop", "uid": "1234-abcd", "resourceVersion": "7"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}},
                "storageClassName": "standard", "volumeMode": "Filesystem"},
        }))
        .unwrap();
        let mut retain = standard_class();
        retain.reclaim_policy = Some("Retain".into());
        let pv = provisioned_volume(&claim, &retain, &cluster_id("0f3c9a2e-77aa-4b1c-9d7e-1234567890ab"));
        assert_eq!(pv.metadata.name(), "pvc-1234-abcd");
        let csi = pv.spec.csi.as_ref().unwrap();
        assert_eq!(csi.driver, "kubelab.io/docker-volume");
        assert_eq!(csi.volume_handle, "kubelab-0f3c9a2e-pvc-1234-abcd");
        assert_eq!(pv.spec.capacity["storage"].as_str(), "2Gi");
        assert_eq!(pv.spec.access_modes, ["ReadWriteOnce"]);
        assert_eq!(pv.spec.persistent_volume_reclaim_policy.as_deref(), Some("Retain"));
        assert_eq!(pv.spec.storage_class_name.as_deref(), Some("standard"));
        let reference = pv.spec.claim_ref.as_ref().unwrap();
        assert_eq!(
            (
                reference.namespace.as_deref(),
                reference.name.as_deref(),
                reference.uid.as_deref()
            ),
            (Some("shop"), Some("data"), Some("1234-abcd"))
        );
        assert_eq!(pv.metadata.annotations[PROVISIONED_BY], PROVISIONER);
        // What the provisioner makes, the API server accepts.
        use kubelab_api::Object;
        assert!(pv.validate().is_empty(), "{:?}", pv.validate());
        assert!(standard_class().validate().is_empty());
    }
}
