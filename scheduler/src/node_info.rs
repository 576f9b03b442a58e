//! What a plugin sees: a node with the sum of what its pods asked for ([`NodeInfo`]), and a pod
//! with its own asks added up once ([`PodInfo`]).
//!
//! The scheduler never looks at how busy a node *really* is. It counts **requests**: a pod that
//! says `cpu: 500m` is charged half a CPU on its node, whether it uses it or idles. That is what
//! makes a decision reproducible, and it is why a pod without requests can land on a "full" node.
//!
//! How a pod's requests add up (Kubernetes' `PodRequests`): app containers run side by side, so
//! their requests are summed; init containers run one after another before them, so only the
//! largest counts; the pod needs the larger of the two, plus its `overhead`.
//!
//! For *scoring*, a container with no request is counted as 100m CPU and 200Mi memory (Kubernetes'
//! "non-zero" requests). Otherwise a hundred request-less pods would all look free and pile onto
//! one node.

use std::sync::Arc;

use kubelab_api::core::{Container, Node, Pod, ResourceList};

/// CPU assumed for a container that requests none, when scoring (Kubernetes' `DefaultMilliCPURequest`).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory assumed for a container that requests none, when scoring (`DefaultMemoryRequest`, 200 MiB).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// The resources the scheduler counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    /// Bytes.
    pub memory: i64,
    /// Number of pods.
    pub pods: i64,
}

impl Resources {
    /// Reads `cpu`, `memory` and `pods` from a resource list. An unparsable quantity counts as 0:
    /// the API server validates quantities, so that only happens to objects it never accepted.
    pub fn from_list(list: &ResourceList) -> Self {
        let milli = |name: &str| list.get(name).and_then(|q| q.millis().ok()).map(clamp).unwrap_or(0);
        let value = |name: &str| list.get(name).and_then(|q| q.value().ok()).map(clamp).unwrap_or(0);
        Resources {
            milli_cpu: milli("cpu"),
            memory: value("memory"),
            pods: value("pods"),
        }
    }

    fn add(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_add(other.milli_cpu);
        self.memory = self.memory.saturating_add(other.memory);
        self.pods = self.pods.saturating_add(other.pods);
    }

    fn sub(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_sub(other.milli_cpu);
        self.memory = self.memory.saturating_sub(other.memory);
        self.pods = self.pods.saturating_sub(other.pods);
    }

    fn max(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.pods = self.pods.max(other.pods);
    }
}

fn clamp(v: i128) -> i64 {
    v.clamp(0, i64::MAX as i128) as i64
}

/// A host port a pod wants: `(protocol, hostIP, hostPort)`; an empty IP means every address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    pub protocol: String,
    pub ip: String,
    pub port: i32,
}

const ANY_IP: &str = "0.0.0.0";

impl HostPort {
    /// Two wants collide when protocol and port are equal and the addresses overlap: the same
    /// address, or either one listening on all addresses (Kubernetes' `HostPortInfo.CheckConflict`).
    pub fn conflicts_with(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == ANY_IP || other.ip == ANY_IP)
    }
}

/// A pod with what it asks for computed once per scheduling cycle, not once per node (what
/// Kubernetes' PreFilter plugins keep in the cycle state).
#[derive(Clone, Debug)]
pub struct PodInfo {
    pub pod: Arc<Pod>,
    /// Requests as the fit check counts them (zero when not set).
    pub requests: Resources,
    /// Requests as scoring counts them (defaults for unset ones).
    pub non_zero_requests: Resources,
    pub host_ports: Vec<HostPort>,
}

