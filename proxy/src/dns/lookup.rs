//! # Answering one question from a snapshot (pure)
//!
//! [`lookup`] is the whole of what the cluster DNS *means*: a function from a [`Snapshot`] and a
//! [`Question`] to an [`Answer`], with no I/O and no clock, so every rule of the Kubernetes DNS
//! specification is a unit test below. The wire format lives in [`crate::dns::codec`], the
//! sockets in [`crate::dns::serve`].
//!
//! The names it answers (zone `cluster.local`, TTL 5 s as CoreDNS's default):
//!
//! ```text
//!   web.shop.svc.cluster.local            A    the ClusterIP (headless: each ready endpoint's IP)
//!   db-0.db.shop.svc.cluster.local        A    a headless endpoint by its hostname
//!   10-0-0-7.db.shop.svc.cluster.local    A    ... or by its IP with dashes when it has none
//!   _http._tcp.web.shop.svc.cluster.local SRV  one record per named port (headless: per ready
//!                                              endpoint), the targets' A records in "additional"
//!   ext.shop.svc.cluster.local            CNAME an ExternalName Service's external name
//!   10-0-0-7.shop.pod.cluster.local       A    10.0.0.7 (CoreDNS's `pods insecure`)
//!   dns-version.cluster.local             TXT  the version of the DNS schema
//! ```
//!
//! A name that exists but has no record of the asked type (AAAA for a Service, say) is
//! NOERROR with no answers ("no data"); a name under `cluster.local` that does not exist is
//! NXDOMAIN. Both carry the zone's SOA record in the authority section, whose minimum TTL tells
//! resolvers how long they may remember the absence. A name outside `cluster.local` is
//! NXDOMAIN too, but not authoritative and without an SOA: this server knows the cluster only and
//! forwards nothing anywhere (kubelab sends no traffic beyond the machine). Why not REFUSED, as
//! CoreDNS without a `forward` plugin says? A pod's resolver tries the bare name last, after its
//! search domains (`nothing`, then `nothing.`), and glibc turns a REFUSED there into "temporary
//! failure in name resolution", which programs retry; NXDOMAIN is the honest "no such name".

use std::net::Ipv4Addr;

use super::snapshot::{Endpoint, NamedPort, ServiceEntry, Snapshot, Target};

/// The cluster's DNS zone.
pub const ZONE: &str = "cluster.local";
/// The TTL of every record, in seconds (CoreDNS's default): short, so a change in the cluster
/// reaches clients within seconds.
pub const TTL: u32 = 5;
/// The version of the Kubernetes DNS specification answered (`dns-version.cluster.local`).
pub const SCHEMA_VERSION: &str = "1.1.0";

/// The record types the lookup knows; any other is `Other` and finds no data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Ns,
    Soa,
    Srv,
    Txt,
    /// `ANY` (`*`): every record of the name.
    Any,
    Other(u16),
}

/// One question: a name (lowercase, without the final dot) and a type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub qtype: RecordType,
}

impl Question {
    pub fn new(name: &str, qtype: RecordType) -> Self {
        Question {
            name: name.trim_end_matches('.').to_ascii_lowercase(),
            qtype,
        }
    }
}

/// The data of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordData {
    A(Ipv4Addr),
    Cname(String),
    Ns(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    Soa {
        mname: String,
        rname: String,
        serial: u32,
        refresh: i32,
        retry: i32,
        expire: i32,
        minimum: u32,
    },
    Txt(String),
}

/// One resource record: owner name (without the final dot), TTL, data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub ttl: u32,
    pub data: RecordData,
}

impl Record {
    fn new(name: impl Into<String>, data: RecordData) -> Self {
        Record {
            name: name.into(),
            ttl: TTL,
            data,
        }
    }
}

/// The response code of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rcode {
    NoError,
    NxDomain,
}

/// What the server answers: a code and the three sections of records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub rcode: Rcode,
    /// Whether this server is the authority for the name (everything under `cluster.local`).
    pub authoritative: bool,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additional: Vec<Record>,
}

impl Answer {
    /// A name outside the zone: no such name here, and this server is not its authority.
    fn outside() -> Self {
        Answer {
            rcode: Rcode::NxDomain,
            authoritative: false,
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
        }
    }

    /// An authoritative answer: records, or (with none) "no data" with the SOA.
    fn found(snapshot: &Snapshot, answers: Vec<Record>, additional: Vec<Record>) -> Self {
        let authority = if answers.is_empty() {
            vec![soa(snapshot)]
        } else {
            Vec::new()
        };
        Answer {
            rcode: Rcode::NoError,
            authoritative: true,
            answers,
            authority,
            additional,
        }
    }

