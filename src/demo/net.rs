//! # Who am I: the pod's name and address as a program inside it sees them
//!
//! In Kubernetes a pod learns its own name, namespace, node and IP through the downward API: the
//! pod spec maps `metadata.name` and friends into environment variables (`POD_NAME`, ...). Without
//! them, the container still has a hostname (Docker sets it to the pod's name) and an address on
//! the cluster network, which is what we fall back to.

use std::net::{IpAddr, ToSocketAddrs, UdpSocket};

/// The identity `GET /` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInfo {
    pub pod_name: String,
    pub namespace: String,
    pub node: String,
    pub ip: String,
}

impl PodInfo {
    /// Reads the identity from the process's environment, with the host's name and address as
    /// fallbacks.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok(), hostname, first_address)
    }

    /// Reads the identity from `var`; `host` and `addr` supply the fallbacks (passed in so tests
    /// control them).
    pub fn from_lookup(
        var: impl Fn(&str) -> Option<String>,
        host: impl Fn() -> String,
        addr: impl Fn() -> Option<IpAddr>,
    ) -> Self {
        let get = |k: &str| var(k).filter(|v| !v.is_empty());
        PodInfo {
            pod_name: get("POD_NAME").unwrap_or_else(&host),
            namespace: get("POD_NAMESPACE").unwrap_or_else(|| "unknown".into()),
            node: get("NODE_NAME").unwrap_or_else(|| "unknown".into()),
            ip: get("POD_IP")
                .or_else(|| addr().map(|a| a.to_string()))
                .unwrap_or_else(|| "unknown".into()),
        }
    }
}

/// The machine's (the container's) hostname.
pub fn hostname() -> String {
    for path in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(name) = std::fs::read_to_string(path) {
            let name = name.trim();
            if !name.is_empty() {
                return name.to_string();
            }
        }
    }
    std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown".into())
}

/// The first address of this host that is not loopback.
pub fn first_address() -> Option<IpAddr> {
    // "Connecting" a UDP socket sends nothing; it only asks the kernel which local address would
    // be used to reach that destination: the address on the default route.
    let routed = UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("10.255.255.255:9").map(|()| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .ok();
    if let Some(ip) = routed.filter(|ip| !ip.is_loopback() && !ip.is_unspecified()) {
        return Some(ip);
    }
    // No route: Docker writes the container's own name and address into /etc/hosts.
    (hostname().as_str(), 0)
        .to_socket_addrs()
        .ok()?
        .map(|a| a.ip())
        .find(|ip| !ip.is_loopback() && !ip.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_wins_over_fallbacks() {
        let env = |k: &str| match k {
            "POD_NAME" => Some("web-1".to_string()),
            "POD_NAMESPACE" => Some("shop".to_string()),
            "NODE_NAME" => Some("node-2".to_string()),
            "POD_IP" => Some("10.0.0.7".to_string()),
            _ => None,
        };
        let info = PodInfo::from_lookup(env, || "host".into(), || None);
        assert_eq!(
            info,
            PodInfo {
                pod_name: "web-1".into(),
                namespace: "shop".into(),
                node: "node-2".into(),
                ip: "10.0.0.7".into()
            }
        );
    }

    #[test]
    fn falls_back_to_hostname_and_address() {
        let info = PodInfo::from_lookup(|_| None, || "box".into(), || "192.168.1.5".parse().ok());
        assert_eq!(info.pod_name, "box");
        assert_eq!(info.ip, "192.168.1.5");
        assert_eq!(info.namespace, "unknown");
        // An empty variable (a downward-API field not yet known) counts as unset.
        let info = PodInfo::from_lookup(|_| Some(String::new()), || "box".into(), || None);
        assert_eq!((info.pod_name.as_str(), info.ip.as_str()), ("box", "unknown"));
    }

    #[test]
    fn the_host_has_a_name() {
        assert!(!hostname().is_empty());
    }
}
