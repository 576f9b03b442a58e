//! Node: a machine (here, a kubelab agent process) that runs pods.
//!
//! The agent registers its Node, then keeps `status` fresh: capacity, addresses, the `Ready`
//! condition with a heartbeat time. The node lifecycle controller watches those heartbeats and
//! taints a node that stops reporting, so its pods are moved elsewhere. `spec` holds what an
//! administrator sets: `unschedulable` (`kubectl cordon`) and taints.

use serde::{Deserialize, Serialize};

use crate::core::pod::ResourceList;
use crate::meta::{ObjectMeta, Time};
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{
    invalid_each, validate_enum, validate_object_meta, validate_object_meta_update, validate_quantity, FieldError,
};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: NodeSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeSpec {
    /// The range pod IPs on this node come from.
    #[serde(rename = "podCIDR", skip_serializing_if = "Option::is_none")]
    pub pod_cidr: Option<String>,
    #[serde(rename = "podCIDRs", skip_serializing_if = "Vec::is_empty")]
    pub pod_cidrs: Vec<String>,
    #[serde(rename = "providerID", skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    /// Set by `kubectl cordon`: no new pods are scheduled here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unschedulable: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
    /// Deprecated fields older manifests carry; passed through untyped.
    #[serde(rename = "externalID", skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_source: Option<serde_json::Value>,
}

/// Keeps pods off a node unless they tolerate it: `NoSchedule` blocks new pods,
/// `PreferNoSchedule` discourages them, `NoExecute` also evicts running ones.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Taint {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub effect: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_added: Option<Time>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeStatus {
    /// Everything the node has.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub capacity: ResourceList,
    /// What is left for pods after the system's own reservations: what the scheduler counts.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub allocatable: ResourceList,
    /// Deprecated; `Running` on nodes that set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<NodeCondition>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<NodeAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daemon_endpoints: Option<NodeDaemonEndpoints>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_info: Option<NodeSystemInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ContainerImage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_in_use: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_attached: Vec<AttachedVolume>,
    /// Kubelet configuration, runtime handlers and features; passed through untyped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runtime_handlers: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_features: Option<serde_json::Value>,
}

/// `Ready`, `MemoryPressure`, `DiskPressure`, `PIDPressure`, `NetworkUnavailable`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    /// When the agent last reported this condition, whether or not it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_heartbeat_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `InternalIP`, `ExternalIP`, `Hostname`, ...
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeAddress {
    #[serde(rename = "type")]
    pub type_: String,
    pub address: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeDaemonEndpoints {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubelet_endpoint: Option<DaemonEndpoint>,
}

/// Where the node agent listens (for logs and exec). Kubernetes spells the field `Port`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DaemonEndpoint {
    #[serde(rename = "Port")]
    pub port: i32,
}

/// Facts about the machine. All ten strings are required by Kubernetes' schema (the Python
/// client refuses a node without them), so they are always written, even when empty.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeSystemInfo {
    #[serde(rename = "machineID")]
    pub machine_id: String,
    #[serde(rename = "systemUUID")]
    pub system_uuid: String,
    #[serde(rename = "bootID")]
    pub boot_id: String,
    pub kernel_version: String,
    pub os_image: String,
    pub container_runtime_version: String,
    pub kubelet_version: String,
    pub kube_proxy_version: String,
    pub operating_system: String,
    pub architecture: String,
    /// Swap details newer kubelets report; passed through untyped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swap: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerImage {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct AttachedVolume {
    pub name: String,
    pub device_path: String,
}

impl Object for Node {
    object_identity!("", "v1", "Node", "nodes", cluster);

    fn set_defaults(&mut self) {
        // A cluster-scoped object has no namespace; kube-apiserver drops one sent by mistake.
        self.metadata.namespace = None;
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, false, names::dns1123_subdomain);
        for (i, taint) in self.spec.taints.iter().enumerate() {
            let path = format!("spec.taints[{i}]");
            if taint.key.is_empty() {
                errs.push(FieldError::required(format!("{path}.key")));
            } else {
                errs.extend(invalid_each(
                    &format!("{path}.key"),
                    &taint.key,
                    names::qualified_name(&taint.key),
                ));
            }
            if let Some(value) = &taint.value {
                errs.extend(invalid_each(&format!("{path}.value"), value, names::label_value(value)));
            }
            errs.extend(validate_enum(
                &format!("{path}.effect"),
                &taint.effect,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
            let duplicate = self.spec.taints[..i]
                .iter()
                .any(|t| t.key == taint.key && t.effect == taint.effect);
            if duplicate {
                errs.push(FieldError::duplicate(path, format!("{}:{}", taint.key, taint.effect)));
            }
        }
        if let Some(status) = &self.status {
            for (field, list) in [("capacity", &status.capacity), ("allocatable", &status.allocatable)] {
                for (name, q) in list {
                    errs.extend(validate_quantity(&format!("status.{field}[{name}]"), q));
                }
            }
            for (i, condition) in status.conditions.iter().enumerate() {
                if condition.type_.is_empty() {
                    errs.push(FieldError::required(format!("status.conditions[{i}].type")));
                }
                if condition.status.is_empty() {
                    errs.push(FieldError::required(format!("status.conditions[{i}].status")));
                }
            }
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        // Once assigned, a node's pod range cannot move: pods already have addresses from it.
        if old.spec.pod_cidr.is_some() && self.spec.pod_cidr.is_some() && old.spec.pod_cidr != self.spec.pod_cidr {
            errs.push(FieldError::forbidden(
                "spec.podCIDRs",
                "node updates may not change podCIDR except from \"\" to valid",
            ));
        }
        errs
    }
}
