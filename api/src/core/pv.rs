//! PersistentVolume: a piece of storage the cluster knows about, independent of any pod.
//!
//! Kubernetes splits storage in two: a **PersistentVolume** (cluster-scoped, usually made by an
//! administrator or a provisioner) says "here is 10Gi of disk, reachable like this"; a
//! **PersistentVolumeClaim** (namespaced, made by a user) says "I need 5Gi I can write to". The
//! volume controller binds the two one-to-one: the volume's `spec.claimRef` names the claim, the
//! claim's `spec.volumeName` names the volume. A pod only ever names the claim, so the same
//! manifest works on any cluster, whatever the storage behind it.
//!
//! A volume's life (`status.phase`): `Pending` (just created) → `Available` (free) → `Bound` →
//! `Released` (its claim was deleted; the data is still there) → deleted (`reclaimPolicy:
//! Delete`) or kept for an administrator (`Retain`). `Failed` means reclaiming went wrong.
//!
//! kubelab understands two sources: `hostPath` (a directory of the node) and `csi` with the
//! driver `kubelab.io/docker-volume`, whose `volumeHandle` is the name of a Docker volume that
//! the node agent creates on first mount.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::pod::{HostPathVolumeSource, NodeSelector, ResourceList};
use crate::core::reference::ObjectReference;
use crate::meta::{ObjectMeta, Time};
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{
    invalid_each, validate_enum, validate_immutable, validate_object_meta, validate_object_meta_update,
    validate_quantity, FieldError,
};

/// The access modes a volume or claim may list.
pub const ACCESS_MODES: &[&str] = &["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolume {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PersistentVolumeSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PersistentVolumeStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PersistentVolumeSpec {
    /// `storage`: the size of the volume.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: ResourceList,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
    /// The claim this volume is bound (or reserved) to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_ref: Option<ObjectReference>,
    /// `Retain` (the default for volumes made by hand) or `Delete` (the usual for provisioned
    /// ones). `Recycle` (scrub and reuse) is deprecated in Kubernetes and refused here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent_volume_reclaim_policy: Option<String>,
    /// Only claims of this class bind to it; "" (or none) is the class of "no class".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mount_options: Vec<String>,
    /// `Filesystem` (the default) or `Block`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_mode: Option<String>,
    /// Which nodes can reach the volume (accepted and stored; kubelab's scheduler does not use it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_affinity: Option<VolumeNodeAffinity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_attributes_class_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_path: Option<HostPathVolumeSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csi: Option<CsiPersistentVolumeSource>,
}

/// A volume served by a CSI driver. For `kubelab.io/docker-volume`, `volumeHandle` is the name
/// of the Docker volume.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct CsiPersistentVolumeSource {
    pub driver: String,
    pub volume_handle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fs_type: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volume_attributes: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct VolumeNodeAffinity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<NodeSelector>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PersistentVolumeStatus {
    /// `Pending`, `Available`, `Bound`, `Released` or `Failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_phase_transition_time: Option<Time>,
}

impl PersistentVolume {
    /// `status.phase`, or `Pending` when none was written yet.
    pub fn phase(&self) -> &str {
        self.status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or("Pending")
    }

    /// The volume's class; "" is "no class".
    pub fn class(&self) -> &str {
        self.spec.storage_class_name.as_deref().unwrap_or("")
    }

    /// How many sources the spec names (a valid volume names exactly one).
    fn source_count(&self) -> usize {
        usize::from(self.spec.host_path.is_some()) + usize::from(self.spec.csi.is_some())
    }
}

impl Object for PersistentVolume {
    object_identity!("", "v1", "PersistentVolume", "persistentvolumes", cluster);

