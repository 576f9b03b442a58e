//! NodeName: a pod that names its node (`spec.nodeName` set before scheduling, or here a pod that
//! a human pinned) fits only there. A pod created with `nodeName` already set never reaches the
//! scheduler at all; this filter matters for pods whose binding is retried.

use crate::framework::{FilterPlugin, Unfit};
use crate::node_info::{NodeInfo, PodInfo};
use crate::plugins::reasons;

pub struct NodeName;

/// Fits when the pod names no node, or names this one.
pub fn node_name_fits(wanted: Option<&str>, node_name: &str) -> Result<(), Unfit> {
    match wanted.filter(|n| !n.is_empty()) {
        Some(wanted) if wanted != node_name => Err(Unfit::new(reasons::NODE_NAME)),
        _ => Ok(()),
    }
}

impl FilterPlugin for NodeName {
    fn name(&self) -> &'static str {
        "NodeName"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
        node_name_fits(pod.pod.spec.node_name.as_deref(), node.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_node_fits() {
        assert_eq!(node_name_fits(None, "n1"), Ok(()));
        assert_eq!(node_name_fits(Some(""), "n1"), Ok(()));
        assert_eq!(node_name_fits(Some("n1"), "n1"), Ok(()));
        assert_eq!(
            node_name_fits(Some("n2"), "n1").unwrap_err().reason(),
            "node(s) didn't match the requested node name"
        );
    }
}
