//! The Node object and its status, built from the configuration and the host (pure functions).
//!
//! A node's `status` is how the control plane knows what the node offers and whether it is
//! healthy: the scheduler reads `allocatable` to place pods, the node lifecycle controller reads
//! the `Ready` condition's heartbeat (and the Lease) to notice a dead node, `kubectl get nodes`
//! shows `nodeInfo`. A condition's `lastTransitionTime` only moves when its status flips; its
//! `lastHeartbeatTime` moves on every report.

use std::collections::BTreeMap;

use kubelab_api::core::{
    DaemonEndpoint, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeStatus, NodeSystemInfo, ResourceList,
};
use kubelab_api::quantity::Quantity;
use kubelab_api::Time;

use super::host::{architecture, uuid_like, HostFacts};
use crate::config::AgentConfig;

/// What kubelab's agent calls itself in `nodeInfo.kubeletVersion`.
pub const KUBELET_VERSION: &str = "v1.32.0-kubelab";

/// Kubernetes' default for `pods` when nothing else is said.
pub const DEFAULT_MAX_PODS: i64 = 110;

/// How the node is doing, as far as the agent can tell.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeHealth {
    /// `docker://20.10.24`, `hollow://1`, or empty when the runtime did not answer.
    pub runtime_version: String,
    /// Why the runtime is not usable, if it is not.
    pub runtime_error: Option<String>,
}

/// The node's labels: Kubernetes' well-known ones, then `--node-labels` (which may override).
pub fn node_labels(config: &AgentConfig) -> BTreeMap<String, String> {
    let os = std::env::consts::OS;
    let arch = architecture();
    let mut labels = BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), config.node_name.clone()),
        ("kubernetes.io/os".to_string(), os.to_string()),
        ("kubernetes.io/arch".to_string(), arch.to_string()),
        ("beta.kubernetes.io/os".to_string(), os.to_string()),
        ("beta.kubernetes.io/arch".to_string(), arch.to_string()),
    ]);
    labels.extend(config.labels.clone());
    labels
}

/// `cpu`, `memory`, `pods` (and `ephemeral-storage` is left out: kubelab does not track it).
pub fn capacity(config: &AgentConfig, facts: &HostFacts) -> ResourceList {
    let cpu = config
        .capacity
        .cpu
        .clone()
        .unwrap_or_else(|| Quantity::new(facts.cpus.to_string()));
    let memory = config
        .capacity
        .memory
        .clone()
        .or_else(|| facts.memory_bytes.map(|b| Quantity::new(format!("{}Ki", b / 1024))))
        .unwrap_or_else(|| Quantity::new("4Gi"));
    let pods = config.capacity.pods.unwrap_or(DEFAULT_MAX_PODS);
    BTreeMap::from([
        ("cpu".to_string(), cpu),
        ("memory".to_string(), memory),
        ("pods".to_string(), Quantity::new(pods.to_string())),
    ])
}

/// The full status to report at `now`, keeping transition times from `previous`.
pub fn build_node_status(
    config: &AgentConfig,
    facts: &HostFacts,
    health: &NodeHealth,
    previous: Option<&NodeStatus>,
    now: Time,
) -> NodeStatus {
    let capacity = capacity(config, facts);
    let condition = |type_: &str, ok: bool, reason: &str, message: String| {
        let status = if ok { "True" } else { "False" };
        let since = previous
            .and_then(|p| p.conditions.iter().find(|c| c.type_ == type_))
            .filter(|c| c.status == status)
            .and_then(|c| c.last_transition_time)
            .unwrap_or(now);
        NodeCondition {
            type_: type_.into(),
            status: status.into(),
            last_heartbeat_time: Some(now),
            last_transition_time: Some(since),
            reason: Some(reason.into()),
            message: Some(message),
        }
    };
    // The pressure conditions say "no pressure": kubelab does not evict pods under pressure.
    let mut conditions = vec![
        condition(
            "MemoryPressure",
            false,
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available".into(),
        ),
        condition(
            "DiskPressure",
            false,
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure".into(),
        ),
        condition(
            "PIDPressure",
            false,
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available".into(),
        ),
    ];
    conditions.push(match &health.runtime_error {
        None => condition("Ready", true, "KubeletReady", "kubelet is posting ready status".into()),
        Some(why) => condition(
            "Ready",
            false,
            "KubeletNotReady",
            format!("container runtime is down: {why}"),
        ),
    });
    NodeStatus {
        allocatable: capacity.clone(),
        capacity,
        conditions,
        addresses: vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: config.node_ip.clone(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: config.node_name.clone(),
            },
        ],
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint {
                port: i32::from(config.port),
            }),
        }),
        node_info: Some(NodeSystemInfo {
            machine_id: facts
                .machine_id
                .clone()
                .unwrap_or_else(|| uuid_like(&format!("machine-{}", config.node_name)).replace('-', "")),
            system_uuid: uuid_like(&format!("system-{}", config.node_name)),
            boot_id: facts.boot_id.clone(),
            kernel_version: facts.kernel_version.clone(),
            os_image: facts.os_image.clone(),
            container_runtime_version: health.runtime_version.clone(),
            kubelet_version: KUBELET_VERSION.into(),
            kube_proxy_version: KUBELET_VERSION.into(),
            operating_system: std::env::consts::OS.into(),
            architecture: architecture().into(),
            swap: None,
        }),
        // Kept from before: fields other components may have set.
        ..previous.cloned().unwrap_or_default()
    }
}

