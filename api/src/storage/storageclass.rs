//! StorageClass (`storage.k8s.io/v1`, cluster-scoped): a named kind of storage.
//!
//! A class says who makes its volumes (`provisioner`, a CSI driver name such as kubelab's own
//! `kubelab.io/docker-volume`), with which `parameters`, what happens to a volume when its claim
//! is deleted (`reclaimPolicy`, `Delete` by default: provisioned storage goes away with its
//! claim), and when a volume is made (`volumeBindingMode`: `Immediate`, or
//! `WaitForFirstConsumer`, which in Kubernetes waits until a pod using the claim is scheduled so
//! the volume lands in that pod's zone). kubelab's Docker volumes exist on every node alike, so
//! it accepts `WaitForFirstConsumer` and treats it as `Immediate`.
//!
//! Unlike most kinds, a StorageClass has no `spec`: its fields are at the top level, and they
//! cannot change once created (only labels and annotations can), because volumes already made
//! from the class would no longer match it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{
    invalid_each, validate_enum, validate_immutable, validate_object_meta, validate_object_meta_update, FieldError,
};

/// The annotation that makes a class the default for claims that name none.
pub const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";
/// Its beta spelling, still honoured by Kubernetes.
pub const BETA_DEFAULT_CLASS_ANNOTATION: &str = "storageclass.beta.kubernetes.io/is-default-class";

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StorageClass {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Who makes volumes of this class.
    #[serde(default)]
    pub provisioner: String,
    /// Passed to the provisioner as they are.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// `Delete` (the default) or `Retain`, copied into each volume made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_volume_expansion: Option<bool>,
    /// `Immediate` (the default) or `WaitForFirstConsumer` (treated as `Immediate` by kubelab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_binding_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_topologies: Vec<TopologySelectorTerm>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct TopologySelectorTerm {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub match_label_expressions: Vec<TopologySelectorLabelRequirement>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct TopologySelectorLabelRequirement {
    pub key: String,
    pub values: Vec<String>,
}

/// Whether the class is marked as the cluster's default.
pub fn is_default_class(class: &StorageClass) -> bool {
    let annotations = &class.metadata.annotations;
    match annotations.get(DEFAULT_CLASS_ANNOTATION) {
        Some(value) => value == "true",
        None => annotations
            .get(BETA_DEFAULT_CLASS_ANNOTATION)
            .is_some_and(|v| v == "true"),
    }
}

impl StorageClass {
    /// `reclaimPolicy`, `Delete` when unset.
    pub fn reclaim_policy(&self) -> &str {
        self.reclaim_policy.as_deref().unwrap_or("Delete")
    }
}

impl Object for StorageClass {
    object_identity!("storage.k8s.io", "v1", "StorageClass", "storageclasses", cluster);

