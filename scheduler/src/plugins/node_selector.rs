//! NodeSelector: `spec.nodeSelector: {disktype: ssd}` — every label listed must be on the node with
//! that exact value. The simplest way to steer a pod; [`super::NodeAffinity`] is the expressive one.
//! Kubernetes checks both in its NodeAffinity plugin, with one message for either.

use std::collections::BTreeMap;

use crate::framework::{FilterPlugin, Unfit};
use crate::node_info::{NodeInfo, PodInfo};
use crate::plugins::reasons;

pub struct NodeSelector;

pub fn node_selector_fits(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> Result<(), Unfit> {
    if selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
        Ok(())
    } else {
        Err(Unfit::new(reasons::NODE_AFFINITY))
    }
}

impl FilterPlugin for NodeSelector {
    fn name(&self) -> &'static str {
        "NodeSelector"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
        node_selector_fits(&pod.pod.spec.node_selector, &node.node.metadata.labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn every_selected_label_must_match() {
        let labels = map(&[("disktype", "ssd"), ("zone", "a")]);
        assert_eq!(node_selector_fits(&map(&[]), &labels), Ok(()));
        assert_eq!(node_selector_fits(&map(&[("disktype", "ssd")]), &labels), Ok(()));
        assert_eq!(
            node_selector_fits(&map(&[("disktype", "ssd"), ("zone", "b")]), &labels)
                .unwrap_err()
                .reason(),
            "node(s) didn't match Pod's node affinity/selector"
        );
        assert!(node_selector_fits(&map(&[("gpu", "yes")]), &labels).is_err());
    }
}
