//! BalancedAllocation: prefer nodes where CPU and memory would be used in the same proportion.
//!
//! A node with 90% of its CPU requested but 10% of its memory is a poor home for more
//! CPU-hungry pods and wastes its memory. Kubernetes' `NodeResourcesBalancedAllocation` scores
//! `(1 − std) × 100`, where `std` is the standard deviation of the requested shares (for two
//! resources, `|cpu − memory| / 2`), counting the pod being placed.

use crate::framework::{ScorePlugin, MAX_NODE_SCORE};
use crate::node_info::{NodeInfo, PodInfo, Resources};

pub struct BalancedAllocation {
    weight: i64,
}

impl BalancedAllocation {
    pub fn new(weight: i64) -> Self {
        BalancedAllocation { weight }
    }
}

fn share(requested: i64, allocatable: i64) -> f64 {
    if allocatable <= 0 {
        return 1.0;
    }
    (requested as f64 / allocatable as f64).min(1.0)
}

pub fn balanced_allocation_score(pod: &Resources, requested: &Resources, allocatable: &Resources) -> i64 {
    let cpu = share(requested.milli_cpu + pod.milli_cpu, allocatable.milli_cpu);
    let memory = share(requested.memory + pod.memory, allocatable.memory);
    let std = (cpu - memory).abs() / 2.0;
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

impl ScorePlugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        "BalancedAllocation"
    }

    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        balanced_allocation_score(&pod.non_zero_requests, &node.non_zero_requested, &node.allocatable)
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
    fn balanced_nodes_score_higher() {
        let allocatable = res(1000, 1000);
        let pod = res(100, 100);
        let balanced = balanced_allocation_score(&pod, &res(400, 400), &allocatable);
        let lopsided = balanced_allocation_score(&pod, &res(800, 0), &allocatable);
        assert_eq!(balanced, 100);
        assert_eq!(lopsided, 60);
        assert!(balanced > lopsided);
    }
}
