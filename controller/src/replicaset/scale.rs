//! How many pods to create or delete, and in what batches, as pure functions.
//!
//! **Slow start.** If a template is broken (a quota refuses the pods, the image name is
//! invalid), creating 500 pods at once means 500 failed requests. Kubernetes creates in batches
//! of 1, 2, 4, 8, ... and stops at the first batch with a failure: a broken ReplicaSet costs a
//! handful of requests per attempt, a healthy one still gets to N in about log2(N) round trips.
//!
//! **Burst.** At most [`BURST_REPLICAS`] pods are created or deleted per reconcile, so one huge
//! ReplicaSet cannot monopolise a worker or the API server; the next reconcile does the rest.

use std::sync::Arc;

use kubelab_api::core::Pod;

use super::pods::sort_for_deletion;

/// Kubernetes' `burstReplicas`: creations or deletions per reconcile.
pub const BURST_REPLICAS: usize = 500;
/// Kubernetes' `SlowStartInitialBatchSize`.
pub const SLOW_START_INITIAL_BATCH: usize = 1;

/// What one reconcile should do about the replica count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScaleDecision {
    Create(usize),
    /// Delete these many (the caller picks which with [`pods_to_delete`]).
    Delete(usize),
    Nothing,
}

/// Compares `active` pods with the `desired` count, capped at [`BURST_REPLICAS`].
pub fn decide(active: usize, desired: usize) -> ScaleDecision {
    use std::cmp::Ordering::*;
    match active.cmp(&desired) {
        Less => ScaleDecision::Create((desired - active).min(BURST_REPLICAS)),
        Greater => ScaleDecision::Delete((active - desired).min(BURST_REPLICAS)),
        Equal => ScaleDecision::Nothing,
    }
}

/// Batch sizes for creating `total` pods: 1, 2, 4, ... with the last one cut to fit.
pub fn slow_start_batches(total: usize, initial: usize) -> Vec<usize> {
    let mut batches = Vec::new();
    let mut remaining = total;
    let mut size = initial.max(1);
    while remaining > 0 {
        let batch = size.min(remaining);
        batches.push(batch);
        remaining -= batch;
        size = size.saturating_mul(2);
    }
    batches
}

/// The `count` pods to delete among `active`, the cheapest to lose first.
pub fn pods_to_delete(active: &[Arc<Pod>], count: usize) -> Vec<Arc<Pod>> {
    let mut ranked = active.to_vec();
    sort_for_deletion(&mut ranked);
    ranked.truncate(count);
    ranked
}

#[cfg(test)]
mod tests {
    use super::super::pods::tests::pod;
    use super::*;

    #[test]
    fn decisions() {
        assert_eq!(decide(0, 3), ScaleDecision::Create(3));
        assert_eq!(decide(5, 3), ScaleDecision::Delete(2));
        assert_eq!(decide(3, 3), ScaleDecision::Nothing);
        assert_eq!(decide(0, 10_000), ScaleDecision::Create(BURST_REPLICAS));
        assert_eq!(decide(10_000, 0), ScaleDecision::Delete(BURST_REPLICAS));
    }

    #[test]
    fn batches_double() {
        assert_eq!(slow_start_batches(0, 1), Vec::<usize>::new());
        assert_eq!(slow_start_batches(1, 1), [1]);
        assert_eq!(slow_start_batches(3, 1), [1, 2]);
        assert_eq!(slow_start_batches(10, 1), [1, 2, 4, 3]);
        assert_eq!(slow_start_batches(500, 1), [1, 2, 4, 8, 16, 32, 64, 128, 245]);
        assert_eq!(slow_start_batches(500, 1).iter().sum::<usize>(), 500);
    }

    #[test]
    fn deletes_the_cheapest_pods() {
        let active = vec![
            pod("ready", "n1", "Running", Some(10), 1),
            pod("pending", "", "Pending", None, 2),
            pod("not-ready", "n1", "Running", None, 3),
        ];
        let chosen = pods_to_delete(&active, 2);
        let names: Vec<&str> = chosen.iter().map(|p| p.metadata.name()).collect();
        assert_eq!(names, ["pending", "not-ready"]);
    }
}
