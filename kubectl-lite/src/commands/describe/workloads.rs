//! The pages of a Deployment (replica counts, strategy, pod template, its ReplicaSets) and of a
//! Service (selector, ports, endpoints).

use serde_json::Value;

use super::doc::{map_lines, or_none, s, time, Doc};
use crate::commands::rollout::revision_of;

fn int(v: &Value, path: &str) -> i64 {
    v.pointer(path).and_then(Value::as_i64).unwrap_or(0)
}

fn selector_text(v: Option<&Value>) -> String {
    let text = map_lines(v, "=").replace('\n', ",");
    if text == "<none>" {
        String::new()
    } else {
        text
    }
}

pub fn deployment(doc: &mut Doc, d: &Value, replicasets: &[Value]) {
    doc.kv(0, "Name", s(d, "/metadata/name"));
    doc.kv(0, "Namespace", s(d, "/metadata/namespace"));
    doc.kv(0, "CreationTimestamp", time(d, "/metadata/creationTimestamp"));
    doc.kv(0, "Labels", map_lines(d.pointer("/metadata/labels"), "="));
    doc.kv(0, "Annotations", map_lines(d.pointer("/metadata/annotations"), ": "));
    doc.kv(0, "Selector", selector_text(d.pointer("/spec/selector/matchLabels")));
    let desired = d.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    doc.kv(
        0,
        "Replicas",
        format!(
            "{desired} desired | {} updated | {} total | {} available | {} unavailable",
            int(d, "/status/updatedReplicas"),
            int(d, "/status/replicas"),
            int(d, "/status/availableReplicas"),
            int(d, "/status/unavailableReplicas")
        ),
    );
    let strategy = s(d, "/spec/strategy/type");
    doc.kv(0, "StrategyType", strategy);
    doc.kv(0, "MinReadySeconds", int(d, "/spec/minReadySeconds").to_string());
    if strategy == "RollingUpdate" {
        doc.kv(
            0,
            "RollingUpdateStrategy",
            format!(
                "{} max unavailable, {} max surge",
                or_none(d, "/spec/strategy/rollingUpdate/maxUnavailable"),
                or_none(d, "/spec/strategy/rollingUpdate/maxSurge")
            ),
        );
    }
    doc.line(0, "Pod Template:");
    if let Some(template) = d.pointer("/spec/template") {
        pod_template(doc, template);
    }
    if let Some(conditions) = d.pointer("/status/conditions").and_then(Value::as_array) {
        doc.line(0, "Conditions:");
        let mut rows = vec![["Type", "Status", "Reason"].map(String::from).to_vec()];
        rows.push(["----", "------", "------"].map(String::from).to_vec());
        for c in conditions {
            rows.push(vec![
                s(c, "/type").into(),
                s(c, "/status").into(),
                s(c, "/reason").into(),
            ]);
        }
        doc.table(1, rows);
    }
    let uid = s(d, "/metadata/uid");
    let mut owned: Vec<&Value> = replicasets
        .iter()
        .filter(|rs| {
            rs.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
        })
        .collect();
    owned.sort_by_key(|rs| std::cmp::Reverse(revision_of(rs)));
    let describe_rs = |rs: &Value| {
        format!(
            "{} ({}/{} replicas created)",
            s(rs, "/metadata/name"),
            int(rs, "/status/replicas"),
            rs.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0)
        )
    };
    let (new, old) = match owned.split_first() {
        Some((first, rest)) => (
            describe_rs(first),
            rest.iter()
                .filter(|rs| int(rs, "/status/replicas") > 0)
                .map(|rs| describe_rs(rs))
                .collect::<Vec<_>>(),
        ),
        None => ("<none>".to_string(), Vec::new()),
    };
    doc.kv(
        0,
        "OldReplicaSets",
        if old.is_empty() {
            "<none>".into()
        } else {
            old.join(", ")
        },
    );
    doc.kv(0, "NewReplicaSet", new);
}