    fn set_defaults(&mut self) {
        if self.reclaim_policy.as_deref().is_none_or(str::is_empty) {
            self.reclaim_policy = Some("Delete".into());
        }
        if self.volume_binding_mode.as_deref().is_none_or(str::is_empty) {
            self.volume_binding_mode = Some("Immediate".into());
        }
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, false, names::dns1123_subdomain);
        if self.provisioner.is_empty() {
            errs.push(FieldError::required("provisioner"));
        } else {
            errs.extend(invalid_each(
                "provisioner",
                &self.provisioner,
                names::qualified_name(&self.provisioner.to_ascii_lowercase()),
            ));
        }
        if self.parameters.len() > 512 {
            errs.push(FieldError::too_long("parameters", 512));
        }
        for key in self.parameters.keys().filter(|k| k.is_empty()) {
            errs.push(FieldError::invalid(
                "parameters",
                key,
                "parameter names must be non-empty",
            ));
        }
        if let Some(policy) = &self.reclaim_policy {
            errs.extend(validate_enum("reclaimPolicy", policy, &["Delete", "Retain"]));
        }
        if let Some(mode) = &self.volume_binding_mode {
            errs.extend(validate_enum(
                "volumeBindingMode",
                mode,
                &["Immediate", "WaitForFirstConsumer"],
            ));
        }
        for (i, term) in self.allowed_topologies.iter().enumerate() {
            if term.match_label_expressions.is_empty() {
                errs.push(FieldError::required(format!(
                    "allowedTopologies[{i}].matchLabelExpressions"
                )));
            }
            for (j, req) in term.match_label_expressions.iter().enumerate() {
                let path = format!("allowedTopologies[{i}].matchLabelExpressions[{j}]");
                errs.extend(invalid_each(
                    &format!("{path}.key"),
                    &req.key,
                    names::qualified_name(&req.key),
                ));
                if req.values.is_empty() {
                    errs.push(FieldError::required(format!("{path}.values")));
                }
            }
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        if self.parameters != old.parameters {
            errs.push(FieldError::forbidden(
                "parameters",
                "updates to parameters are forbidden.",
            ));
        }
        if self.provisioner != old.provisioner {
            errs.push(FieldError::forbidden(
                "provisioner",
                "updates to provisioner are forbidden.",
            ));
        }
        errs.extend(validate_immutable(
            "reclaimPolicy",
            &self.reclaim_policy,
            &old.reclaim_policy,
        ));
        errs.extend(validate_immutable(
            "volumeBindingMode",
            &self.volume_binding_mode,
            &old.volume_binding_mode,
        ));
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{admit_update, admit_yaml, assert_idempotent, assert_no_nulls, invalid_fields};
    use serde_json::json;

    const STANDARD: &str = "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: standard\n  \
        annotations: {storageclass.kubernetes.io/is-default-class: 'true'}\nprovisioner: kubelab.io/docker-volume\n";

    #[test]
    fn classes_get_defaults() {
        let stored = admit_yaml::<StorageClass>(STANDARD).unwrap();
        assert_no_nulls(&stored, "");
        assert_eq!(stored["reclaimPolicy"], "Delete");
        assert_eq!(stored["volumeBindingMode"], "Immediate");
        assert_eq!(stored["apiVersion"], "storage.k8s.io/v1");
        assert_idempotent::<StorageClass>(&stored);
        let class: StorageClass = serde_json::from_value(stored).unwrap();
        assert!(is_default_class(&class));
        assert_eq!(class.reclaim_policy(), "Delete");
    }

    #[test]
    fn the_default_annotation_must_say_true() {
        let mut class = StorageClass::default();
        assert!(!is_default_class(&class));
        class
            .metadata
            .annotations
            .insert(BETA_DEFAULT_CLASS_ANNOTATION.into(), "true".into());
        assert!(is_default_class(&class));
        class
            .metadata
            .annotations
            .insert(DEFAULT_CLASS_ANNOTATION.into(), "false".into());
        assert!(!is_default_class(&class), "the GA annotation wins over the beta one");
    }

    #[test]
    fn bad_classes_and_forbidden_updates() {
        let bad = "metadata: {name: fast}\nprovisioner: ''\nreclaimPolicy: Recycle\nvolumeBindingMode: Later\n";
        let fields = invalid_fields(admit_yaml::<StorageClass>(bad));
        assert_eq!(fields.len(), 3, "{fields:?}");
        assert!(fields[0].starts_with("provisioner: Required value"));
        assert!(fields[1].starts_with("reclaimPolicy: Unsupported value"));
        assert!(fields[2].starts_with("volumeBindingMode: Unsupported value"));

        let old = admit_yaml::<StorageClass>(STANDARD).unwrap();
        let mut relabelled = old.clone();
        relabelled["metadata"]["labels"] = json!({"tier": "gold"});
        assert!(admit_update::<StorageClass>(&relabelled, &old).is_ok());
        let mut changed = old.clone();
        changed["provisioner"] = json!("other.io/disk");
        changed["reclaimPolicy"] = json!("Retain");
        let fields = invalid_fields(admit_update::<StorageClass>(&changed, &old));
        assert!(
            fields.iter().any(|f| f.starts_with("provisioner: Forbidden")),
            "{fields:?}"
        );
        assert!(
            fields.iter().any(|f| f.starts_with("reclaimPolicy: Invalid value")),
            "{fields:?}"
        );
    }
}
