//! Template revisions and the rolling update, as pure functions.
//!
//! **Revisions.** Each version of the pod template is a revision named `<set>-<hash>`, the hash
//! being the Deployment's `pod-template-hash` of the template (with `status.collisionCount`).
//! Pods carry theirs in the `controller-revision-hash` label. The status names two:
//! `updateRevision`, the template as it is now, and `currentRevision`, the one the pods ran
//! before the rollout under way; when every pod runs the update revision and is ready, the
//! current revision becomes the update revision and the rollout is complete.
//!
//! Kubernetes also stores each revision's template in a ControllerRevision object (for `kubectl
//! rollout undo sts`). kubelab does not have that kind: it records revisions as hashes in the
//! status and labels only, and when it must re-create a pod *at the current revision* (a pod
//! below the partition was deleted mid-rollout) it takes the template from a pod that still
//! runs that revision ([`template_from_pod`]); with none left, the pod gets the update revision.
//!
//! **Rolling update** (`updateStrategy.type: RollingUpdate`): from the highest ordinal down to
//! `partition`, delete the first pod not at the update revision, and wait until it is back,
//! running and ready before taking the next one. Pods below the partition keep their revision:
//! a partition of `N-1` is a one-pod canary. With `OnDelete` the controller never deletes a pod
//! for an update; a pod the user deletes comes back at the update revision.

use std::sync::Arc;

use kubelab_api::apps::StatefulSet;
use kubelab_api::core::{Pod, PodTemplateSpec};

use super::identity::{POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL};
use crate::deployment::hash::pod_template_hash;

/// `<set>-<hash of the template>`.
pub fn update_revision(set: &StatefulSet) -> String {
    // 0 and "never written" must hash alike, or writing the first status would change it.
    let collisions = set.status.as_ref().and_then(|s| s.collision_count).filter(|c| *c != 0);
    format!(
        "{}-{}",
        set.metadata.name(),
        pod_template_hash(&set.spec.template, collisions)
    )
}

/// The revision of the pods before the rollout: the status's, or the update revision at first.
pub fn current_revision(set: &StatefulSet, update: &str) -> String {
    set.status
        .as_ref()
        .and_then(|s| s.current_revision.clone())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| update.to_string())
}

/// The revision label of a pod ("" if it has none).
pub fn pod_revision(pod: &Pod) -> &str {
    pod.metadata
        .labels
        .get(REVISION_LABEL)
        .map(String::as_str)
        .unwrap_or("")
}

/// `partition` of a RollingUpdate strategy (0 by default); `None` for OnDelete.
pub fn rolling_partition(set: &StatefulSet) -> Option<i32> {
    let strategy = set.spec.update_strategy.as_ref();
    match strategy.and_then(|s| s.type_.as_deref()).unwrap_or("RollingUpdate") {
        "OnDelete" => None,
        _ => Some(
            strategy
                .and_then(|s| s.rolling_update.as_ref())
                .and_then(|r| r.partition)
                .unwrap_or(0)
                .max(0),
        ),
    }
}

/// The template a pod of the given revision was made from, recovered from the pod itself:
/// its labels (without the per-pod ones), annotations and spec (without where it ran).
pub fn template_from_pod(pod: &Pod) -> PodTemplateSpec {
    let mut template = PodTemplateSpec::default();
    template.metadata.labels = pod.metadata.labels.clone();
    for label in [POD_NAME_LABEL, POD_INDEX_LABEL, REVISION_LABEL] {
        template.metadata.labels.remove(label);
    }
    template.metadata.annotations = pod.metadata.annotations.clone();
    template.spec = pod.spec.clone();
    template.spec.node_name = None;
    template.spec.hostname = None;
    template.spec.subdomain = None;
    // The claim volumes are rewritten for the new ordinal by `identity::new_pod`.
    template
}

/// The template to create a pod of `revision` from: the set's own for the update revision, else
/// one recovered from a live pod of that revision, else (none left) the set's own.
pub fn template_for(set: &StatefulSet, revision: &str, update: &str, pods: &[Arc<Pod>]) -> (PodTemplateSpec, String) {
    if revision != update {
        if let Some(pod) = pods
            .iter()
            .find(|p| pod_revision(p) == revision && p.metadata.deletion_timestamp.is_none())
        {
            return (template_from_pod(pod), revision.to_string());
        }
    }
    (set.spec.template.clone(), update.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::identity::new_pod;
    use super::super::identity::tests::set;
    use super::*;
    use serde_json::json;

    #[test]
    fn the_revision_follows_the_template() {
        let mut s = set(3, json!({}));
        let first = update_revision(&s);
        assert!(first.starts_with("web-"));
        assert_eq!(current_revision(&s, &first), first);
        s.status = Some(kubelab_api::apps::StatefulSetStatus {
            collision_count: Some(0),
            ..Default::default()
        });
        assert_eq!(update_revision(&s), first, "collisionCount 0 is no collision");
        s.spec.template.spec.containers[0].image = Some("nginx:2".into());
        let second = update_revision(&s);
        assert_ne!(first, second);
        s.status = Some(kubelab_api::apps::StatefulSetStatus {
            current_revision: Some(first.clone()),
            ..Default::default()
        });
        assert_eq!(current_revision(&s, &second), first);
    }

    #[test]
    fn partition_and_on_delete() {
        assert_eq!(rolling_partition(&set(3, json!({}))), Some(0));
        let canary = set(
            3,
            json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}),
        );
        assert_eq!(rolling_partition(&canary), Some(2));
        assert_eq!(
            rolling_partition(&set(3, json!({"updateStrategy": {"type": "OnDelete"}}))),
            None
        );
    }

    #[test]
    fn an_old_revision_template_is_recovered_from_a_pod() {
        let old = set(3, json!({}));
        let old_revision = update_revision(&old);
        let mut pod = new_pod(&old, 1, &old_revision, &old.spec.template);
        pod.spec.node_name = Some("node-1".into());
        let mut new = old.clone();
        new.spec.template.spec.containers[0].image = Some("nginx:2".into());
        let new_revision = update_revision(&new);
        let pods = [Arc::new(pod)];
        let (template, revision) = template_for(&new, &old_revision, &new_revision, &pods);
        assert_eq!(revision, old_revision);
        assert_eq!(template.spec.containers[0].image.as_deref(), Some("nginx:1"));
        assert_eq!(template.spec.node_name, None);
        assert!(!template.metadata.labels.contains_key(POD_NAME_LABEL));
        let again = new_pod(&new, 0, &revision, &template);
        assert_eq!(again.spec.hostname.as_deref(), Some("web-0"));
        assert_eq!(
            again.spec.volumes.iter().filter(|v| v.name == "data").count(),
            1,
            "the claim volume is replaced, not duplicated"
        );
        assert_eq!(
            again.spec.volumes[0]
                .persistent_volume_claim
                .as_ref()
                .unwrap()
                .claim_name,
            "data-web-0"
        );
        // No pod of the old revision left: the update revision's template.
        let (template, revision) = template_for(&new, &old_revision, &new_revision, &[]);
        assert_eq!((revision, template), (new_revision, new.spec.template.clone()));
    }
}
