//! # The cluster's Docker network: one bridge per cluster, its address plan derived from the name
//!
//! Every pod of a cluster gets its IP on one user-defined Docker bridge network, `kubelab-<cluster>`.
//! A user-defined bridge (unlike Docker's default `bridge`) gives containers Docker's embedded DNS
//! and lets us choose the subnet, which is what a Kubernetes "pod network" needs: every pod can
//! reach every other pod by IP, without NAT, whichever node (agent) started it.
//!
//! The address plan, per cluster:
//!
//! ```text
//!   10.128.0.0/9 is cut into 2048 subnets of /20 (4096 addresses each)
//!   kubelab-<cluster>:  10.A.B.0/20          ← index = hash(cluster) mod 2048
//!     gateway           first address (.1)   ← the apiserver listens here for pods
//!     pod range         lower /21            ← Docker's --ip-range: pod IPs come only from here
//!     service range     upper /21            ← left free for Services' stable virtual IPs
//! ```
//!
//! The subnet is a pure function of the cluster's name, so two agents of one cluster agree on it
//! without talking, and two clusters (or two parallel tests) almost never collide. When they do
//! (or another network already uses the subnet) the next candidate is tried, deterministically.
//! 10.128.0.0/9 stays clear of Docker's own default pools (172.17.0.0/16 and up, 192.168.0.0/16).

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;

use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::{InspectNetworkOptions, ListNetworksOptions};
use bollard::Docker;

use super::{docker_err, is_status};
use crate::runtime::{labels, RuntimeError};

/// The base of all kubelab cluster subnets: 10.128.0.0/9.
const BASE: u32 = (10 << 24) | (128 << 16);
const BASE_PREFIX: u8 = 9;
/// Each cluster gets a /20.
const CLUSTER_PREFIX: u8 = 20;
/// How many /20 subnets fit in the base /9.
const SUBNET_COUNT: u32 = 1 << (CLUSTER_PREFIX - BASE_PREFIX);
/// How many candidates to try before giving up (collisions are rare; this bounds the work).
const MAX_CANDIDATES: u32 = 64;

/// An IPv4 network in CIDR form (`10.130.16.0/20`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Self {
        let prefix = prefix.min(32);
        Ipv4Net {
            addr: Ipv4Addr::from(u32::from(addr) & mask(prefix)),
            prefix,
        }
    }

    /// Parses `a.b.c.d/n`.
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = s.trim().split_once('/')?;
        let addr: Ipv4Addr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        (prefix <= 32).then(|| Ipv4Net::new(addr, prefix))
    }

    fn first(&self) -> u32 {
        u32::from(self.addr)
    }

    fn last(&self) -> u32 {
        self.first() | !mask(self.prefix)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        (u32::from(ip) & mask(self.prefix)) == self.first()
    }

    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    /// The lower and upper halves of this network.
    pub fn halves(&self) -> (Ipv4Net, Ipv4Net) {
        let prefix = (self.prefix + 1).min(32);
        let lower = Ipv4Net::new(self.addr, prefix);
        let upper = Ipv4Net::new(
            Ipv4Addr::from(self.first() | (1u32 << (32 - u32::from(prefix)))),
            prefix,
        );
        (lower, upper)
    }

    /// The address `n` places into the network (`nth(1)` is the usual gateway).
    pub fn nth(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.first().wrapping_add(n))
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    }
}

