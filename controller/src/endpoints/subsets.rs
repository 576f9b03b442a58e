//! The heart of the Endpoints controller: which addresses and ports a Service has, computed from
//! the Service and the pods alone (no I/O, so every rule is a unit test).
//!
//! For each pod the Service's selector matches:
//!
//! - no IP yet, finished (`Succeeded`/`Failed`), or being deleted → left out: there is nothing
//!   to send traffic to, or soon will not be;
//! - Ready → `addresses`; otherwise → `notReadyAddresses` (DNS of a StatefulSet can still list it
//!   with `publishNotReadyAddresses`, which puts every pod in `addresses`, deleting ones too);
//! - each service port resolves to a pod port through `targetPort`: a number is used as it is, a
//!   name is looked up among the pod's container ports (same protocol); a pod without that named
//!   port is left out *for that port*, as Kubernetes does.
//!
//! Addresses that serve the same set of ports are grouped into one subset, so a Deployment
//! whose pods are all alike gives one subset; a rollout that renames a port gives two while it
//! lasts. Everything is sorted, so the same world gives the same object and no needless write.

use std::collections::{BTreeMap, BTreeSet};

use kubelab_api::core::{EndpointAddress, EndpointPort, EndpointSubset, ObjectReference, Pod, Service, ServicePort};
use kubelab_api::intstr::IntOrString;

/// Whether the Service's selector (a plain map) matches the pod's labels. An empty selector
/// matches nothing here: such Services have hand-made Endpoints.
pub fn selects(service: &Service, pod: &Pod) -> bool {
    let selector = &service.spec.selector;
    !selector.is_empty()
        && pod.metadata.namespace() == service.metadata.namespace()
        && selector.iter().all(|(k, v)| pod.metadata.labels.get(k) == Some(v))
}

/// The pod's Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn pod_ip(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()
        .and_then(|s| s.pod_ip.as_deref())
        .filter(|ip| !ip.is_empty())
}

fn is_finished(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded") | Some("Failed")
    )
}

fn protocol(protocol: Option<&str>) -> &str {
    protocol.filter(|p| !p.is_empty()).unwrap_or("TCP")
}

/// The pod's port for a service port: `targetPort` as a number, or the container port with that
/// name and protocol. `None` if the pod has no such named port.
pub fn find_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    match &port.target_port {
        None => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        // A number written as a string ("8080") is a number, as Kubernetes parses it.
        Some(IntOrString::String(name)) => match name.parse::<i32>() {
            Ok(n) => Some(n),
            Err(_) => pod
                .spec
                .containers
                .iter()
                .flat_map(|c| &c.ports)
                .find(|p| {
                    p.name.as_deref() == Some(name.as_str())
                        && protocol(p.protocol.as_deref()) == protocol(port.protocol.as_deref())
                })
                .map(|p| p.container_port),
        },
    }
}

fn address(service: &Service, pod: &Pod, ip: &str) -> EndpointAddress {
    // A pod with `hostname` and `subdomain` = this Service gets a DNS name of its own
    // (`db-0.db.default.svc.cluster.local`), which DNS reads from here.
    let hostname = pod
        .spec
        .hostname
        .as_ref()
        .filter(|h| !h.is_empty() && pod.spec.subdomain.as_deref() == Some(service.metadata.name()))
        .cloned();
    EndpointAddress {
        ip: ip.to_string(),
        hostname,
        node_name: pod.spec.node_name.clone().filter(|n| !n.is_empty()),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: Some(pod.metadata.namespace().to_string()),
            name: Some(pod.metadata.name().to_string()),
            uid: pod.metadata.uid.clone(),
            ..Default::default()
        }),
    }
}

/// A port as a sortable key: (name, port, protocol, appProtocol).
type PortKey = (String, i32, String, String);

fn port_key(port: &EndpointPort) -> PortKey {
    (
        port.name.clone().unwrap_or_default(),
        port.port,
        port.protocol.clone().unwrap_or_default(),
        port.app_protocol.clone().unwrap_or_default(),
    )
}

