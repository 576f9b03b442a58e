//! Is the rollout moving? The `Progressing` condition and `progressDeadlineSeconds`.
//!
//! A rollout can get stuck without anything failing outright: the new image does not exist, the
//! pods never become ready, the cluster has no room. Kubernetes notices by *absence of
//! progress*: every time the rollout moves (more updated pods, fewer old ones, more ready or
//! available) the `Progressing` condition's `lastUpdateTime` is refreshed; if it is older than
//! `progressDeadlineSeconds`, the condition turns `False` with reason `ProgressDeadlineExceeded`
//! and `kubectl rollout status` fails. Nothing is rolled back automatically.
//!
//! | reason | status | when |
//! | --- | --- | --- |
//! | `NewReplicaSetCreated` | True | the new ReplicaSet was just created |
//! | `FoundNewReplicaSet` | True | the new ReplicaSet existed but no condition did |
//! | `ReplicaSetUpdated` | True | the rollout moved |
//! | `NewReplicaSetAvailable` | True | complete |
//! | `ProgressDeadlineExceeded` | False | no progress for the deadline |
//! | `DeploymentPaused` / `DeploymentResumed` | Unknown | `spec.paused` flipped |
//!
//! Time matters without any event, so a stuck-looking rollout is requeued for the moment its
//! deadline would pass.

use std::time::Duration;

use chrono::{DateTime, Utc};
use kubelab_api::apps::{Deployment, DeploymentCondition, DeploymentStatus};
use kubelab_api::Time;

use super::rolling::replicas;

pub const PROGRESSING: &str = "Progressing";
pub const AVAILABLE: &str = "Available";
pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";
pub const MINIMUM_AVAILABLE: &str = "MinimumReplicasAvailable";
pub const MINIMUM_UNAVAILABLE: &str = "MinimumReplicasUnavailable";

/// Whether a deadline applies (Kubernetes treats `MaxInt32` as "never").
pub fn has_progress_deadline(d: &Deployment) -> bool {
    matches!(d.spec.progress_deadline_seconds, Some(s) if s != i32::MAX)
}

pub fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: DateTime<Utc>,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
        reason: Some(reason.into()),
        message: Some(message),
    }
}

pub fn get_condition<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    status.conditions.iter().find(|c| c.type_ == type_)
}

/// Sets `condition`, unless one of its type with the same status and reason is there (then
/// nothing changes: timestamps stay). Keeps `lastTransitionTime` when only the reason changed.
pub fn set_condition(status: &mut DeploymentStatus, mut condition: DeploymentCondition) {
    if let Some(current) = get_condition(status, &condition.type_) {
        if current.status == condition.status && current.reason == condition.reason {
            return;
        }
        if current.status == condition.status {
            condition.last_transition_time = current.last_transition_time;
        }
    }
    remove_condition(status, &condition.type_);
    status.conditions.push(condition);
}

pub fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    status.conditions.retain(|c| c.type_ != type_);
}

/// Done: every replica updated and available, nothing old left, and the latest spec observed.
pub fn deployment_complete(d: &Deployment, status: Option<&DeploymentStatus>) -> bool {
    let Some(s) = status else { return false };
    let n = replicas(d);
    s.updated_replicas == n
        && s.replicas == n
        && s.available_replicas == n
        && s.observed_generation >= d.metadata.generation.unwrap_or(0)
}

/// Whether `new` moved compared with the Deployment's stored status.
pub fn deployment_progressing(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let old_old_replicas = old.replicas - old.updated_replicas;
    let new_old_replicas = new.replicas - new.updated_replicas;
    new.updated_replicas > old.updated_replicas
        || new_old_replicas < old_old_replicas
        || new.ready_replicas > old.ready_replicas
        || new.available_replicas > old.available_replicas
}

/// Whether the last progress is older than the deadline.
pub fn deployment_timed_out(d: &Deployment, status: &DeploymentStatus, now: DateTime<Utc>) -> bool {
    if !has_progress_deadline(d) {
        return false;
    }
    let Some(cond) = get_condition(status, PROGRESSING) else {
        return false;
    };
    match cond.reason.as_deref() {
        Some(NEW_RS_AVAILABLE) => false,
        Some(TIMED_OUT) => true,
        _ => {
            let deadline = i64::from(d.spec.progress_deadline_seconds.unwrap_or(600));
            cond.last_update_time
                .is_some_and(|from| from.0 + chrono::Duration::seconds(deadline) < now)
        }
    }
}

