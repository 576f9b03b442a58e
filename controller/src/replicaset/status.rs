//! A ReplicaSet's `status`, computed from the pods it owns.
//!
//! Status is the controller's report of the *observed* state: how many pods exist
//! (`replicas`), carry all the template's labels (`fullyLabeledReplicas`), are ready, and have
//! been ready for `minReadySeconds` (`availableReplicas`, what a Deployment's rollout relies on).
//! `observedGeneration` says which version of the spec this report is about.
//!
//! Availability depends on time passing, not only on events: a pod ready at 10:00:00 with
//! `minReadySeconds: 30` becomes available at 10:00:30 without any change to any object. So the
//! computation also says when to look again.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kubelab_api::apps::{ReplicaSet, ReplicaSetStatus};
use kubelab_api::core::Pod;

use super::pods::{is_ready, until_available};

/// The new status, and how long until a ready pod becomes available (if one is waiting).
pub fn compute(rs: &ReplicaSet, active: &[Arc<Pod>], now: DateTime<Utc>) -> (ReplicaSetStatus, Option<Duration>) {
    let template_labels = &rs.spec.template.metadata.labels;
    let min_ready = rs.spec.min_ready_seconds.unwrap_or(0);
    let mut status = ReplicaSetStatus {
        replicas: active.len() as i32,
        observed_generation: rs.metadata.generation.unwrap_or(0),
        // Conditions (ReplicaFailure) are kept as they were.
        conditions: rs.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default(),
        ..ReplicaSetStatus::default()
    };
    let mut next_check: Option<Duration> = None;
    for pod in active {
        if template_labels
            .iter()
            .all(|(k, v)| pod.metadata.labels.get(k) == Some(v))
        {
            status.fully_labeled_replicas += 1;
        }
        if is_ready(pod) {
            status.ready_replicas += 1;
            match until_available(pod, min_ready, now) {
                Some(Duration::ZERO) => status.available_replicas += 1,
                Some(wait) => next_check = Some(next_check.map_or(wait, |n| n.min(wait))),
                None => {}
            }
        }
    }
    (status, next_check)
}

#[cfg(test)]
mod tests {
    use super::super::pods::tests::pod;
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_ready_and_available_pods() {
        let mut rs: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": "web", "generation": 4},
            "spec": {"replicas": 3, "minReadySeconds": 10, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web", "tier": "fe"}}}},
        }))
        .unwrap();
        let mut full = (*pod("full", "n1", "Running", Some(100), 1)).clone();
        full.metadata.labels.insert("tier".into(), "fe".into());
        let active = vec![
            Arc::new(full),
            pod("young", "n1", "Running", Some(195), 1),
            pod("not-ready", "n1", "Running", None, 1),
        ];
        let now = DateTime::from_timestamp(200, 0).unwrap();
        let (status, next) = compute(&rs, &active, now);
        assert_eq!(status.replicas, 3);
        assert_eq!(status.fully_labeled_replicas, 1);
        assert_eq!(status.ready_replicas, 2);
        assert_eq!(status.available_replicas, 1);
        assert_eq!(status.observed_generation, 4);
        assert_eq!(next, Some(Duration::from_secs(5)));

        rs.spec.min_ready_seconds = None;
        let (status, next) = compute(&rs, &active, now);
        assert_eq!(status.available_replicas, 2);
        assert_eq!(next, None);
    }
}