    fn set_defaults(&mut self) {
        let spec = &mut self.spec;
        if spec
            .persistent_volume_reclaim_policy
            .as_deref()
            .is_none_or(str::is_empty)
        {
            spec.persistent_volume_reclaim_policy = Some("Retain".into());
        }
        if spec.volume_mode.as_deref().is_none_or(str::is_empty) {
            spec.volume_mode = Some("Filesystem".into());
        }
        // As kube-apiserver's PrepareForCreate: a new volume is Pending until the controller looks.
        let status = self.status.get_or_insert_with(Default::default);
        if status.phase.as_deref().is_none_or(str::is_empty) {
            status.phase = Some("Pending".into());
        }
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, false, names::dns1123_subdomain);
        let spec = &self.spec;
        match spec.capacity.get("storage") {
            None => errs.push(FieldError::required("spec.capacity[storage]")),
            Some(q) => {
                errs.extend(validate_quantity("spec.capacity[storage]", q));
                if q.value().is_ok_and(|v| v == 0) {
                    errs.push(FieldError::invalid(
                        "spec.capacity[storage]",
                        q.as_str(),
                        "must be greater than zero",
                    ));
                }
            }
        }
        for name in spec.capacity.keys().filter(|k| k.as_str() != "storage") {
            errs.push(FieldError::not_supported(
                format!("spec.capacity[{name}]"),
                name,
                &["storage"],
            ));
        }
        if spec.access_modes.is_empty() {
            errs.push(FieldError::required("spec.accessModes"));
        }
        for mode in &spec.access_modes {
            errs.extend(validate_enum("spec.accessModes", mode, ACCESS_MODES));
        }
        if let Some(policy) = &spec.persistent_volume_reclaim_policy {
            if policy == "Recycle" {
                errs.push(FieldError::invalid(
                    "spec.persistentVolumeReclaimPolicy",
                    policy,
                    "Recycle is deprecated and not supported by kubelab: use Delete or Retain",
                ));
            } else {
                errs.extend(validate_enum(
                    "spec.persistentVolumeReclaimPolicy",
                    policy,
                    &["Delete", "Retain"],
                ));
            }
        }
        if let Some(class) = spec.storage_class_name.as_deref().filter(|c| !c.is_empty()) {
            errs.extend(invalid_each(
                "spec.storageClassName",
                class,
                names::dns1123_subdomain(class),
            ));
        }
        if let Some(mode) = &spec.volume_mode {
            errs.extend(validate_enum("spec.volumeMode", mode, &["Block", "Filesystem"]));
        }
        if let Some(claim) = &spec.claim_ref {
            if claim.name.as_deref().is_none_or(str::is_empty) {
                errs.push(FieldError::required("spec.claimRef.name"));
            }
            if claim.namespace.as_deref().is_none_or(str::is_empty) {
                errs.push(FieldError::required("spec.claimRef.namespace"));
            }
        }
        if let Some(affinity) = &spec.node_affinity {
            match &affinity.required {
                None => errs.push(FieldError::required("spec.nodeAffinity.required")),
                Some(selector) if selector.node_selector_terms.is_empty() => {
                    errs.push(FieldError::required("spec.nodeAffinity.required.nodeSelectorTerms"))
                }
                Some(_) => {}
            }
        }
        match self.source_count() {
            0 => errs.push(FieldError {
                detail: "must specify a volume type (kubelab supports hostPath and csi)".into(),
                ..FieldError::required("spec")
            }),
            1 => {}
            _ => errs.push(FieldError::forbidden(
                "spec.csi",
                "may not specify more than 1 volume type",
            )),
        }
        if let Some(host_path) = &spec.host_path {
            if host_path.path.is_empty() {
                errs.push(FieldError::required("spec.hostPath.path"));
            }
            if let Some(kind) = host_path.type_.as_deref().filter(|t| !t.is_empty()) {
                errs.extend(validate_enum(
                    "spec.hostPath.type",
                    kind,
                    &[
                        "BlockDevice",
                        "CharDevice",
                        "Directory",
                        "DirectoryOrCreate",
                        "File",
                        "FileOrCreate",
                        "Socket",
                    ],
                ));
            }
        }
        if let Some(csi) = &spec.csi {
            if csi.driver.is_empty() {
                errs.push(FieldError::required("spec.csi.driver"));
            } else {
                errs.extend(invalid_each(
                    "spec.csi.driver",
                    &csi.driver,
                    csi_driver_name(&csi.driver),
                ));
            }
            if csi.volume_handle.is_empty() {
                errs.push(FieldError::required("spec.csi.volumeHandle"));
            }
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        // Where the data is cannot change under a bound claim; size, modes and claimRef can.
        errs.extend(validate_immutable(
            "spec.hostPath",
            &self.spec.host_path,
            &old.spec.host_path,
        ));
        errs.extend(validate_immutable("spec.csi", &self.spec.csi, &old.spec.csi));
        errs.extend(validate_immutable(
            "spec.volumeMode",
            &self.spec.volume_mode,
            &old.spec.volume_mode,
        ));
        if old.spec.node_affinity.is_some() {
            errs.extend(validate_immutable(
                "spec.nodeAffinity",
                &self.spec.node_affinity,
                &old.spec.node_affinity,
            ));
        }
        errs
    }
}