/// Updates the `Progressing` condition of `new` (a freshly calculated status) from how the
/// rollout moved, as Kubernetes' `syncRolloutStatus`.
pub fn update_progressing(d: &Deployment, new: &mut DeploymentStatus, new_rs_name: Option<&str>, now: DateTime<Utc>) {
    if !has_progress_deadline(d) {
        remove_condition(new, PROGRESSING);
        return;
    }
    let current = get_condition(new, PROGRESSING).cloned();
    let complete_already = new.replicas == new.updated_replicas
        && current.as_ref().and_then(|c| c.reason.as_deref()) == Some(NEW_RS_AVAILABLE);
    if complete_already {
        return;
    }
    let name = new_rs_name.unwrap_or("");
    let status_for_check = DeploymentStatus {
        observed_generation: new.observed_generation,
        ..new.clone()
    };
    if deployment_complete(d, Some(&status_for_check)) {
        let message = format!("ReplicaSet \"{name}\" has successfully progressed.");
        set_condition(new, new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE, message, now));
    } else if deployment_progressing(d, new) {
        // Progress refreshes lastUpdateTime even with the same reason: that is the clock the
        // deadline runs on.
        let mut condition = new_condition(
            PROGRESSING,
            "True",
            RS_UPDATED,
            format!("ReplicaSet \"{name}\" is progressing."),
            now,
        );
        if let Some(current) = &current {
            if current.status == "True" {
                condition.last_transition_time = current.last_transition_time;
            }
            remove_condition(new, PROGRESSING);
        }
        set_condition(new, condition);
    } else if deployment_timed_out(d, new, now) {
        let message = format!("ReplicaSet \"{name}\" has timed out progressing.");
        set_condition(new, new_condition(PROGRESSING, "False", TIMED_OUT, message, now));
    }
}

/// When to look again for a rollout that is not complete and not timed out yet: the moment its
/// deadline passes (`None` when no deadline applies or it is settled).
pub fn requeue_for_deadline(d: &Deployment, new: &DeploymentStatus, now: DateTime<Utc>) -> Option<Duration> {
    if !has_progress_deadline(d) {
        return None;
    }
    let cond = get_condition(new, PROGRESSING)?;
    if deployment_complete(d, Some(new)) || deployment_timed_out(d, new, now) {
        return None;
    }
    if matches!(cond.reason.as_deref(), Some(NEW_RS_AVAILABLE | PAUSED)) {
        return None;
    }
    let deadline = i64::from(d.spec.progress_deadline_seconds.unwrap_or(600));
    let at = cond.last_update_time?.0 + chrono::Duration::seconds(deadline) + chrono::Duration::seconds(1);
    Some((at - now).to_std().unwrap_or(Duration::from_secs(1)))
}

