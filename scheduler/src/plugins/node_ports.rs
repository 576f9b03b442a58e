//! NodePorts: a container with `hostPort: 8080` listens on the *node's* port 8080, and two pods
//! cannot both do that on one node. A pod whose host ports collide with ports already taken there
//! (same protocol and port, overlapping addresses) does not fit.

use crate::framework::{FilterPlugin, Unfit};
use crate::node_info::{HostPort, NodeInfo, PodInfo};
use crate::plugins::reasons;

pub struct NodePorts;

pub fn node_ports_fit(wanted: &[HostPort], used: &[HostPort]) -> Result<(), Unfit> {
    let clash = wanted.iter().any(|w| used.iter().any(|u| w.conflicts_with(u)));
    if clash {
        Err(Unfit::new(reasons::NODE_PORTS))
    } else {
        Ok(())
    }
}

impl FilterPlugin for NodePorts {
    fn name(&self) -> &'static str {
        "NodePorts"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
        if pod.host_ports.is_empty() {
            return Ok(());
        }
        node_ports_fit(&pod.host_ports, &node.used_ports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node_info::testing::*;
    use serde_json::json;

    fn with_host_port(port: i64) -> PodInfo {
        pod_from(json!({"spec": {"containers": [
            {"name": "c", "image": "x", "ports": [{"containerPort": 80, "hostPort": port}]}
        ]}}))
    }

    #[test]
    fn a_taken_host_port_does_not_fit() {
        let mut node = info(node("n", "1", "1Gi", 110));
        node.add_pod(&with_host_port(8080));
        assert_eq!(NodePorts.filter(&with_host_port(8081), &node), Ok(()));
        assert_eq!(
            NodePorts.filter(&with_host_port(8080), &node).unwrap_err().reason(),
            "node(s) didn't have free ports for the requested pod ports"
        );
        node.remove_pod(&with_host_port(8080));
        assert_eq!(NodePorts.filter(&with_host_port(8080), &node), Ok(()));
    }
}
