//! The page of a Node: conditions, addresses, capacity, system info and the pods on it.

use serde_json::Value;

use super::doc::{map_lines, s, time, Doc};
use crate::output::age;

pub fn describe(doc: &mut Doc, node: &Value, pods: &[Value]) {
    doc.kv(0, "Name", s(node, "/metadata/name"));
    let roles: Vec<String> = node
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/").map(str::to_string))
        .collect();
    doc.kv(
        0,
        "Roles",
        if roles.is_empty() {
            "<none>".into()
        } else {
            roles.join(",")
        },
    );
    doc.kv(0, "Labels", map_lines(node.pointer("/metadata/labels"), "="));
    doc.kv(0, "Annotations", map_lines(node.pointer("/metadata/annotations"), ": "));
    doc.kv(0, "CreationTimestamp", time(node, "/metadata/creationTimestamp"));
    let taints: Vec<String> = node
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| {
            let value = s(t, "/value");
            let kv = if value.is_empty() {
                s(t, "/key").to_string()
            } else {
                format!("{}={value}", s(t, "/key"))
            };
            format!("{kv}:{}", s(t, "/effect"))
        })
        .collect();
    doc.kv(
        0,
        "Taints",
        if taints.is_empty() {
            "<none>".into()
        } else {
            taints.join("\n")
        },
    );
    let unschedulable = node
        .pointer("/spec/unschedulable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    doc.kv(0, "Unschedulable", unschedulable.to_string());
    doc.line(0, "Conditions:");
    let mut rows = vec![
        [
            "Type",
            "Status",
            "LastHeartbeatTime",
            "LastTransitionTime",
            "Reason",
            "Message",
        ]
        .map(String::from)
        .to_vec(),
        [
            "----",
            "------",
            "-----------------",
            "------------------",
            "------",
            "-------",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for c in node
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        rows.push(vec![
            s(c, "/type").into(),
            s(c, "/status").into(),
            time(c, "/lastHeartbeatTime"),
            time(c, "/lastTransitionTime"),
            s(c, "/reason").into(),
            s(c, "/message").into(),
        ]);
    }
    doc.table(1, rows);
    doc.line(0, "Addresses:");
    for a in node
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        doc.kv(1, s(a, "/type"), s(a, "/address"));
    }
    for (title, path) in [("Capacity", "/status/capacity"), ("Allocatable", "/status/allocatable")] {
        doc.line(0, format!("{title}:"));
        if let Some(m) = node.pointer(path).and_then(Value::as_object) {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                doc.kv(
                    1,
                    k,
                    m[k].as_str().map(str::to_string).unwrap_or_else(|| m[k].to_string()),
                );
            }
        }
    }
    doc.line(0, "System Info:");
    for (title, field) in [
        ("Machine ID", "machineID"),
        ("System UUID", "systemUUID"),
        ("Boot ID", "bootID"),
        ("Kernel Version", "kernelVersion"),
        ("OS Image", "osImage"),
        ("Operating System", "operatingSystem"),
        ("Architecture", "architecture"),
        ("Container Runtime Version", "containerRuntimeVersion"),
        ("Kubelet Version", "kubeletVersion"),
        ("Kube-Proxy Version", "kubeProxyVersion"),
    ] {
        doc.kv(1, title, s(node, &format!("/status/nodeInfo/{field}")));
    }
    let cidr = s(node, "/spec/podCIDR");
    doc.kv(0, "PodCIDR", if cidr.is_empty() { "<none>" } else { cidr });
    let running: Vec<&Value> = pods
        .iter()
        .filter(|p| !matches!(s(p, "/status/phase"), "Succeeded" | "Failed"))
        .collect();
    doc.kv(0, "Non-terminated Pods", format!("({} in total)", running.len()));
    let mut rows = vec![
        ["Namespace", "Name", "CPU Requests", "Memory Requests", "Age"]
            .map(String::from)
            .to_vec(),
        ["---------", "----", "------------", "---------------", "---"]
            .map(String::from)
            .to_vec(),
    ];
    for p in running {
        let sum = |resource: &str| {
            let values: Vec<&str> = p
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| {
                    c.pointer(&format!("/resources/requests/{resource}"))
                        .and_then(Value::as_str)
                })
                .collect();
            if values.is_empty() {
                "0 (0%)".to_string()
            } else {
                values.join("+")
            }
        };
        rows.push(vec![
            s(p, "/metadata/namespace").into(),
            s(p, "/metadata/name").into(),
            sum("cpu"),
            sum("memory"),
            age::since(p.pointer("/metadata/creationTimestamp").and_then(Value::as_str)),
        ]);
    }
    doc.table(1, rows);
}