/// Sets the Paused/Resumed condition when `spec.paused` flipped. Returns whether it changed.
pub fn check_paused(d: &Deployment, status: &mut DeploymentStatus, now: DateTime<Utc>) -> bool {
    if !has_progress_deadline(d) {
        return false;
    }
    let paused = d.spec.paused.unwrap_or(false);
    let reason = get_condition(status, PROGRESSING).and_then(|c| c.reason.clone());
    let currently_paused = reason.as_deref() == Some(PAUSED);
    if paused && !currently_paused {
        set_condition(
            status,
            new_condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused".into(), now),
        );
        true
    } else if !paused && currently_paused {
        set_condition(
            status,
            new_condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed".into(), now),
        );
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    fn deployment(status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 3, "progressDeadlineSeconds": 60},
            "status": status,
        }))
        .unwrap()
    }

    fn status(replicas: i32, updated: i32, available: i32) -> DeploymentStatus {
        DeploymentStatus {
            observed_generation: 2,
            replicas,
            updated_replicas: updated,
            ready_replicas: available,
            available_replicas: available,
            ..Default::default()
        }
    }

    #[test]
    fn completion_needs_everything() {
        let d = deployment(json!({}));
        assert!(deployment_complete(&d, Some(&status(3, 3, 3))));
        assert!(!deployment_complete(&d, Some(&status(4, 3, 3))));
        assert!(!deployment_complete(&d, Some(&status(3, 3, 2))));
        let mut stale = status(3, 3, 3);
        stale.observed_generation = 1;
        assert!(!deployment_complete(&d, Some(&stale)));
        assert!(!deployment_complete(&d, None));
    }

    #[test]
    fn progress_refreshes_and_the_deadline_fails_the_rollout() {
        let mut d = deployment(json!({"replicas": 4, "updatedReplicas": 1, "availableReplicas": 3}));
        let mut new = status(4, 2, 3);
        set_condition(
            &mut new,
            new_condition(PROGRESSING, "True", NEW_RS_CREATED, "Created".into(), at(100)),
        );
        update_progressing(&d, &mut new, Some("web-abc"), at(130));
        let cond = get_condition(&new, PROGRESSING).unwrap().clone();
        assert_eq!(cond.reason.as_deref(), Some(RS_UPDATED));
        assert_eq!(cond.last_update_time, Some(Time(at(130))));
        assert_eq!(cond.last_transition_time, Some(Time(at(100))));
        assert_eq!(requeue_for_deadline(&d, &new, at(130)), Some(Duration::from_secs(61)));

        // No further progress: at 191 (> 130 + 60) it times out.
        d.status = Some(new.clone());
        let mut stuck = new.clone();
        update_progressing(&d, &mut stuck, Some("web-abc"), at(150));
        assert_eq!(
            get_condition(&stuck, PROGRESSING).unwrap().reason.as_deref(),
            Some(RS_UPDATED)
        );
        update_progressing(&d, &mut stuck, Some("web-abc"), at(191));
        let cond = get_condition(&stuck, PROGRESSING).unwrap();
        assert_eq!(
            (cond.status.as_str(), cond.reason.as_deref()),
            ("False", Some(TIMED_OUT))
        );
        assert_eq!(
            cond.message.as_deref(),
            Some("ReplicaSet \"web-abc\" has timed out progressing.")
        );
        assert_eq!(requeue_for_deadline(&d, &stuck, at(191)), None);
    }

    #[test]
    fn completion_is_reported_once() {
        let d = deployment(json!({"replicas": 3, "updatedReplicas": 3, "availableReplicas": 2}));
        let mut new = status(3, 3, 3);
        update_progressing(&d, &mut new, Some("web-abc"), at(10));
        let cond = get_condition(&new, PROGRESSING).unwrap().clone();
        assert_eq!(cond.reason.as_deref(), Some(NEW_RS_AVAILABLE));
        assert_eq!(
            cond.message.as_deref(),
            Some("ReplicaSet \"web-abc\" has successfully progressed.")
        );
        let mut again = new.clone();
        update_progressing(&d, &mut again, Some("web-abc"), at(20));
        assert_eq!(again, new);
    }

    #[test]
    fn no_deadline_no_condition() {
        let mut d = deployment(json!({}));
        d.spec.progress_deadline_seconds = Some(i32::MAX);
        let mut new = status(3, 3, 3);
        set_condition(
            &mut new,
            new_condition(PROGRESSING, "True", RS_UPDATED, "x".into(), at(1)),
        );
        update_progressing(&d, &mut new, None, at(2));
        assert!(get_condition(&new, PROGRESSING).is_none());
    }

    #[test]
    fn pause_and_resume_conditions() {
        let mut d = deployment(json!({}));
        d.spec.paused = Some(true);
        let mut s = DeploymentStatus::default();
        assert!(check_paused(&d, &mut s, at(1)));
        assert!(!check_paused(&d, &mut s, at(2)));
        assert_eq!(get_condition(&s, PROGRESSING).unwrap().reason.as_deref(), Some(PAUSED));
        d.spec.paused = Some(false);
        assert!(check_paused(&d, &mut s, at(3)));
        assert_eq!(get_condition(&s, PROGRESSING).unwrap().reason.as_deref(), Some(RESUMED));
    }

    #[test]
    fn set_condition_keeps_timestamps_when_nothing_changes() {
        let mut s = DeploymentStatus::default();
        set_condition(
            &mut s,
            new_condition(AVAILABLE, "True", MINIMUM_AVAILABLE, "m".into(), at(1)),
        );
        set_condition(
            &mut s,
            new_condition(AVAILABLE, "True", MINIMUM_AVAILABLE, "m".into(), at(2)),
        );
        assert_eq!(s.conditions.len(), 1);
        assert_eq!(s.conditions[0].last_update_time, Some(Time(at(1))));
        set_condition(
            &mut s,
            new_condition(AVAILABLE, "False", MINIMUM_UNAVAILABLE, "m".into(), at(3)),
        );
        assert_eq!(s.conditions[0].last_transition_time, Some(Time(at(3))));
    }
}