impl PodInfo {
    pub fn new(pod: Arc<Pod>) -> Self {
        let spec = &pod.spec;
        let requests = pod_requests(&spec.containers, &spec.init_containers, spec.overhead.as_ref(), false);
        let non_zero_requests = pod_requests(&spec.containers, &spec.init_containers, spec.overhead.as_ref(), true);
        let host_ports = spec
            .containers
            .iter()
            .flat_map(|c| c.ports.iter())
            .filter_map(|p| {
                let port = p.host_port.filter(|port| *port > 0)?;
                Some(HostPort {
                    protocol: p
                        .protocol
                        .clone()
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "TCP".into()),
                    ip: p
                        .host_ip
                        .clone()
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| ANY_IP.into()),
                    port,
                })
            })
            .collect();
        PodInfo {
            pod,
            requests,
            non_zero_requests,
            host_ports,
        }
    }

    /// `namespace/name`, the pod's key in the queue and the cache.
    pub fn key(&self) -> String {
        kubelab_client::object_key(&self.pod.metadata)
    }
}

fn container_requests(container: &Container, non_zero: bool) -> Resources {
    let empty = ResourceList::new();
    let list = container.resources.as_ref().map(|r| &r.requests).unwrap_or(&empty);
    let mut r = Resources::from_list(list);
    r.pods = 0;
    if non_zero {
        if !list.contains_key("cpu") {
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
        }
        if !list.contains_key("memory") {
            r.memory = DEFAULT_MEMORY_REQUEST;
        }
    }
    r
}

/// max(sum of app containers, largest init container) + overhead, and one pod.
fn pod_requests(
    containers: &[Container],
    init_containers: &[Container],
    overhead: Option<&ResourceList>,
    non_zero: bool,
) -> Resources {
    let mut sum = Resources::default();
    for c in containers {
        sum.add(&container_requests(c, non_zero));
    }
    for c in init_containers {
        sum.max(&container_requests(c, non_zero));
    }
    if let Some(overhead) = overhead {
        let mut extra = Resources::from_list(overhead);
        extra.pods = 0;
        sum.add(&extra);
    }
    sum.pods = 1;
    sum
}

/// A node, and the sum of the pods the scheduler counts on it (bound, or assumed but not yet
/// confirmed by the informer).
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub node: Arc<Node>,
    /// `status.allocatable`: what is left for pods after the system's reservations.
    pub allocatable: Resources,
    /// Sum of the requests of the pods on the node; `pods` is their number.
    pub requested: Resources,
    /// The same with Kubernetes' defaults for unset requests, for scoring.
    pub non_zero_requested: Resources,
    /// Host ports taken, one entry per pod port (a list, so removing one pod's port leaves
    /// another pod's identical one in place).
    pub used_ports: Vec<HostPort>,
}

