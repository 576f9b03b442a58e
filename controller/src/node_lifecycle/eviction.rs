//! Taint-based eviction: when must a pod leave a tainted node? Pure decisions.
//!
//! A `NoExecute` taint evicts the pods that do not tolerate it. A toleration may carry
//! `tolerationSeconds`: "I can stay this long after the taint appears". So each pod on a node
//! with `NoExecute` taints has an eviction time, counted from each taint's `timeAdded`:
//!
//! - no toleration matches the taint: evict now;
//! - matching tolerations with `tolerationSeconds`: evict after the smallest of them;
//! - matching tolerations without `tolerationSeconds` only: tolerated forever, never evicted.
//!
//! Kubernetes' `DefaultTolerationSeconds` admission plugin gives every pod
//! `tolerationSeconds: 300` for `not-ready` and `unreachable`, so a pod survives a five-minute
//! network blip. kubelab's API server adds no such toleration, so the controller applies the
//! same default itself (`default_eviction_seconds`) to pods with no toleration of their own for
//! those two taints. The pod's earliest deadline over all taints is when it is evicted.

use std::time::Duration;

use chrono::{DateTime, Utc};
use kubelab_api::core::{Pod, Taint, Toleration};

use super::health::{TAINT_NOT_READY, TAINT_UNREACHABLE};

/// How long a pod tolerates one taint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tolerance {
    /// Evicted this long after the taint was added (`ZERO`: at once).
    For(Duration),
    /// Never evicted for this taint.
    Forever,
}

/// How long `tolerations` tolerate the `NoExecute` taint `taint`.
pub fn tolerance(tolerations: &[Toleration], taint: &Taint, default_eviction: Duration) -> Tolerance {
    let matching: Vec<&Toleration> = tolerations.iter().filter(|t| t.tolerates(taint)).collect();
    if matching.is_empty() {
        return if taint.key == TAINT_NOT_READY || taint.key == TAINT_UNREACHABLE {
            Tolerance::For(default_eviction)
        } else {
            Tolerance::For(Duration::ZERO)
        };
    }
    // As Kubernetes: bounded tolerations win over unbounded ones, the smallest bound wins.
    matching
        .iter()
        .filter_map(|t| t.toleration_seconds)
        .min()
        .map(|seconds| Tolerance::For(Duration::from_secs(seconds.max(0).unsigned_abs())))
        .unwrap_or(Tolerance::Forever)
}

/// When the pod must be evicted from a node with `taints`, or `None` if never. Only `NoExecute`
/// taints count; `added` says when each one was added (its `timeAdded`, or when the controller
/// first saw it).
pub fn eviction_time(
    pod: &Pod,
    taints: &[Taint],
    default_eviction: Duration,
    added: impl Fn(&Taint) -> DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    taints
        .iter()
        .filter(|t| t.effect == "NoExecute")
        .filter_map(
            |taint| match tolerance(&pod.spec.tolerations, taint, default_eviction) {
                Tolerance::Forever => None,
                Tolerance::For(delay) => {
                    let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                    Some(
                        added(taint)
                            .checked_add_signed(delay)
                            .unwrap_or(DateTime::<Utc>::MAX_UTC),
                    )
                }
            },
        )
        .min()
}

