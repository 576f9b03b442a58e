//! # Nodes, Services and the other core kinds
//!
//! - **Nodes**: STATUS comes from the `Ready` condition the node agent (and, when the agent goes
//!   silent, the node lifecycle controller) maintains: `Ready`, `NotReady`, or `Unknown` when
//!   there is no such condition; a cordoned node adds `,SchedulingDisabled`. ROLES are read from
//!   `node-role.kubernetes.io/<role>` labels, a convention, not a field.
//! - **Services**: PORT(S) reads `80/TCP`, or `80:30080/TCP` when a node port is open too;
//!   EXTERNAL-IP depends on the type (`<pending>` for a LoadBalancer nobody provisioned yet).
//! - **Events**: the columns of `kubectl events`: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE.
//! - Namespaces, ConfigMaps, Secrets, Endpoints, PVCs and Leases: a summary field or two.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    age, array, at, col, format_labels, int, map_len, name, or_none, since, text, text_or_empty, wide, Column, Printer,
    AGE, NAME,
};

/// Nodes.
pub const NODE: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Status",
            "string",
            "The node's Ready condition, and whether it is cordoned.",
        ),
        col(
            "Roles",
            "string",
            "The node's roles, from its node-role.kubernetes.io labels.",
        ),
        AGE,
        col("Version", "string", "The kubelet version the node agent reports."),
        wide("Internal-IP", "string", "The node's internal address."),
        wide("External-IP", "string", "The node's external address."),
        wide("OS-Image", "string", "The operating system the node reports."),
        wide("Kernel-Version", "string", "The kernel version the node reports."),
        wide("Container-Runtime", "string", "The container runtime and its version."),
    ],
    cells: node_cells,
    conditions: super::no_conditions,
};

fn node_cells(node: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let info = |field: &str| match text_or_empty(node, &["status", "nodeInfo", field]) {
        "" => "<unknown>".to_string(),
        value => value.to_string(),
    };
    vec![
        name(node).into(),
        node_status(node).into(),
        node_roles(node).into(),
        age(node, now),
        text_or_empty(node, &["status", "nodeInfo", "kubeletVersion"]).into(),
        node_address(node, "InternalIP").into(),
        node_address(node, "ExternalIP").into(),
        info("osImage").into(),
        info("kernelVersion").into(),
        info("containerRuntimeVersion").into(),
    ]
}

/// `Ready`, `NotReady`, `Unknown`, each possibly followed by `,SchedulingDisabled`.
pub fn node_status(node: &Value) -> String {
    let ready = array(node, &["status", "conditions"])
        .iter()
        .find(|c| text(c, &["type"]) == Some("Ready"));
    let mut status = match ready {
        Some(c) if text(c, &["status"]) == Some("True") => "Ready".to_string(),
        Some(_) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    };
    if at(node, &["spec", "unschedulable"]).and_then(Value::as_bool) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    status
}

/// Roles from `node-role.kubernetes.io/<role>` label keys and a `kubernetes.io/role` value,
/// sorted and without repeats; `<none>` without any.
pub fn node_roles(node: &Value) -> String {
    let mut roles: Vec<&str> = Vec::new();
    if let Some(labels) = at(node, &["metadata", "labels"]).and_then(Value::as_object) {
        for (key, value) in labels {
            if let Some(role) = key.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.push(role);
                }
            } else if key == "kubernetes.io/role" {
                if let Some(role) = value.as_str().filter(|r| !r.is_empty()) {
                    roles.push(role);
                }
            }
        }
    }
    roles.sort_unstable();
    roles.dedup();
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.join(",")
    }
}

fn node_address(node: &Value, kind: &str) -> String {
    array(node, &["status", "addresses"])
        .iter()
        .find(|a| text(a, &["type"]) == Some(kind))
        .map(|a| text_or_empty(a, &["address"]).to_string())
        .unwrap_or_else(|| "<none>".into())
}

