//! What one reconcile of a StatefulSet does next, as a pure function of the set and its pods.
//!
//! Kubernetes' `updateStatefulSet`, in three passes over the pods by ordinal:
//!
//! 1. **Replicas** (ordinals `start..start+replicas`, lowest first): create the missing ones;
//!    delete failed or finished ones (they come back, same name, same claims);
//! 2. **Condemned** (ordinals outside the range, highest first): delete them — scale-down;
//! 3. **Update** (RollingUpdate only, highest ordinal first down to `partition`): delete the
//!    first pod not at the update revision; it comes back at the update revision in pass 1.
//!
//! `podManagementPolicy` decides how much happens at once. With **OrderedReady** (the default)
//! every pass stops at the first pod that is missing, starting, not ready or terminating: pod
//! `N` is created only once `0..N-1` are running and ready, scale-down removes one pod at a time
//! from the top and waits for it to be gone, and nothing is scaled down or updated while a
//! replica is unhealthy. With **Parallel**, passes 1 and 2 act on every pod at once; the rolling
//! update still replaces one pod at a time (Kubernetes' `maxUnavailable: 1`).

/// A pod as the plan sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodView {
    pub ordinal: i32,
    pub name: String,
    pub uid: String,
    pub revision: String,
    /// Running, ready, and ready for `minReadySeconds`.
    pub healthy: bool,
    pub terminating: bool,
    /// Phase `Failed` or `Succeeded`: it will not run again.
    pub finished: bool,
}

/// What the set asks for.
#[derive(Clone, Debug)]
pub struct Wanted {
    pub start: i32,
    pub replicas: i32,
    /// OrderedReady.
    pub ordered: bool,
    /// `Some(partition)` for RollingUpdate, `None` for OnDelete.
    pub partition: Option<i32>,
    pub current_revision: String,
    pub update_revision: String,
}

/// Why a pod is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// It failed or finished: it is replaced.
    Finished,
    /// Its ordinal is beyond `replicas`: scale-down.
    Condemned,
    /// It runs an old revision: rolling update.
    Update,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Create pod `ordinal` (and its claims) at `revision`.
    Create { ordinal: i32, revision: String },
    /// Delete this pod (with its uid as precondition).
    Delete { name: String, uid: String, why: Why },
}

impl Wanted {
    /// The revision a new pod with this ordinal gets: pods below the partition stay at the
    /// current revision during a RollingUpdate; otherwise the update revision.
    pub fn revision_for(&self, ordinal: i32) -> &str {
        match self.partition {
            Some(partition) if ordinal - self.start < partition => &self.current_revision,
            _ => &self.update_revision,
        }
    }
}

