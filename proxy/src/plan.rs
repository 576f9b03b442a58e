//! # What the proxy should do: a pure function of the Service and its Endpoints
//!
//! kube-proxy reads two objects per Service: the Service (which ports to open, whether clients
//! stick to one pod) and its Endpoints (which pod addresses are ready, and on which port each
//! Service port lands). This module turns those two objects into a [`Plan`]: for each Service
//! port, the set of backend addresses. Everything else in the proxy only carries that plan out,
//! so this is the part worth testing with every odd shape of input.
//!
//! How a Service port finds its backends, as in Kubernetes: the endpoints controller writes one
//! `EndpointPort` per Service port, with the same `name` and the resolved `targetPort` number
//! (a named `targetPort` resolves per pod, which is why the number lives in Endpoints and not in
//! the Service). Only `addresses` are used: `notReadyAddresses` are pods that exist but failed
//! their readiness probe, and must not get traffic.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use kubelab_api::core::{EndpointSubset, Endpoints, Service};

/// Kubernetes' default `sessionAffinityConfig.clientIP.timeoutSeconds`: three hours.
pub const DEFAULT_AFFINITY_TIMEOUT: Duration = Duration::from_secs(10_800);

/// One Service port, and where its traffic goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortPlan {
    /// The port's name in the Service (empty for a single unnamed port).
    pub name: String,
    /// Ready backends (pod IP, resolved target port).
    pub backends: BTreeSet<SocketAddr>,
}

/// The proxy's whole job for one Service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Keyed by the Service's own port number (what clients connect to). TCP ports only.
    pub ports: BTreeMap<u16, PortPlan>,
    /// `Some(timeout)` when `sessionAffinity: ClientIP`: a client keeps its backend this long.
    pub affinity: Option<Duration>,
    /// Ports the proxy cannot serve (UDP, SCTP, out of range), with why, for the log.
    pub skipped: Vec<String>,
}

/// Builds the plan. No Service (not created yet, or deleted) means nothing to serve; no
/// Endpoints means every port is open but has no backend, so connections are refused at once.
pub fn plan(service: Option<&Service>, endpoints: Option<&Endpoints>) -> Plan {
    let mut out = Plan::default();
    let Some(service) = service else { return out };
    if service.spec.session_affinity.as_deref() == Some("ClientIP") {
        let timeout = service
            .spec
            .session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .and_then(|s| u64::try_from(s).ok())
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_AFFINITY_TIMEOUT);
        out.affinity = Some(timeout);
    }
    let single = service.spec.ports.len() == 1;
    for port in &service.spec.ports {
        let protocol = port.protocol.as_deref().unwrap_or("TCP");
        let Ok(number) = u16::try_from(port.port) else {
            out.skipped.push(format!("port {} is out of range", port.port));
            continue;
        };
        if number == 0 {
            out.skipped.push("port 0 is not a port".to_string());
            continue;
        }
        if !protocol.eq_ignore_ascii_case("TCP") {
            out.skipped
                .push(format!("port {number}/{protocol}: kubelab's proxy forwards TCP only"));
            continue;
        }
        let name = port.name.clone().unwrap_or_default();
        let mut backends = BTreeSet::new();
        for subset in endpoints.map(|e| e.subsets.as_slice()).unwrap_or_default() {
            if let Some(target) = target_port(subset, &name, single) {
                for address in &subset.addresses {
                    if let Ok(ip) = address.ip.parse::<IpAddr>() {
                        backends.insert(SocketAddr::new(ip, target));
                    }
                }
            }
        }
        out.ports.insert(number, PortPlan { name, backends });
    }
    out
}

/// The port a subset's addresses serve the Service port `name` on. A Service with one port
/// matches the subset's only port whatever it is called (hand-written Endpoints often leave the
/// name out); otherwise names must be equal.
fn target_port(subset: &EndpointSubset, name: &str, single: bool) -> Option<u16> {
    let by_name = subset
        .ports
        .iter()
        .find(|p| p.name.as_deref().unwrap_or("") == name && is_tcp(p.protocol.as_deref()));
    let chosen = match by_name {
        Some(p) => Some(p),
        None if single && subset.ports.len() == 1 && is_tcp(subset.ports[0].protocol.as_deref()) => {
            subset.ports.first()
        }
        None => None,
    };
    chosen.and_then(|p| u16::try_from(p.port).ok()).filter(|p| *p > 0)
}

