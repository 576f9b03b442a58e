//! # What the DNS server knows: a snapshot of Services and Endpoints (pure)
//!
//! CoreDNS's kubernetes plugin answers from memory: informers keep every Service and Endpoints
//! object of the cluster, and each question is answered from that copy without asking the API
//! server. kubelab does the same in two steps. [`crate::dns::follow`] keeps the informers; on
//! every change it calls [`Snapshot::build`], which turns the objects into the few facts DNS
//! needs, and publishes the result. A question is then answered from one immutable snapshot
//! ([`crate::dns::lookup`]), so an answer never mixes two versions of the cluster.
//!
//! The facts, per Service:
//!
//! - a **ClusterIP** Service has one address, its `spec.clusterIP`;
//! - a **headless** Service (`clusterIP: None`) has the addresses of its Endpoints: the ready
//!   ones (`subsets[].addresses`), plus the not-ready ones (`notReadyAddresses`) only if the
//!   Service says `publishNotReadyAddresses: true`. Each address keeps its `hostname` (set by
//!   the endpoints controller for pods whose `spec.subdomain` is the Service's name);
//! - an **ExternalName** Service has a name to point to (a CNAME);
//! - each has its **named ports**, which become SRV records.
//!
//! Names are compared case-insensitively in DNS, so everything is stored in lowercase. Odd data
//! (an address that is not an IP, a port out of range) is skipped with a reason in
//! [`Snapshot::skipped`], never a panic: one bad object must not take the cluster's DNS down.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use kubelab_api::core::{EndpointAddress, Endpoints, Service};

/// A named port of a Service or of an endpoint: what an SRV record is made from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NamedPort {
    /// The port's name, lowercase (`http`); unnamed ports get no SRV record and are not kept.
    pub name: String,
    /// `tcp`, `udp` or `sctp`, as it appears in `_http._tcp.web...`.
    pub protocol: String,
    pub port: u16,
}

/// One address behind a headless Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub ip: Ipv4Addr,
    /// The endpoint's `hostname` (a StatefulSet pod's `db-0`), lowercase, if it has a valid one.
    pub hostname: Option<String>,
    /// The endpoint's named ports (the numbers the pod listens on).
    pub ports: Vec<NamedPort>,
}

impl Endpoint {
    /// The first label of this endpoint's own name: its hostname, or its IP with dashes
    /// (`10-130-16-5`), as CoreDNS names endpoints that have no hostname.
    pub fn label(&self) -> String {
        match &self.hostname {
            Some(hostname) => hostname.clone(),
            None => self.ip.to_string().replace('.', "-"),
        }
    }
}

/// What a Service's name resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A Service with a virtual IP.
    ClusterIp(Ipv4Addr),
    /// A headless Service: its (ready) endpoints, possibly none.
    Headless(Vec<Endpoint>),
    /// `type: ExternalName`: an alias (CNAME) for a name outside the cluster.
    ExternalName(String),
}

/// One Service, as DNS sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEntry {
    pub target: Target,
    /// The Service's named ports (for a ClusterIP Service's SRV records).
    pub ports: Vec<NamedPort>,
}

/// Everything DNS answers from, built at once from the informers' objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Services by (namespace, name), both lowercase.
    pub services: BTreeMap<(String, String), ServiceEntry>,
    /// Namespaces that hold at least one Service (`<ns>.svc.cluster.local` exists).
    pub namespaces: BTreeSet<String>,
    /// The zone's serial number (the SOA record's), new for every snapshot.
    pub serial: u32,
    /// Why some objects (or parts of them) were left out, one sentence each.
    pub skipped: Vec<String>,
}