/// FNV-1a, 64 bits: a tiny hash whose output never changes between Rust releases (the standard
/// library's hasher makes no such promise), so a cluster's subnet is the same forever.
fn fnv1a(data: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in data {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Checks a cluster name: it becomes part of Docker object names and labels, so it keeps to
/// lowercase letters, digits and `-` (at most 40 characters, starting with a letter or digit).
pub fn validate_cluster_name(cluster: &str) -> Result<(), RuntimeError> {
    let valid = !cluster.is_empty()
        && cluster.len() <= 40
        && cluster
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !cluster.starts_with('-');
    if valid {
        Ok(())
    } else {
        Err(RuntimeError::InvalidConfig(format!(
            "cluster name {cluster:?} must be 1-40 lowercase letters, digits or '-', not starting with '-'"
        )))
    }
}

/// The Docker network's name for a cluster.
pub fn network_name(cluster: &str) -> String {
    format!("kubelab-{cluster}")
}

/// The `attempt`-th candidate subnet for a cluster (0 is the preferred one).
pub fn candidate_subnet(cluster: &str, attempt: u32) -> Ipv4Net {
    let start = (fnv1a(cluster.as_bytes()) % u64::from(SUBNET_COUNT)) as u32;
    let index = (start + attempt) % SUBNET_COUNT;
    Ipv4Net::new(
        Ipv4Addr::from(BASE + (index << (32 - u32::from(CLUSTER_PREFIX)))),
        CLUSTER_PREFIX,
    )
}

/// The cluster's network as it exists in Docker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterNetwork {
    pub cluster: String,
    /// Docker's network name, `kubelab-<cluster>`.
    pub name: String,
    /// Docker's network id.
    pub id: String,
    pub subnet: Ipv4Net,
    /// Where pod IPs come from (Docker's `--ip-range`): the subnet's lower half.
    pub pod_range: Ipv4Net,
    /// Kept free for Services' virtual IPs: the subnet's upper half.
    pub service_range: Ipv4Net,
    /// The bridge's own address on the network: how pods reach the host (and the apiserver).
    pub gateway: Ipv4Addr,
}

impl ClusterNetwork {
    /// The cluster DNS server's address: the 10th of the service range, as Kubernetes puts its
    /// `kube-dns` Service at 10.96.0.10 in 10.96.0.0/12. The service-proxy manager runs the DNS
    /// container there; agents give it to pods (`--cluster-dns`).
    pub fn dns_ip(&self) -> Ipv4Addr {
        self.service_range.nth(10)
    }

    /// Finds the cluster's network, or creates it. A network with the right name and our cluster
    /// label is adopted as it is; one with the right name but not our label is left alone and is
    /// an error (it is not ours to use or change).
    pub async fn ensure(docker: &Docker, cluster: &str) -> Result<ClusterNetwork, RuntimeError> {
        validate_cluster_name(cluster)?;
        let name = network_name(cluster);
        if let Some(found) = Self::find(docker, cluster).await? {
            return Ok(found);
        }
        let taken = used_subnets(docker).await?;
        let mut last_error = String::from("no candidate tried");
        for attempt in 0..MAX_CANDIDATES {
            let subnet = candidate_subnet(cluster, attempt);
            if taken.iter().any(|other| other.overlaps(&subnet)) {
                continue;
            }
            if let Err(e) = create(docker, cluster, &name, subnet).await {
                // Another agent of the same cluster may have won the race: adopt its network.
                if let Some(found) = Self::find(docker, cluster).await? {
                    return Ok(found);
                }
                last_error = e.to_string();
                tracing::debug!(%subnet, error = %last_error, "subnet not usable, trying the next candidate");
                continue;
            }
            // Docker does not refuse a second network of the same name, so agents that start
            // together may each have created one; `find` elects the same one for all of them
            // and removes the others.
            return Self::find(docker, cluster)
                .await?
                .ok_or_else(|| RuntimeError::Runtime(format!("network {name} vanished right after it was created")));
        }
        Err(RuntimeError::Runtime(format!(
            "could not create network {name}: no free subnet among {MAX_CANDIDATES} candidates (last error: {last_error})"
        )))
    }

    /// The cluster's network if it exists (and is ours).
    ///
    /// Agents of one cluster that start at the same moment can each create the network before
    /// seeing the others' (Docker allows two networks with one name). Every agent then elects the
    /// same one, the oldest (by creation time, then id), and removes the empty others, so all
    /// pods of the cluster end up on one network.
    pub async fn find(docker: &Docker, cluster: &str) -> Result<Option<ClusterNetwork>, RuntimeError> {
        let name = network_name(cluster);
        let options = ListNetworksOptions {
            filters: Some(HashMap::from([("name".to_string(), vec![name.clone()])])),
        };
        let listed = docker
            .list_networks(Some(options))
            .await
            .map_err(|e| docker_err(e, &format!("network {name}")))?;
        // The name filter matches substrings; insist on the exact name.
        let mut same_name: Vec<_> = listed
            .into_iter()
            .filter(|n| n.name.as_deref() == Some(name.as_str()))
            .collect();
        if same_name.is_empty() {
            return Ok(None);
        }
        let is_ours = |n: &bollard::models::Network| {
            n.labels
                .as_ref()
                .and_then(|l| l.get(labels::CLUSTER))
                .map(String::as_str)
                == Some(cluster)
        };
        if !same_name.iter().any(is_ours) {
            return Err(RuntimeError::Runtime(format!(
                "a Docker network named {name} exists but is not labelled {}={cluster}; \
                 kubelab will not adopt it (remove or rename it)",
                labels::CLUSTER
            )));
        }
        same_name.retain(is_ours);
        same_name.sort_by(|a, b| (a.created.as_deref(), a.id.as_deref()).cmp(&(b.created.as_deref(), b.id.as_deref())));
        let winner = same_name.remove(0);
        for loser in same_name {
            if let Some(id) = loser.id.as_deref() {
                // Fails harmlessly if a container already joined it; the election stays the same.
                if let Err(e) = docker.remove_network(id).await {
                    tracing::debug!(network = id, error = %e, "could not remove a duplicate network");
                }
            }
        }
        let id = winner.id.unwrap_or_default();
        let inspected = match docker.inspect_network(&id, None::<InspectNetworkOptions>).await {
            Ok(n) => n,
            Err(e) if is_status(&e, 404) => return Ok(None),
            Err(e) => return Err(docker_err(e, &format!("network {name}"))),
        };
        let config = inspected
            .ipam
            .as_ref()
            .and_then(|i| i.config.as_ref())
            .and_then(|c| c.first());
        let subnet = config
            .and_then(|c| c.subnet.as_deref())
            .and_then(Ipv4Net::parse)
            .ok_or_else(|| RuntimeError::Runtime(format!("network {name} has no IPv4 subnet")))?;
        let (lower, upper) = subnet.halves();
        let pod_range = config
            .and_then(|c| c.ip_range.as_deref())
            .and_then(Ipv4Net::parse)
            .unwrap_or(lower);
        let gateway = config
            .and_then(|c| c.gateway.as_deref())
            .and_then(|g| g.split('/').next())
            .and_then(|g| g.parse().ok())
            .unwrap_or_else(|| subnet.nth(1));
        Ok(Some(ClusterNetwork {
            cluster: cluster.to_string(),
            name,
            id: inspected.id.unwrap_or_default(),
            subnet,
            pod_range,
            service_range: upper,
            gateway,
        }))
    }

    /// Removes the cluster's network. Succeeds if it is already gone. Fails while containers
    /// are still attached (remove them first, see [`super::cleanup`]).
    pub async fn remove(&self, docker: &Docker) -> Result<(), RuntimeError> {
        match docker.remove_network(&self.id).await {
            Ok(()) => Ok(()),
            Err(e) if is_status(&e, 404) => Ok(()),
            Err(e) => Err(docker_err(e, &format!("network {}", self.name))),
        }
    }
}

async fn create(docker: &Docker, cluster: &str, name: &str, subnet: Ipv4Net) -> Result<(), RuntimeError> {
    let (pod_range, _) = subnet.halves();
    let request = NetworkCreateRequest {
        name: name.to_string(),
        driver: Some("bridge".to_string()),
        ipam: Some(Ipam {
            driver: Some("default".to_string()),
            config: Some(vec![IpamConfig {
                subnet: Some(subnet.to_string()),
                ip_range: Some(pod_range.to_string()),
                gateway: Some(subnet.nth(1).to_string()),
                auxiliary_addresses: None,
            }]),
            options: None,
        }),
        labels: Some(HashMap::from([(labels::CLUSTER.to_string(), cluster.to_string())])),
        ..Default::default()
    };
    docker
        .create_network(request)
        .await
        .map(|_| ())
        .map_err(|e| docker_err(e, &format!("network {name}")))
}

/// Every IPv4 subnet used by any Docker network (only read, to avoid them).
async fn used_subnets(docker: &Docker) -> Result<Vec<Ipv4Net>, RuntimeError> {
    let networks = docker
        .list_networks(None::<ListNetworksOptions>)
        .await
        .map_err(|e| docker_err(e, "networks"))?;
    Ok(networks
        .iter()
        .filter_map(|n| n.ipam.as_ref()?.config.as_ref())
        .flatten()
        .filter_map(|c| c.subnet.as_deref().and_then(Ipv4Net::parse))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_deterministic_distinct_and_inside_the_base() {
        let base = Ipv4Net::new(Ipv4Addr::from(BASE), BASE_PREFIX);
        let a0 = candidate_subnet("alpha", 0);
        assert_eq!(a0, candidate_subnet("alpha", 0));
        assert_eq!(a0.prefix, 20);
        assert!(base.contains(a0.addr));
        let a1 = candidate_subnet("alpha", 1);
        assert_ne!(a0, a1);
        assert!(!a0.overlaps(&a1));
        assert_ne!(candidate_subnet("alpha", 0), candidate_subnet("beta", 0));
        // Never Docker's default pool.
        let docker_default = Ipv4Net::parse("172.17.0.0/16").unwrap();
        for attempt in 0..SUBNET_COUNT {
            let c = candidate_subnet("alpha", attempt);
            assert!(base.contains(c.addr) && !c.overlaps(&docker_default));
        }
        // Wraps around instead of leaving the base.
        assert!(base.contains(candidate_subnet("alpha", SUBNET_COUNT + 5).addr));
    }

    #[test]
    fn halves_gateway_and_overlap() {
        let net = Ipv4Net::parse("10.130.16.0/20").unwrap();
        let (lower, upper) = net.halves();
        assert_eq!(lower.to_string(), "10.130.16.0/21");
        assert_eq!(upper.to_string(), "10.130.24.0/21");
        assert_eq!(net.nth(1), Ipv4Addr::new(10, 130, 16, 1));
        assert!(lower.contains(Ipv4Addr::new(10, 130, 23, 255)));
        assert!(!lower.contains(Ipv4Addr::new(10, 130, 24, 0)));
        assert!(net.overlaps(&Ipv4Net::parse("10.0.0.0/8").unwrap()));
        assert!(!net.overlaps(&Ipv4Net::parse("10.130.32.0/20").unwrap()));
        assert_eq!(Ipv4Net::parse("10.1.2.3/16").unwrap().to_string(), "10.1.0.0/16");
        assert!(Ipv4Net::parse("10.1.2.3").is_none());
        assert!(Ipv4Net::parse("10.1.2.3/33").is_none());
        assert!(Ipv4Net::parse("nonsense/8").is_none());
    }

    #[test]
    fn cluster_names() {
        assert!(validate_cluster_name("dev").is_ok());
        assert!(validate_cluster_name("t-1a2b-3").is_ok());
        for bad in ["", "-x", "Dev", "a b", "a_b", &"x".repeat(41)] {
            assert!(validate_cluster_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fnv_is_stable() {
        // Pinned: changing the hash would move every existing cluster to a new subnet.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(
            candidate_subnet("kubelab", 0),
            candidate_subnet("kubelab", SUBNET_COUNT)
        );
    }
}
