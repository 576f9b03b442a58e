//! ReplicaSet: keeps a number of identical pods running.
//!
//! The replicaset controller counts the pods matching `selector` that it owns, creates pods from
//! `template` when there are too few and deletes some when there are too many. Users rarely
//! write ReplicaSets themselves: Deployments create one per template version.

use serde::{Deserialize, Serialize};

use super::workload::{is_zero_i32, is_zero_i64, shown, validate_selector_and_template};
use crate::core::pod::PodTemplateSpec;
use crate::meta::{LabelSelector, ObjectMeta, Time};
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{validate_nonnegative, validate_object_meta, validate_object_meta_update, FieldError};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSet {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ReplicaSetSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ReplicaSetStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicaSetSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    pub selector: LabelSelector,
    pub template: PodTemplateSpec,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicaSetStatus {
    /// Required by Kubernetes' schema, so written even when 0.
    pub replicas: i32,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub fully_labeled_replicas: i32,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub ready_replicas: i32,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub available_replicas: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminating_replicas: Option<i32>,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub observed_generation: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ReplicaSetCondition>,
}

/// `ReplicaFailure` when pods could not be created or deleted.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicaSetCondition {
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

impl Object for ReplicaSet {
    object_identity!("apps", "v1", "ReplicaSet", "replicasets", namespaced);

    fn set_defaults(&mut self) {
        self.spec.replicas.get_or_insert(1);
        self.spec.template.spec.set_defaults();
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, names::dns1123_subdomain);
        if let Some(replicas) = self.spec.replicas {
            errs.extend(validate_nonnegative("spec.replicas", replicas.into()));
        }
        if let Some(seconds) = self.spec.min_ready_seconds {
            errs.extend(validate_nonnegative("spec.minReadySeconds", seconds.into()));
        }
        errs.extend(validate_selector_and_template(
            &self.spec.selector,
            &self.spec.template,
            "ReplicaSet",
        ));
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        if self.spec.selector != old.spec.selector {
            errs.push(FieldError::invalid(
                "spec.selector",
                shown(&self.spec.selector),
                "field is immutable",
            ));
        }
        errs
    }
}