/// Services.
pub const SERVICE: Printer = Printer {
    columns: &[
        NAME,
        col("Type", "string", "ClusterIP, NodePort, LoadBalancer or ExternalName."),
        col(
            "Cluster-IP",
            "string",
            "The virtual IP clients inside the cluster connect to.",
        ),
        col(
            "External-IP",
            "string",
            "Addresses outside the cluster that reach the service.",
        ),
        col("Port(s)", "string", "The service's ports: port[:nodePort]/protocol."),
        AGE,
        wide(
            "Selector",
            "string",
            "The labels of the pods the service sends traffic to.",
        ),
    ],
    cells: service_cells,
    conditions: super::no_conditions,
};

fn service_cells(svc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let service_type = text(svc, &["spec", "type"]).unwrap_or("ClusterIP");
    let cluster_ip = array(svc, &["spec", "clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .or_else(|| text(svc, &["spec", "clusterIP"]))
        .filter(|ip| !ip.is_empty())
        .unwrap_or("<none>");
    let ports = service_ports(array(svc, &["spec", "ports"]));
    vec![
        name(svc).into(),
        service_type.into(),
        cluster_ip.into(),
        external_ip(svc, service_type).into(),
        or_none(&ports),
        age(svc, now),
        format_labels(at(svc, &["spec", "selector"])).into(),
    ]
}

/// `80/TCP,443:30443/TCP`.
pub fn service_ports(ports: &[Value]) -> String {
    ports
        .iter()
        .map(|p| {
            let port = int(p, &["port"]);
            let protocol = text(p, &["protocol"]).unwrap_or("TCP");
            match int(p, &["nodePort"]) {
                n if n > 0 => format!("{port}:{n}/{protocol}"),
                _ => format!("{port}/{protocol}"),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The EXTERNAL-IP cell, which depends on the service type.
fn external_ip(svc: &Value, service_type: &str) -> String {
    let external: Vec<&str> = array(svc, &["spec", "externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match service_type {
        "ClusterIP" | "NodePort" if external.is_empty() => "<none>".into(),
        "ClusterIP" | "NodePort" => external.join(","),
        "LoadBalancer" => {
            let mut addresses: Vec<&str> = array(svc, &["status", "loadBalancer", "ingress"])
                .iter()
                .filter_map(|i| {
                    text(i, &["ip"])
                        .filter(|s| !s.is_empty())
                        .or_else(|| text(i, &["hostname"]))
                })
                .collect();
            addresses.sort_unstable();
            addresses.dedup();
            addresses.extend(external);
            if addresses.is_empty() {
                "<pending>".into()
            } else {
                addresses.join(",")
            }
        }
        "ExternalName" => text_or_empty(svc, &["spec", "externalName"]).into(),
        _ => "<unknown>".into(),
    }
}

/// Endpoints.
pub const ENDPOINTS: Printer = Printer {
    columns: &[
        NAME,
        col("Endpoints", "string", "The addresses and ports behind the service."),
        AGE,
    ],
    cells: endpoints_cells,
    conditions: super::no_conditions,
};

fn endpoints_cells(ep: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(ep).into(), format_endpoints(ep).into(), age(ep, now)]
}

/// `10.0.0.5:8080,10.0.0.6:8080 + 2 more...`: at most three `ip:port`, then how many more.
pub fn format_endpoints(ep: &Value) -> String {
    const SHOWN: usize = 3;
    let subsets = array(ep, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".into();
    }
    let mut shown: Vec<String> = Vec::new();
    let mut count = 0;
    for subset in subsets {
        let addresses: Vec<&str> = array(subset, &["addresses"])
            .iter()
            .map(|a| text_or_empty(a, &["ip"]))
            .collect();
        let ports = array(subset, &["ports"]);
        // Headless services may have no ports: bare addresses then.
        let pairs: Vec<Option<i64>> = if ports.is_empty() {
            vec![None]
        } else {
            ports.iter().map(|p| Some(int(p, &["port"]))).collect()
        };
        for port in pairs {
            count += addresses.len();
            for ip in &addresses {
                if shown.len() == SHOWN {
                    break;
                }
                shown.push(match port {
                    Some(port) if ip.contains(':') => format!("[{ip}]:{port}"),
                    Some(port) => format!("{ip}:{port}"),
                    None => ip.to_string(),
                });
            }
        }
    }
    let list = shown.join(",");
    if count > SHOWN {
        format!("{list} + {} more...", count - SHOWN)
    } else {
        list
    }
}

/// Namespaces.
pub const NAMESPACE: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Status",
            "string",
            "Active, or Terminating while its contents are deleted.",
        ),
        AGE,
    ],
    cells: |ns, now| {
        vec![
            name(ns).into(),
            text_or_empty(ns, &["status", "phase"]).into(),
            age(ns, now),
        ]
    },
    conditions: super::no_conditions,
};

/// ConfigMaps.
pub const CONFIG_MAP: Printer = Printer {
    columns: &[
        NAME,
        col("Data", "string", "The number of keys (data and binaryData)."),
        AGE,
    ],
    cells: |cm, now| {
        let keys = map_len(cm, &["data"]) + map_len(cm, &["binaryData"]);
        vec![name(cm).into(), (keys as u64).into(), age(cm, now)]
    },
    conditions: super::no_conditions,
};

/// Secrets.
pub const SECRET: Printer = Printer {
    columns: &[
        NAME,
        col("Type", "string", "The secret's type, such as Opaque."),
        col("Data", "string", "The number of keys."),
        AGE,
    ],
    cells: |s, now| {
        vec![
            name(s).into(),
            text_or_empty(s, &["type"]).into(),
            (map_len(s, &["data"]) as u64).into(),
            age(s, now),
        ]
    },
    conditions: super::no_conditions,
};

/// Events: sent with every column (the wide ones last) like all tables.
pub const EVENT: Printer = Printer {
    columns: &[
        col("Last Seen", "string", "When the event was last seen."),
        col("Type", "string", "Normal or Warning."),
        col(
            "Reason",
            "string",
            "A short, machine-readable reason, such as Scheduled.",
        ),
        col("Object", "string", "The object the event is about."),
        wide("Subobject", "string", "The part of the object, such as a container."),
        wide("Source", "string", "The component that reported the event."),
        col("Message", "string", "What happened, for people."),
        wide("First Seen", "string", "When the event was first seen."),
        wide("Count", "string", "How many times it happened."),
        Column { priority: 1, ..NAME },
    ],
    cells: event_cells,
    conditions: super::no_conditions,
};

fn event_cells(ev: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let first = match text(ev, &["firstTimestamp"]) {
        Some(_) => since(ev, &["firstTimestamp"], now),
        None => since(ev, &["eventTime"], now),
    };
    let mut last = match text(ev, &["lastTimestamp"]) {
        Some(_) => since(ev, &["lastTimestamp"], now),
        None => first.clone(),
    };
    let mut count = int(ev, &["count"]);
    if at(ev, &["series"]).is_some_and(Value::is_object) {
        last = since(ev, &["series", "lastObservedTime"], now);
        count = int(ev, &["series", "count"]);
    } else if count == 0 {
        count = 1;
    }
    let kind = text_or_empty(ev, &["involvedObject", "kind"]).to_lowercase();
    let object = match text_or_empty(ev, &["involvedObject", "name"]) {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let pick = |a: &str, b: &str| if a.is_empty() { b.to_string() } else { a.to_string() };
    let component = pick(
        text_or_empty(ev, &["source", "component"]),
        text_or_empty(ev, &["reportingComponent"]),
    );
    let instance = pick(
        text_or_empty(ev, &["source", "host"]),
        text_or_empty(ev, &["reportingInstance"]),
    );
    let source = if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    };
    vec![
        last.into(),
        text_or_empty(ev, &["type"]).into(),
        text_or_empty(ev, &["reason"]).into(),
        object.into(),
        text_or_empty(ev, &["involvedObject", "fieldPath"]).into(),
        source.into(),
        text_or_empty(ev, &["message"]).trim().into(),
        first.into(),
        count.into(),
        name(ev).into(),
    ]
}

/// PersistentVolumeClaims.
pub const PVC: Printer = Printer {
    columns: &[
        NAME,
        col("Status", "string", "Pending, Bound or Lost."),
        col("Volume", "string", "The volume bound to the claim."),
        col("Capacity", "string", "The bound volume's size."),
        col(
            "Access Modes",
            "string",
            "How the volume may be mounted: RWO, ROX, RWX, RWOP.",
        ),
        col("StorageClass", "string", "The claim's storage class."),
        col(
            "VolumeAttributesClass",
            "string",
            "The claim's volume attributes class.",
        ),
        AGE,
        wide("VolumeMode", "string", "Filesystem or Block."),
    ],
    cells: pvc_cells,
    conditions: super::no_conditions,
};

fn pvc_cells(pvc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let deleting = at(pvc, &["metadata", "deletionTimestamp"]).is_some_and(|v| !v.is_null());
    let phase = if deleting {
        "Terminating"
    } else {
        text_or_empty(pvc, &["status", "phase"])
    };
    let volume = text_or_empty(pvc, &["spec", "volumeName"]);
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            text_or_empty(pvc, &["status", "capacity", "storage"]).to_string(),
            access_modes(array(pvc, &["status", "accessModes"])),
        )
    };
    let class = text(
        pvc,
        &["metadata", "annotations", "volume.beta.kubernetes.io/storage-class"],
    )
    .or_else(|| text(pvc, &["spec", "storageClassName"]))
    .unwrap_or("");
    vec![
        name(pvc).into(),
        phase.into(),
        volume.into(),
        capacity.into(),
        modes.into(),
        class.into(),
        text(pvc, &["spec", "volumeAttributesClassName"])
            .unwrap_or("<unset>")
            .into(),
        age(pvc, now),
        text(pvc, &["spec", "volumeMode"]).unwrap_or("<unset>").into(),
    ]
}

/// `RWO,RWX`: each mode once, in a fixed order.
pub(crate) fn access_modes(modes: &[Value]) -> String {
    let has = |mode: &str| modes.iter().any(|m| m.as_str() == Some(mode));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// Leases: who holds them (a node agent's heartbeat, a controller's leadership).
pub const LEASE: Printer = Printer {
    columns: &[
        NAME,
        col("Holder", "string", "The identity of the lease's current holder."),
        AGE,
    ],
    cells: |lease, now| {
        let holder = text(lease, &["spec", "holderIdentity"]).unwrap_or("<unknown>");
        vec![name(lease).into(), holder.into(), age(lease, now)]
    },
    conditions: super::no_conditions,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::parse_time;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        parse_time("2025-03-01T00:00:00Z").unwrap()
    }

    fn created(days_ago: i64) -> String {
        (now() - chrono::TimeDelta::days(days_ago)).to_rfc3339()
    }

    #[test]
    fn node_status_and_roles() {
        let mut node = json!({
            "metadata": {"name": "node-1", "creationTimestamp": created(45), "labels": {"kubernetes.io/hostname": "node-1"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0-kubelab", "osImage": "Docker", "containerRuntimeVersion": "docker://27.0"},
                       "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}, {"type": "Hostname", "address": "node-1"}]},
        });
        let cells = node_cells(&node, now());
        assert_eq!(
            cells,
            vec![
                json!("node-1"),
                json!("Ready"),
                json!("<none>"),
                json!("45d"),
                json!("v1.32.0-kubelab"),
                json!("172.18.0.2"),
                json!("<none>"),
                json!("Docker"),
                json!("<unknown>"),
                json!("docker://27.0")
            ]
        );
        assert_eq!(cells.len(), NODE.columns.len());
        node["status"]["conditions"][0]["status"] = json!("Unknown");
        node["spec"] = json!({"unschedulable": true});
        assert_eq!(node_status(&node), "NotReady,SchedulingDisabled");
        node["status"]["conditions"] = json!([]);
        assert_eq!(node_status(&node), "Unknown,SchedulingDisabled");
        node["metadata"]["labels"] = json!({
            "node-role.kubernetes.io/worker": "",
            "node-role.kubernetes.io/control-plane": "",
            "kubernetes.io/role": "worker",
            "node-role.kubernetes.io/": "",
        });
        assert_eq!(node_roles(&node), "control-plane,worker");
    }

    #[test]
    fn service_ports_and_ips() {
        let svc = json!({
            "metadata": {"name": "web", "creationTimestamp": created(2)},
            "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                     "selector": {"app": "web"},
                     "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}, {"port": 53, "protocol": "UDP"}]},
        });
        assert_eq!(
            service_cells(&svc, now()),
            vec![
                json!("web"),
                json!("NodePort"),
                json!("10.96.0.10"),
                json!("<none>"),
                json!("80:30080/TCP,53/UDP"),
                json!("2d"),
                json!("app=web")
            ]
        );
        let headless = json!({"metadata": {"name": "db"}, "spec": {"clusterIP": "None", "ports": []}});
        let cells = service_cells(&headless, now());
        assert_eq!(
            (&cells[1], &cells[2], &cells[4], &cells[5], &cells[6]),
            (
                &json!("ClusterIP"),
                &json!("None"),
                &json!("<none>"),
                &json!("<unknown>"),
                &json!("<none>")
            )
        );
        let lb = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}});
        assert_eq!(service_cells(&lb, now())[3], json!("<pending>"));
        let lb =
            json!({"spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}});
        assert_eq!(service_cells(&lb, now())[3], json!("1.2.3.4"));
        let ext = json!({"spec": {"type": "ExternalName", "externalName": "example.com"}});
        assert_eq!(service_cells(&ext, now())[3], json!("example.com"));
    }

    #[test]
    fn endpoints_show_three_then_more() {
        let ep = json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "10.0.0.3"}, {"ip": "10.0.0.4"}],
                                     "ports": [{"port": 8080}]}]});
        assert_eq!(
            format_endpoints(&ep),
            "10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 1 more..."
        );
        assert_eq!(format_endpoints(&json!({})), "<none>");
        let headless = json!({"subsets": [{"addresses": [{"ip": "fd00::1"}]}]});
        assert_eq!(format_endpoints(&headless), "fd00::1");
        let v6 = json!({"subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]});
        assert_eq!(format_endpoints(&v6), "[fd00::1]:80");
    }

    #[test]
    fn small_kinds() {
        let ns =
            json!({"metadata": {"name": "default", "creationTimestamp": created(1)}, "status": {"phase": "Active"}});
        assert_eq!(
            (NAMESPACE.cells)(&ns, now()),
            vec![json!("default"), json!("Active"), json!("24h")]
        );
        let cm = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}});
        assert_eq!((CONFIG_MAP.cells)(&cm, now())[1], json!(3));
        let secret = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "MQ=="}});
        assert_eq!((SECRET.cells)(&secret, now())[1..3], [json!("Opaque"), json!(1)]);
        let lease = json!({"metadata": {"name": "node-1"}, "spec": {"holderIdentity": "node-1"}});
        assert_eq!((LEASE.cells)(&lease, now())[1], json!("node-1"));
        assert_eq!((LEASE.cells)(&json!({}), now())[1], json!("<unknown>"));
    }

    #[test]
    fn event_cells_in_column_order() {
        let ev = json!({
            "metadata": {"name": "web.1"},
            "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
            "type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container\n",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": created(2), "lastTimestamp": created(1), "count": 5,
        });
        let cells = event_cells(&ev, now());
        assert_eq!(
            cells,
            vec![
                json!("24h"),
                json!("Warning"),
                json!("BackOff"),
                json!("pod/web"),
                json!("spec.containers{app}"),
                json!("kubelet, node-1"),
                json!("Back-off restarting failed container"),
                json!("2d"),
                json!(5),
                json!("web.1")
            ]
        );
        assert_eq!(cells.len(), EVENT.columns.len());
        assert_eq!(EVENT.columns[9].format, "name");
        assert_eq!(EVENT.columns[9].priority, 1);
    }

    #[test]
    fn pvc_cells_bound_and_pending() {
        let bound = json!({
            "metadata": {"name": "data", "creationTimestamp": created(3)},
            "spec": {"volumeName": "pv-1", "storageClassName": "standard"},
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"]},
        });
        let cells = pvc_cells(&bound, now());
        assert_eq!(
            cells,
            vec![
                json!("data"),
                json!("Bound"),
                json!("pv-1"),
                json!("1Gi"),
                json!("RWO,RWX"),
                json!("standard"),
                json!("<unset>"),
                json!("3d"),
                json!("<unset>")
            ]
        );
        assert_eq!(cells.len(), PVC.columns.len());
        let pending = json!({"metadata": {"name": "data"}, "spec": {}, "status": {"phase": "Pending"}});
        assert_eq!(
            pvc_cells(&pending, now())[1..5],
            [json!("Pending"), json!(""), json!(""), json!("")]
        );
    }
}
