//! NodeResourcesFit: the pod's requests must fit in what the node has left, that is
//! `allocatable − (sum of requests of the pods already counted there)`, for CPU and memory; and the
//! node must have room for one more pod (`allocatable.pods`, 110 by default on a kubelet).
//!
//! A resource the pod does not request is not checked (a pod with no CPU request fits on a node
//! whose CPU is fully requested). Every resource that does not fit is reported, so a pod too big
//! on both counts adds to both `Insufficient cpu` and `Insufficient memory`.

use crate::framework::{FilterPlugin, Unfit};
use crate::node_info::{NodeInfo, PodInfo, Resources};
use crate::plugins::reasons;

pub struct NodeResourcesFit;

/// Checks `wanted` against `allocatable − requested`.
pub fn resources_fit(wanted: &Resources, allocatable: &Resources, requested: &Resources) -> Result<(), Unfit> {
    let mut failed = Vec::new();
    if requested.pods + 1 > allocatable.pods {
        failed.push(reasons::TOO_MANY_PODS.to_string());
    }
    if wanted.milli_cpu > 0 && wanted.milli_cpu > allocatable.milli_cpu - requested.milli_cpu {
        failed.push(reasons::INSUFFICIENT_CPU.to_string());
    }
    if wanted.memory > 0 && wanted.memory > allocatable.memory - requested.memory {
        failed.push(reasons::INSUFFICIENT_MEMORY.to_string());
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Unfit { reasons: failed })
    }
}

impl FilterPlugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        "NodeResourcesFit"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
        resources_fit(&pod.requests, &node.allocatable, &node.requested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node_info::testing::*;

    #[test]
    fn requests_must_fit_in_what_is_left() {
        let mut node = info(node("n", "2", "4Gi", 110));
        assert_eq!(NodeResourcesFit.filter(&pod_requesting("2", "4Gi"), &node), Ok(()));
        node.add_pod(&pod_requesting("1500m", "1Gi"));
        assert_eq!(
            NodeResourcesFit.filter(&pod_requesting("600m", "1Gi"), &node),
            Err(Unfit::new("Insufficient cpu"))
        );
        assert_eq!(
            NodeResourcesFit.filter(&pod_requesting("500m", "3Gi"), &node),
            Ok(()),
            "exactly what is left fits"
        );
        assert_eq!(
            NodeResourcesFit
                .filter(&pod_requesting("4", "8Gi"), &node)
                .unwrap_err()
                .reasons,
            ["Insufficient cpu", "Insufficient memory"]
        );
    }

    #[test]
    fn pod_count_is_a_resource_too() {
        let mut node = info(node("n", "2", "4Gi", 1));
        let empty = pod_requesting("0", "0");
        assert_eq!(NodeResourcesFit.filter(&empty, &node), Ok(()));
        node.add_pod(&empty);
        assert_eq!(
            NodeResourcesFit.filter(&empty, &node).unwrap_err().reason(),
            "Too many pods"
        );
    }
}
