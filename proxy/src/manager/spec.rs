//! # The proxy container a Service needs (pure)
//!
//! Everything about a Service's proxy container follows from the Service and the cluster's
//! network, so it is computed here without touching Docker, and unit tested:
//!
//! - its **IP** is the Service's `clusterIP`, which must lie in the network's service range
//!   (the upper half of the cluster subnet, where Docker's IPAM never puts a pod);
//! - its **DNS names** are Docker network aliases: `NAME.NS.svc.cluster.local`, `NAME.NS.svc`
//!   and `NAME.NS`. Aliases are network-wide, so the bare `NAME` is *not* an alias (two
//!   namespaces may both have a `web`); pods find it through their DNS search list, whose first
//!   entry is `NS.svc.cluster.local`, exactly as in Kubernetes;
//! - its **published ports**: each `nodePort` on the host's 127.0.0.1, to the Service port;
//! - one Service is special: `kube-system/kube-dns` (at the service range's 10th address, as
//!   Kubernetes' kube-dns at 10.96.0.10) gets the **cluster DNS** container instead of a proxy:
//!   the same image, running `kubelab-proxy dns` ([`crate::dns`]), answering port 53 itself;
//! - a **spec hash** label: when the hash of what the container should be differs from the
//!   running one's, the manager replaces the container (Docker cannot change a container's IP,
//!   aliases or published ports in place).

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, NetworkingConfig, PortBinding,
    RestartPolicy, RestartPolicyNameEnum,
};
use kubelab_agent::images::PROXY_IMAGE;
use kubelab_agent::runtime::docker::ClusterNetwork;
use kubelab_agent::runtime::labels;
use kubelab_api::core::Service;

/// Label with the Service a proxy container serves, `namespace/name`.
pub const SERVICE_LABEL: &str = "io.kubelab.service";
/// Label with the hash of the container's spec.
pub const SPEC_LABEL: &str = "io.kubelab.proxy-spec";
/// Label with what the container does: `service-proxy` or `dns`.
pub const ROLE_LABEL: &str = "io.kubelab.role";
/// The cluster DNS Service, by Kubernetes' convention.
pub const DNS_NAMESPACE: &str = "kube-system";
pub const DNS_SERVICE: &str = "kube-dns";

/// What a container of the manager does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Proxies one Service's ports (`kubelab-proxy --service ...`).
    Proxy,
    /// The cluster DNS server (`kubelab-proxy dns`), for `kube-system/kube-dns`.
    Dns,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Proxy => "service-proxy",
            Role::Dns => "dns",
        }
    }
}

/// Why a Service gets no proxy container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// `spec.clusterIP` is not an IPv4 address.
    #[error("service {service}: spec.clusterIP {ip:?} is not an IPv4 address")]
    BadClusterIp { service: String, ip: String },
    /// `spec.clusterIP` lies outside the range the cluster network keeps for Services.
    #[error("service {service}: spec.clusterIP {ip} is outside the cluster's service range {range}")]
    OutOfRange { service: String, ip: String, range: String },
}

/// What the proxy container of one Service should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxySpec {
    /// `namespace/name`.
    pub service: String,
    pub container_name: String,
    pub role: Role,
    pub ip: Ipv4Addr,
    pub aliases: Vec<String>,
    /// Service ports (TCP), exposed on the container.
    pub ports: Vec<u16>,
    /// `nodePort → port`, published on the host's 127.0.0.1.
    pub node_ports: BTreeMap<u16, u16>,
    /// The proxy's arguments.
    pub args: Vec<String>,
    /// Hash of all of the above (and the image), as a label.
    pub hash: String,
}

/// The DNS names of a Service, as network aliases of its proxy container.
pub fn aliases(namespace: &str, name: &str) -> Vec<String> {
    vec![
        format!("{name}.{namespace}.svc.cluster.local"),
        format!("{name}.{namespace}.svc"),
        format!("{name}.{namespace}"),
    ]
}

/// The proxy container's name: `k8s_svc_<name>_<namespace>_<cluster>`.
pub fn container_name(cluster: &str, namespace: &str, name: &str) -> String {
    format!("k8s_svc_{name}_{namespace}_{cluster}")
}

