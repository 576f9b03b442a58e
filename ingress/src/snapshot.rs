//! One consistent view of what to serve, rebuilt from the informers' caches on every change.
//!
//! The request path never looks at Ingresses, Services or Secrets directly: it reads the current
//! [`Snapshot`] (routes, each route's ready addresses, the certificates), and the controller loop
//! swaps in a new one when anything changes. Building is a pure function of the objects, so it is
//! unit tested without a server, and a request always sees routes and endpoints from the same
//! moment.

use std::collections::HashMap;
use std::sync::Arc;

use kubelab_api::core::{Endpoints, Secret, Service};
use kubelab_api::networking::{Ingress, IngressLoadBalancerIngress, IngressPortStatus, IngressStatus};

use crate::backends::{resolve, Unavailable, Upstream};
use crate::routes::{BackendRef, RouteTable};
use crate::tls::{certified_key, CertTable};

/// The legacy annotation that named a class before `spec.ingressClassName` existed.
pub const LEGACY_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// What the proxy serves right now.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub routes: RouteTable,
    /// Each routed Service port's ready addresses, or why there are none.
    pub upstreams: HashMap<BackendRef, Result<Upstream, Unavailable>>,
    pub certs: CertTable,
    /// `namespace/name` of the Ingresses served.
    pub served: Vec<String>,
    /// Certificates that could not be loaded, for the log.
    pub problems: Vec<String>,
}

/// Lookups in the informers' caches, by `namespace/name`.
pub struct Sources<'a> {
    pub service: &'a dyn Fn(&str) -> Option<Arc<Service>>,
    pub endpoints: &'a dyn Fn(&str) -> Option<Arc<Endpoints>>,
    pub secret: &'a dyn Fn(&str) -> Option<Arc<Secret>>,
}

/// Whether this controller serves an Ingress: it names our class (in `spec.ingressClassName`, or
/// the legacy annotation), or names none while our class is the cluster's default.
pub fn is_served(ingress: &Ingress, class: &str, class_is_default: bool) -> bool {
    if ingress.metadata.deletion_timestamp.is_some() {
        return false;
    }
    match ingress.spec.ingress_class_name.as_deref().filter(|c| !c.is_empty()) {
        Some(name) => name == class,
        None => match ingress.metadata.annotations.get(LEGACY_CLASS_ANNOTATION) {
            Some(name) => name == class,
            None => class_is_default,
        },
    }
}

