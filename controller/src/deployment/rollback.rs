//! Revisions: which ReplicaSet is which version, and how rollbacks reuse them.
//!
//! Every ReplicaSet of a Deployment carries `deployment.kubernetes.io/revision: "<n>"`. The new
//! one gets one more than the highest old one, and the Deployment carries the same number, which
//! is what `kubectl rollout history` lists.
//!
//! **Rollback** needs no special code path. `kubectl rollout undo` (since 1.x, client-side)
//! reads the ReplicaSet of the target revision and patches the Deployment's template to equal
//! it. The controller then sees a template whose hash names an *existing* ReplicaSet, reuses it
//! as the new one, and bumps its revision to the newest number (remembering the old numbers in
//! `deployment.kubernetes.io/revision-history`). The old pods scale back up; nothing is copied.
//!
//! **History**: old ReplicaSets scaled to 0 are kept for such rollbacks, at most
//! `revisionHistoryLimit` of them; the oldest beyond that are deleted.

use std::collections::BTreeMap;

use kubelab_api::apps::{Deployment, ReplicaSet};

pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY_ANNOTATION: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's `spec.replicas` when this ReplicaSet was last scaled.
pub const DESIRED_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/desired-replicas";
/// `replicas + maxSurge` then: what proportional scaling divides by.
pub const MAX_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/max-replicas";
const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A ReplicaSet's revision (0 when missing or unreadable).
pub fn revision(rs: &ReplicaSet) -> i64 {
    rs.metadata
        .annotations
        .get(REVISION_ANNOTATION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

pub fn max_revision(replica_sets: &[ReplicaSet]) -> i64 {
    replica_sets.iter().map(revision).max().unwrap_or(0)
}

/// Annotations the Deployment's own bookkeeping owns, never copied onto its ReplicaSets.
fn skip_copy(key: &str) -> bool {
    key == LAST_APPLIED_ANNOTATION
        || key == REVISION_ANNOTATION
        || key == REVISION_HISTORY_ANNOTATION
        || key == DESIRED_REPLICAS_ANNOTATION
        || key == MAX_REPLICAS_ANNOTATION
        || key == "deprecated.deployment.rollback.to"
}

/// Brings the new ReplicaSet's annotations up to date: the Deployment's own annotations (such as
/// `kubernetes.io/change-cause`, which `rollout history` shows), and revision `new_revision` if
/// it has a lower one. Returns whether anything changed.
pub fn set_new_rs_annotations(d: &Deployment, rs: &mut ReplicaSet, new_revision: i64) -> bool {
    let annotations = &mut rs.metadata.annotations;
    let mut changed = false;
    for (key, value) in &d.metadata.annotations {
        if !skip_copy(key) && annotations.get(key) != Some(value) {
            annotations.insert(key.clone(), value.clone());
            changed = true;
        }
    }
    let old: i64 = annotations
        .get(REVISION_ANNOTATION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    if old < new_revision {
        if old > 0 {
            // Reused by a rollback: remember the numbers it had.
            let history = match annotations.get(REVISION_HISTORY_ANNOTATION) {
                Some(h) if !h.is_empty() => format!("{h},{old}"),
                _ => old.to_string(),
            };
            annotations.insert(REVISION_HISTORY_ANNOTATION.into(), history);
        }
        annotations.insert(REVISION_ANNOTATION.into(), new_revision.to_string());
        changed = true;
    }
    changed
}

/// Sets the desired/max replicas annotations; returns whether they changed.
pub fn set_replicas_annotations(annotations: &mut BTreeMap<String, String>, desired: i32, max: i32) -> bool {
    let mut changed = false;
    for (key, value) in [
        (DESIRED_REPLICAS_ANNOTATION, desired.to_string()),
        (MAX_REPLICAS_ANNOTATION, max.to_string()),
    ] {
        if annotations.get(key) != Some(&value) {
            annotations.insert(key.into(), value);
            changed = true;
        }
    }
    changed
}

/// The old ReplicaSets to delete so that at most `limit` remain: the lowest revisions first,
/// and only those fully scaled down (spec and status 0, status up to date).
pub fn history_to_delete(old: &[ReplicaSet], limit: i32) -> Vec<String> {
    let mut cleanable: Vec<&ReplicaSet> = old
        .iter()
        .filter(|rs| rs.metadata.deletion_timestamp.is_none())
        .collect();
    let excess = cleanable.len() as i64 - i64::from(limit.max(0));
    if excess <= 0 {
        return Vec::new();
    }
    cleanable.sort_by_key(|rs| {
        (
            revision(rs),
            rs.metadata.creation_timestamp,
            rs.metadata.name().to_string(),
        )
    });
    cleanable
        .into_iter()
        .take(excess as usize)
        .filter(|rs| {
            let status = rs.status.clone().unwrap_or_default();
            rs.spec.replicas.unwrap_or(1) == 0
                && status.replicas == 0
                && rs.metadata.generation.unwrap_or(0) <= status.observed_generation
        })
        .map(|rs| rs.metadata.name().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(name: &str, revision: i64, replicas: i32, status_replicas: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": name, "generation": 1,
                "annotations": {REVISION_ANNOTATION: revision.to_string()}},
            "spec": {"replicas": replicas},
            "status": {"replicas": status_replicas, "observedGeneration": 1},
        }))
        .unwrap()
    }

    #[test]
    fn revisions() {
        let list = vec![rs("a", 3, 0, 0), rs("b", 7, 0, 0), rs("c", 5, 0, 0)];
        assert_eq!(max_revision(&list), 7);
        assert_eq!(max_revision(&[]), 0);
        let mut bad = rs("x", 1, 0, 0);
        bad.metadata
            .annotations
            .insert(REVISION_ANNOTATION.into(), "nope".into());
        assert_eq!(revision(&bad), 0);
    }

    #[test]
    fn new_rs_gets_the_next_revision_and_a_rollback_keeps_history() {
        let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "web", "annotations": {
            "kubernetes.io/change-cause": "v2", LAST_APPLIED_ANNOTATION: "{}", REVISION_ANNOTATION: "2"}}}))
        .unwrap();
        let mut fresh = ReplicaSet::default();
        assert!(set_new_rs_annotations(&d, &mut fresh, 1));
        assert_eq!(revision(&fresh), 1);
        assert_eq!(
            fresh
                .metadata
                .annotations
                .get("kubernetes.io/change-cause")
                .map(String::as_str),
            Some("v2")
        );
        assert!(!fresh.metadata.annotations.contains_key(LAST_APPLIED_ANNOTATION));
        assert!(!set_new_rs_annotations(&d, &mut fresh, 1), "idempotent");

        // Rolled back to: revision 1 becomes 3, history says 1.
        assert!(set_new_rs_annotations(&d, &mut fresh, 3));
        assert_eq!(revision(&fresh), 3);
        assert_eq!(
            fresh
                .metadata
                .annotations
                .get(REVISION_HISTORY_ANNOTATION)
                .map(String::as_str),
            Some("1")
        );
        assert!(set_new_rs_annotations(&d, &mut fresh, 5));
        assert_eq!(
            fresh
                .metadata
                .annotations
                .get(REVISION_HISTORY_ANNOTATION)
                .map(String::as_str),
            Some("1,3")
        );
        // Never lowered.
        assert!(!set_new_rs_annotations(&d, &mut fresh, 2));
        assert_eq!(revision(&fresh), 5);
    }

    #[test]
    fn replicas_annotations() {
        let mut a = BTreeMap::new();
        assert!(set_replicas_annotations(&mut a, 3, 4));
        assert_eq!(a.get(DESIRED_REPLICAS_ANNOTATION).map(String::as_str), Some("3"));
        assert_eq!(a.get(MAX_REPLICAS_ANNOTATION).map(String::as_str), Some("4"));
        assert!(!set_replicas_annotations(&mut a, 3, 4));
    }

    #[test]
    fn history_cleanup_deletes_the_oldest_scaled_down() {
        let old = vec![
            rs("r4", 4, 0, 0),
            rs("r1", 1, 0, 0),
            rs("r2", 2, 1, 1), // still has a pod: kept even though old
            rs("r3", 3, 0, 0),
        ];
        assert_eq!(history_to_delete(&old, 10), Vec::<String>::new());
        assert_eq!(history_to_delete(&old, 4), Vec::<String>::new());
        assert_eq!(history_to_delete(&old, 2), ["r1"]);
        assert_eq!(history_to_delete(&old, 1), ["r1", "r3"]);
        assert_eq!(history_to_delete(&old, 0), ["r1", "r3", "r4"]);
        let mut stale = rs("r0", 0, 0, 0);
        stale.metadata.generation = Some(2);
        assert_eq!(history_to_delete(&[stale], 0), Vec::<String>::new());
    }
}