impl NodeInfo {
    /// A node with no pods counted yet.
    pub fn new(node: Arc<Node>) -> Self {
        let allocatable = node
            .status
            .as_ref()
            .map(|s| Resources::from_list(&s.allocatable))
            .unwrap_or_default();
        NodeInfo {
            node,
            allocatable,
            requested: Resources::default(),
            non_zero_requested: Resources::default(),
            used_ports: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        self.node.metadata.name()
    }

    /// Swaps in a newer copy of the node, keeping the pods counted on it.
    pub fn set_node(&mut self, node: Arc<Node>) {
        let fresh = NodeInfo::new(node);
        self.node = fresh.node;
        self.allocatable = fresh.allocatable;
    }

    /// Counts a pod on this node.
    pub fn add_pod(&mut self, pod: &PodInfo) {
        self.requested.add(&pod.requests);
        self.non_zero_requested.add(&pod.non_zero_requests);
        self.used_ports.extend(pod.host_ports.iter().cloned());
    }

    /// Stops counting a pod that [`NodeInfo::add_pod`] counted.
    pub fn remove_pod(&mut self, pod: &PodInfo) {
        self.requested.sub(&pod.requests);
        self.non_zero_requested.sub(&pod.non_zero_requests);
        for port in &pod.host_ports {
            if let Some(i) = self.used_ports.iter().position(|p| p == port) {
                self.used_ports.swap_remove(i);
            }
        }
    }

    /// A test helper and a builder: the node with these pods counted.
    pub fn with_pods<'a>(node: Arc<Node>, pods: impl IntoIterator<Item = &'a PodInfo>) -> Self {
        let mut info = NodeInfo::new(node);
        for pod in pods {
            info.add_pod(pod);
        }
        info
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Builders for the plugins' tests: nodes and pods from JSON, so a test reads like a manifest.

    use super::*;
    use serde_json::{json, Value};

    pub fn node(name: &str, cpu: &str, memory: &str, pods: i64) -> Node {
        node_from(json!({
            "metadata": {"name": name},
            "status": {
                "allocatable": {"cpu": cpu, "memory": memory, "pods": pods.to_string()},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }))
    }

    pub fn node_from(value: Value) -> Node {
        serde_json::from_value(value).expect("test node")
    }

    pub fn pod_from(value: Value) -> PodInfo {
        let mut value = value;
        if value.get("metadata").is_none() {
            value["metadata"] = json!({"name": "p", "namespace": "default"});
        }
        if value.pointer("/spec/containers").is_none() {
            value["spec"]["containers"] = json!([{"name": "c", "image": "nginx"}]);
        }
        PodInfo::new(Arc::new(serde_json::from_value(value).expect("test pod")))
    }

    /// A pod with one container requesting `cpu` and `memory`.
    pub fn pod_requesting(cpu: &str, memory: &str) -> PodInfo {
        pod_from(json!({"spec": {"containers": [
            {"name": "c", "image": "nginx", "resources": {"requests": {"cpu": cpu, "memory": memory}}}
        ]}}))
    }

    pub fn info(node: Node) -> NodeInfo {
        NodeInfo::new(Arc::new(node))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_sum_containers_and_take_the_largest_init_container() {
        let pod = pod_from(json!({"spec": {
            "initContainers": [
                {"name": "i1", "image": "x", "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}},
                {"name": "i2", "image": "x", "resources": {"requests": {"cpu": "500m"}}},
            ],
            "containers": [
                {"name": "a", "image": "x", "resources": {"requests": {"cpu": "300m", "memory": "1Gi"}}},
                {"name": "b", "image": "x", "resources": {"requests": {"cpu": "400m", "memory": "512Mi"}}},
            ],
            "overhead": {"cpu": "100m"},
        }}));
        assert_eq!(
            pod.requests,
            Resources {
                milli_cpu: 2100,
                memory: 1536 * 1024 * 1024,
                pods: 1
            }
        );
    }

    #[test]
    fn unset_requests_count_as_defaults_only_for_scoring() {
        let pod = pod_from(json!({"spec": {"containers": [{"name": "a", "image": "x"}]}}));
        assert_eq!(pod.requests.milli_cpu, 0);
        assert_eq!(pod.non_zero_requests.milli_cpu, DEFAULT_MILLI_CPU_REQUEST);
        assert_eq!(pod.non_zero_requests.memory, DEFAULT_MEMORY_REQUEST);
    }

    #[test]
    fn adding_and_removing_pods_keeps_the_sums() {
        let mut node = info(node("n1", "4", "8Gi", 110));
        assert_eq!(node.allocatable.milli_cpu, 4000);
        assert_eq!(node.allocatable.pods, 110);
        let pod = pod_requesting("1", "1Gi");
        node.add_pod(&pod);
        node.add_pod(&pod);
        assert_eq!(node.requested.milli_cpu, 2000);
        assert_eq!(node.requested.pods, 2);
        node.remove_pod(&pod);
        assert_eq!(node.requested.milli_cpu, 1000);
        assert_eq!(node.requested.pods, 1);
    }

    #[test]
    fn host_ports_conflict_on_overlapping_addresses() {
        let port = |ip: &str| HostPort {
            protocol: "TCP".into(),
            ip: ip.into(),
            port: 80,
        };
        assert!(port("0.0.0.0").conflicts_with(&port("10.0.0.1")));
        assert!(port("10.0.0.1").conflicts_with(&port("10.0.0.1")));
        assert!(!port("10.0.0.1").conflicts_with(&port("10.0.0.2")));
        let udp = HostPort {
            protocol: "UDP".into(),
            ..port("0.0.0.0")
        };
        assert!(!udp.conflicts_with(&port("0.0.0.0")));
    }
}