/// The container `service` needs, or `None` if it needs none (headless, ExternalName, no IP yet).
/// `apiserver` is the URL the proxy reaches the API server at; `image_id` goes into the hash so a
/// rebuilt proxy image replaces the containers.
pub fn desired(
    service: &Service,
    network: &ClusterNetwork,
    apiserver: &str,
    image_id: &str,
) -> Result<Option<ProxySpec>, SpecError> {
    let (namespace, name) = (service.metadata.namespace(), service.metadata.name());
    let key = format!("{namespace}/{name}");
    if service.spec.type_.as_deref() == Some("ExternalName") {
        return Ok(None);
    }
    let ip = match service.spec.cluster_ip.as_deref() {
        None | Some("") | Some("None") => return Ok(None),
        Some(ip) => ip,
    };
    let ip: Ipv4Addr = ip.parse().map_err(|_| SpecError::BadClusterIp {
        service: key.clone(),
        ip: ip.to_string(),
    })?;
    if !network.service_range.contains(ip) {
        return Err(SpecError::OutOfRange {
            service: key,
            ip: ip.to_string(),
            range: network.service_range.to_string(),
        });
    }
    let mut ports = Vec::new();
    let mut node_ports = BTreeMap::new();
    for port in &service.spec.ports {
        let tcp = port.protocol.as_deref().is_none_or(|p| p.eq_ignore_ascii_case("TCP"));
        let Some(number) = u16::try_from(port.port).ok().filter(|p| *p > 0 && tcp) else {
            continue;
        };
        ports.push(number);
        if let Some(node_port) = port.node_port.and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0) {
            node_ports.insert(node_port, number);
        }
    }
    ports.sort_unstable();
    ports.dedup();
    let role = if namespace == DNS_NAMESPACE && name == DNS_SERVICE {
        // The DNS server answers its own ports; NodePorts make no sense for it.
        node_ports.clear();
        Role::Dns
    } else {
        Role::Proxy
    };
    let args = match role {
        Role::Dns => vec!["dns".to_string(), "--apiserver".to_string(), apiserver.to_string()],
        Role::Proxy => vec![
            "--apiserver".to_string(),
            apiserver.to_string(),
            "--namespace".to_string(),
            namespace.to_string(),
            "--service".to_string(),
            name.to_string(),
        ],
    };
    let aliases = aliases(namespace, name);
    let hash = fnv_hex(&format!(
        "{ip}|{aliases:?}|{ports:?}|{node_ports:?}|{args:?}|{image_id}|{}",
        network.id
    ));
    Ok(Some(ProxySpec {
        service: key,
        container_name: container_name(&network.cluster, namespace, name),
        role,
        ip,
        aliases,
        ports,
        node_ports,
        args,
        hash,
    }))
}

/// The `kube-system/kube-dns` Service, as kubeadm makes it: the fixed `ip`, DNS over UDP and
/// TCP on port 53. It has no selector: the DNS server is not a pod but the manager's container,
/// which owns `ip` itself (so the Service has no Endpoints).
pub fn kube_dns_service(ip: Ipv4Addr) -> Service {
    let value = serde_json::json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": DNS_SERVICE, "namespace": DNS_NAMESPACE,
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS",
                                "kubernetes.io/cluster-service": "true"}},
        "spec": {"type": "ClusterIP", "clusterIP": ip.to_string(), "clusterIPs": [ip.to_string()],
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                           {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]},
    });
    serde_json::from_value(value).expect("a literal Service is a valid Service")
}

/// Docker's create request for a proxy container (pure).
pub fn create_body(spec: &ProxySpec, network: &ClusterNetwork) -> ContainerCreateBody {
    let labels = HashMap::from([
        (labels::CLUSTER.to_string(), network.cluster.clone()),
        (SERVICE_LABEL.to_string(), spec.service.clone()),
        (SPEC_LABEL.to_string(), spec.hash.clone()),
        (ROLE_LABEL.to_string(), spec.role.label().to_string()),
    ]);
    let exposed: Vec<String> = match spec.role {
        Role::Dns => vec!["53/udp".to_string(), "53/tcp".to_string()],
        Role::Proxy => spec.ports.iter().map(|p| format!("{p}/tcp")).collect(),
    };
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for (node_port, port) in &spec.node_ports {
        bindings
            .entry(format!("{port}/tcp"))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: Some("127.0.0.1".to_string()),
                host_port: Some(node_port.to_string()),
            });
    }
    let endpoint = EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some(spec.ip.to_string()),
            ..Default::default()
        }),
        aliases: Some(spec.aliases.clone()),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(PROXY_IMAGE.to_string()),
        cmd: Some(spec.args.clone()),
        env: Some(vec!["RUST_LOG=info".to_string()]),
        labels: Some(labels),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        host_config: Some(HostConfig {
            network_mode: Some(network.name.clone()),
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            // A proxy that crashes comes back by itself; one the manager removes stays gone.
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                maximum_retry_count: None,
            }),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(network.name.clone(), endpoint)])),
        }),
        ..Default::default()
    }
}

