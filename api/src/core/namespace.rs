//! Namespace: a named scope for objects, so two teams can both have a Deployment `web`.
//!
//! Deleting a namespace deletes everything in it. The `kubernetes` finalizer in `spec.finalizers`
//! holds the namespace in phase `Terminating` until that clean-up is done.

use serde::{Deserialize, Serialize};

use crate::meta::{ObjectMeta, Time};
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{invalid_each, validate_object_meta, validate_object_meta_update, FieldError};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<NamespaceSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NamespaceStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct NamespaceSpec {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct NamespaceStatus {
    /// `Active` or `Terminating`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<NamespaceCondition>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct NamespaceCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The finalizer that holds a namespace until its contents are deleted.
pub const NAMESPACE_FINALIZER: &str = "kubernetes";

impl Namespace {
    /// Whether the namespace is being deleted.
    pub fn is_terminating(&self) -> bool {
        self.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating")
    }
}

impl Object for Namespace {
    object_identity!("", "v1", "Namespace", "namespaces", cluster);

    fn set_defaults(&mut self) {
        // A cluster-scoped object has no namespace; kube-apiserver drops one sent by mistake.
        self.metadata.namespace = None;
        let spec = self.spec.get_or_insert_with(Default::default);
        if spec.finalizers.is_empty() && self.metadata.deletion_timestamp.is_none() {
            spec.finalizers.push(NAMESPACE_FINALIZER.to_string());
        }
        let status = self.status.get_or_insert_with(Default::default);
        if status.phase.as_deref().is_none_or(str::is_empty) {
            status.phase = Some("Active".into());
        }
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, false, names::dns1123_label);
        for (i, finalizer) in self.spec.iter().flat_map(|s| &s.finalizers).enumerate() {
            // Kubernetes wants `kubernetes` or a domain-prefixed name here.
            if finalizer != NAMESPACE_FINALIZER && !finalizer.contains('/') {
                errs.push(FieldError::invalid(
                    format!("spec.finalizers[{i}]"),
                    finalizer,
                    "name is neither a standard finalizer name nor is it fully qualified",
                ));
            } else {
                errs.extend(invalid_each(
                    &format!("spec.finalizers[{i}]"),
                    finalizer,
                    names::qualified_name(finalizer),
                ));
            }
        }
        if let Some(phase) = self.status.as_ref().and_then(|s| s.phase.as_deref()) {
            errs.extend(crate::validation::validate_enum(
                "status.phase",
                phase,
                &["Active", "Terminating"],
            ));
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        errs
    }
}