/// A pod template's labels, annotations and containers, one level in.
fn pod_template(doc: &mut Doc, t: &Value) {
    doc.kv(1, "Labels", map_lines(t.pointer("/metadata/labels"), "="));
    if t.pointer("/metadata/annotations").is_some() {
        doc.kv(1, "Annotations", map_lines(t.pointer("/metadata/annotations"), ": "));
    }
    doc.line(1, "Containers:");
    for c in t
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        doc.line(2, format!("{}:", s(c, "/name")));
        doc.kv(3, "Image", s(c, "/image"));
        let ports: Vec<String> = c
            .pointer("/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| format!("{}/{}", int(p, "/containerPort"), s(p, "/protocol")))
            .collect();
        doc.kv(
            3,
            "Port",
            if ports.is_empty() {
                "<none>".into()
            } else {
                ports.join(", ")
            },
        );
        for (title, path) in [("Limits", "/resources/limits"), ("Requests", "/resources/requests")] {
            if let Some(m) = c.pointer(path).and_then(Value::as_object).filter(|m| !m.is_empty()) {
                doc.line(3, format!("{title}:"));
                for (k, v) in m {
                    doc.kv(4, k, v.as_str().unwrap_or_default());
                }
            }
        }
        doc.kv(
            3,
            "Environment",
            if c.get("env").is_some() {
                "(see the pod template)"
            } else {
                "<none>"
            },
        );
        doc.kv(3, "Mounts", "<none>");
    }
    doc.kv(
        1,
        "Volumes",
        if t.pointer("/spec/volumes").is_some() {
            "(see the pod template)"
        } else {
            "<none>"
        },
    );
}

pub fn service(doc: &mut Doc, svc: &Value, endpoints: Option<&Value>) {
    doc.kv(0, "Name", s(svc, "/metadata/name"));
    doc.kv(0, "Namespace", s(svc, "/metadata/namespace"));
    doc.kv(0, "Labels", map_lines(svc.pointer("/metadata/labels"), "="));
    doc.kv(0, "Annotations", map_lines(svc.pointer("/metadata/annotations"), ": "));
    let selector = selector_text(svc.pointer("/spec/selector"));
    doc.kv(
        0,
        "Selector",
        if selector.is_empty() { "<none>".into() } else { selector },
    );
    doc.kv(0, "Type", or_none(svc, "/spec/type"));
    doc.kv(0, "IP Family Policy", or_none(svc, "/spec/ipFamilyPolicy"));
    let join = |path: &str| {
        svc.pointer(path)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "<none>".into())
    };
    doc.kv(0, "IP Families", join("/spec/ipFamilies"));
    doc.kv(0, "IP", or_none(svc, "/spec/clusterIP"));
    doc.kv(0, "IPs", join("/spec/clusterIPs"));
    let addresses: Vec<String> = endpoints
        .and_then(|e| e.get("subsets"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|subset| {
            let ports: Vec<i64> = subset
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| int(p, "/port"))
                .collect();
            subset
                .get("addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(move |a| {
                    let ip = s(a, "/ip").to_string();
                    ports.clone().into_iter().map(move |p| format!("{ip}:{p}"))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for p in svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = s(p, "/name");
        doc.kv(
            0,
            "Port",
            format!(
                "{}  {}/{}",
                if name.is_empty() { "<unset>" } else { name },
                int(p, "/port"),
                s(p, "/protocol")
            ),
        );
        let target = match p.get("targetPort") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(t)) => t.clone(),
            _ => int(p, "/port").to_string(),
        };
        doc.kv(0, "TargetPort", format!("{target}/{}", s(p, "/protocol")));
        if let Some(np) = p.get("nodePort").and_then(Value::as_i64) {
            doc.kv(
                0,
                "NodePort",
                format!(
                    "{}  {np}/{}",
                    if name.is_empty() { "<unset>" } else { name },
                    s(p, "/protocol")
                ),
            );
        }
        doc.kv(
            0,
            "Endpoints",
            if addresses.is_empty() {
                String::new()
            } else {
                addresses.join(",")
            },
        );
    }
    doc.kv(0, "Session Affinity", or_none(svc, "/spec/sessionAffinity"));
}