    fn nxdomain(snapshot: &Snapshot) -> Self {
        Answer {
            rcode: Rcode::NxDomain,
            authoritative: true,
            answers: Vec::new(),
            authority: vec![soa(snapshot)],
            additional: Vec::new(),
        }
    }
}

/// The zone's SOA record, shaped as CoreDNS's.
fn soa(snapshot: &Snapshot) -> Record {
    Record::new(
        ZONE,
        RecordData::Soa {
            mname: format!("ns.dns.{ZONE}"),
            rname: format!("hostmaster.{ZONE}"),
            serial: snapshot.serial,
            refresh: 7200,
            retry: 1800,
            expire: 86400,
            minimum: TTL,
        },
    )
}

/// The full name of Service `name` in `namespace`.
pub fn service_name(namespace: &str, name: &str) -> String {
    format!("{name}.{namespace}.svc.{ZONE}")
}

/// Answers `question` from `snapshot`.
pub fn lookup(snapshot: &Snapshot, question: &Question) -> Answer {
    let name = question.name.as_str();
    let Some(relative) = strip_zone(name) else {
        return Answer::outside();
    };
    // Labels from the zone down: `web.shop.svc` → ["svc", "shop", "web"].
    let labels: Vec<&str> = if relative.is_empty() {
        Vec::new()
    } else {
        relative.rsplit('.').collect()
    };
    let qtype = question.qtype;
    let wants = |t: RecordType| qtype == t || qtype == RecordType::Any;
    match labels.as_slice() {
        // The zone's apex: its SOA and NS.
        [] => {
            let mut answers = Vec::new();
            if wants(RecordType::Soa) {
                answers.push(soa(snapshot));
            }
            if wants(RecordType::Ns) {
                answers.push(Record::new(ZONE, RecordData::Ns(format!("ns.dns.{ZONE}"))));
            }
            Answer::found(snapshot, answers, Vec::new())
        }
        ["dns-version"] => {
            let answers = if wants(RecordType::Txt) {
                vec![Record::new(name, RecordData::Txt(SCHEMA_VERSION.into()))]
            } else {
                Vec::new()
            };
            Answer::found(snapshot, answers, Vec::new())
        }
        // Names that exist only because names below them do ("empty non-terminals").
        ["svc"] | ["pod"] => Answer::found(snapshot, Vec::new(), Vec::new()),
        ["svc", namespace] => {
            if snapshot.namespaces.contains(*namespace) {
                Answer::found(snapshot, Vec::new(), Vec::new())
            } else {
                Answer::nxdomain(snapshot)
            }
        }
        ["svc", namespace, service] => match snapshot.service(namespace, service) {
            Some(entry) => service_records(snapshot, name, entry, qtype),
            None => Answer::nxdomain(snapshot),
        },
        ["svc", namespace, service, rest @ ..] => match snapshot.service(namespace, service) {
            Some(entry) => below_service(snapshot, namespace, service, entry, rest, qtype),
            None => Answer::nxdomain(snapshot),
        },
        ["pod", _namespace, dashed] => match undash(dashed) {
            Some(ip) => {
                let answers = if wants(RecordType::A) {
                    vec![Record::new(name, RecordData::A(ip))]
                } else {
                    Vec::new()
                };
                Answer::found(snapshot, answers, Vec::new())
            }
            None => Answer::nxdomain(snapshot),
        },
        _ => Answer::nxdomain(snapshot),
    }
}

/// The part of `name` before `.cluster.local` (`""` for the zone itself), or `None` when the
/// name is outside the zone.
fn strip_zone(name: &str) -> Option<&str> {
    if name == ZONE {
        return Some("");
    }
    name.strip_suffix(ZONE)?.strip_suffix('.')
}

/// `10-0-0-7` → 10.0.0.7.
fn undash(label: &str) -> Option<Ipv4Addr> {
    let dotted = label.replace('-', ".");
    (label.split('-').count() == 4).then_some(())?;
    dotted.parse().ok()
}

/// The records of `<service>.<ns>.svc.cluster.local` itself.
fn service_records(snapshot: &Snapshot, name: &str, entry: &ServiceEntry, qtype: RecordType) -> Answer {
    let wants_a = matches!(qtype, RecordType::A | RecordType::Any);
    let answers = match &entry.target {
        Target::ClusterIp(ip) if wants_a => vec![Record::new(name, RecordData::A(*ip))],
        Target::Headless(endpoints) if wants_a => endpoints
            .iter()
            .map(|e| Record::new(name, RecordData::A(e.ip)))
            .collect(),
        // A CNAME stands for the name whatever the type asked (the resolver follows it).
        Target::ExternalName(external) => vec![Record::new(name, RecordData::Cname(external.clone()))],
        _ => Vec::new(),
    };
    Answer::found(snapshot, answers, Vec::new())
}

