//! NodeReady: no new pods on a node whose agent does not say `Ready=True`.
//!
//! Kubernetes has no such filter. Its node lifecycle controller *taints* a node that is not ready
//! (`node.kubernetes.io/not-ready`) or silent (`node.kubernetes.io/unreachable`), and
//! TaintToleration keeps pods off, except pods that tolerate those taints (DaemonSet pods do).
//! kubelab may run without that controller, so this filter looks at the `Ready` condition too:
//!
//! - `Ready=True`: fits;
//! - not ready, and already tainted `not-ready`/`unreachable`: TaintToleration (which runs
//!   before) has judged the taint, so the condition adds nothing: fits;
//! - not ready and not tainted yet: treated as if it had the `not-ready:NoSchedule` taint; a pod
//!   tolerating it fits, others get `node(s) were not ready` (Kubernetes' old `NodeNotReady`
//!   predicate's words).

use kubelab_api::core::{NodeCondition, Taint, Toleration};

use crate::framework::{FilterPlugin, Unfit};
use crate::node_info::{NodeInfo, PodInfo};
use crate::plugins::reasons;

pub const NOT_READY_TAINT_KEY: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE_TAINT_KEY: &str = "node.kubernetes.io/unreachable";

pub struct NodeReady;

pub fn node_ready_fits(
    conditions: &[NodeCondition],
    taints: &[Taint],
    tolerations: &[Toleration],
) -> Result<(), Unfit> {
    let ready = conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True");
    if ready {
        return Ok(());
    }
    let tainted = taints
        .iter()
        .any(|t| t.key == NOT_READY_TAINT_KEY || t.key == UNREACHABLE_TAINT_KEY);
    if tainted {
        return Ok(());
    }
    let implied = Taint {
        key: NOT_READY_TAINT_KEY.into(),
        effect: "NoSchedule".into(),
        ..Taint::default()
    };
    if tolerations.iter().any(|t| t.tolerates(&implied)) {
        Ok(())
    } else {
        Err(Unfit::new(reasons::NOT_READY))
    }
}

impl FilterPlugin for NodeReady {
    fn name(&self) -> &'static str {
        "NodeReady"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
        let conditions = node
            .node
            .status
            .as_ref()
            .map(|s| s.conditions.as_slice())
            .unwrap_or(&[]);
        node_ready_fits(conditions, &node.node.spec.taints, &pod.pod.spec.tolerations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(status: &str) -> Vec<NodeCondition> {
        vec![NodeCondition {
            type_: "Ready".into(),
            status: status.into(),
            ..NodeCondition::default()
        }]
    }

    #[test]
    fn only_ready_nodes_fit() {
        assert_eq!(node_ready_fits(&ready("True"), &[], &[]), Ok(()));
        assert_eq!(
            node_ready_fits(&ready("False"), &[], &[]).unwrap_err().reason(),
            "node(s) were not ready"
        );
        assert_eq!(
            node_ready_fits(&ready("Unknown"), &[], &[]).unwrap_err().reason(),
            "node(s) were not ready"
        );
        assert!(node_ready_fits(&[], &[], &[]).is_err(), "no condition yet: not ready");
    }

    #[test]
    fn tolerating_not_ready_or_an_existing_taint_defers_to_taints() {
        let tolerate = Toleration {
            key: Some(NOT_READY_TAINT_KEY.into()),
            operator: Some("Exists".into()),
            ..Toleration::default()
        };
        assert_eq!(node_ready_fits(&ready("False"), &[], &[tolerate]), Ok(()));
        let taint = Taint {
            key: UNREACHABLE_TAINT_KEY.into(),
            effect: "NoSchedule".into(),
            ..Taint::default()
        };
        assert_eq!(node_ready_fits(&ready("Unknown"), &[taint], &[]), Ok(()));
    }
}
