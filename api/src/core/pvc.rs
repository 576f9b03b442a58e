//! PersistentVolumeClaim: a request for storage that outlives any one pod.
//!
//! A pod mounts a claim by name; the claim is bound to a volume that satisfies its size and
//! access mode. A StatefulSet creates one claim per replica from its `volumeClaimTemplates`, so
//! `db-0` gets its own disk back after it is rescheduled.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::pod::ResourceList;
use crate::core::reference::{TypedLocalObjectReference, TypedObjectReference};
use crate::meta::{LabelSelector, ObjectMeta, Time};
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{
    validate_enum, validate_label_selector, validate_object_meta, validate_object_meta_update, validate_quantity,
    FieldError,
};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeClaim {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PersistentVolumeClaimSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PersistentVolumeClaimStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PersistentVolumeClaimSpec {
    /// `ReadWriteOnce`, `ReadOnlyMany`, `ReadWriteMany`, `ReadWriteOncePod`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// `requests.storage` is the size asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<VolumeResourceRequirements>,
    /// The volume this claim is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// `Filesystem` (the default) or `Block`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_source: Option<TypedLocalObjectReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_source_ref: Option<TypedObjectReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_attributes_class_name: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct VolumeResourceRequirements {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: ResourceList,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: ResourceList,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PersistentVolumeClaimStatus {
    /// `Pending`, `Bound` or `Lost`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: ResourceList,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<PersistentVolumeClaimCondition>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub allocated_resources: ResourceList,
    /// Resize and attribute-class progress; passed through untyped.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub allocated_resource_statuses: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_volume_attributes_class_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modify_volume_status: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PersistentVolumeClaimCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl PersistentVolumeClaimSpec {
    /// Kubernetes' defaults for a claim spec (also applied to StatefulSet claim templates).
    pub fn set_defaults(&mut self) {
        if self.volume_mode.as_deref().is_none_or(str::is_empty) {
            self.volume_mode = Some("Filesystem".into());
        }
    }

    /// Validates a claim spec at `path`.
    pub fn validate(&self, path: &str) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if self.access_modes.is_empty() {
            errs.push(FieldError {
                detail: "at least 1 access mode is required".into(),
                ..FieldError::required(format!("{path}.accessModes"))
            });
        }
        for mode in &self.access_modes {
            errs.extend(validate_enum(
                &format!("{path}.accessModes"),
                mode,
                &["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"],
            ));
        }
        let resources = self.resources.clone().unwrap_or_default();
        match resources.requests.get("storage") {
            None => errs.push(FieldError::required(format!("{path}.resources[storage]"))),
            Some(q) => {
                errs.extend(validate_quantity(&format!("{path}.resources[storage]"), q));
                if q.value().is_ok_and(|v| v == 0) {
                    errs.push(FieldError::invalid(
                        format!("{path}.resources[storage]"),
                        q.as_str(),
                        "must be greater than zero",
                    ));
                }
            }
        }
        for (field, list) in [("requests", &resources.requests), ("limits", &resources.limits)] {
            for (name, q) in list
                .iter()
                .filter(|(n, _)| n.as_str() != "storage" || field == "limits")
            {
                errs.extend(validate_quantity(&format!("{path}.resources.{field}[{name}]"), q));
            }
        }
        if let Some(mode) = &self.volume_mode {
            errs.extend(validate_enum(
                &format!("{path}.volumeMode"),
                mode,
                &["Block", "Filesystem"],
            ));
        }
        if let Some(selector) = &self.selector {
            errs.extend(validate_label_selector(&format!("{path}.selector"), selector));
        }
        if let Some(source) = &self.data_source {
            if source.name.is_empty() {
                errs.push(FieldError::required(format!("{path}.dataSource.name")));
            }
            if source.kind.is_empty() {
                errs.push(FieldError::required(format!("{path}.dataSource.kind")));
            }
        }
        errs
    }
}

impl Object for PersistentVolumeClaim {
    object_identity!("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", namespaced);

    fn set_defaults(&mut self) {
        self.spec.set_defaults();
        // A new claim waits for a volume; Kubernetes records that as phase Pending.
        let status = self.status.get_or_insert_with(Default::default);
        if status.phase.as_deref().is_none_or(str::is_empty) {
            status.phase = Some("Pending".into());
        }
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, names::dns1123_subdomain);
        errs.extend(self.spec.validate("spec"));
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        // Only the requested size (and the attribute class) may change; binding sets volumeName once.
        let mut allowed = old.spec.clone();
        allowed.resources = self.spec.resources.clone();
        allowed.volume_attributes_class_name = self.spec.volume_attributes_class_name.clone();
        if old.spec.volume_name.as_deref().is_none_or(str::is_empty) {
            allowed.volume_name = self.spec.volume_name.clone();
        }
        // As Kubernetes' retroactive default class: a claim that named no class (nil, not "")
        // may be given one once, by the volume controller when a default class appears.
        if old.spec.storage_class_name.is_none() {
            allowed.storage_class_name = self.spec.storage_class_name.clone();
        }
        if allowed != self.spec {
            errs.push(FieldError::forbidden(
                "spec",
                "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
            ));
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{admit_update, admit_yaml, invalid_fields};
    use serde_json::json;

    #[test]
    fn a_claim_without_a_class_may_be_given_one_once() {
        let yaml =
            "metadata: {name: data}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n";
        let old = admit_yaml::<PersistentVolumeClaim>(yaml).unwrap();
        let mut defaulted = old.clone();
        defaulted["spec"]["storageClassName"] = json!("standard");
        let defaulted = admit_update::<PersistentVolumeClaim>(&defaulted, &old).expect("nil → standard");
        let mut changed = defaulted.clone();
        changed["spec"]["storageClassName"] = json!("fast");
        let fields = invalid_fields(admit_update::<PersistentVolumeClaim>(&changed, &defaulted));
        assert!(fields[0].starts_with("spec: Forbidden"), "{fields:?}");
        // "" means "no class, on purpose": it is not replaced by the default.
        let mut none = old.clone();
        none["spec"]["storageClassName"] = json!("");
        let none = admit_update::<PersistentVolumeClaim>(&none, &old).unwrap();
        let mut changed = none.clone();
        changed["spec"]["storageClassName"] = json!("standard");
        assert!(admit_update::<PersistentVolumeClaim>(&changed, &none).is_err());
    }
}