/// Whether a pod on the node is a candidate for eviction at all: it is bound to the node and
/// not already on its way out with no grace left.
pub fn is_on_node(pod: &Pod, node: &str) -> bool {
    pod.spec.node_name.as_deref() == Some(node)
        && !(pod.metadata.deletion_timestamp.is_some() && pod.metadata.deletion_grace_period_seconds == Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubelab_api::Time;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_900_000_000 + seconds, 0).unwrap_or_default()
    }

    fn taint(key: &str, effect: &str, added: i64) -> Taint {
        Taint {
            key: key.into(),
            value: None,
            effect: effect.into(),
            time_added: Some(Time(at(added))),
        }
    }

    fn toleration(key: &str, seconds: Option<i64>) -> Toleration {
        Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            value: None,
            effect: Some("NoExecute".into()),
            toleration_seconds: seconds,
        }
    }

    fn pod(tolerations: Vec<Toleration>) -> Pod {
        let mut pod = Pod::default();
        pod.spec.node_name = Some("node-1".into());
        pod.spec.tolerations = tolerations;
        pod
    }

    const DEFAULT: Duration = Duration::from_secs(300);

    fn when(pod: &Pod, taints: &[Taint]) -> Option<DateTime<Utc>> {
        eviction_time(pod, taints, DEFAULT, |t| t.time_added.map(|t| t.0).unwrap_or_default())
    }

    #[test]
    fn no_toleration_gets_the_default_for_unreachable() {
        let taints = [
            taint(TAINT_UNREACHABLE, "NoSchedule", 10),
            taint(TAINT_UNREACHABLE, "NoExecute", 10),
        ];
        assert_eq!(when(&pod(vec![]), &taints), Some(at(310)));
    }

    #[test]
    fn the_pods_own_toleration_seconds_win() {
        let taints = [taint(TAINT_UNREACHABLE, "NoExecute", 10)];
        let p = pod(vec![toleration(TAINT_UNREACHABLE, Some(30))]);
        assert_eq!(when(&p, &taints), Some(at(40)));
        // Negative seconds mean "at once", as in Kubernetes.
        let p = pod(vec![toleration(TAINT_UNREACHABLE, Some(-5))]);
        assert_eq!(when(&p, &taints), Some(at(10)));
        // Bounded beats unbounded.
        let p = pod(vec![
            toleration(TAINT_UNREACHABLE, None),
            toleration(TAINT_UNREACHABLE, Some(60)),
        ]);
        assert_eq!(when(&p, &taints), Some(at(70)));
    }

    #[test]
    fn tolerating_forever_is_never_evicted() {
        let taints = [taint(TAINT_UNREACHABLE, "NoExecute", 10)];
        assert_eq!(when(&pod(vec![toleration(TAINT_UNREACHABLE, None)]), &taints), None);
        // An Exists toleration with no key tolerates everything.
        let everything = Toleration {
            operator: Some("Exists".into()),
            ..Toleration::default()
        };
        assert_eq!(when(&pod(vec![everything]), &taints), None);
    }

    #[test]
    fn an_untolerated_administrator_taint_evicts_at_once() {
        let taints = [
            taint(TAINT_NOT_READY, "NoExecute", 10),
            taint("maintenance", "NoExecute", 20),
        ];
        assert_eq!(when(&pod(vec![]), &taints), Some(at(20)));
        assert_eq!(
            tolerance(&[], &taints[1], DEFAULT),
            Tolerance::For(Duration::ZERO),
            "only not-ready and unreachable have a default"
        );
    }

    #[test]
    fn no_execute_taints_only() {
        assert_eq!(when(&pod(vec![]), &[taint("dedicated", "NoSchedule", 0)]), None);
        assert_eq!(when(&pod(vec![]), &[]), None);
    }

    #[test]
    fn the_earliest_deadline_over_all_taints() {
        let taints = [taint(TAINT_NOT_READY, "NoExecute", 0), taint("flaky", "NoExecute", 100)];
        let p = pod(vec![
            toleration("flaky", Some(10)),
            toleration(TAINT_NOT_READY, Some(500)),
        ]);
        assert_eq!(when(&p, &taints), Some(at(110)));
    }

    #[test]
    fn pods_already_force_deleted_are_skipped() {
        let mut p = pod(vec![]);
        assert!(is_on_node(&p, "node-1"));
        assert!(!is_on_node(&p, "node-2"));
        p.metadata.deletion_timestamp = Some(Time(at(0)));
        p.metadata.deletion_grace_period_seconds = Some(30);
        assert!(is_on_node(&p, "node-1"), "a graceful delete its agent cannot finish");
        p.metadata.deletion_grace_period_seconds = Some(0);
        assert!(!is_on_node(&p, "node-1"));
    }
}