fn is_tcp(protocol: Option<&str>) -> bool {
    protocol.is_none_or(|p| p.eq_ignore_ascii_case("TCP"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(json: &str) -> Service {
        serde_json::from_str(json).unwrap()
    }

    fn endpoints(json: &str) -> Endpoints {
        serde_json::from_str(json).unwrap()
    }

    fn addrs(plan: &Plan, port: u16) -> Vec<String> {
        plan.ports[&port].backends.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn ready_addresses_on_the_named_target_port() {
        let svc = service(
            r#"{"metadata":{"name":"web"},"spec":{"ports":[
                {"name":"http","port":80,"targetPort":8080},{"name":"admin","port":9000}]}}"#,
        );
        let eps = endpoints(
            r#"{"metadata":{"name":"web"},"subsets":[{
                "addresses":[{"ip":"10.0.0.2"},{"ip":"10.0.0.3"}],
                "notReadyAddresses":[{"ip":"10.0.0.9"}],
                "ports":[{"name":"http","port":8080},{"name":"admin","port":9001}]}]}"#,
        );
        let p = plan(Some(&svc), Some(&eps));
        assert_eq!(addrs(&p, 80), vec!["10.0.0.2:8080", "10.0.0.3:8080"]);
        assert_eq!(addrs(&p, 9000), vec!["10.0.0.2:9001", "10.0.0.3:9001"]);
        assert_eq!(p.ports[&80].name, "http");
        assert_eq!(p.affinity, None);
    }

    #[test]
    fn no_endpoints_means_open_ports_without_backends() {
        let svc = service(r#"{"metadata":{"name":"web"},"spec":{"ports":[{"port":80}]}}"#);
        let p = plan(Some(&svc), None);
        assert!(p.ports[&80].backends.is_empty());
        assert_eq!(plan(None, None), Plan::default());
    }

    #[test]
    fn a_single_port_matches_an_unnamed_or_differently_named_endpoint_port() {
        let svc = service(r#"{"metadata":{"name":"web"},"spec":{"ports":[{"port":80,"targetPort":8080}]}}"#);
        let eps = endpoints(r#"{"subsets":[{"addresses":[{"ip":"10.0.0.2"}],"ports":[{"name":"x","port":8080}]}]}"#);
        assert_eq!(addrs(&plan(Some(&svc), Some(&eps)), 80), vec!["10.0.0.2:8080"]);
    }

    #[test]
    fn udp_ports_are_skipped_with_a_reason_and_bad_ips_ignored() {
        let svc = service(r#"{"spec":{"ports":[{"name":"dns","port":53,"protocol":"UDP"},{"name":"web","port":80}]}}"#);
        let eps = endpoints(
            r#"{"subsets":[{"addresses":[{"ip":"nonsense"},{"ip":"10.0.0.4"}],
                "ports":[{"name":"web","port":80},{"name":"dns","port":53,"protocol":"UDP"}]}]}"#,
        );
        let p = plan(Some(&svc), Some(&eps));
        assert_eq!(p.ports.keys().copied().collect::<Vec<_>>(), vec![80]);
        assert_eq!(addrs(&p, 80), vec!["10.0.0.4:80"]);
        assert!(p.skipped[0].contains("53/UDP"), "{:?}", p.skipped);
    }

    #[test]
    fn client_ip_affinity_and_its_timeout() {
        let svc = service(r#"{"spec":{"sessionAffinity":"ClientIP","ports":[{"port":80}]}}"#);
        assert_eq!(plan(Some(&svc), None).affinity, Some(DEFAULT_AFFINITY_TIMEOUT));
        let svc = service(
            r#"{"spec":{"sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":60}},
                "ports":[{"port":80}]}}"#,
        );
        assert_eq!(plan(Some(&svc), None).affinity, Some(Duration::from_secs(60)));
    }
}
