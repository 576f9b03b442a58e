//! From a Service port to the addresses that serve it.
//!
//! A route names a Service port by number (`80`) or by name (`http`). The proxy does not go
//! through the Service's virtual IP: like ingress-nginx, it reads the Service's Endpoints (the
//! ready pods' IPs, kept by the endpoints controller) and connects to a pod directly, so it can
//! balance itself and skip a hop. The endpoint port is found by the Service port's *name*, since
//! that is how Endpoints list them (the `targetPort` was already resolved, per pod, by the
//! endpoints controller). Only `addresses` are used; `notReadyAddresses` never get traffic.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};

use kubelab_api::core::{Endpoints, Service};

use crate::routes::BackendRef;

/// Why a Service port has no address to send a request to (the proxy answers 503 with it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("service \"{0}\" does not exist")]
    NoService(String),
    #[error("service \"{0}\" is of type ExternalName, which kubelab's ingress does not proxy to")]
    ExternalName(String),
    #[error("service \"{service}\" has no port {port}")]
    NoPort { service: String, port: String },
    #[error("service \"{service}\" has no ready endpoints for port {port}")]
    NoEndpoints { service: String, port: String },
}

/// The ready addresses of one Service port, handed out round-robin.
#[derive(Debug)]
pub struct Upstream {
    pub addresses: Vec<SocketAddr>,
    next: AtomicUsize,
}

impl Upstream {
    pub fn new(addresses: Vec<SocketAddr>) -> Self {
        Upstream {
            addresses,
            next: AtomicUsize::new(0),
        }
    }

    /// The next address in turn (round-robin), `None` if there are none.
    pub fn pick(&self) -> Option<SocketAddr> {
        if self.addresses.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.addresses.len();
        Some(self.addresses[i])
    }
}

/// Resolves a Service port to its ready endpoint addresses.
pub fn resolve(
    backend: &BackendRef,
    service: Option<&Service>,
    endpoints: Option<&Endpoints>,
) -> Result<Vec<SocketAddr>, Unavailable> {
    let name = format!("{}/{}", backend.namespace, backend.service);
    let port_text = if backend.port.name.is_empty() {
        backend.port.number.to_string()
    } else {
        backend.port.name.clone()
    };
    let service = service.ok_or_else(|| Unavailable::NoService(name.clone()))?;
    if service.spec.type_.as_deref() == Some("ExternalName") {
        return Err(Unavailable::ExternalName(name));
    }
    let ports = &service.spec.ports;
    let service_port = ports
        .iter()
        .find(|p| {
            if backend.port.name.is_empty() {
                p.port == backend.port.number
            } else {
                p.name.as_deref() == Some(backend.port.name.as_str())
            }
        })
        .ok_or_else(|| Unavailable::NoPort {
            service: name.clone(),
            port: port_text.clone(),
        })?;
    let wanted_name = service_port.name.as_deref().unwrap_or("");
    let mut out = Vec::new();
    for subset in endpoints.map(|e| e.subsets.as_slice()).unwrap_or(&[]) {
        let port = subset
            .ports
            .iter()
            .find(|p| p.name.as_deref().unwrap_or("") == wanted_name)
            .or_else(|| (subset.ports.len() == 1 && ports.len() == 1).then(|| &subset.ports[0]));
        let Some(port) = port.and_then(|p| u16::try_from(p.port).ok()) else {
            continue;
        };
        for address in &subset.addresses {
            if let Ok(ip) = address.ip.parse::<IpAddr>() {
                out.push(SocketAddr::new(ip, port));
            }
        }
    }
    if out.is_empty() {
        return Err(Unavailable::NoEndpoints {
            service: name,
            port: port_text,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubelab_api::networking::ServiceBackendPort;
    use serde_json::json;

    fn backend(port: ServiceBackendPort) -> BackendRef {
        BackendRef {
            namespace: "default".into(),
            service: "web".into(),
            port,
        }
    }

    fn by_number(n: i32) -> ServiceBackendPort {
        ServiceBackendPort {
            number: n,
            ..Default::default()
        }
    }

    fn by_name(n: &str) -> ServiceBackendPort {
        ServiceBackendPort {
            name: n.into(),
            ..Default::default()
        }
    }

    fn service() -> Service {
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "default"},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080},
                               {"name": "admin", "port": 9000, "targetPort": "admin"}]}}))
        .unwrap()
    }

    fn endpoints() -> Endpoints {
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": "10.0.0.2"}, {"ip": "10.0.0.3"}],
                         "notReadyAddresses": [{"ip": "10.0.0.9"}],
                         "ports": [{"name": "http", "port": 8080}, {"name": "admin", "port": 9090}]}]}))
        .unwrap()
    }

    #[test]
    fn ports_resolve_by_number_or_name_to_ready_addresses() {
        let (svc, ep) = (service(), endpoints());
        let got = resolve(&backend(by_number(80)), Some(&svc), Some(&ep)).unwrap();
        assert_eq!(
            got,
            ["10.0.0.2:8080".parse().unwrap(), "10.0.0.3:8080".parse().unwrap()]
        );
        let got = resolve(&backend(by_name("admin")), Some(&svc), Some(&ep)).unwrap();
        assert_eq!(
            got,
            ["10.0.0.2:9090".parse().unwrap(), "10.0.0.3:9090".parse().unwrap()]
        );
    }

    #[test]
    fn missing_pieces_are_named() {
        let (svc, ep) = (service(), endpoints());
        let err = |b, s, e| resolve(&backend(b), s, e).unwrap_err().to_string();
        assert_eq!(
            err(by_number(80), None, Some(&ep)),
            "service \"default/web\" does not exist"
        );
        assert_eq!(
            err(by_number(81), Some(&svc), Some(&ep)),
            "service \"default/web\" has no port 81"
        );
        assert_eq!(
            err(by_name("http"), Some(&svc), None),
            "service \"default/web\" has no ready endpoints for port http"
        );
    }

    #[test]
    fn a_single_unnamed_port_matches_whatever_its_endpoints_call_it() {
        let svc: Service =
            serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}})).unwrap();
        let ep: Endpoints = serde_json::from_value(json!({"metadata": {"name": "web"},
            "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 4000}]}]}))
        .unwrap();
        let got = resolve(&backend(by_number(80)), Some(&svc), Some(&ep)).unwrap();
        assert_eq!(got, ["127.0.0.1:4000".parse().unwrap()]);
    }

    #[test]
    fn round_robin_takes_turns() {
        let up = Upstream::new(vec!["10.0.0.1:1".parse().unwrap(), "10.0.0.2:1".parse().unwrap()]);
        let picks: Vec<_> = (0..4).map(|_| up.pick().unwrap().ip().to_string()).collect();
        assert_eq!(picks, ["10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.2"]);
        assert_eq!(Upstream::new(Vec::new()).pick(), None);
    }
}
