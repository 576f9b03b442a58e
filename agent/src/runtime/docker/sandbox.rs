//! # The pod sandbox: a pause container that holds the pod's network
//!
//! Why a container that does nothing? A network namespace lives as long as some process is in
//! it. If the pod's IP belonged to the app container, every crash and restart of the app would
//! tear the namespace down and bring up a new one, with (possibly) a new IP, and a sidecar sharing
//! it would lose its network too. So the pod's namespace is owned by a process that never crashes
//! because it never does anything: kubelab's pause binary, which sleeps until SIGTERM and exits at
//! once when it comes (a shell `sleep` as PID 1 would ignore SIGTERM and make every pod deletion
//! wait out its grace period).
//!
//! The sandbox is where everything the pod's containers share is decided:
//!
//! - the **IP**: the pause container joins the cluster's bridge network, Docker's IPAM hands it
//!   an address from the pods' range;
//! - the **hostname** and **DNS search domains** (`<ns>.svc.cluster.local svc.cluster.local
//!   cluster.local`): joined containers share the pause container's UTS namespace and
//!   `/etc/resolv.conf`, so `hostname` prints the pod's name in every container and short Service
//!   names resolve;
//! - the **host ports** (`hostPort`): published on the pause container, because publishing is a
//!   property of a network namespace; bound on 127.0.0.1 unless the pod asks for another address;
//! - the **IPC namespace**: made shareable here and joined by the app containers, as in Kubernetes.
//! - the pod's **name server**: with a cluster DNS (the agent's `--cluster-dns`, which `kubelab
//!   up` sets to the `kube-dns` Service's address), the pause container is created with it as
//!   its DNS server (Docker's `--dns`). Docker keeps its embedded server (127.0.0.11) in the
//!   pod's `resolv.conf`: that one answers the network aliases it knows (ClusterIP Services'
//!   names on their proxy containers) and forwards every other question, from inside the pod's
//!   network namespace, to the cluster DNS. The cluster DNS (`kubelab-proxy dns`) answers headless
//!   Services and `hostname.subdomain` names from live Endpoints: a headless Service created
//!   after its pods resolves to them, and a pod that stops being ready drops out of the answer.
//!   So the pause container has no DNS aliases of its own then: one source of truth.
//! - without a cluster DNS (an agent started without `--cluster-dns`), Docker's embedded DNS is
//!   all there is: a pod with `spec.subdomain` gets the network aliases
//!   `<hostname>.<subdomain>.<ns>.svc.cluster.local` (a StatefulSet's
//!   `db-0.db.default.svc.cluster.local`) and `<subdomain>.<ns>.svc.cluster.local`, which Docker
//!   answers with every such pod's IP. Aliases are fixed when the sandbox is made: readiness
//!   does not change them, and a headless Service selecting pods without a subdomain has no name.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig, PortBinding};

use super::container::{create_named, remove, start};
use super::{name_part, uid8, DockerRuntime, Owner, PAUSE_IMAGE};
use crate::runtime::{labels, RuntimeError, SandboxConfig};

/// How long a sandbox gets to stop: the pause process exits on SIGTERM at once, so this is only
/// an upper bound for a sandbox that somehow ignores it.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// The pause container's name: `k8s_POD_<pod>_<namespace>_<uid8>_<attempt>_<cluster>`.
pub fn sandbox_name(cluster: &str, config: &SandboxConfig, attempt: u32) -> String {
    format!(
        "k8s_POD_{}_{}_{}_{}_{}",
        name_part(&config.pod_name),
        name_part(&config.namespace),
        uid8(&config.pod_uid),
        attempt,
        name_part(cluster)
    )
}

/// A hostname Linux accepts: at most 63 characters, not ending in `-` or `.` (as the kubelet
/// truncates long pod names).
pub fn pod_hostname(name: &str) -> String {
    let truncated: String = name.chars().take(63).collect();
    truncated.trim_end_matches(['-', '.']).to_string()
}

/// The identity labels of a pod's objects, plus the caller's extra labels.
pub(crate) fn identity_labels(
    owner: &Owner,
    pod_uid: &str,
    namespace: &str,
    pod_name: &str,
    extra: &std::collections::BTreeMap<String, String>,
) -> HashMap<String, String> {
    let mut all: HashMap<String, String> = extra.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, value) in [
        (labels::POD_UID, pod_uid),
        (labels::NAMESPACE, namespace),
        (labels::POD, pod_name),
        (labels::NODE, owner.node),
        (labels::CLUSTER, owner.cluster),
    ] {
        all.insert(key.to_string(), value.to_string());
    }
    all
}