/// Builds the snapshot from the Ingresses to serve.
pub fn build(ingresses: &[&Ingress], sources: &Sources<'_>) -> Snapshot {
    let routes = RouteTable::build(ingresses.iter().copied());
    let mut upstreams = HashMap::new();
    for backend in routes.backends() {
        if upstreams.contains_key(backend) {
            continue;
        }
        let key = format!("{}/{}", backend.namespace, backend.service);
        let service = (sources.service)(&key);
        let endpoints = (sources.endpoints)(&key);
        let resolved = resolve(backend, service.as_deref(), endpoints.as_deref()).map(Upstream::new);
        upstreams.insert(backend.clone(), resolved);
    }
    let mut ordered: Vec<&Ingress> = ingresses.to_vec();
    ordered.sort_by_key(|i| i.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let mut certs = CertTable::default();
    let mut problems = Vec::new();
    for ingress in &ordered {
        let namespace = ingress.metadata.namespace();
        for tls in &ingress.spec.tls {
            let Some(secret_name) = tls.secret_name.as_deref().filter(|s| !s.is_empty()) else {
                continue;
            };
            let key = format!("{namespace}/{secret_name}");
            let loaded = (sources.secret)(&key)
                .ok_or_else(|| crate::tls::TlsError::NoSecret(key.clone()))
                .and_then(|secret| certified_key(&key, &secret));
            match loaded {
                Ok(cert) => certs.add(&tls.hosts, cert),
                Err(e) => problems.push(format!("ingress {namespace}/{}: {e}", ingress.metadata.name())),
            }
        }
    }
    Snapshot {
        routes,
        upstreams,
        certs,
        served: ordered
            .iter()
            .map(|i| format!("{}/{}", i.metadata.namespace(), i.metadata.name()))
            .collect(),
        problems,
    }
}

/// The status every served Ingress gets: reachable at `ip`, on the proxy's ports.
pub fn desired_status(ip: &str, ports: &[u16]) -> IngressStatus {
    let mut status = IngressStatus::default();
    status.load_balancer.ingress.push(IngressLoadBalancerIngress {
        ip: Some(ip.to_string()),
        hostname: None,
        ports: ports
            .iter()
            .map(|&port| IngressPortStatus {
                port: i32::from(port),
                protocol: "TCP".into(),
                error: None,
            })
            .collect(),
    });
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::Route;
    use serde_json::json;

    fn ingress(value: serde_json::Value) -> Ingress {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn classes_decide_what_is_served() {
        let named = |c: &str| ingress(json!({"metadata": {"name": "a"}, "spec": {"ingressClassName": c}}));
        assert!(is_served(&named("kubelab"), "kubelab", false));
        assert!(!is_served(&named("nginx"), "kubelab", true));
        let unnamed = ingress(json!({"metadata": {"name": "a"}, "spec": {}}));
        assert!(is_served(&unnamed, "kubelab", true));
        assert!(!is_served(&unnamed, "kubelab", false));
        let legacy =
            ingress(json!({"metadata": {"name": "a", "annotations": {"kubernetes.io/ingress.class": "nginx"}}}));
        assert!(!is_served(&legacy, "kubelab", true));
    }

    #[test]
    fn a_snapshot_resolves_every_routed_service() {
        let one = ingress(
            json!({"metadata": {"name": "a", "namespace": "default"}, "spec": {"rules": [{"http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
            {"path": "/gone", "pathType": "Prefix", "backend": {"service": {"name": "gone", "port": {"number": 80}}}}]}}],
            "tls": [{"hosts": ["x"], "secretName": "missing"}]}}),
        );
        let web: Service =
            serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}})).unwrap();
        let ep: Endpoints = serde_json::from_value(json!({"metadata": {"name": "web"},
            "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 4000}]}]}))
        .unwrap();
        let (web, ep) = (Arc::new(web), Arc::new(ep));
        let service = move |k: &str| (k == "default/web").then(|| web.clone());
        let endpoints = move |k: &str| (k == "default/web").then(|| ep.clone());
        let secret = |_: &str| None;
        let sources = Sources {
            service: &service,
            endpoints: &endpoints,
            secret: &secret,
        };
        let snap = build(&[&one], &sources);
        let Some(Route::Backend(web_ref)) = snap.routes.route("h", "/") else {
            panic!("no route")
        };
        assert_eq!(
            snap.upstreams[web_ref].as_ref().unwrap().pick(),
            Some("127.0.0.1:4000".parse().unwrap())
        );
        let Some(Route::Backend(gone)) = snap.routes.route("h", "/gone") else {
            panic!("no route")
        };
        assert_eq!(
            snap.upstreams[gone].as_ref().unwrap_err().to_string(),
            "service \"default/gone\" does not exist"
        );
        assert_eq!(snap.served, ["default/a"]);
        assert_eq!(
            snap.problems,
            ["ingress default/a: secret \"default/missing\" does not exist"]
        );
        assert!(snap.certs.is_empty());
    }

    #[test]
    fn the_status_lists_the_address_and_ports() {
        let status = serde_json::to_value(desired_status("127.0.0.1", &[18080, 18443])).unwrap();
        assert_eq!(
            status,
            json!({"loadBalancer": {"ingress": [{"ip": "127.0.0.1",
            "ports": [{"port": 18080, "protocol": "TCP"}, {"port": 18443, "protocol": "TCP"}]}]}})
        );
    }
}
