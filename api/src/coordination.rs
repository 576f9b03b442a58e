//! Lease (`coordination.k8s.io/v1`): a lock with a timeout, stored in the API.
//!
//! Leader election uses one: the replica that holds the lease (`holderIdentity`) and keeps
//! renewing it (`renewTime`) is the leader; if it stops renewing for `leaseDurationSeconds`,
//! another replica takes it over and bumps `leaseTransitions`. Node agents also renew a Lease in
//! `kube-node-lease` as a cheap heartbeat.

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::microtime::MicroTime;
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{validate_nonnegative, validate_object_meta, validate_object_meta_update, FieldError};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: LeaseSpec,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct LeaseSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_duration_seconds: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acquire_time: Option<MicroTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renew_time: Option<MicroTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_transitions: Option<i32>,
    /// Coordinated leader election (beta in Kubernetes); kept as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_holder: Option<String>,
}

impl Lease {
    /// Whether the lease has run out at `now`: nobody renewed it within its duration.
    pub fn is_expired(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        match (self.spec.renew_time, self.spec.lease_duration_seconds) {
            (Some(renewed), Some(duration)) => renewed.0 + chrono::Duration::seconds(duration.into()) < now,
            _ => true,
        }
    }
}

impl Object for Lease {
    object_identity!("coordination.k8s.io", "v1", "Lease", "leases", namespaced);

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, names::dns1123_subdomain);
        if let Some(seconds) = self.spec.lease_duration_seconds {
            if seconds <= 0 {
                errs.push(FieldError::invalid(
                    "spec.leaseDurationSeconds",
                    seconds,
                    "must be greater than 0",
                ));
            }
        }
        if let Some(transitions) = self.spec.lease_transitions {
            errs.extend(validate_nonnegative("spec.leaseTransitions", transitions.into()));
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        errs
    }
}