/// The network aliases of a pod without a cluster DNS (see the module docs): its name under its
/// subdomain. Docker aliases are network-wide, so only names that carry the namespace are used.
pub fn dns_aliases(config: &SandboxConfig) -> Vec<String> {
    let service_domain = |service: &str| format!("{service}.{}.svc.cluster.local", config.namespace);
    let mut aliases = Vec::new();
    if let Some(subdomain) = config.subdomain.as_deref().filter(|s| !s.is_empty()) {
        let hostname = pod_hostname(if config.hostname.is_empty() {
            &config.pod_name
        } else {
            &config.hostname
        });
        aliases.push(format!("{hostname}.{}", service_domain(subdomain)));
        aliases.push(service_domain(subdomain));
    }
    aliases
}

/// Docker's create request for a pod's pause container without a cluster DNS.
pub fn create_body(owner: &Owner, config: &SandboxConfig) -> ContainerCreateBody {
    create_body_with_dns(owner, config, None)
}

/// Docker's create request for a pod's pause container (pure, so it is unit tested), with
/// `cluster_dns` as its name server if there is one.
pub fn create_body_with_dns(
    owner: &Owner,
    config: &SandboxConfig,
    cluster_dns: Option<Ipv4Addr>,
) -> ContainerCreateBody {
    let mut all_labels = identity_labels(
        owner,
        &config.pod_uid,
        &config.namespace,
        &config.pod_name,
        &config.labels,
    );
    all_labels.insert(labels::SANDBOX.to_string(), "true".to_string());

    let mut exposed = Vec::new();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for port in &config.port_mappings {
        let key = format!("{}/{}", port.container_port, port.protocol.to_ascii_lowercase());
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        let binding = PortBinding {
            host_ip: Some(
                port.host_ip
                    .clone()
                    .filter(|ip| !ip.is_empty())
                    .unwrap_or_else(|| "127.0.0.1".to_string()),
            ),
            host_port: Some(port.host_port.to_string()),
        };
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
    }

    let network = owner.network.to_string();
    ContainerCreateBody {
        image: Some(PAUSE_IMAGE.to_string()),
        hostname: Some(pod_hostname(if config.hostname.is_empty() {
            &config.pod_name
        } else {
            &config.hostname
        })),
        labels: Some(all_labels),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        host_config: Some(HostConfig {
            network_mode: Some(network.clone()),
            dns: cluster_dns.map(|ip| vec![ip.to_string()]),
            dns_search: (!config.dns_search.is_empty()).then(|| config.dns_search.clone()),
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            ipc_mode: Some("shareable".to_string()),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network,
                EndpointSettings {
                    // With a cluster DNS, it answers every pod name; without, aliases do.
                    aliases: Some(dns_aliases(config)).filter(|a| !a.is_empty() && cluster_dns.is_none()),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    }
}

/// Creates and starts a pod's sandbox; returns the pause container's id.
pub async fn run(rt: &DockerRuntime, config: &SandboxConfig) -> Result<String, RuntimeError> {
    let body = create_body_with_dns(&rt.owner(), config, rt.cluster_dns());
    let what = format!("sandbox of pod {}/{}", config.namespace, config.pod_name);
    let id = create_named(rt.docker(), body, &what, |attempt| {
        sandbox_name(rt.cluster(), config, attempt)
    })
    .await?;
    if let Err(e) = start(rt.docker(), &id).await {
        // A sandbox that cannot start (its host port is taken, say) is useless: leave nothing behind.
        if let Err(cleanup) = remove(rt.docker(), &id).await {
            tracing::warn!(%id, error = %cleanup, "could not remove a sandbox that failed to start");
        }
        return Err(e);
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::PortMapping;

    pub(crate) fn owner() -> Owner<'static> {
        Owner {
            cluster: "c1",
            node: "node-a",
            network: "kubelab-c1",
        }
    }

    fn config() -> SandboxConfig {
        SandboxConfig {
            pod_uid: "0123456789abcdef".into(),
            namespace: "default".into(),
            pod_name: "web".into(),
            hostname: "web".into(),
            dns_search: vec![
                "default.svc.cluster.local".into(),
                "svc.cluster.local".into(),
                "cluster.local".into(),
            ],
            port_mappings: vec![
                PortMapping {
                    container_port: 80,
                    host_port: 8080,
                    protocol: "TCP".into(),
                    host_ip: None,
                },
                PortMapping {
                    container_port: 53,
                    host_port: 5353,
                    protocol: "UDP".into(),
                    host_ip: Some("0.0.0.0".into()),
                },
            ],
            labels: [("app".to_string(), "web".to_string())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_pod_with_a_subdomain_is_named_under_it() {
        let mut c = config();
        let endpoint = |c: &SandboxConfig| {
            create_body(&owner(), c)
                .networking_config
                .unwrap()
                .endpoints_config
                .unwrap()["kubelab-c1"]
                .clone()
        };
        assert_eq!(endpoint(&c).aliases, None, "no subdomain: only the hostname");
        c.hostname = "db-0".into();
        c.subdomain = Some("db".into());
        assert_eq!(
            endpoint(&c).aliases.unwrap(),
            vec![
                "db-0.db.default.svc.cluster.local".to_string(),
                "db.default.svc.cluster.local".to_string()
            ]
        );
    }

    #[test]
    fn with_a_cluster_dns_the_pod_uses_it_and_has_no_aliases() {
        let mut c = config();
        c.hostname = "db-0".into();
        c.subdomain = Some("db".into());
        let body = create_body_with_dns(&owner(), &c, Some(Ipv4Addr::new(10, 130, 24, 10)));
        let host = body.host_config.as_ref().unwrap();
        assert_eq!(host.dns.as_deref(), Some(&["10.130.24.10".to_string()][..]));
        assert_eq!(host.dns_search.as_ref().unwrap().len(), 3, "the search path is kept");
        assert_eq!(body.hostname.as_deref(), Some("db-0"), "and the hostname");
        let endpoint = &body.networking_config.unwrap().endpoints_config.unwrap()["kubelab-c1"];
        assert_eq!(endpoint.aliases, None, "the cluster DNS answers db-0.db itself");
        // Without one: Docker's defaults, and the subdomain aliases.
        let body = create_body(&owner(), &c);
        assert_eq!(body.host_config.unwrap().dns, None);
    }

    #[test]
    fn names_and_hostnames() {
        assert_eq!(sandbox_name("c1", &config(), 0), "k8s_POD_web_default_01234567_0_c1");
        assert_eq!(pod_hostname(&format!("{}-x", "a".repeat(62))), "a".repeat(62));
        assert_eq!(pod_hostname("web-0"), "web-0");
    }

    #[test]
    fn sandbox_body_holds_network_dns_ports_and_labels() {
        let body = create_body(&owner(), &config());
        assert_eq!(body.image.as_deref(), Some(PAUSE_IMAGE));
        assert_eq!(body.hostname.as_deref(), Some("web"));
        let l = body.labels.as_ref().unwrap();
        assert_eq!(l[labels::SANDBOX], "true");
        assert_eq!(l[labels::CLUSTER], "c1");
        assert_eq!(l[labels::NODE], "node-a");
        assert_eq!(l[labels::POD_UID], "0123456789abcdef");
        assert_eq!(l["app"], "web");
        let host = body.host_config.as_ref().unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("kubelab-c1"));
        assert_eq!(host.dns_search.as_ref().unwrap().len(), 3);
        let ports = host.port_bindings.as_ref().unwrap();
        let tcp = ports["80/tcp"].as_ref().unwrap();
        assert_eq!(
            (tcp[0].host_ip.as_deref(), tcp[0].host_port.as_deref()),
            (Some("127.0.0.1"), Some("8080"))
        );
        assert_eq!(ports["53/udp"].as_ref().unwrap()[0].host_ip.as_deref(), Some("0.0.0.0"));
        let mut exposed = body.exposed_ports.clone().unwrap();
        exposed.sort();
        assert_eq!(exposed, vec!["53/udp".to_string(), "80/tcp".to_string()]);
        assert!(body
            .networking_config
            .unwrap()
            .endpoints_config
            .unwrap()
            .contains_key("kubelab-c1"));
    }
}
