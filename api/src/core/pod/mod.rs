//! Pod: the smallest thing Kubernetes runs, one or more containers that share a network
//! namespace (one IP, one `localhost`), volumes and a lifecycle.
//!
//! A user (or a controller, from a template) writes the `spec`; the scheduler binds the pod to a
//! node by setting `spec.nodeName`; the agent on that node starts the containers and reports
//! `status`. Once created, a pod's spec barely changes: to change a pod you replace it, which is
//! why workloads are managed through Deployments and StatefulSets.

mod container;
mod defaults;
mod qos;
mod scheduling;
mod status;
#[cfg(test)]
mod tests;
mod validate;
mod validate_container;
mod validate_scheduling;
mod volume;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use container::*;
pub use qos::qos_class;
pub use scheduling::*;
pub use status::*;
pub use validate::{validate_pod_spec, validate_pod_template};
pub use volume::*;

use crate::core::reference::LocalObjectReference;
use crate::meta::ObjectMeta;
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{validate_object_meta, validate_object_meta_update, FieldError};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PodStatus>,
}

/// A pod as a template inside a Deployment, ReplicaSet or StatefulSet: the metadata and spec
/// every pod it creates starts from.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PodTemplateSpec {
    pub metadata: ObjectMeta,
    pub spec: PodSpec,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSpec {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(deserialize_with = "crate::codec::exact_vec")]
    pub volumes: Vec<Volume>,
    /// Run to completion, one after another, before the app containers start.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(deserialize_with = "crate::codec::exact_vec")]
    pub init_containers: Vec<Container>,
    #[serde(deserialize_with = "crate::codec::exact_vec")]
    pub containers: Vec<Container>,
    /// Debugging containers added by `kubectl debug`; passed through untyped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ephemeral_containers: Vec<Value>,
    /// `Always` (the default), `OnFailure` or `Never`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    /// How long containers get between SIGTERM and SIGKILL (30 s by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    /// `ClusterFirst` (the default), `ClusterFirstWithHostNet`, `Default` or `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_policy: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Deprecated alias of `serviceAccountName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
    /// The node the pod is bound to; set by the scheduler through the `binding` subresource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_network: Option<bool>,
    #[serde(rename = "hostPID", skip_serializing_if = "Option::is_none")]
    pub host_pid: Option<bool>,
    #[serde(rename = "hostIPC", skip_serializing_if = "Option::is_none")]
    pub host_ipc: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_process_namespace: Option<bool>,
    /// Pod-wide users, groups, sysctls, seccomp...: passed through untyped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// With `hostname`, gives the pod the DNS name `<hostname>.<subdomain>.<ns>.svc.cluster.local`
    /// (how StatefulSet pods get stable names through a headless Service).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subdomain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduler_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub host_aliases: Vec<HostAlias>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_config: Option<PodDnsConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub readiness_gates: Vec<PodReadinessGate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_class_name: Option<String>,
    /// Whether Services' addresses are injected as environment variables (true by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_service_links: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemption_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overhead: Option<ResourceList>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    #[serde(rename = "setHostnameAsFQDN", skip_serializing_if = "Option::is_none")]
    pub set_hostname_as_fqdn: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<PodOs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_users: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scheduling_gates: Vec<PodSchedulingGate>,
    /// Dynamic resource allocation and pod-level resources; passed through untyped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_claims: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Value>,
}

/// An extra `/etc/hosts` entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct HostAlias {
    pub ip: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PodDnsConfig {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub searches: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<PodDnsConfigOption>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PodDnsConfigOption {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// An extra condition that must be `True` in `status.conditions` before the pod counts as ready.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PodReadinessGate {
    pub condition_type: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PodOs {
    pub name: String,
}

/// While any gate is present the scheduler leaves the pod alone.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSchedulingGate {
    pub name: String,
}

impl PodSpec {
    /// Fills in the defaults Kubernetes applies to a pod spec (also used for templates).
    pub fn set_defaults(&mut self) {
        defaults::pod_spec(self);
    }
}

impl Object for Pod {
    object_identity!("", "v1", "Pod", "pods", namespaced);

    fn set_defaults(&mut self) {
        self.spec.set_defaults();
        // As kube-apiserver does on create: a pod nobody has reported on yet is Pending, and
        // its QoS class follows from its containers' requests and limits (which are immutable).
        let status = self.status.get_or_insert_with(Default::default);
        if status.phase.as_deref().unwrap_or("").is_empty() {
            status.phase = Some("Pending".into());
        }
        if status.qos_class.is_none() {
            status.qos_class = Some(qos_class(&self.spec).into());
        }
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, names::dns1123_subdomain);
        errs.extend(validate_pod_spec(&self.spec, "spec"));
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        errs.extend(validate::pod_spec_update(&self.spec, &old.spec));
        errs
    }
}