/// The Endpoints subsets of `service` given `pods` (any pods: those the selector does not match
/// are skipped).
pub fn compute_subsets<'a>(service: &Service, pods: impl IntoIterator<Item = &'a Pod>) -> Vec<EndpointSubset> {
    let publish_not_ready = service.spec.publish_not_ready_addresses == Some(true);
    // For each port set, the ready and the not-ready addresses serving exactly it.
    type Group = (Vec<EndpointAddress>, Vec<EndpointAddress>);
    let mut groups: BTreeMap<BTreeSet<PortKey>, (Vec<EndpointPort>, Group)> = BTreeMap::new();
    for pod in pods.into_iter().filter(|p| selects(service, p)) {
        let Some(ip) = pod_ip(pod) else { continue };
        if is_finished(pod) || (pod.metadata.deletion_timestamp.is_some() && !publish_not_ready) {
            continue;
        }
        let ports: Vec<EndpointPort> = service
            .spec
            .ports
            .iter()
            .filter_map(|sp| {
                find_port(pod, sp).map(|port| EndpointPort {
                    name: sp.name.clone().filter(|n| !n.is_empty()),
                    port,
                    protocol: Some(protocol(sp.protocol.as_deref()).to_string()),
                    app_protocol: sp.app_protocol.clone(),
                })
            })
            .collect();
        // A Service with ports, none of which this pod has: nothing to reach it on.
        if ports.is_empty() && !service.spec.ports.is_empty() {
            continue;
        }
        let key: BTreeSet<PortKey> = ports.iter().map(port_key).collect();
        let entry = groups.entry(key).or_insert_with(|| (ports, Default::default()));
        let address = address(service, pod, ip);
        if publish_not_ready || is_ready(pod) {
            entry.1 .0.push(address);
        } else {
            entry.1 .1.push(address);
        }
    }
    groups
        .into_values()
        .map(|(mut ports, (mut ready, mut not_ready))| {
            ports.sort_by_key(port_key);
            let by_ip = |a: &EndpointAddress| (a.ip.clone(), a.target_ref.as_ref().and_then(|r| r.uid.clone()));
            ready.sort_by_key(by_ip);
            not_ready.sort_by_key(by_ip);
            EndpointSubset {
                addresses: ready,
                not_ready_addresses: not_ready,
                ports,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(spec: serde_json::Value) -> Service {
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec})).unwrap()
    }

    fn pod(name: &str, ip: Option<&str>, ready: bool, ports: serde_json::Value) -> Pod {
        let mut status = json!({"phase": "Running",
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]});
        if let Some(ip) = ip {
            status["podIP"] = json!(ip);
        }
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"), "labels": {"app": "web"}},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "x", "ports": ports}]},
            "status": status,
        }))
        .unwrap()
    }

    fn ips(list: &[EndpointAddress]) -> Vec<&str> {
        list.iter().map(|a| a.ip.as_str()).collect()
    }

    #[test]
    fn ready_and_not_ready_pods_are_split_and_sorted() {
        let svc = service(json!({"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}));
        let pods = [
            pod("b", Some("10.0.0.2"), true, json!([])),
            pod("a", Some("10.0.0.1"), true, json!([])),
            pod("c", Some("10.0.0.3"), false, json!([])),
            pod("pending", None, false, json!([])),
        ];
        let subsets = compute_subsets(&svc, &pods);
        assert_eq!(subsets.len(), 1);
        assert_eq!(ips(&subsets[0].addresses), ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(ips(&subsets[0].not_ready_addresses), ["10.0.0.3"]);
        assert_eq!(
            subsets[0].ports,
            [EndpointPort {
                name: None,
                port: 8080,
                protocol: Some("TCP".into()),
                app_protocol: None
            }]
        );
        let first = &subsets[0].addresses[0];
        assert_eq!(first.node_name.as_deref(), Some("node-1"));
        let target = first.target_ref.as_ref().unwrap();
        assert_eq!(
            (
                target.kind.as_deref(),
                target.name.as_deref(),
                target.namespace.as_deref(),
                target.uid.as_deref()
            ),
            (Some("Pod"), Some("a"), Some("default"), Some("uid-a"))
        );
    }

    #[test]
    fn named_target_ports_resolve_per_pod_and_group_by_port_set() {
        let svc = service(json!({"selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": "web"}]}));
        let pods = [
            pod(
                "old",
                Some("10.0.0.1"),
                true,
                json!([{"name": "web", "containerPort": 8080}]),
            ),
            pod(
                "new",
                Some("10.0.0.2"),
                true,
                json!([{"name": "web", "containerPort": 9090}]),
            ),
            pod(
                "none",
                Some("10.0.0.3"),
                true,
                json!([{"name": "other", "containerPort": 7070}]),
            ),
            pod(
                "udp",
                Some("10.0.0.4"),
                true,
                json!([{"name": "web", "containerPort": 8080, "protocol": "UDP"}]),
            ),
        ];
        let subsets = compute_subsets(&svc, &pods);
        let summary: Vec<(Vec<&str>, i32)> = subsets.iter().map(|s| (ips(&s.addresses), s.ports[0].port)).collect();
        assert_eq!(summary, [(vec!["10.0.0.1"], 8080), (vec!["10.0.0.2"], 9090)]);
        assert_eq!(subsets[0].ports[0].name.as_deref(), Some("http"));
    }

    #[test]
    fn deleting_finished_and_unselected_pods_are_left_out() {
        let svc = service(json!({"selector": {"app": "web"}, "ports": [{"port": 80}]}));
        let mut deleting = pod("deleting", Some("10.0.0.1"), true, json!([]));
        deleting.metadata.deletion_timestamp = serde_json::from_value(json!("2024-01-01T00:00:00Z")).unwrap();
        let mut done = pod("done", Some("10.0.0.2"), false, json!([]));
        done.status.as_mut().unwrap().phase = Some("Succeeded".into());
        let mut other = pod("other", Some("10.0.0.3"), true, json!([]));
        other.metadata.labels.insert("app".into(), "db".into());
        let mut elsewhere = pod("elsewhere", Some("10.0.0.4"), true, json!([]));
        elsewhere.metadata.namespace = Some("prod".into());
        assert!(compute_subsets(&svc, &[deleting.clone(), done, other, elsewhere]).is_empty());
        // publishNotReadyAddresses lists everything with an IP as ready, deleting pods too.
        let mut publish = svc.clone();
        publish.spec.publish_not_ready_addresses = Some(true);
        let unready = pod("unready", Some("10.0.0.5"), false, json!([]));
        let subsets = compute_subsets(&publish, &[deleting, unready]);
        assert_eq!(ips(&subsets[0].addresses), ["10.0.0.1", "10.0.0.5"]);
    }

    #[test]
    fn headless_services_without_ports_list_bare_addresses_with_hostnames() {
        let svc = service(json!({"clusterIP": "None", "selector": {"app": "web"}}));
        let mut member = pod("web-0", Some("10.0.0.1"), true, json!([]));
        member.spec.hostname = Some("web-0".into());
        member.spec.subdomain = Some("web".into());
        let subsets = compute_subsets(&svc, &[member]);
        assert_eq!(subsets.len(), 1);
        assert!(subsets[0].ports.is_empty());
        assert_eq!(subsets[0].addresses[0].hostname.as_deref(), Some("web-0"));
    }

    #[test]
    fn empty_selectors_select_nothing() {
        let svc = service(json!({"ports": [{"port": 80}]}));
        assert!(compute_subsets(&svc, &[pod("a", Some("10.0.0.1"), true, json!([]))]).is_empty());
    }
}
