//! # PersistentVolumes and StorageClasses: where the data lives
//!
//! - **PersistentVolumes**: CAPACITY, ACCESS MODES (`RWO`...), RECLAIM POLICY, STATUS (the
//!   phase, or `Terminating`), and CLAIM as `namespace/name`: the other half of the binding
//!   that `kubectl get pvc` shows from the claim's side.
//! - **StorageClasses**: the default class has ` (default)` after its name, as in Kubernetes,
//!   so `kubectl get sc` answers "what do claims without a class get?" at a glance.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::core::access_modes;
use super::{age, array, at, col, name, text, text_or_empty, wide, Printer, AGE, NAME};

/// PersistentVolumes.
pub const PERSISTENT_VOLUME: Printer = Printer {
    columns: &[
        NAME,
        col("Capacity", "string", "The volume's size (spec.capacity.storage)."),
        col(
            "Access Modes",
            "string",
            "How the volume may be mounted: RWO, ROX, RWX, RWOP.",
        ),
        col(
            "Reclaim Policy",
            "string",
            "What happens to the volume when its claim is deleted: Retain or Delete.",
        ),
        col("Status", "string", "Pending, Available, Bound, Released or Failed."),
        col("Claim", "string", "The claim bound to the volume, as namespace/name."),
        col("StorageClass", "string", "The volume's storage class."),
        col(
            "VolumeAttributesClass",
            "string",
            "The volume's volume attributes class.",
        ),
        col("Reason", "string", "Why the volume is in its phase (status.reason)."),
        AGE,
        wide("VolumeMode", "string", "Filesystem or Block."),
    ],
    cells: persistent_volume_cells,
    conditions: super::no_conditions,
};

fn persistent_volume_cells(pv: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let deleting = at(pv, &["metadata", "deletionTimestamp"]).is_some_and(|v| !v.is_null());
    let phase = if deleting {
        "Terminating"
    } else {
        text_or_empty(pv, &["status", "phase"])
    };
    let claim = match text(pv, &["spec", "claimRef", "name"]) {
        Some(claim) => format!("{}/{claim}", text_or_empty(pv, &["spec", "claimRef", "namespace"])),
        None => String::new(),
    };
    let class = text(
        pv,
        &["metadata", "annotations", "volume.beta.kubernetes.io/storage-class"],
    )
    .or_else(|| text(pv, &["spec", "storageClassName"]))
    .unwrap_or("");
    vec![
        name(pv).into(),
        text_or_empty(pv, &["spec", "capacity", "storage"]).into(),
        access_modes(array(pv, &["spec", "accessModes"])).into(),
        text_or_empty(pv, &["spec", "persistentVolumeReclaimPolicy"]).into(),
        phase.into(),
        claim.into(),
        class.into(),
        text(pv, &["spec", "volumeAttributesClassName"])
            .unwrap_or("<unset>")
            .into(),
        text_or_empty(pv, &["status", "reason"]).into(),
        age(pv, now),
        text(pv, &["spec", "volumeMode"]).unwrap_or("<unset>").into(),
    ]
}

/// StorageClasses.
pub const STORAGE_CLASS: Printer = Printer {
    columns: &[
        NAME,
        col("Provisioner", "string", "Who makes the volumes of this class."),
        col(
            "ReclaimPolicy",
            "string",
            "What happens to a provisioned volume when its claim is deleted.",
        ),
        col(
            "VolumeBindingMode",
            "string",
            "When volumes are made and bound: Immediate or WaitForFirstConsumer.",
        ),
        col(
            "AllowVolumeExpansion",
            "string",
            "Whether claims of this class may grow.",
        ),
        AGE,
    ],
    cells: storage_class_cells,
    conditions: super::no_conditions,
};

fn storage_class_cells(sc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let annotation = |key: &str| text(sc, &["metadata", "annotations", key]);
    let is_default = match annotation("storageclass.kubernetes.io/is-default-class") {
        Some(value) => value == "true",
        None => annotation("storageclass.beta.kubernetes.io/is-default-class") == Some("true"),
    };
    let mut shown = name(sc);
    if is_default {
        shown.push_str(" (default)");
    }
    let expansion = at(sc, &["allowVolumeExpansion"])
        .and_then(Value::as_bool)
        .unwrap_or(false);
    vec![
        shown.into(),
        text_or_empty(sc, &["provisioner"]).into(),
        text(sc, &["reclaimPolicy"]).unwrap_or("Delete").into(),
        text(sc, &["volumeBindingMode"]).unwrap_or("Immediate").into(),
        expansion.to_string().into(),
        age(sc, now),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-01-10T00:00:00Z").unwrap().into()
    }

    #[test]
    fn volume_cells_bound_and_terminating() {
        let bound = json!({
            "metadata": {"name": "pvc-1", "creationTimestamp": "2025-01-09T23:58:30Z"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "standard",
                "claimRef": {"namespace": "default", "name": "data"}, "volumeMode": "Filesystem"},
            "status": {"phase": "Bound"},
        });
        let cells = persistent_volume_cells(&bound, now());
        assert_eq!(
            cells,
            vec![
                json!("pvc-1"),
                json!("1Gi"),
                json!("RWO"),
                json!("Delete"),
                json!("Bound"),
                json!("default/data"),
                json!("standard"),
                json!("<unset>"),
                json!(""),
                json!("90s"),
                json!("Filesystem"),
            ]
        );
        assert_eq!(cells.len(), PERSISTENT_VOLUME.columns.len());
        let mut deleting = bound.clone();
        deleting["metadata"]["deletionTimestamp"] = json!("2025-01-10T00:00:00Z");
        deleting["spec"].as_object_mut().unwrap().remove("claimRef");
        let cells = persistent_volume_cells(&deleting, now());
        assert_eq!((&cells[4], &cells[5]), (&json!("Terminating"), &json!("")));
    }

    #[test]
    fn the_default_class_says_so() {
        let standard = json!({
            "metadata": {"name": "standard", "creationTimestamp": "2025-01-09T00:00:00Z",
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "kubelab.io/docker-volume", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate",
        });
        let cells = storage_class_cells(&standard, now());
        assert_eq!(
            cells,
            vec![
                json!("standard (default)"),
                json!("kubelab.io/docker-volume"),
                json!("Delete"),
                json!("Immediate"),
                json!("false"),
                json!("24h"),
            ]
        );
        assert_eq!(cells.len(), STORAGE_CLASS.columns.len());
        let fast = json!({"metadata": {"name": "fast"}, "provisioner": "x.io/y", "allowVolumeExpansion": true});
        let cells = storage_class_cells(&fast, now());
        assert_eq!((&cells[0], &cells[4]), (&json!("fast"), &json!("true")));
    }
}
