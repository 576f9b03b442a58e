//! What a ReplicaSet needs to know about a pod, as pure functions: is it active, ready,
//! available; which to delete first; what a new one looks like.
//!
//! - **Active**: not being deleted and not finished (`Succeeded`/`Failed`). Only active pods
//!   count towards `replicas`; a finished pod of a `restartPolicy: Always` template will not
//!   come back, so it needs a replacement.
//! - **Ready**: its `Ready` condition is `True` (the agent says all containers pass readiness).
//! - **Available**: ready for at least `minReadySeconds`. A pod that crashes right after starting
//!   is ready for a moment; `minReadySeconds` keeps a rollout from trusting it too soon.

use std::cmp::Reverse;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kubelab_api::apps::ReplicaSet;
use kubelab_api::core::{Pod, PodCondition};
use kubelab_api::{Object, ObjectMeta, OwnerReference};

pub fn is_deleting(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

/// Counts towards `replicas`: neither being deleted nor finished.
pub fn is_active(pod: &Pod) -> bool {
    !is_deleting(pod) && !matches!(phase(pod), "Succeeded" | "Failed")
}

fn ready_condition(pod: &Pod) -> Option<&PodCondition> {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
}

pub fn is_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// Since when the pod has been ready (`None` if it is not).
fn ready_since(pod: &Pod) -> Option<DateTime<Utc>> {
    ready_condition(pod)
        .filter(|c| c.status == "True")
        .map(|c| c.last_transition_time.map(|t| t.0).unwrap_or(DateTime::<Utc>::MIN_UTC))
}

/// How long until a ready pod becomes available: `Some(ZERO)` if it is, `None` if not ready.
pub fn until_available(pod: &Pod, min_ready_seconds: i32, now: DateTime<Utc>) -> Option<Duration> {
    let since = ready_since(pod)?;
    if min_ready_seconds <= 0 {
        return Some(Duration::ZERO);
    }
    let available_at = since + chrono::Duration::seconds(i64::from(min_ready_seconds));
    Some((available_at - now).to_std().unwrap_or(Duration::ZERO))
}

pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: DateTime<Utc>) -> bool {
    until_available(pod, min_ready_seconds, now) == Some(Duration::ZERO)
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .map(|s| s.container_statuses.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0)
}

/// Orders pods so that the ones to delete first come first, as Kubernetes' `ActivePods` does:
/// unscheduled before scheduled, `Pending` before `Unknown` before `Running`, not ready before
/// ready, ready for less time before ready for longer, more restarts before fewer, newer before
/// older. Losing a pod that is not serving yet costs the least. Ties are broken by name.
pub fn sort_for_deletion(pods: &mut [Arc<Pod>]) {
    pods.sort_by_cached_key(|pod| {
        let scheduled = pod.spec.node_name.as_deref().is_some_and(|n| !n.is_empty());
        let phase_rank = match phase(pod) {
            "Pending" => 0,
            "Unknown" => 1,
            "Running" => 2,
            _ => 3,
        };
        (
            scheduled,
            phase_rank,
            is_ready(pod),
            Reverse(ready_since(pod)),
            Reverse(restarts(pod)),
            Reverse(pod.metadata.creation_timestamp),
            pod.metadata.name().to_string(),
        )
    });
}

/// The controller reference an owner puts on what it owns.
pub fn controller_ref<T: Object>(owner: &T) -> OwnerReference {
    OwnerReference {
        api_version: T::API_VERSION.to_string(),
        kind: T::KIND.to_string(),
        name: owner.metadata().name().to_string(),
        uid: owner.metadata().uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A new pod for `rs`: the template's labels, annotations and spec, a generated name
/// `<rs-name>-xxxxx` and the ReplicaSet as controller.
pub fn pod_from_template(rs: &ReplicaSet) -> Pod {
    let template = &rs.spec.template;
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", rs.metadata.name())),
            namespace: rs.metadata.namespace.clone(),
            labels: template.metadata.labels.clone(),
            annotations: template.metadata.annotations.clone(),
            finalizers: template.metadata.finalizers.clone(),
            owner_references: vec![controller_ref(rs)],
            ..ObjectMeta::default()
        },
        spec: template.spec.clone(),
        ..Pod::default()
    }
}

/// `pod` with our controller reference added (adoption).
pub fn with_owner(pod: &Pod, owner: OwnerReference) -> Pod {
    let mut pod = pod.clone();
    pod.metadata.owner_references.retain(|r| r.uid != owner.uid);
    pod.metadata.owner_references.push(owner);
    pod
}