impl Snapshot {
    /// Builds the snapshot from every Service and Endpoints object of the cluster.
    pub fn build<'a>(
        services: impl IntoIterator<Item = &'a Service>,
        endpoints: impl IntoIterator<Item = &'a Endpoints>,
        serial: u32,
    ) -> Snapshot {
        let endpoints: BTreeMap<(String, String), &Endpoints> = endpoints
            .into_iter()
            .map(|e| (key(e.metadata.namespace(), e.metadata.name()), e))
            .collect();
        let mut snapshot = Snapshot {
            serial,
            ..Snapshot::default()
        };
        for service in services {
            let (namespace, name) = key(service.metadata.namespace(), service.metadata.name());
            let what = format!("service {namespace}/{name}");
            if !is_label(&namespace) || !is_label(&name) {
                snapshot
                    .skipped
                    .push(format!("{what}: its name is not a DNS label; it has no DNS name"));
                continue;
            }
            let ports = service_ports(service, &what, &mut snapshot.skipped);
            let target = if service.spec.type_.as_deref() == Some("ExternalName") {
                match service.spec.external_name.as_deref().map(|n| n.trim_end_matches('.')) {
                    Some(external) if !external.is_empty() => Target::ExternalName(external.to_ascii_lowercase()),
                    _ => {
                        snapshot
                            .skipped
                            .push(format!("{what}: ExternalName without spec.externalName"));
                        continue;
                    }
                }
            } else {
                match service.spec.cluster_ip.as_deref() {
                    // Not allocated yet: no name until it has an address.
                    None | Some("") => continue,
                    Some("None") => {
                        let publish_not_ready = service.spec.publish_not_ready_addresses == Some(true);
                        let found = endpoints.get(&(namespace.clone(), name.clone())).copied();
                        Target::Headless(headless_endpoints(
                            found,
                            publish_not_ready,
                            &what,
                            &mut snapshot.skipped,
                        ))
                    }
                    Some(ip) => match ip.parse::<Ipv4Addr>() {
                        Ok(ip) => Target::ClusterIp(ip),
                        Err(_) => {
                            snapshot
                                .skipped
                                .push(format!("{what}: spec.clusterIP {ip:?} is not an IPv4 address"));
                            continue;
                        }
                    },
                }
            };
            snapshot.namespaces.insert(namespace.clone());
            snapshot
                .services
                .insert((namespace, name), ServiceEntry { target, ports });
        }
        snapshot
    }

    /// The Service `namespace/name` (both lowercase), if it has a DNS name.
    pub fn service(&self, namespace: &str, name: &str) -> Option<&ServiceEntry> {
        self.services.get(&(namespace.to_string(), name.to_string()))
    }
}

fn key(namespace: &str, name: &str) -> (String, String) {
    (namespace.to_ascii_lowercase(), name.to_ascii_lowercase())
}

/// A DNS label as Kubernetes names are: 1-63 of `a-z`, `0-9` and `-`, not starting or ending
/// with `-` (lowercase already).
pub fn is_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

fn protocol(name: Option<&str>) -> String {
    name.unwrap_or("TCP").to_ascii_lowercase()
}

/// A port's name and number as an SRV record needs them, or `None` for an unnamed port.
fn named_port(
    name: Option<&str>,
    proto: Option<&str>,
    number: i32,
    what: &str,
    skipped: &mut Vec<String>,
) -> Option<NamedPort> {
    let name = name.filter(|n| !n.is_empty())?.to_ascii_lowercase();
    let Some(port) = u16::try_from(number).ok().filter(|p| *p > 0) else {
        skipped.push(format!("{what}: port {name:?} has number {number}, outside 1-65535"));
        return None;
    };
    if !is_label(&name) {
        skipped.push(format!("{what}: port name {name:?} is not a DNS label; no SRV record"));
        return None;
    }
    Some(NamedPort {
        name,
        protocol: protocol(proto),
        port,
    })
}

fn service_ports(service: &Service, what: &str, skipped: &mut Vec<String>) -> Vec<NamedPort> {
    let mut ports: Vec<NamedPort> = service
        .spec
        .ports
        .iter()
        .filter_map(|p| named_port(p.name.as_deref(), p.protocol.as_deref(), p.port, what, skipped))
        .collect();
    ports.sort();
    ports.dedup();
    ports
}

