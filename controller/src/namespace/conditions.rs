//! The conditions a terminating namespace reports while it empties (pure).
//!
//! `kubectl describe namespace shop` on a namespace stuck in `Terminating` shows why, in
//! Kubernetes' words:
//!
//! ```text
//! NamespaceContentRemaining      True   SomeResourcesRemain    Some resources are remaining: pods. has 2 resource instances
//! NamespaceFinalizersRemaining   True   SomeFinalizersRemain   Some content in the namespace has finalizers remaining: foregroundDeletion in 1 resource instances
//! NamespaceDeletionContentFailure False ContentDeleted         All content successfully deleted, may be waiting on finalization
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kubelab_api::core::NamespaceCondition;
use kubelab_api::Time;

/// What one pass over a terminating namespace found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContentReport {
    /// Objects left, by resource (`pods.`, `replicasets.apps`).
    pub remaining: BTreeMap<String, usize>,
    /// Finalizers holding objects being deleted, and how many objects each holds.
    pub finalizers: BTreeMap<String, usize>,
    /// Resources whose list or delete failed, with the error.
    pub failures: Vec<String>,
}

impl ContentReport {
    pub fn is_empty(&self) -> bool {
        self.remaining.values().all(|n| *n == 0)
    }
}

/// Kubernetes' way of naming a resource in these messages: `plural.group` (so `pods.` for the
/// core group).
pub fn resource_name(plural: &str, group: &str) -> String {
    format!("{plural}.{group}")
}

fn condition(type_: &str, on: bool, reason: &str, message: String) -> NamespaceCondition {
    NamespaceCondition {
        type_: type_.into(),
        status: if on { "True" } else { "False" }.into(),
        last_transition_time: None,
        reason: Some(reason.into()),
        message: Some(message),
    }
}

fn counts(map: &BTreeMap<String, usize>, join: &str) -> String {
    map.iter()
        .filter(|(_, n)| **n > 0)
        .map(|(what, n)| format!("{what}{join}{n} resource instances"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The five deletion conditions for `report`, keeping each one's `lastTransitionTime` from
/// `previous` when its status did not change.
pub fn deletion_conditions(
    report: &ContentReport,
    previous: &[NamespaceCondition],
    now: DateTime<Utc>,
) -> Vec<NamespaceCondition> {
    let remaining = !report.is_empty();
    let finalizing = report.finalizers.values().any(|n| *n > 0);
    let failed = !report.failures.is_empty();
    let mut next = vec![
        condition(
            "NamespaceDeletionDiscoveryFailure",
            false,
            "ResourcesDiscovered",
            "All resources successfully discovered".into(),
        ),
        condition(
            "NamespaceDeletionGroupVersionParsingFailure",
            false,
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed".into(),
        ),
        if failed {
            condition(
                "NamespaceDeletionContentFailure",
                true,
                "ContentDeletionFailed",
                format!(
                    "Failed to delete all resource types, {} remaining: {}",
                    report.failures.len(),
                    report.failures.join(", ")
                ),
            )
        } else {
            condition(
                "NamespaceDeletionContentFailure",
                false,
                "ContentDeleted",
                "All content successfully deleted, may be waiting on finalization".into(),
            )
        },
        if remaining {
            condition(
                "NamespaceContentRemaining",
                true,
                "SomeResourcesRemain",
                format!("Some resources are remaining: {}", counts(&report.remaining, " has ")),
            )
        } else {
            condition(
                "NamespaceContentRemaining",
                false,
                "ContentRemoved",
                "All content successfully removed".into(),
            )
        },
        if finalizing {
            condition(
                "NamespaceFinalizersRemaining",
                true,
                "SomeFinalizersRemain",
                format!(
                    "Some content in the namespace has finalizers remaining: {}",
                    counts(&report.finalizers, " in ")
                ),
            )
        } else {
            condition(
                "NamespaceFinalizersRemaining",
                false,
                "ContentHasNoFinalizers",
                "All content-preserving finalizers finished".into(),
            )
        },
    ];
    for c in &mut next {
        let before = previous.iter().find(|p| p.type_ == c.type_);
        c.last_transition_time = match before {
            Some(p) if p.status == c.status => p.last_transition_time.or(Some(Time(now))),
            _ => Some(Time(now)),
        };
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_900_000_000 + seconds, 0).unwrap_or_default()
    }

    fn find<'a>(conditions: &'a [NamespaceCondition], type_: &str) -> &'a NamespaceCondition {
        conditions.iter().find(|c| c.type_ == type_).unwrap()
    }

    #[test]
    fn remaining_content_and_finalizers_are_reported() {
        let report = ContentReport {
            remaining: BTreeMap::from([
                (resource_name("pods", ""), 2),
                (resource_name("replicasets", "apps"), 1),
            ]),
            finalizers: BTreeMap::from([("foregroundDeletion".to_string(), 1)]),
            failures: vec![],
        };
        let c = deletion_conditions(&report, &[], at(0));
        assert_eq!(c.len(), 5);
        let remaining = find(&c, "NamespaceContentRemaining");
        assert_eq!(remaining.status, "True");
        assert_eq!(
            remaining.message.as_deref(),
            Some("Some resources are remaining: pods. has 2 resource instances, replicasets.apps has 1 resource instances")
        );
        assert_eq!(
            find(&c, "NamespaceFinalizersRemaining").message.as_deref(),
            Some("Some content in the namespace has finalizers remaining: foregroundDeletion in 1 resource instances")
        );
        assert_eq!(find(&c, "NamespaceDeletionContentFailure").status, "False");

        // Later, empty: the changed conditions move their transition time, the others keep it.
        let later = deletion_conditions(&ContentReport::default(), &c, at(10));
        let remaining = find(&later, "NamespaceContentRemaining");
        assert_eq!(remaining.status, "False");
        assert_eq!(remaining.reason.as_deref(), Some("ContentRemoved"));
        assert_eq!(remaining.last_transition_time, Some(Time(at(10))));
        assert_eq!(
            find(&later, "NamespaceDeletionDiscoveryFailure").last_transition_time,
            Some(Time(at(0)))
        );
    }

    #[test]
    fn failures_are_reported() {
        let report = ContentReport {
            failures: vec!["pods.: connection refused".into()],
            ..ContentReport::default()
        };
        let c = deletion_conditions(&report, &[], at(0));
        let failure = find(&c, "NamespaceDeletionContentFailure");
        assert_eq!(failure.status, "True");
        assert_eq!(failure.reason.as_deref(), Some("ContentDeletionFailed"));
        assert!(report.is_empty());
    }
}
