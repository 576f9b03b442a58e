//! A Deployment's `status`, summed from its ReplicaSets — exactly the fields
//! `kubectl rollout status` reads. It reports success when
//!
//! ```text
//! metadata.generation <= status.observedGeneration   (the controller saw the latest spec)
//! status.updatedReplicas >= spec.replicas             (enough pods of the new template)
//! status.replicas <= status.updatedReplicas           (no old pods left)
//! status.availableReplicas >= status.updatedReplicas  (and they are all available)
//! ```
//!
//! `replicas`, `updatedReplicas`, `readyReplicas` and `availableReplicas` come from the
//! ReplicaSets' *statuses* (pods that exist), not their specs (pods wanted).
//! `unavailableReplicas` is wanted minus available. The `Available` condition says whether at
//! least `replicas - maxUnavailable` pods are available.

use chrono::{DateTime, Utc};
use kubelab_api::apps::{Deployment, DeploymentStatus, ReplicaSet};

use super::progress::{new_condition, set_condition, AVAILABLE, MINIMUM_AVAILABLE, MINIMUM_UNAVAILABLE};
use super::rolling::{max_unavailable, replicas};
use super::{available, spec_replicas};

fn rs_status(rs: &ReplicaSet) -> kubelab_api::apps::ReplicaSetStatus {
    rs.status.clone().unwrap_or_default()
}

/// The status for `d` given its old ReplicaSets and the new one (if any). Conditions start from
/// `d.status` (which the reconcile may already have changed); `Available` is updated here.
pub fn calculate(d: &Deployment, old: &[ReplicaSet], new: Option<&ReplicaSet>, now: DateTime<Utc>) -> DeploymentStatus {
    let all = || old.iter().chain(new);
    let available_total: i32 = all().map(available).sum();
    let wanted: i32 = all().map(spec_replicas).sum();
    let previous = d.status.clone().unwrap_or_default();
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation.unwrap_or(0),
        replicas: all().map(|rs| rs_status(rs).replicas).sum(),
        updated_replicas: new.map(|rs| rs_status(rs).replicas).unwrap_or(0),
        ready_replicas: all().map(|rs| rs_status(rs).ready_replicas).sum(),
        available_replicas: available_total,
        unavailable_replicas: (wanted - available_total).max(0),
        terminating_replicas: None,
        conditions: previous.conditions,
        collision_count: previous.collision_count,
    };
    let min_available = replicas(d) - max_unavailable(d);
    if available_total >= min_available {
        let condition = new_condition(
            AVAILABLE,
            "True",
            MINIMUM_AVAILABLE,
            "Deployment has minimum availability.".into(),
            now,
        );
        set_condition(&mut status, condition);
    } else {
        let condition = new_condition(
            AVAILABLE,
            "False",
            MINIMUM_UNAVAILABLE,
            "Deployment does not have minimum availability.".into(),
            now,
        );
        set_condition(&mut status, condition);
    }
    status
}

/// What `kubectl rollout status` concludes from `d` and its status (for tests and tools).
pub fn rollout_complete_for_kubectl(d: &Deployment) -> bool {
    let Some(s) = &d.status else { return false };
    d.metadata.generation.unwrap_or(0) <= s.observed_generation
        && s.updated_replicas >= replicas(d)
        && s.replicas <= s.updated_replicas
        && s.available_replicas >= s.updated_replicas
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(replicas: i32, status_replicas: i32, ready: i32, available: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "spec": {"replicas": replicas},
            "status": {"replicas": status_replicas, "readyReplicas": ready, "availableReplicas": available},
        }))
        .unwrap()
    }

    #[test]
    fn sums_replica_sets_and_sets_available() {
        let mut d: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "web", "generation": 3},
            "spec": {"replicas": 4, "strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}},
        }))
        .unwrap();
        let now = DateTime::from_timestamp(1000, 0).unwrap();
        let old = [rs(2, 3, 3, 3)];
        let new = rs(3, 2, 1, 0);
        let s = calculate(&d, &old, Some(&new), now);
        assert_eq!(
            (
                s.observed_generation,
                s.replicas,
                s.updated_replicas,
                s.ready_replicas,
                s.available_replicas
            ),
            (3, 5, 2, 4, 3)
        );
        assert_eq!(s.unavailable_replicas, 2);
        let available = s.conditions.iter().find(|c| c.type_ == AVAILABLE).unwrap();
        assert_eq!(
            (available.status.as_str(), available.reason.as_deref()),
            ("True", Some(MINIMUM_AVAILABLE))
        );

        d.status = Some(s);
        assert!(!rollout_complete_for_kubectl(&d));
        let done = calculate(&d, &[rs(0, 0, 0, 0)], Some(&rs(4, 4, 4, 4)), now);
        d.status = Some(done);
        assert!(rollout_complete_for_kubectl(&d));

        let s = calculate(&d, &[], Some(&rs(4, 4, 2, 2)), now);
        let available = s.conditions.iter().find(|c| c.type_ == AVAILABLE).unwrap();
        assert_eq!(available.reason.as_deref(), Some(MINIMUM_UNAVAILABLE));
    }
}
