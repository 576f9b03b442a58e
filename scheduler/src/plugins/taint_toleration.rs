//! TaintToleration: a taint on a node keeps pods off unless they tolerate it. Taints with effect
//! `NoSchedule` and `NoExecute` are hard rules for the scheduler; `PreferNoSchedule` is only a
//! preference (a score in Kubernetes, ignored by this filter).
//!
//! Taints are how a node says "not for everyone": control-plane nodes, GPU nodes, and nodes the
//! node lifecycle controller marks `node.kubernetes.io/not-ready` or `unreachable`.

use kubelab_api::core::{Taint, Toleration};

use crate::framework::{FilterPlugin, Unfit};
use crate::node_info::{NodeInfo, PodInfo};
use crate::plugins::reasons;

pub struct TaintToleration;

/// The first `NoSchedule`/`NoExecute` taint that no toleration tolerates, in the node's order.
pub fn first_untolerated_taint<'a>(taints: &'a [Taint], tolerations: &[Toleration]) -> Option<&'a Taint> {
    taints
        .iter()
        .filter(|taint| taint.effect == "NoSchedule" || taint.effect == "NoExecute")
        .find(|taint| !tolerations.iter().any(|t| t.tolerates(taint)))
}

impl FilterPlugin for TaintToleration {
    fn name(&self) -> &'static str {
        "TaintToleration"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
        match first_untolerated_taint(&node.node.spec.taints, &pod.pod.spec.tolerations) {
            None => Ok(()),
            Some(taint) => Err(Unfit::new(reasons::untolerated_taint(
                &taint.key,
                taint.value.as_deref().unwrap_or(""),
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node_info::testing::*;
    use serde_json::json;

    fn tainted(taints: serde_json::Value) -> NodeInfo {
        info(node_from(
            json!({"metadata": {"name": "n"}, "spec": {"taints": taints}}),
        ))
    }

    #[test]
    fn untolerated_taints_keep_pods_off() {
        let node = tainted(json!([{"key": "node-role", "value": "x", "effect": "NoSchedule"}]));
        let pod = pod_from(json!({"spec": {}}));
        assert_eq!(
            TaintToleration.filter(&pod, &node).unwrap_err().reason(),
            "node(s) had untolerated taint {node-role: x}"
        );
        let tolerating = pod_from(json!({"spec": {"tolerations": [
            {"key": "node-role", "operator": "Equal", "value": "x", "effect": "NoSchedule"}
        ]}}));
        assert_eq!(TaintToleration.filter(&tolerating, &node), Ok(()));
        let wrong_value = pod_from(json!({"spec": {"tolerations": [{"key": "node-role", "value": "y"}]}}));
        assert!(TaintToleration.filter(&wrong_value, &node).is_err());
    }

    #[test]
    fn prefer_no_schedule_is_not_a_filter_and_empty_values_print_blank() {
        let soft = tainted(json!([{"key": "k", "effect": "PreferNoSchedule"}]));
        let pod = pod_from(json!({"spec": {}}));
        assert_eq!(TaintToleration.filter(&pod, &soft), Ok(()));
        let hard = tainted(json!([{"key": "dedicated", "effect": "NoExecute"}]));
        assert_eq!(
            TaintToleration.filter(&pod, &hard).unwrap_err().reason(),
            "node(s) had untolerated taint {dedicated: }"
        );
        let everything = pod_from(json!({"spec": {"tolerations": [{"operator": "Exists"}]}}));
        assert_eq!(TaintToleration.filter(&everything, &hard), Ok(()));
    }
}
