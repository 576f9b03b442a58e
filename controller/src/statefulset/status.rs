//! A StatefulSet's `status`, computed from its pods — what `kubectl rollout status sts/web` and
//! `kubectl get sts` read.
//!
//! - `replicas`: pods that exist (terminating ones too); `readyReplicas`: running and ready;
//!   `availableReplicas`: ready for `minReadySeconds`;
//! - `currentReplicas` / `updatedReplicas`: pods (not terminating) at the current / update
//!   revision; `currentRevision` / `updateRevision` name those revisions;
//! - a RollingUpdate is complete when every pod is at the update revision and ready: then the
//!   current revision becomes the update revision (Kubernetes' `completeRollingUpdate`);
//! - `observedGeneration`: the spec generation this status describes. kubectl waits for it to
//!   reach `metadata.generation` before it trusts the other numbers.
//!
//! `kubectl rollout status` then prints, for the default `partition: 0`,
//! `partitioned roll out complete: 3 new pods have been updated...` once `readyReplicas` reaches
//! `spec.replicas` and `updatedReplicas >= replicas - partition`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kubelab_api::apps::{StatefulSet, StatefulSetStatus};
use kubelab_api::core::Pod;

use super::update::pod_revision;
use crate::replicaset::pods::{is_ready, until_available};

fn is_running(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

/// Running and ready.
pub fn running_and_ready(pod: &Pod) -> bool {
    is_running(pod) && is_ready(pod)
}

/// The status for `pods` (the set's own), and how long until a ready pod becomes available.
pub fn compute(
    set: &StatefulSet,
    pods: &[Arc<Pod>],
    current_revision: &str,
    update_revision: &str,
    now: DateTime<Utc>,
) -> (StatefulSetStatus, Option<Duration>) {
    let min_ready = set.spec.min_ready_seconds.unwrap_or(0);
    let old = set.status.clone().unwrap_or_default();
    let mut status = StatefulSetStatus {
        observed_generation: set.metadata.generation.unwrap_or(0),
        current_revision: Some(current_revision.to_string()),
        update_revision: Some(update_revision.to_string()),
        collision_count: Some(old.collision_count.unwrap_or(0)),
        conditions: old.conditions,
        ..StatefulSetStatus::default()
    };
    let mut next_check: Option<Duration> = None;
    for pod in pods {
        status.replicas += 1;
        if running_and_ready(pod) {
            status.ready_replicas += 1;
            match until_available(pod, min_ready, now) {
                Some(Duration::ZERO) => status.available_replicas += 1,
                Some(wait) => next_check = Some(next_check.map_or(wait, |n| n.min(wait))),
                None => {}
            }
        }
        if pod.metadata.deletion_timestamp.is_none() {
            let revision = pod_revision(pod);
            if revision == current_revision {
                status.current_replicas += 1;
            }
            if revision == update_revision {
                status.updated_replicas += 1;
            }
        }
    }
    let rolling = set
        .spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate")
        == "RollingUpdate";
    if rolling && status.updated_replicas == status.replicas && status.ready_replicas == status.replicas {
        status.current_revision = Some(update_revision.to_string());
        status.current_replicas = status.updated_replicas;
    }
    (status, next_check)
}

/// Whether `kubectl rollout status statefulset/<name>` would report success (its own rules).
pub fn rollout_complete_for_kubectl(set: &StatefulSet) -> bool {
    let Some(status) = &set.status else {
        return false;
    };
    if status.observed_generation == 0 || set.metadata.generation.unwrap_or(0) > status.observed_generation {
        return false;
    }
    let replicas = set.spec.replicas.unwrap_or(1);
    if status.ready_replicas < replicas {
        return false;
    }
    let strategy = set.spec.update_strategy.as_ref();
    match strategy
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.partition)
    {
        Some(partition) => status.updated_replicas >= replicas - partition,
        None => status.update_revision == status.current_revision,
    }
}

#[cfg(test)]
mod tests {
    use super::super::identity::new_pod;
    use super::super::identity::tests::set;
    use super::*;
    use kubelab_api::Time;
    use serde_json::json;

    fn pod(set: &StatefulSet, ordinal: i32, revision: &str, ready_at: Option<i64>) -> Arc<Pod> {
        let mut pod = new_pod(set, ordinal, revision, &set.spec.template);
        let mut status = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]});
        if let Some(at) = ready_at {
            status["conditions"][0] = json!({"type": "Ready", "status": "True",
                "lastTransitionTime": Time(DateTime::from_timestamp(at, 0).unwrap()).to_string()});
        }
        pod.status = Some(serde_json::from_value(status).unwrap());
        Arc::new(pod)
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn counts_by_readiness_and_revision() {
        let s = set(3, json!({"minReadySeconds": 10}));
        let pods = [
            pod(&s, 0, "old", Some(100)),
            pod(&s, 1, "new", Some(195)),
            pod(&s, 2, "new", None),
        ];
        let (status, next) = compute(&s, &pods, "old", "new", at(200));
        assert_eq!(
            (status.replicas, status.ready_replicas, status.available_replicas),
            (3, 2, 1)
        );
        assert_eq!((status.current_replicas, status.updated_replicas), (1, 2));
        assert_eq!(status.current_revision.as_deref(), Some("old"));
        assert_eq!(status.observed_generation, 1);
        assert_eq!(next, Some(Duration::from_secs(5)));
    }

    #[test]
    fn a_finished_rollout_makes_the_update_revision_current() {
        let mut s = set(2, json!({}));
        let pods = [pod(&s, 0, "new", Some(1)), pod(&s, 1, "new", Some(1))];
        let (status, _) = compute(&s, &pods, "old", "new", at(10));
        assert_eq!(status.current_revision.as_deref(), Some("new"));
        assert_eq!(status.current_replicas, 2);
        s.status = Some(status);
        assert!(rollout_complete_for_kubectl(&s));
        s.metadata.generation = Some(2);
        assert!(!rollout_complete_for_kubectl(&s), "a newer spec is not observed yet");
    }

    #[test]
    fn a_partitioned_rollout_is_complete_when_the_pods_above_are_updated() {
        let mut s = set(3, json!({"updateStrategy": {"rollingUpdate": {"partition": 2}}}));
        let pods = [
            pod(&s, 0, "old", Some(1)),
            pod(&s, 1, "old", Some(1)),
            pod(&s, 2, "new", Some(1)),
        ];
        let (status, _) = compute(&s, &pods, "old", "new", at(10));
        assert_eq!(
            status.current_revision.as_deref(),
            Some("old"),
            "not every pod is updated"
        );
        s.status = Some(status);
        assert!(rollout_complete_for_kubectl(&s));
    }
}