/// Names below a Service: `_port._proto.<svc>...` (SRV) and `<endpoint>.<svc>...` (A).
fn below_service(
    snapshot: &Snapshot,
    namespace: &str,
    service: &str,
    entry: &ServiceEntry,
    rest: &[&str],
    qtype: RecordType,
) -> Answer {
    let full = service_name(namespace, service);
    let wants = |t: RecordType| qtype == t || qtype == RecordType::Any;
    match rest {
        // `_tcp.web.shop.svc...`: exists if some named port uses that protocol.
        [proto] if proto.starts_with('_') => {
            let exists = srv_ports(entry).iter().any(|p| p.protocol == proto[1..]);
            if exists {
                Answer::found(snapshot, Vec::new(), Vec::new())
            } else {
                Answer::nxdomain(snapshot)
            }
        }
        [proto, port] if proto.starts_with('_') && port.starts_with('_') => {
            let (proto, port) = (&proto[1..], &port[1..]);
            let name = format!("_{port}._{proto}.{full}");
            let targets = srv_targets(entry, &full, proto, port);
            if targets.is_empty() && !srv_ports(entry).iter().any(|p| p.protocol == proto && p.name == port) {
                return Answer::nxdomain(snapshot);
            }
            if !wants(RecordType::Srv) {
                return Answer::found(snapshot, Vec::new(), Vec::new());
            }
            let weight = u16::try_from(100 / targets.len().max(1)).unwrap_or(1).max(1);
            let mut answers = Vec::new();
            let mut additional: Vec<Record> = Vec::new();
            for (target, port_number, ip) in targets {
                answers.push(Record::new(
                    name.clone(),
                    RecordData::Srv {
                        priority: 0,
                        weight,
                        port: port_number,
                        target: target.clone(),
                    },
                ));
                let a = Record::new(target, RecordData::A(ip));
                if !additional.contains(&a) {
                    additional.push(a);
                }
            }
            Answer::found(snapshot, answers, additional)
        }
        // `db-0.db.shop.svc...` or `10-0-0-7.db.shop.svc...`: one headless endpoint.
        [label] => {
            let Target::Headless(endpoints) = &entry.target else {
                return Answer::nxdomain(snapshot);
            };
            let matching: Vec<&Endpoint> = endpoints.iter().filter(|e| e.label() == *label).collect();
            if matching.is_empty() {
                return Answer::nxdomain(snapshot);
            }
            let answers = if wants(RecordType::A) {
                let name = format!("{label}.{full}");
                matching
                    .iter()
                    .map(|e| Record::new(name.clone(), RecordData::A(e.ip)))
                    .collect()
            } else {
                Vec::new()
            };
            Answer::found(snapshot, answers, Vec::new())
        }
        _ => Answer::nxdomain(snapshot),
    }
}

/// Every named port an SRV record could be made of: the Service's, and (headless) the
/// endpoints'.
fn srv_ports(entry: &ServiceEntry) -> Vec<&NamedPort> {
    let mut ports: Vec<&NamedPort> = entry.ports.iter().collect();
    if let Target::Headless(endpoints) = &entry.target {
        ports.extend(endpoints.iter().flat_map(|e| &e.ports));
    }
    ports
}