/// A CSI driver name: at most 63 characters of a DNS subdomain (`kubelab.io/docker-volume` is
/// also accepted, as the slash-separated names kubelab and many drivers use).
fn csi_driver_name(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if name.len() > 63 {
        problems.push("must be no more than 63 characters".into());
    }
    let bad = name
        .chars()
        .any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '/')));
    let alnum_ends =
        name.starts_with(|c: char| c.is_ascii_alphanumeric()) && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if bad || !alnum_ends {
        problems.push(
            "a CSI driver name must consist of lower case alphanumeric characters, '-', '.' or '/', \
             and must start and end with an alphanumeric character"
                .into(),
        );
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{admit_update, admit_yaml, assert_idempotent, assert_no_nulls, invalid_fields};
    use serde_json::json;

    const DOCKER_PV: &str = "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv1}\nspec:\n  \
        capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n  storageClassName: standard\n  \
        csi: {driver: kubelab.io/docker-volume, volumeHandle: kubelab-x-pv1, fsType: ext4}\n";

    #[test]
    fn volumes_get_defaults() {
        let stored = admit_yaml::<PersistentVolume>(DOCKER_PV).unwrap();
        assert_no_nulls(&stored, "");
        assert_eq!(stored["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert_eq!(stored["spec"]["volumeMode"], "Filesystem");
        assert_eq!(stored["status"], json!({"phase": "Pending"}));
        assert_eq!(stored["spec"]["csi"]["volumeHandle"], "kubelab-x-pv1");
        assert!(stored["metadata"].get("namespace").is_none());
        assert_idempotent::<PersistentVolume>(&stored);
    }

    #[test]
    fn bad_volumes_name_each_field() {
        let yaml = "metadata: {name: Bad_Name}\nspec:\n  capacity: {storage: 0, cpu: 1}\n  \
            accessModes: [ReadWriteSometimes]\n  persistentVolumeReclaimPolicy: Recycle\n  \
            volumeMode: Disk\n  claimRef: {name: c}\n  nodeAffinity: {}\n  \
            hostPath: {path: '', type: Folder}\n  csi: {driver: 'Bad Driver', volumeHandle: ''}\n";
        let fields = invalid_fields(admit_yaml::<PersistentVolume>(yaml));
        for field in [
            "metadata.name",
            "spec.capacity[storage]",
            "spec.capacity[cpu]",
            "spec.accessModes",
            "spec.persistentVolumeReclaimPolicy",
            "spec.volumeMode",
            "spec.claimRef.namespace",
            "spec.nodeAffinity.required",
            "spec.csi",
            "spec.hostPath.path",
            "spec.hostPath.type",
            "spec.csi.driver",
            "spec.csi.volumeHandle",
        ] {
            assert!(
                fields.iter().any(|f| f.starts_with(&format!("{field}:"))),
                "{field} missing from {fields:?}"
            );
        }
        let no_source = "metadata: {name: pv}\nspec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce]}\n";
        let fields = invalid_fields(admit_yaml::<PersistentVolume>(no_source));
        assert!(
            fields.len() == 1 && fields[0].starts_with("spec: Required value"),
            "{fields:?}"
        );
    }

    #[test]
    fn the_source_is_immutable_but_the_claim_ref_is_not() {
        let old = admit_yaml::<PersistentVolume>(DOCKER_PV).unwrap();
        let mut bound = old.clone();
        bound["spec"]["claimRef"] = json!({"namespace": "default", "name": "data", "uid": "u1"});
        bound["spec"]["capacity"]["storage"] = json!("2Gi");
        assert!(admit_update::<PersistentVolume>(&bound, &old).is_ok());
        let mut moved = old.clone();
        moved["spec"]["csi"]["volumeHandle"] = json!("elsewhere");
        let fields = invalid_fields(admit_update::<PersistentVolume>(&moved, &old));
        assert!(
            fields.len() == 1 && fields[0].starts_with("spec.csi: Invalid value"),
            "{fields:?}"
        );
    }
}