/// The steps of this reconcile, in order. `pods` may be in any order.
pub fn plan(wanted: &Wanted, pods: &[PodView]) -> Vec<Step> {
    let mut steps = Vec::new();
    let end = wanted.start + wanted.replicas;
    let by_ordinal = |ordinal: i32| pods.iter().find(|p| p.ordinal == ordinal);
    let delete = |pod: &PodView, why: Why| Step::Delete {
        name: pod.name.clone(),
        uid: pod.uid.clone(),
        why,
    };

    // 1. Replicas, lowest ordinal first.
    for ordinal in wanted.start..end {
        match by_ordinal(ordinal) {
            None => {
                steps.push(Step::Create {
                    ordinal,
                    revision: wanted.revision_for(ordinal).to_string(),
                });
                if wanted.ordered {
                    return steps;
                }
            }
            Some(pod) if pod.finished && !pod.terminating => {
                steps.push(delete(pod, Why::Finished));
                if wanted.ordered {
                    return steps;
                }
            }
            Some(pod) if (pod.terminating || !pod.healthy) && wanted.ordered => return steps,
            Some(_) => {}
        }
    }

    // 2. Condemned, highest ordinal first.
    let mut condemned: Vec<&PodView> = pods
        .iter()
        .filter(|p| p.ordinal < wanted.start || p.ordinal >= end)
        .collect();
    condemned.sort_by_key(|p| std::cmp::Reverse(p.ordinal));
    for pod in condemned {
        if pod.terminating {
            if wanted.ordered {
                return steps;
            }
            continue;
        }
        steps.push(delete(pod, Why::Condemned));
        if wanted.ordered {
            return steps;
        }
    }
    if !steps.is_empty() {
        // Parallel: let creations and deletions settle before replacing pods for an update.
        return steps;
    }

    // 3. Rolling update, highest ordinal first, down to the partition.
    let Some(partition) = wanted.partition else {
        return steps;
    };
    let lowest = wanted.start + partition.max(0);
    for ordinal in (lowest..end).rev() {
        let Some(pod) = by_ordinal(ordinal) else {
            return steps;
        };
        if pod.revision != wanted.update_revision && !pod.terminating {
            steps.push(delete(pod, Why::Update));
            return steps;
        }
        if !pod.healthy || pod.terminating {
            return steps;
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(replicas: i32, ordered: bool, partition: Option<i32>) -> Wanted {
        Wanted {
            start: 0,
            replicas,
            ordered,
            partition,
            current_revision: "old".into(),
            update_revision: "new".into(),
        }
    }

    fn pod(ordinal: i32, revision: &str, healthy: bool) -> PodView {
        PodView {
            ordinal,
            name: format!("web-{ordinal}"),
            uid: format!("uid-{ordinal}"),
            revision: revision.into(),
            healthy,
            terminating: false,
            finished: false,
        }
    }

    fn create(ordinal: i32, revision: &str) -> Step {
        Step::Create {
            ordinal,
            revision: revision.into(),
        }
    }

    fn delete(ordinal: i32, why: Why) -> Step {
        Step::Delete {
            name: format!("web-{ordinal}"),
            uid: format!("uid-{ordinal}"),
            why,
        }
    }

    #[test]
    fn ordered_creation_waits_for_each_pod_to_be_ready() {
        let w = wanted(3, true, Some(0));
        assert_eq!(plan(&w, &[]), [create(0, "new")]);
        assert_eq!(plan(&w, &[pod(0, "new", false)]), [], "web-0 is not ready yet");
        assert_eq!(plan(&w, &[pod(0, "new", true)]), [create(1, "new")]);
        assert_eq!(
            plan(&w, &[pod(0, "new", true), pod(2, "new", true)]),
            [create(1, "new")],
            "a gap is filled first"
        );
        assert_eq!(
            plan(&w, &[pod(0, "new", true), pod(1, "new", true), pod(2, "new", true)]),
            []
        );
    }

    #[test]
    fn parallel_creates_and_deletes_everything_at_once() {
        let w = wanted(3, false, Some(0));
        assert_eq!(plan(&w, &[]), [create(0, "new"), create(1, "new"), create(2, "new")]);
        let w = wanted(1, false, Some(0));
        let pods = [pod(0, "new", false), pod(1, "new", true), pod(2, "new", true)];
        assert_eq!(plan(&w, &pods), [delete(2, Why::Condemned), delete(1, Why::Condemned)]);
    }

    #[test]
    fn ordered_scale_down_removes_the_highest_first_one_at_a_time() {
        let w = wanted(1, true, Some(0));
        let mut pods = vec![pod(0, "new", true), pod(1, "new", true), pod(2, "new", true)];
        assert_eq!(plan(&w, &pods), [delete(2, Why::Condemned)]);
        pods[2].terminating = true;
        assert_eq!(plan(&w, &pods), [], "waits for web-2 to be gone");
        pods.pop();
        pods[0].healthy = false;
        assert_eq!(plan(&w, &pods), [], "no scale-down while a replica is unhealthy");
    }

    #[test]
    fn finished_pods_are_replaced_under_the_same_name() {
        let w = wanted(2, true, Some(0));
        let mut failed = pod(0, "new", false);
        failed.finished = true;
        assert_eq!(
            plan(&w, &[failed.clone(), pod(1, "new", true)]),
            [delete(0, Why::Finished)]
        );
        failed.terminating = true;
        assert_eq!(plan(&w, &[failed]), []);
    }

    #[test]
    fn rolling_update_goes_from_the_top_and_waits_for_ready() {
        let w = wanted(3, true, Some(0));
        let mut pods = vec![pod(0, "old", true), pod(1, "old", true), pod(2, "old", true)];
        assert_eq!(plan(&w, &pods), [delete(2, Why::Update)]);
        pods[2] = pod(2, "new", false);
        assert_eq!(plan(&w, &pods), [], "web-2 is back but not ready");
        pods[2].healthy = true;
        assert_eq!(plan(&w, &pods), [delete(1, Why::Update)]);
        pods.remove(1);
        assert_eq!(plan(&w, &pods), [create(1, "new")]);
    }

    #[test]
    fn the_partition_keeps_lower_ordinals_at_the_current_revision() {
        let w = wanted(3, true, Some(2));
        let pods = vec![pod(0, "old", true), pod(1, "old", true), pod(2, "new", true)];
        assert_eq!(plan(&w, &pods), [], "only web-2 is updated");
        // A pod below the partition that is deleted comes back at the current revision.
        assert_eq!(
            plan(&w, &[pod(0, "old", true), pod(2, "new", true)]),
            [create(1, "old")]
        );
        assert_eq!(w.revision_for(2), "new");
    }

    #[test]
    fn on_delete_never_deletes_for_an_update() {
        let w = wanted(2, true, None);
        assert_eq!(plan(&w, &[pod(0, "old", true), pod(1, "old", true)]), []);
        assert_eq!(
            plan(&w, &[pod(0, "old", true)]),
            [create(1, "new")],
            "re-created at the update revision"
        );
    }
}
