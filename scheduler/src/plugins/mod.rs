//! The plugins, one file each, each a small struct around a pure function that tests call directly.
//!
//! | plugin | kind | Kubernetes' plugin |
//! | --- | --- | --- |
//! | [`NodeName`] | filter | `NodeName` |
//! | [`NodeUnschedulable`] | filter | `NodeUnschedulable` |
//! | [`NodeReady`] | filter | the `node.kubernetes.io/not-ready` taint, via `TaintToleration` |
//! | [`TaintToleration`] | filter | `TaintToleration` |
//! | [`NodeResourcesFit`] | filter | `NodeResourcesFit` |
//! | [`NodeSelector`] | filter | `NodeAffinity` (its `nodeSelector` half) |
//! | [`NodeAffinity`] | filter | `NodeAffinity` |
//! | [`NodePorts`] | filter | `NodePorts` |
//! | [`LeastAllocated`] | score | `NodeResourcesFit`, strategy `LeastAllocated` |
//! | [`BalancedAllocation`] | score | `NodeResourcesBalancedAllocation` |

mod balanced_allocation;
mod least_allocated;
mod node_affinity;
mod node_name;
mod node_ports;
mod node_ready;
mod node_resources_fit;
mod node_selector;
mod node_unschedulable;
mod taint_toleration;

pub use balanced_allocation::{balanced_allocation_score, BalancedAllocation};
pub use least_allocated::{least_allocated_score, LeastAllocated};
pub use node_affinity::{node_matches_selector_term, required_node_affinity_fits, NodeAffinity};
pub use node_name::{node_name_fits, NodeName};
pub use node_ports::{node_ports_fit, NodePorts};
pub use node_ready::{node_ready_fits, NodeReady};
pub use node_resources_fit::{resources_fit, NodeResourcesFit};
pub use node_selector::{node_selector_fits, NodeSelector};
pub use node_unschedulable::{node_unschedulable_fits, NodeUnschedulable};
pub use taint_toleration::{first_untolerated_taint, TaintToleration};

/// Kubernetes' reason strings, word for word.
pub mod reasons {
    pub const INSUFFICIENT_CPU: &str = "Insufficient cpu";
    pub const INSUFFICIENT_MEMORY: &str = "Insufficient memory";
    pub const TOO_MANY_PODS: &str = "Too many pods";
    pub const NODE_AFFINITY: &str = "node(s) didn't match Pod's node affinity/selector";
    pub const UNSCHEDULABLE: &str = "node(s) were unschedulable";
    pub const NODE_PORTS: &str = "node(s) didn't have free ports for the requested pod ports";
    pub const NODE_NAME: &str = "node(s) didn't match the requested node name";
    pub const NOT_READY: &str = "node(s) were not ready";

    /// `node(s) had untolerated taint {key: value}` (an empty value leaves `{key: }`).
    pub fn untolerated_taint(key: &str, value: &str) -> String {
        format!("node(s) had untolerated taint {{{key}: {value}}}")
    }
}