/// The SRV targets of port `port`/`proto`: (target name, port number, the target's address).
/// A ClusterIP Service has one, the Service's own name; a headless one has one per endpoint
/// that has that port, named after the endpoint.
fn srv_targets(entry: &ServiceEntry, full: &str, proto: &str, port: &str) -> Vec<(String, u16, Ipv4Addr)> {
    let is = |p: &&NamedPort| p.protocol == proto && p.name == port;
    match &entry.target {
        Target::ClusterIp(ip) => entry
            .ports
            .iter()
            .filter(is)
            .map(|p| (full.to_string(), p.port, *ip))
            .collect(),
        Target::Headless(endpoints) => endpoints
            .iter()
            .flat_map(|e| {
                e.ports
                    .iter()
                    .filter(is)
                    .map(move |p| (format!("{}.{full}", e.label()), p.port, e.ip))
            })
            .collect(),
        Target::ExternalName(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::snapshot::tests::{endpoints, service};
    use serde_json::json;

    fn snapshot() -> Snapshot {
        let services = [
            service(json!({"metadata": {"name": "web", "namespace": "shop"},
                "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80, "targetPort": 8080},
                         {"port": 81}]}})),
            service(json!({"metadata": {"name": "db", "namespace": "shop"},
                "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]}})),
            service(json!({"metadata": {"name": "empty", "namespace": "shop"},
                "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]}})),
            service(json!({"metadata": {"name": "ext", "namespace": "shop"},
                "spec": {"type": "ExternalName", "externalName": "example.com"}})),
        ];
        let eps = [endpoints(
            json!({"metadata": {"name": "db", "namespace": "shop"}, "subsets": [
            {"addresses": [{"ip": "10.0.0.2", "hostname": "db-0"}, {"ip": "10.0.0.7"}],
             "notReadyAddresses": [{"ip": "10.0.0.3", "hostname": "db-1"}],
             "ports": [{"name": "pg", "port": 5432}]}]}),
        )];
        Snapshot::build(&services, &eps, 42)
    }

    fn ask(name: &str, qtype: RecordType) -> Answer {
        lookup(&snapshot(), &Question::new(name, qtype))
    }

    fn a_records(answer: &Answer) -> Vec<String> {
        answer
            .answers
            .iter()
            .map(|r| match &r.data {
                RecordData::A(ip) => ip.to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_cluster_ip_service_resolves_to_its_cluster_ip() {
        let answer = ask("Web.Shop.svc.cluster.local.", RecordType::A);
        assert_eq!(answer.rcode, Rcode::NoError);
        assert!(answer.authoritative);
        assert_eq!(a_records(&answer), ["10.96.0.20"]);
        assert_eq!(answer.answers[0].name, "web.shop.svc.cluster.local");
        assert_eq!(answer.answers[0].ttl, 5);
    }

    #[test]
    fn a_headless_service_resolves_to_its_ready_endpoints_only() {
        let answer = ask("db.shop.svc.cluster.local", RecordType::A);
        assert_eq!(a_records(&answer), ["10.0.0.2", "10.0.0.7"], "not 10.0.0.3, not ready");
        // No ready endpoint: the name still exists, with no records.
        let empty = ask("empty.shop.svc.cluster.local", RecordType::A);
        assert_eq!((empty.rcode, empty.answers.len()), (Rcode::NoError, 0));
        assert!(matches!(empty.authority[0].data, RecordData::Soa { .. }));
    }

    #[test]
    fn a_headless_endpoint_resolves_by_hostname_or_dashed_ip() {
        assert_eq!(
            a_records(&ask("db-0.db.shop.svc.cluster.local", RecordType::A)),
            ["10.0.0.2"]
        );
        assert_eq!(
            a_records(&ask("10-0-0-7.db.shop.svc.cluster.local", RecordType::A)),
            ["10.0.0.7"]
        );
        let not_ready = ask("db-1.db.shop.svc.cluster.local", RecordType::A);
        assert_eq!(not_ready.rcode, Rcode::NxDomain, "a not-ready endpoint has no name");
        let of_cluster_ip = ask("x.web.shop.svc.cluster.local", RecordType::A);
        assert_eq!(of_cluster_ip.rcode, Rcode::NxDomain);
    }

    #[test]
    fn srv_of_a_cluster_ip_service_targets_its_name_with_the_a_record_as_additional() {
        let answer = ask("_http._tcp.web.shop.svc.cluster.local", RecordType::Srv);
        assert_eq!(answer.rcode, Rcode::NoError);
        assert_eq!(
            answer.answers,
            [Record::new(
                "_http._tcp.web.shop.svc.cluster.local",
                RecordData::Srv {
                    priority: 0,
                    weight: 100,
                    port: 80,
                    target: "web.shop.svc.cluster.local".into()
                }
            )]
        );
        assert_eq!(
            answer.additional,
            [Record::new(
                "web.shop.svc.cluster.local",
                RecordData::A(Ipv4Addr::new(10, 96, 0, 20))
            )]
        );
        // Wrong protocol or an unknown port name: no such name.
        for name in [
            "_http._udp.web.shop.svc.cluster.local",
            "_nope._tcp.web.shop.svc.cluster.local",
        ] {
            assert_eq!(ask(name, RecordType::Srv).rcode, Rcode::NxDomain, "{name}");
        }
        // `_tcp.web...` exists (below it are records), with no data of its own.
        let parent = ask("_tcp.web.shop.svc.cluster.local", RecordType::Srv);
        assert_eq!((parent.rcode, parent.answers.len()), (Rcode::NoError, 0));
    }

    #[test]
    fn srv_of_a_headless_service_has_one_record_per_ready_endpoint() {
        let answer = ask("_pg._tcp.db.shop.svc.cluster.local", RecordType::Srv);
        let targets: Vec<(String, u16)> = answer
            .answers
            .iter()
            .map(|r| match &r.data {
                RecordData::Srv { target, port, .. } => (target.clone(), *port),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            targets,
            [
                ("db-0.db.shop.svc.cluster.local".to_string(), 5432),
                ("10-0-0-7.db.shop.svc.cluster.local".to_string(), 5432)
            ]
        );
        assert_eq!(
            answer.additional.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["db-0.db.shop.svc.cluster.local", "10-0-0-7.db.shop.svc.cluster.local"]
        );
        // Every target is itself a name that resolves.
        for (target, _) in targets {
            assert_eq!(ask(&target, RecordType::A).answers.len(), 1, "{target}");
        }
        // A headless Service whose endpoints are all gone: the SRV name exists, without data.
        let empty = ask("_pg._tcp.empty.shop.svc.cluster.local", RecordType::Srv);
        assert_eq!((empty.rcode, empty.answers.len()), (Rcode::NoError, 0));
    }

    #[test]
    fn other_types_of_an_existing_name_are_no_data_not_nxdomain() {
        for (name, qtype) in [
            ("web.shop.svc.cluster.local", RecordType::Aaaa),
            ("db.shop.svc.cluster.local", RecordType::Aaaa),
            ("web.shop.svc.cluster.local", RecordType::Srv),
            ("_http._tcp.web.shop.svc.cluster.local", RecordType::A),
            ("db-0.db.shop.svc.cluster.local", RecordType::Txt),
            ("shop.svc.cluster.local", RecordType::A),
            ("svc.cluster.local", RecordType::A),
            ("cluster.local", RecordType::A),
        ] {
            let answer = ask(name, qtype);
            assert_eq!(answer.rcode, Rcode::NoError, "{name} {qtype:?}");
            assert!(answer.answers.is_empty(), "{name} {qtype:?}");
            assert_eq!(answer.authority.len(), 1, "the SOA, for negative caching");
        }
    }

    #[test]
    fn unknown_names_in_the_zone_are_nxdomain_with_the_soa() {
        for name in [
            "nope.shop.svc.cluster.local",
            "web.nope.svc.cluster.local",
            "nope.svc.cluster.local",
            "web.shop.cluster.local",
            "a.b.c.web.shop.svc.cluster.local",
            "x.cluster.local",
        ] {
            let answer = ask(name, RecordType::A);
            assert_eq!(answer.rcode, Rcode::NxDomain, "{name}");
            assert!(answer.authoritative);
            let RecordData::Soa { serial, minimum, .. } = &answer.authority[0].data else {
                panic!("{name}: no SOA")
            };
            assert_eq!((*serial, *minimum), (42, TTL));
        }
    }

    #[test]
    fn names_outside_the_zone_are_nxdomain_never_forwarded() {
        for name in [
            "example.com",
            "cluster.local.example.com",
            "notcluster.local",
            "web.shop",
        ] {
            let answer = ask(name, RecordType::A);
            assert_eq!(answer.rcode, Rcode::NxDomain, "{name}");
            assert!(!answer.authoritative, "{name}: not our zone");
            assert!(answer.answers.is_empty() && answer.authority.is_empty());
        }
    }

    #[test]
    fn external_names_pods_the_apex_and_the_schema_version() {
        let ext = ask("ext.shop.svc.cluster.local", RecordType::A);
        assert_eq!(ext.answers[0].data, RecordData::Cname("example.com".into()));
        assert_eq!(
            a_records(&ask("10-1-2-3.shop.pod.cluster.local", RecordType::A)),
            ["10.1.2.3"]
        );
        assert_eq!(
            ask("10-1-2.shop.pod.cluster.local", RecordType::A).rcode,
            Rcode::NxDomain
        );
        let apex = ask("cluster.local", RecordType::Soa);
        assert!(matches!(apex.answers[0].data, RecordData::Soa { serial: 42, .. }));
        let version = ask("dns-version.cluster.local", RecordType::Txt);
        assert_eq!(version.answers[0].data, RecordData::Txt(SCHEMA_VERSION.into()));
    }

    #[test]
    fn any_returns_every_record_of_the_name() {
        let answer = ask("web.shop.svc.cluster.local", RecordType::Any);
        assert_eq!(a_records(&answer), ["10.96.0.20"]);
    }
}
