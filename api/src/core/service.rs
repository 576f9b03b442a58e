//! Service: a stable name and virtual IP in front of a changing set of pods.
//!
//! Pods come and go with new IPs; a Service selects them by label and keeps one address
//! (`clusterIP`) and one DNS name (`web.default.svc.cluster.local`). The endpoints controller
//! lists the ready pods behind it in an Endpoints object, and the service proxy sends traffic to
//! them. `type: NodePort` also opens a port on every node; a headless Service (`clusterIP: None`)
//! has no virtual IP, only DNS records for each pod (what StatefulSets use).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::intstr::IntOrString;
use crate::meta::{ObjectMeta, Time};
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{
    invalid_each, validate_enum, validate_labels, validate_object_meta, validate_object_meta_update, validate_port,
    validate_protocol, FieldError,
};

/// Kubernetes' default range of NodePorts. The API server's allocator checks a `nodePort`
/// against the range it was given (`--service-node-port-range`), not here.
pub const NODE_PORT_RANGE: std::ops::RangeInclusive<i32> = 30000..=32767;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ServiceSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ServiceStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceSpec {
    /// `ClusterIP` (the default), `NodePort`, `LoadBalancer` or `ExternalName`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Pods with all these labels are the Service's endpoints. No selector: endpoints are
    /// managed by hand.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ServicePort>,
    /// The virtual IP, allocated by the API server; `None` makes the Service headless.
    #[serde(rename = "clusterIP", skip_serializing_if = "Option::is_none")]
    pub cluster_ip: Option<String>,
    #[serde(rename = "clusterIPs", skip_serializing_if = "Vec::is_empty")]
    pub cluster_ips: Vec<String>,
    #[serde(rename = "externalIPs", skip_serializing_if = "Vec::is_empty")]
    pub external_ips: Vec<String>,
    /// `None` (the default) or `ClientIP` (stick each client to one pod).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_affinity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_affinity_config: Option<SessionAffinityConfig>,
    #[serde(rename = "loadBalancerIP", skip_serializing_if = "Option::is_none")]
    pub load_balancer_ip: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub load_balancer_source_ranges: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer_class: Option<String>,
    /// For `type: ExternalName`: the DNS name the Service is an alias of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_traffic_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_traffic_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_node_port: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ip_families: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_family_policy: Option<String>,
    /// Lists pods in DNS before they are ready (StatefulSet peers finding each other).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_not_ready_addresses: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocate_load_balancer_node_ports: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic_distribution: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ServicePort {
    /// Required when the Service has more than one port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// The Service's own port. Required by Kubernetes' schema, so always written.
    pub port: i32,
    /// The pods' port: a number, or the name of a container port. Defaults to `port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_port: Option<IntOrString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_port: Option<i32>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionAffinityConfig {
    #[serde(rename = "clientIP", skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<ClientIpConfig>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ClientIpConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i32>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerStatus>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct LoadBalancerStatus {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<LoadBalancerIngress>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct LoadBalancerIngress {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_mode: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PortStatus {
    pub port: i32,
    pub protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The standard condition (`metav1.Condition`), used by Service status.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ServiceSpec {
    pub fn type_or_default(&self) -> &str {
        self.type_.as_deref().unwrap_or("ClusterIP")
    }

    /// A headless Service has no virtual IP.
    pub fn is_headless(&self) -> bool {
        self.cluster_ip.as_deref() == Some("None")
    }
}

impl Object for Service {
    object_identity!("", "v1", "Service", "services", namespaced);

    fn set_defaults(&mut self) {
        let spec = &mut self.spec;
        if spec.type_.as_deref().is_none_or(str::is_empty) {
            spec.type_ = Some("ClusterIP".into());
        }
        let kind = spec.type_or_default().to_string();
        if spec.session_affinity.as_deref().is_none_or(str::is_empty) {
            spec.session_affinity = Some("None".into());
        }
        if spec.session_affinity.as_deref() == Some("ClientIP") {
            let config = spec.session_affinity_config.get_or_insert_with(Default::default);
            config
                .client_ip
                .get_or_insert_with(Default::default)
                .timeout_seconds
                .get_or_insert(10800);
        }
        for port in &mut spec.ports {
            if port.protocol.as_deref().is_none_or(str::is_empty) {
                port.protocol = Some("TCP".into());
            }
            if port.target_port.is_none() {
                port.target_port = Some(IntOrString::Int(port.port));
            }
        }
        if kind != "ExternalName" && spec.internal_traffic_policy.is_none() {
            spec.internal_traffic_policy = Some("Cluster".into());
        }
        // kubelab's service network is IPv4 only: one family, as a single-stack Kubernetes sets.
        if kind != "ExternalName" {
            if spec.ip_families.is_empty() {
                spec.ip_families = vec!["IPv4".into()];
            }
            if spec.ip_family_policy.is_none() {
                spec.ip_family_policy = Some("SingleStack".into());
            }
        }
        if (kind == "NodePort" || kind == "LoadBalancer") && spec.external_traffic_policy.is_none() {
            spec.external_traffic_policy = Some("Cluster".into());
        }
        if kind == "LoadBalancer" && spec.allocate_load_balancer_node_ports.is_none() {
            spec.allocate_load_balancer_node_ports = Some(true);
        }
        // `clusterIPs[0]` mirrors `clusterIP`, as Kubernetes keeps them.
        if let Some(ip) = spec.cluster_ip.as_deref().filter(|ip| !ip.is_empty()) {
            if spec.cluster_ips.is_empty() {
                spec.cluster_ips = vec![ip.to_string()];
            }
        }
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, names::dns1035_label);
        let spec = &self.spec;
        let kind = spec.type_or_default();
        errs.extend(validate_enum(
            "spec.type",
            kind,
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        ));
        if kind == "ExternalName" {
            match spec.external_name.as_deref() {
                None | Some("") => errs.push(FieldError::required("spec.externalName")),
                Some(name) => errs.extend(invalid_each(
                    "spec.externalName",
                    name,
                    names::dns1123_subdomain(name.trim_end_matches('.')),
                )),
            }
        } else if spec.ports.is_empty() && !spec.is_headless() {
            errs.push(FieldError::required("spec.ports"));
        }
        let mut port_names = BTreeSet::new();
        for (i, port) in spec.ports.iter().enumerate() {
            let path = format!("spec.ports[{i}]");
            match port.name.as_deref() {
                None | Some("") if spec.ports.len() > 1 => errs.push(FieldError::required(format!("{path}.name"))),
                None | Some("") => {}
                Some(name) => {
                    errs.extend(invalid_each(&format!("{path}.name"), name, names::dns1123_label(name)));
                    if !port_names.insert(name) {
                        errs.push(FieldError::duplicate(format!("{path}.name"), name));
                    }
                }
            }
            errs.extend(validate_port(&format!("{path}.port"), port.port));
            errs.extend(validate_protocol(&format!("{path}.protocol"), port.protocol.as_deref()));
            match &port.target_port {
                Some(IntOrString::Int(n)) => errs.extend(validate_port(&format!("{path}.targetPort"), *n)),
                Some(IntOrString::String(name)) => errs.extend(invalid_each(
                    &format!("{path}.targetPort"),
                    name,
                    names::iana_svc_name(name),
                )),
                None => {}
            }
            if let Some(node_port) = port.node_port.filter(|p| *p != 0) {
                if kind != "NodePort" && kind != "LoadBalancer" {
                    errs.push(FieldError::forbidden(
                        format!("{path}.nodePort"),
                        "may not be used when `type` is 'ClusterIP'",
                    ));
                } else if !(1..=65535).contains(&node_port) {
                    errs.extend(validate_port(&format!("{path}.nodePort"), node_port));
                }
            }
        }
        errs.extend(validate_labels("spec.selector", &spec.selector));
        if let Some(affinity) = &spec.session_affinity {
            errs.extend(validate_enum("spec.sessionAffinity", affinity, &["ClientIP", "None"]));
        }
        if let Some(ip) = spec.cluster_ip.as_deref().filter(|ip| !ip.is_empty() && *ip != "None") {
            if ip.parse::<std::net::IpAddr>().is_err() {
                errs.push(FieldError::invalid(
                    "spec.clusterIPs[0]",
                    ip,
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                ));
            }
        }
        for (i, ip) in spec.external_ips.iter().enumerate() {
            if ip.parse::<std::net::IpAddr>().is_err() {
                errs.push(FieldError::invalid(
                    format!("spec.externalIPs[{i}]"),
                    ip,
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                ));
            }
        }
        if let Some(policy) = &spec.internal_traffic_policy {
            errs.extend(validate_enum(
                "spec.internalTrafficPolicy",
                policy,
                &["Cluster", "Local"],
            ));
        }
        if let Some(policy) = &spec.external_traffic_policy {
            errs.extend(validate_enum(
                "spec.externalTrafficPolicy",
                policy,
                &["Cluster", "Local"],
            ));
        }
        if let Some(policy) = &spec.ip_family_policy {
            errs.extend(validate_enum(
                "spec.ipFamilyPolicy",
                policy,
                &["SingleStack", "PreferDualStack", "RequireDualStack"],
            ));
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        // The virtual IP is handed out once; clients and DNS caches hold on to it. An update that
        // leaves it out keeps the old one (the API server copies it over), so only a change counts.
        let new_ip = self.spec.cluster_ip.as_deref().unwrap_or("");
        let old_ip = old.spec.cluster_ip.as_deref().unwrap_or("");
        if !new_ip.is_empty() && !old_ip.is_empty() && new_ip != old_ip && self.spec.type_or_default() != "ExternalName"
        {
            errs.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                new_ip,
                "may not change once set",
            ));
        }
        errs
    }
}