/// Whether two statuses differ in anything but heartbeat times (then the change is worth an
/// immediate report).
pub fn differs(a: &NodeStatus, b: &NodeStatus) -> bool {
    let strip = |s: &NodeStatus| {
        let mut s = s.clone();
        for c in &mut s.conditions {
            c.last_heartbeat_time = None;
        }
        s
    };
    strip(a) != strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Capacity;

    fn facts() -> HostFacts {
        HostFacts {
            machine_id: None,
            boot_id: "b".into(),
            kernel_version: "6.1".into(),
            os_image: "Debian".into(),
            memory_bytes: Some(8 << 30),
            cpus: 4,
        }
    }

    fn t(secs: i64) -> Time {
        Time(chrono::DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap())
    }

    #[test]
    fn status_has_everything_kubernetes_expects() {
        let mut config = AgentConfig::new("n1", "c");
        config.capacity = Capacity::parse("pods=20").unwrap();
        config.port = 10250;
        let health = NodeHealth {
            runtime_version: "hollow://1".into(),
            runtime_error: None,
        };
        let s = build_node_status(&config, &facts(), &health, None, t(0));
        assert_eq!(s.capacity["cpu"], Quantity::new("4"));
        assert_eq!(s.capacity["memory"], Quantity::new("8388608Ki"));
        assert_eq!(s.allocatable["pods"], Quantity::new("20"));
        let ready = s.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(ready.status, "True");
        assert_eq!(ready.reason.as_deref(), Some("KubeletReady"));
        assert_eq!(ready.message.as_deref(), Some("kubelet is posting ready status"));
        assert_eq!(s.conditions.len(), 4);
        let info = s.node_info.clone().unwrap();
        assert_eq!(info.kubelet_version, KUBELET_VERSION);
        assert_eq!(info.container_runtime_version, "hollow://1");
        assert!(!info.machine_id.is_empty() && !info.system_uuid.is_empty());
        assert_eq!(
            s.daemon_endpoints.clone().unwrap().kubelet_endpoint.unwrap().port,
            10250
        );
        assert_eq!(s.addresses[0].type_, "InternalIP");

        // A later report keeps transition times, moves heartbeats, and differs only by them.
        let later = build_node_status(&config, &facts(), &health, Some(&s), t(10));
        let ready_later = later.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(ready_later.last_transition_time, Some(t(0)));
        assert_eq!(ready_later.last_heartbeat_time, Some(t(10)));
        assert!(!differs(&s, &later));

        let down = NodeHealth {
            runtime_error: Some("no docker".into()),
            ..health
        };
        let not_ready = build_node_status(&config, &facts(), &down, Some(&later), t(20));
        assert!(differs(&later, &not_ready));
        let ready = not_ready.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.last_transition_time),
            ("False", Some(t(20)))
        );
    }

    #[test]
    fn labels_include_well_known_and_extra() {
        let mut config = AgentConfig::new("n1", "c");
        config.labels.insert("zone".into(), "a".into());
        let labels = node_labels(&config);
        assert_eq!(labels["kubernetes.io/hostname"], "n1");
        assert_eq!(labels["kubernetes.io/os"], std::env::consts::OS);
        assert!(labels.contains_key("kubernetes.io/arch"));
        assert_eq!(labels["zone"], "a");
    }
}
