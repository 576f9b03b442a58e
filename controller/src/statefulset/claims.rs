//! The claims of a StatefulSet's pods: one per pod and `volumeClaimTemplates` entry.
//!
//! Pod `web-1` with the template `data` mounts the claim `data-web-1`. The controller creates
//! the claim before the pod and never replaces it: when the pod is deleted, rescheduled or
//! updated to a new template, the new `web-1` mounts the same claim and so the same data.
//!
//! Claims outlive their pods by default. `persistentVolumeClaimRetentionPolicy` changes that:
//!
//! - `whenDeleted: Delete`: the claims carry an ownerReference to the StatefulSet, so the
//!   garbage collector deletes them with it;
//! - `whenScaled: Delete`: when a scale-down removes pod `web-4`, its claims are deleted once the
//!   pod is gone (never before: a terminating pod may still be writing).
//!
//! With `Retain` (the default for both) scaling back up finds the old claims and their data.

use std::sync::Arc;

use kubelab_api::apps::StatefulSet;
use kubelab_api::core::{PersistentVolumeClaim, Pod};
use kubelab_api::ObjectMeta;

use super::identity::{in_range, parse_ordinal};
use crate::replicaset::pods::controller_ref;

/// `<template>-<set>-<ordinal>`.
pub fn claim_name(template: &str, set: &str, ordinal: i32) -> String {
    format!("{template}-{set}-{ordinal}")
}

fn retention(set: &StatefulSet) -> (&str, &str) {
    let policy = set.spec.persistent_volume_claim_retention_policy.as_ref();
    (
        policy.and_then(|p| p.when_deleted.as_deref()).unwrap_or("Retain"),
        policy.and_then(|p| p.when_scaled.as_deref()).unwrap_or("Retain"),
    )
}

/// The claims pod `ordinal` needs, as they are created.
pub fn claims_for(set: &StatefulSet, ordinal: i32) -> Vec<PersistentVolumeClaim> {
    let set_name = set.metadata.name();
    let (when_deleted, _) = retention(set);
    set.spec
        .volume_claim_templates
        .iter()
        .map(|template| {
            let mut labels = template.metadata.labels.clone();
            for (k, v) in &set.spec.selector.match_labels {
                labels.insert(k.clone(), v.clone());
            }
            let owner_references = if when_deleted == "Delete" {
                vec![controller_ref(set)]
            } else {
                Vec::new()
            };
            PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(claim_name(template.metadata.name(), set_name, ordinal)),
                    namespace: set.metadata.namespace.clone(),
                    labels,
                    annotations: template.metadata.annotations.clone(),
                    owner_references,
                    ..ObjectMeta::default()
                },
                spec: template.spec.clone(),
                ..PersistentVolumeClaim::default()
            }
        })
        .collect()
}

/// The ordinal of a claim of `set` (`<template>-<set>-<ordinal>` for one of its templates).
pub fn claim_ordinal(set: &StatefulSet, claim: &str) -> Option<i32> {
    set.spec.volume_claim_templates.iter().find_map(|template| {
        let rest = claim.strip_prefix(template.metadata.name())?.strip_prefix('-')?;
        parse_ordinal(set.metadata.name(), rest)
    })
}

/// With `whenScaled: Delete`: the claims of ordinals scaled away whose pod is gone.
pub fn claims_to_delete_after_scale_down(
    set: &StatefulSet,
    claims: &[Arc<PersistentVolumeClaim>],
    pods: &[Arc<Pod>],
) -> Vec<String> {
    if retention(set).1 != "Delete" {
        return Vec::new();
    }
    let set_name = set.metadata.name();
    claims
        .iter()
        .filter(|c| c.metadata.namespace() == set.metadata.namespace() && c.metadata.deletion_timestamp.is_none())
        .filter_map(|c| {
            let ordinal = claim_ordinal(set, c.metadata.name())?;
            let pod_left = pods
                .iter()
                .any(|p| parse_ordinal(set_name, p.metadata.name()) == Some(ordinal));
            (!in_range(set, ordinal) && !pod_left).then(|| c.metadata.name().to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::identity::tests::set;
    use super::*;
    use serde_json::json;

    fn claim(name: &str) -> Arc<PersistentVolumeClaim> {
        Arc::new(serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default"}})).unwrap())
    }

    fn pod(name: &str) -> Arc<Pod> {
        Arc::new(serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default"}})).unwrap())
    }

    #[test]
    fn claims_are_named_per_template_and_ordinal() {
        let s = set(2, json!({}));
        let claims = claims_for(&s, 1);
        assert_eq!(claims.len(), 1);
        let c = &claims[0];
        assert_eq!(c.metadata.name(), "data-web-1");
        assert_eq!(c.metadata.labels["app"], "web");
        assert_eq!(c.metadata.labels["disk"], "ssd");
        assert!(c.metadata.owner_references.is_empty(), "retained by default");
        assert_eq!(c.spec.resources.as_ref().unwrap().requests["storage"].as_str(), "1Gi");
        assert_eq!(claim_ordinal(&s, "data-web-1"), Some(1));
        assert_eq!(claim_ordinal(&s, "logs-web-1"), None);

        let owned = set(
            2,
            json!({"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete"}}),
        );
        assert_eq!(
            claims_for(&owned, 0)[0].metadata.controller_ref().unwrap().kind,
            "StatefulSet"
        );
    }

    #[test]
    fn scaled_away_claims_go_only_with_delete_and_after_their_pod() {
        let claims = [
            claim("data-web-0"),
            claim("data-web-1"),
            claim("data-web-2"),
            claim("other"),
        ];
        let retain = set(1, json!({}));
        assert!(claims_to_delete_after_scale_down(&retain, &claims, &[]).is_empty());
        let delete = set(
            1,
            json!({"persistentVolumeClaimRetentionPolicy": {"whenScaled": "Delete"}}),
        );
        assert_eq!(
            claims_to_delete_after_scale_down(&delete, &claims, &[pod("web-0"), pod("web-2")]),
            ["data-web-1"]
        );
    }
}