/// 64-bit FNV-1a as 16 hex digits: stable across Rust releases, unlike the std hasher.
fn fnv_hex(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubelab_agent::runtime::docker::Ipv4Net;

    fn network() -> ClusterNetwork {
        let subnet = Ipv4Net::parse("10.130.16.0/20").unwrap();
        let (pods, services) = subnet.halves();
        ClusterNetwork {
            cluster: "c1".into(),
            name: "kubelab-c1".into(),
            id: "net1".into(),
            subnet,
            pod_range: pods,
            service_range: services,
            gateway: subnet.nth(1),
        }
    }

    fn service(json: &str) -> Service {
        serde_json::from_str(json).unwrap()
    }

    const WEB: &str = r#"{"metadata":{"name":"web","namespace":"shop"},"spec":{"type":"NodePort",
        "clusterIP":"10.130.24.10","ports":[{"name":"http","port":80,"targetPort":8080,"nodePort":30080},
        {"name":"dns","port":53,"protocol":"UDP"}]}}"#;

    #[test]
    fn a_cluster_ip_service_gets_its_ip_names_and_node_ports() {
        let spec = desired(&service(WEB), &network(), "http://10.130.16.1:6443", "sha256:x")
            .unwrap()
            .unwrap();
        assert_eq!(spec.service, "shop/web");
        assert_eq!(spec.container_name, "k8s_svc_web_shop_c1");
        assert_eq!(spec.ip, Ipv4Addr::new(10, 130, 24, 10));
        assert_eq!(spec.aliases, ["web.shop.svc.cluster.local", "web.shop.svc", "web.shop"]);
        assert_eq!(spec.ports, vec![80], "UDP is not proxied");
        assert_eq!(spec.node_ports, BTreeMap::from([(30080, 80)]));
        assert!(spec.args.contains(&"http://10.130.16.1:6443".to_string()));

        let body = create_body(&spec, &network());
        let labels = body.labels.as_ref().unwrap();
        assert_eq!(labels[labels::CLUSTER], "c1");
        assert_eq!(labels[SERVICE_LABEL], "shop/web");
        assert_eq!(labels[SPEC_LABEL], spec.hash);
        let host = body.host_config.as_ref().unwrap();
        let binding = &host.port_bindings.as_ref().unwrap()["80/tcp"].as_ref().unwrap()[0];
        assert_eq!(
            (binding.host_ip.as_deref(), binding.host_port.as_deref()),
            (Some("127.0.0.1"), Some("30080"))
        );
        let endpoint = &body.networking_config.unwrap().endpoints_config.unwrap()["kubelab-c1"];
        assert_eq!(
            endpoint.ipam_config.as_ref().unwrap().ipv4_address.as_deref(),
            Some("10.130.24.10")
        );
        assert_eq!(endpoint.aliases.as_ref().unwrap().len(), 3);
    }

    #[test]
    fn the_hash_changes_with_what_needs_a_new_container() {
        let base = desired(&service(WEB), &network(), "http://a", "img").unwrap().unwrap();
        let again = desired(&service(WEB), &network(), "http://a", "img").unwrap().unwrap();
        assert_eq!(base.hash, again.hash);
        let moved = WEB.replace("30080", "30081");
        let other = desired(&service(&moved), &network(), "http://a", "img")
            .unwrap()
            .unwrap();
        assert_ne!(base.hash, other.hash);
        let rebuilt = desired(&service(WEB), &network(), "http://a", "img2").unwrap().unwrap();
        assert_ne!(base.hash, rebuilt.hash);
    }

    #[test]
    fn kube_dns_gets_the_dns_server_instead_of_a_proxy() {
        let service = kube_dns_service(network().dns_ip());
        assert_eq!(service.spec.cluster_ip.as_deref(), Some("10.130.24.10"));
        let spec = desired(&service, &network(), "http://10.130.16.1:6443", "img")
            .unwrap()
            .unwrap();
        assert_eq!((spec.role, spec.service.as_str()), (Role::Dns, "kube-system/kube-dns"));
        assert_eq!(spec.ip, Ipv4Addr::new(10, 130, 24, 10));
        assert_eq!(spec.args, ["dns", "--apiserver", "http://10.130.16.1:6443"]);
        let body = create_body(&spec, &network());
        assert_eq!(body.labels.as_ref().unwrap()[ROLE_LABEL], "dns");
        assert_eq!(body.labels.as_ref().unwrap()[labels::CLUSTER], "c1");
        let mut exposed = body.exposed_ports.unwrap();
        exposed.sort();
        assert_eq!(exposed, ["53/tcp", "53/udp"]);
        // Any other Service is proxied as before.
        let web = desired(&super::tests::service(WEB), &network(), "http://a", "img")
            .unwrap()
            .unwrap();
        assert_eq!(web.role, Role::Proxy);
        assert_eq!(
            create_body(&web, &network()).labels.unwrap()[ROLE_LABEL],
            "service-proxy"
        );
    }

    #[test]
    fn headless_external_and_unallocated_services_need_no_container() {
        for json in [
            r#"{"metadata":{"name":"db"},"spec":{"clusterIP":"None","ports":[{"port":5432}]}}"#,
            r#"{"metadata":{"name":"x"},"spec":{"type":"ExternalName","externalName":"example.com"}}"#,
            r#"{"metadata":{"name":"y"},"spec":{"ports":[{"port":80}]}}"#,
        ] {
            assert_eq!(
                desired(&service(json), &network(), "http://a", "i").unwrap(),
                None,
                "{json}"
            );
        }
    }

    #[test]
    fn an_ip_outside_the_service_range_is_a_clear_error() {
        let pod_range = WEB.replace("10.130.24.10", "10.130.16.20");
        let err = desired(&service(&pod_range), &network(), "http://a", "i").unwrap_err();
        assert!(err.to_string().contains("10.130.24.0/21"), "{err}");
        let bad = WEB.replace("10.130.24.10", "ten");
        let err = desired(&service(&bad), &network(), "http://a", "i").unwrap_err();
        assert!(err.to_string().contains("spec.clusterIP"), "{err}");
    }
}
