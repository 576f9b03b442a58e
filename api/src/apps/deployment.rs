//! Deployment: the usual way to run a stateless app.
//!
//! A Deployment owns ReplicaSets, one per version of its pod template. On a template change the
//! deployment controller creates a new ReplicaSet and shifts replicas to it step by step
//! (`RollingUpdate`: at most `maxSurge` extra pods and `maxUnavailable` missing ones at a time),
//! or all at once (`Recreate`). Old ReplicaSets are kept, scaled to zero, for rollbacks.

use serde::{Deserialize, Serialize};

use super::workload::{is_zero_i32, is_zero_i64, shown, validate_selector_and_template};
use crate::core::pod::PodTemplateSpec;
use crate::intstr::IntOrString;
use crate::meta::{LabelSelector, ObjectMeta, Time};
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{
    validate_enum, validate_nonnegative, validate_object_meta, validate_object_meta_update, FieldError, Verbatim,
};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: DeploymentSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeploymentStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    pub selector: LabelSelector,
    pub template: PodTemplateSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<DeploymentStrategy>,
    /// How long a new pod must be ready before it counts as available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// How many old ReplicaSets to keep for rollbacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// After this long without progress, the rollout is reported as failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_deadline_seconds: Option<i32>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentStrategy {
    /// `RollingUpdate` (the default) or `Recreate`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdateDeployment>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct RollingUpdateDeployment {
    /// How many pods may be missing during the update (a count or a percentage, rounded down).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// How many pods may exist above `replicas` during the update (rounded up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrString>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentStatus {
    /// The `metadata.generation` the controller last acted on; `kubectl rollout status` waits
    /// for it to catch up.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub observed_generation: i64,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub replicas: i32,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub updated_replicas: i32,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub ready_replicas: i32,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub available_replicas: i32,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub unavailable_replicas: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminating_replicas: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<DeploymentCondition>,
    /// Bumped when a new ReplicaSet's name collides with an existing one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collision_count: Option<i32>,
}

/// `Available`, `Progressing` (reason `ProgressDeadlineExceeded` when stuck), `ReplicaFailure`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Checks a maxSurge/maxUnavailable value: a non-negative count or a percentage.
fn validate_int_or_percent(value: &IntOrString, path: &str, at_most_100: bool) -> Vec<FieldError> {
    match value {
        IntOrString::Int(n) => validate_nonnegative(path, (*n).into()),
        IntOrString::String(s) => match value.percent() {
            None => vec![FieldError::invalid(path, s, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")],
            Some(p) if at_most_100 && p > 100 => vec![FieldError::invalid(path, s, "must not be greater than 100%")],
            Some(_) => Vec::new(),
        },
    }
}

fn is_zero(value: &Option<IntOrString>) -> bool {
    match value {
        Some(IntOrString::Int(0)) | None => true,
        Some(v) => v.percent() == Some(0),
    }
}

impl Object for Deployment {
    object_identity!("apps", "v1", "Deployment", "deployments", namespaced);

    fn set_defaults(&mut self) {
        let spec = &mut self.spec;
        spec.replicas.get_or_insert(1);
        let strategy = spec.strategy.get_or_insert_with(Default::default);
        if strategy.type_.as_deref().is_none_or(str::is_empty) {
            strategy.type_ = Some("RollingUpdate".into());
        }
        if strategy.type_.as_deref() == Some("RollingUpdate") {
            let rolling = strategy.rolling_update.get_or_insert_with(Default::default);
            rolling.max_unavailable.get_or_insert_with(|| IntOrString::from("25%"));
            rolling.max_surge.get_or_insert_with(|| IntOrString::from("25%"));
        }
        spec.revision_history_limit.get_or_insert(10);
        spec.progress_deadline_seconds.get_or_insert(600);
        spec.template.spec.set_defaults();
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, names::dns1123_subdomain);
        let spec = &self.spec;
        if let Some(replicas) = spec.replicas {
            errs.extend(validate_nonnegative("spec.replicas", replicas.into()));
        }
        errs.extend(validate_selector_and_template(
            &spec.selector,
            &spec.template,
            "Deployment",
        ));
        if let Some(strategy) = &spec.strategy {
            let kind = strategy.type_.as_deref().unwrap_or("RollingUpdate");
            errs.extend(validate_enum(
                "spec.strategy.type",
                kind,
                &["Recreate", "RollingUpdate"],
            ));
            if let Some(rolling) = &strategy.rolling_update {
                if kind == "Recreate" {
                    errs.push(FieldError::forbidden(
                        "spec.strategy.rollingUpdate",
                        "may not be specified when strategy `type` is 'Recreate'",
                    ));
                } else {
                    let unavailable_path = "spec.strategy.rollingUpdate.maxUnavailable";
                    if let Some(value) = &rolling.max_unavailable {
                        errs.extend(validate_int_or_percent(value, unavailable_path, true));
                    }
                    if let Some(value) = &rolling.max_surge {
                        errs.extend(validate_int_or_percent(
                            value,
                            "spec.strategy.rollingUpdate.maxSurge",
                            false,
                        ));
                    }
                    // With neither extra nor missing pods allowed, a rollout could never move.
                    if is_zero(&rolling.max_unavailable) && is_zero(&rolling.max_surge) {
                        let shown = rolling
                            .max_unavailable
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or("0".into());
                        errs.push(FieldError::invalid(
                            unavailable_path,
                            Verbatim(shown),
                            "may not be 0 when `maxSurge` is 0",
                        ));
                    }
                }
            }
        }
        for (field, value) in [
            ("minReadySeconds", spec.min_ready_seconds),
            ("revisionHistoryLimit", spec.revision_history_limit),
            ("progressDeadlineSeconds", spec.progress_deadline_seconds),
        ] {
            if let Some(value) = value {
                errs.extend(validate_nonnegative(&format!("spec.{field}"), value.into()));
            }
        }
        if let Some(deadline) = spec.progress_deadline_seconds {
            if deadline <= spec.min_ready_seconds.unwrap_or(0) {
                errs.push(FieldError::invalid(
                    "spec.progressDeadlineSeconds",
                    deadline,
                    "must be greater than minReadySeconds",
                ));
            }
        }
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