/// The endpoints of a headless Service, one per address, merged across subsets (an address in
/// two subsets, with different ports, is one endpoint with both sets of ports).
fn headless_endpoints(
    endpoints: Option<&Endpoints>,
    publish_not_ready: bool,
    what: &str,
    skipped: &mut Vec<String>,
) -> Vec<Endpoint> {
    let mut found: Vec<Endpoint> = Vec::new();
    for subset in endpoints.map(|e| e.subsets.as_slice()).unwrap_or_default() {
        let mut ports: Vec<NamedPort> = subset
            .ports
            .iter()
            .filter_map(|p| named_port(p.name.as_deref(), p.protocol.as_deref(), p.port, what, skipped))
            .collect();
        ports.sort();
        let not_ready: &[EndpointAddress] = if publish_not_ready {
            &subset.not_ready_addresses
        } else {
            &[]
        };
        for address in subset.addresses.iter().chain(not_ready) {
            let Ok(ip) = address.ip.parse::<Ipv4Addr>() else {
                skipped.push(format!(
                    "{what}: endpoint address {:?} is not an IPv4 address",
                    address.ip
                ));
                continue;
            };
            let hostname = address
                .hostname
                .as_deref()
                .map(str::to_ascii_lowercase)
                .filter(|h| is_label(h));
            match found.iter_mut().find(|e| e.ip == ip && e.hostname == hostname) {
                Some(endpoint) => {
                    endpoint.ports.extend(ports.iter().cloned());
                    endpoint.ports.sort();
                    endpoint.ports.dedup();
                }
                None => found.push(Endpoint {
                    ip,
                    hostname,
                    ports: ports.clone(),
                }),
            }
        }
    }
    found.sort_by_key(|e| e.ip);
    found
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn service(value: serde_json::Value) -> Service {
        serde_json::from_value(value).unwrap()
    }

    pub(crate) fn endpoints(value: serde_json::Value) -> Endpoints {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn cluster_ip_headless_and_external_name_services() {
        let services = [
            service(json!({"metadata": {"name": "Web", "namespace": "shop"},
                "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "HTTP", "port": 80}, {"port": 81},
                         {"name": "dns", "port": 53, "protocol": "UDP"}]}})),
            service(json!({"metadata": {"name": "db", "namespace": "shop"},
                "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]}})),
            service(json!({"metadata": {"name": "ext", "namespace": "shop"},
                "spec": {"type": "ExternalName", "externalName": "Example.COM."}})),
            service(json!({"metadata": {"name": "pending", "namespace": "other"}, "spec": {}})),
        ];
        let eps = [endpoints(
            json!({"metadata": {"name": "db", "namespace": "shop"}, "subsets": [
            {"addresses": [{"ip": "10.0.0.2", "hostname": "db-0"}, {"ip": "10.0.0.1"}],
             "notReadyAddresses": [{"ip": "10.0.0.3", "hostname": "db-2"}],
             "ports": [{"name": "pg", "port": 5432}]}]}),
        )];
        let snap = Snapshot::build(&services, &eps, 7);
        assert_eq!(snap.serial, 7);
        let web = snap.service("shop", "web").unwrap();
        assert_eq!(web.target, Target::ClusterIp(Ipv4Addr::new(10, 96, 0, 20)));
        let names: Vec<(&str, &str, u16)> = web
            .ports
            .iter()
            .map(|p| (p.name.as_str(), p.protocol.as_str(), p.port))
            .collect();
        assert_eq!(
            names,
            [("dns", "udp", 53), ("http", "tcp", 80)],
            "unnamed ports get no SRV"
        );
        let Target::Headless(db) = &snap.service("shop", "db").unwrap().target else {
            panic!("db is headless")
        };
        assert_eq!(db.len(), 2, "not-ready addresses are left out: {db:?}");
        assert_eq!(db[0].label(), "10-0-0-1");
        assert_eq!(db[1].label(), "db-0");
        assert_eq!(
            snap.service("shop", "ext").unwrap().target,
            Target::ExternalName("example.com".into())
        );
        assert!(snap.service("other", "pending").is_none(), "no IP yet: no name");
        assert!(snap.namespaces.contains("shop") && !snap.namespaces.contains("other"));
        assert!(snap.skipped.is_empty(), "{:?}", snap.skipped);
    }

    #[test]
    fn publish_not_ready_addresses_keeps_the_not_ready_ones() {
        let services = [service(json!({"metadata": {"name": "db", "namespace": "default"},
            "spec": {"clusterIP": "None", "publishNotReadyAddresses": true}}))];
        let eps = [endpoints(
            json!({"metadata": {"name": "db", "namespace": "default"}, "subsets": [
            {"addresses": [{"ip": "10.0.0.1"}], "notReadyAddresses": [{"ip": "10.0.0.3"}]}]}),
        )];
        let snap = Snapshot::build(&services, &eps, 1);
        let Target::Headless(db) = &snap.service("default", "db").unwrap().target else {
            panic!()
        };
        assert_eq!(db.len(), 2);
    }

    #[test]
    fn odd_data_is_skipped_with_a_reason_not_a_panic() {
        let services = [
            service(json!({"metadata": {"name": "bad-ip", "namespace": "default"}, "spec": {"clusterIP": "ten"}})),
            service(
                json!({"metadata": {"name": "under_score", "namespace": "default"}, "spec": {"clusterIP": "10.96.0.9"}}),
            ),
            service(json!({"metadata": {"name": "db", "namespace": "default"},
                "spec": {"clusterIP": "None", "ports": [{"name": "big", "port": 70000}]}})),
            service(json!({"metadata": {"name": "ext", "namespace": "default"}, "spec": {"type": "ExternalName"}})),
        ];
        let eps = [endpoints(
            json!({"metadata": {"name": "db", "namespace": "default"}, "subsets": [
            {"addresses": [{"ip": "fd00::1"}, {"ip": "10.0.0.1", "hostname": "Not_A_Label"}],
             "ports": [{"name": "p", "port": -1}]}]}),
        )];
        let snap = Snapshot::build(&services, &eps, 1);
        assert!(snap.service("default", "bad-ip").is_none());
        assert!(snap.service("default", "under_score").is_none());
        assert!(snap.service("default", "ext").is_none());
        let Target::Headless(db) = &snap.service("default", "db").unwrap().target else {
            panic!()
        };
        assert_eq!(db.len(), 1, "the IPv6 address is skipped");
        assert_eq!(db[0].hostname, None, "an invalid hostname is dropped, the address kept");
        assert_eq!(snap.skipped.len(), 6, "{:#?}", snap.skipped);
    }
}