/// `pod` without the reference to owner `uid` (release).
pub fn without_owner(pod: &Pod, uid: &str) -> Pod {
    let mut pod = pod.clone();
    pod.metadata.owner_references.retain(|r| r.uid != uid);
    pod
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use kubelab_api::Time;
    use serde_json::json;

    /// A pod for tests: `node` ("" for unscheduled), `phase`, and ready since `ready_at` seconds
    /// after the epoch (None: not ready).
    pub fn pod(name: &str, node: &str, phase: &str, ready_at: Option<i64>, created: i64) -> Arc<Pod> {
        let mut conditions = vec![];
        if let Some(at) = ready_at {
            conditions.push(json!({"type": "Ready", "status": "True",
                "lastTransitionTime": Time(DateTime::from_timestamp(at, 0).unwrap()).to_string()}));
        } else {
            conditions.push(json!({"type": "Ready", "status": "False"}));
        }
        let mut pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "d", "labels": {"app": "web"},
                "creationTimestamp": Time(DateTime::from_timestamp(created, 0).unwrap()).to_string()},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": phase, "conditions": conditions},
        }))
        .unwrap();
        if !node.is_empty() {
            pod.spec.node_name = Some(node.into());
        }
        Arc::new(pod)
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn activity_and_readiness() {
        let running = pod("a", "n1", "Running", Some(100), 1);
        assert!(is_active(&running) && is_ready(&running));
        assert!(!is_active(&pod("b", "n1", "Failed", None, 1)));
        assert!(!is_active(&pod("c", "n1", "Succeeded", None, 1)));
        let mut deleting = (*running).clone();
        deleting.metadata.deletion_timestamp = Some(Time::now());
        assert!(!is_active(&deleting));
        assert!(!is_ready(&pod("d", "", "Pending", None, 1)));
    }

    #[test]
    fn availability_waits_for_min_ready_seconds() {
        let p = pod("a", "n1", "Running", Some(100), 1);
        assert!(is_available(&p, 0, at(100)));
        assert!(!is_available(&p, 10, at(105)));
        assert_eq!(until_available(&p, 10, at(105)), Some(Duration::from_secs(5)));
        assert!(is_available(&p, 10, at(110)));
        assert_eq!(until_available(&pod("b", "n1", "Running", None, 1), 10, at(200)), None);
    }

    #[test]
    fn deletion_prefers_unscheduled_pending_not_ready_newer() {
        let mut pods = vec![
            pod("old-ready", "n1", "Running", Some(10), 1),
            pod("new-ready", "n1", "Running", Some(10), 5),
            pod("recently-ready", "n1", "Running", Some(50), 1),
            pod("running-not-ready", "n1", "Running", None, 1),
            pod("pending-scheduled", "n1", "Pending", None, 1),
            pod("unscheduled", "", "Pending", None, 1),
            pod("unknown", "n1", "Unknown", None, 1),
        ];
        sort_for_deletion(&mut pods);
        let order: Vec<&str> = pods.iter().map(|p| p.metadata.name()).collect();
        assert_eq!(
            order,
            [
                "unscheduled",
                "pending-scheduled",
                "unknown",
                "running-not-ready",
                "recently-ready",
                "new-ready",
                "old-ready"
            ]
        );
    }

    #[test]
    fn new_pods_come_from_the_template_with_an_owner() {
        let mut rs: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": "web-abc", "namespace": "d", "uid": "rs-uid"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
        }))
        .unwrap();
        rs.metadata.generation = Some(1);
        let pod = pod_from_template(&rs);
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("web-abc-"));
        assert_eq!(pod.metadata.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(pod.metadata.annotations.get("a").map(String::as_str), Some("b"));
        let owner = &pod.metadata.owner_references[0];
        assert_eq!(
            (owner.kind.as_str(), owner.api_version.as_str(), owner.uid.as_str()),
            ("ReplicaSet", "apps/v1", "rs-uid")
        );
        assert_eq!((owner.controller, owner.block_owner_deletion), (Some(true), Some(true)));
        assert_eq!(pod.spec.containers[0].image.as_deref(), Some("nginx"));
        let released = without_owner(&pod, "rs-uid");
        assert!(released.metadata.owner_references.is_empty());
        let adopted = with_owner(&released, controller_ref(&rs));
        assert_eq!(
            adopted.metadata.controller_ref().map(|r| r.uid.as_str()),
            Some("rs-uid")
        );
    }
}
