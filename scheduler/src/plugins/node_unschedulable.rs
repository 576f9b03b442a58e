//! NodeUnschedulable: `kubectl cordon` sets `spec.unschedulable`, and no new pod goes there, except
//! one that tolerates the `node.kubernetes.io/unschedulable:NoSchedule` taint (DaemonSet pods do:
//! they must run on every node, cordoned or not).

use kubelab_api::core::{Taint, Toleration};

use crate::framework::{FilterPlugin, Unfit};
use crate::node_info::{NodeInfo, PodInfo};
use crate::plugins::reasons;

/// The taint a cordoned node behaves as if it had.
pub const UNSCHEDULABLE_TAINT_KEY: &str = "node.kubernetes.io/unschedulable";

pub struct NodeUnschedulable;

pub fn node_unschedulable_fits(unschedulable: bool, tolerations: &[Toleration]) -> Result<(), Unfit> {
    if !unschedulable {
        return Ok(());
    }
    let taint = Taint {
        key: UNSCHEDULABLE_TAINT_KEY.into(),
        effect: "NoSchedule".into(),
        ..Taint::default()
    };
    if tolerations.iter().any(|t| t.tolerates(&taint)) {
        Ok(())
    } else {
        Err(Unfit::new(reasons::UNSCHEDULABLE))
    }
}

impl FilterPlugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        "NodeUnschedulable"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
        node_unschedulable_fits(node.node.spec.unschedulable.unwrap_or(false), &pod.pod.spec.tolerations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cordoned_nodes_refuse_pods_unless_tolerated() {
        assert_eq!(node_unschedulable_fits(false, &[]), Ok(()));
        assert_eq!(
            node_unschedulable_fits(true, &[]).unwrap_err().reason(),
            "node(s) were unschedulable"
        );
        let toleration = Toleration {
            key: Some(UNSCHEDULABLE_TAINT_KEY.into()),
            operator: Some("Exists".into()),
            effect: Some("NoSchedule".into()),
            ..Toleration::default()
        };
        assert_eq!(node_unschedulable_fits(true, &[toleration]), Ok(()));
    }
}
