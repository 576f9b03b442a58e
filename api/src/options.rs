//! DeleteOptions: the optional body of a DELETE request.
//!
//! `kubectl delete` sends `{"propagationPolicy":"Background"}`: delete the object now and let
//! the garbage collector remove its dependents (a Deployment's ReplicaSets and their pods).
//! `Foreground` deletes the dependents first; `Orphan` leaves them behind. `gracePeriodSeconds`
//! overrides how long a pod gets to shut down; `preconditions` make the delete conditional.

use serde::{Deserialize, Serialize};

use crate::validation::{validate_enum, FieldError};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct DeleteOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// 0 deletes at once; unset uses the object's own grace period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preconditions: Option<Preconditions>,
    /// `Orphan`, `Background` or `Foreground`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation_policy: Option<String>,
    /// Deprecated form of `propagationPolicy: Orphan`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orphan_dependents: Option<bool>,
    /// `["All"]`: check everything, change nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dry_run: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_store_read_error_with_cluster_breaking_potential: Option<bool>,
}

/// The delete happens only if the object still has this uid / resourceVersion.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Preconditions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

impl DeleteOptions {
    /// Checks the policy and grace period, as kube-apiserver does before deleting.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if let Some(policy) = &self.propagation_policy {
            errs.extend(validate_enum(
                "propagationPolicy",
                policy,
                &["Foreground", "Background", "Orphan"],
            ));
            if self.orphan_dependents.is_some() {
                errs.push(FieldError::invalid(
                    "propagationPolicy",
                    policy,
                    "orphanDependents and deletionPropagation cannot be both set",
                ));
            }
        }
        if let Some(seconds) = self.grace_period_seconds {
            if seconds < 0 {
                errs.push(FieldError::invalid(
                    "gracePeriodSeconds",
                    seconds,
                    "must be greater than or equal to 0",
                ));
            }
        }
        for (i, mode) in self.dry_run.iter().enumerate() {
            errs.extend(validate_enum(&format!("dryRun[{i}]"), mode, &["All"]));
        }
        errs
    }

    /// The effective propagation policy (`orphanDependents: true` means `Orphan`).
    pub fn propagation(&self) -> Option<&str> {
        match (&self.propagation_policy, self.orphan_dependents) {
            (Some(policy), _) => Some(policy),
            (None, Some(true)) => Some("Orphan"),
            (None, Some(false)) => Some("Background"),
            (None, None) => None,
        }
    }
}
