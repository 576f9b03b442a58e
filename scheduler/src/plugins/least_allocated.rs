//! LeastAllocated: prefer the node with the most room left, so load spreads out.
//!
//! For CPU and memory, the share of the node that would still be free *after* placing the pod:
//! `(allocatable − requested − pod) × 100 / allocatable`; the node's score is the average of the
//! two (Kubernetes' `NodeResourcesFit` with strategy `LeastAllocated`, weights 1 and 1). A node
//! at 30% scores 70, one at 60% scores 40: the emptier node wins.
//!
//! Requests are counted with defaults for containers that set none (100m, 200Mi), or pods
//! without requests would all score 100 and stack on the first node.

use crate::framework::{ScorePlugin, MAX_NODE_SCORE};
use crate::node_info::{NodeInfo, PodInfo, Resources};

pub struct LeastAllocated {
    weight: i64,
}

impl LeastAllocated {
    pub fn new(weight: i64) -> Self {
        LeastAllocated { weight }
    }
}

fn free_share(requested: i64, allocatable: i64) -> i64 {
    if allocatable <= 0 || requested > allocatable {
        return 0;
    }
    (allocatable - requested) * MAX_NODE_SCORE / allocatable
}

/// The score of a node with `requested` already counted, for a pod asking `pod`.
pub fn least_allocated_score(pod: &Resources, requested: &Resources, allocatable: &Resources) -> i64 {
    let cpu = free_share(requested.milli_cpu + pod.milli_cpu, allocatable.milli_cpu);
    let memory = free_share(requested.memory + pod.memory, allocatable.memory);
    (cpu + memory) / 2
}

impl ScorePlugin for LeastAllocated {
    fn name(&self) -> &'static str {
        "LeastAllocated"
    }

    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        least_allocated_score(&pod.non_zero_requests, &node.non_zero_requested, &node.allocatable)
    }

    fn weight(&self) -> i64 {
        self.weight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(milli_cpu: i64, memory: i64) -> Resources {
        Resources {
            milli_cpu,
            memory,
            pods: 0,
        }
    }

    #[test]
    fn a_node_at_30_percent_beats_one_at_60() {
        let allocatable = res(1000, 1000);
        let pod = res(0, 0);
        let at_30 = least_allocated_score(&pod, &res(300, 300), &allocatable);
        let at_60 = least_allocated_score(&pod, &res(600, 600), &allocatable);
        assert_eq!((at_30, at_60), (70, 40));
        assert!(at_30 > at_60);
    }

    #[test]
    fn the_pod_itself_counts_and_overcommit_scores_zero() {
        let allocatable = res(1000, 1000);
        assert_eq!(least_allocated_score(&res(500, 500), &res(0, 0), &allocatable), 50);
        assert_eq!(least_allocated_score(&res(2000, 0), &res(0, 0), &allocatable), 50);
        assert_eq!(least_allocated_score(&res(0, 0), &res(0, 0), &res(0, 0)), 0);
    }
}
