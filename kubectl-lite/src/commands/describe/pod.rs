//! The page of a Pod: where it runs, its containers and their states, conditions, QoS class.

use serde_json::Value;

use super::doc::{map_lines, or_none, s, time, Doc};

pub fn describe(doc: &mut Doc, pod: &Value) {
    doc.kv(0, "Name", s(pod, "/metadata/name"));
    doc.kv(0, "Namespace", s(pod, "/metadata/namespace"));
    doc.kv(
        0,
        "Priority",
        pod.pointer("/spec/priority")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .to_string(),
    );
    let sa = s(pod, "/spec/serviceAccountName");
    doc.kv(0, "Service Account", if sa.is_empty() { "default" } else { sa });
    let node = s(pod, "/spec/nodeName");
    let host_ip = s(pod, "/status/hostIP");
    doc.kv(
        0,
        "Node",
        match (node.is_empty(), host_ip.is_empty()) {
            (true, _) => "<none>".to_string(),
            (false, true) => node.to_string(),
            (false, false) => format!("{node}/{host_ip}"),
        },
    );
    if pod.pointer("/status/startTime").is_some() {
        doc.kv(0, "Start Time", time(pod, "/status/startTime"));
    }
    doc.kv(0, "Labels", map_lines(pod.pointer("/metadata/labels"), "="));
    doc.kv(0, "Annotations", map_lines(pod.pointer("/metadata/annotations"), ": "));
    let status = if pod.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating".to_string()
    } else {
        or_none(pod, "/status/phase")
    };
    doc.kv(0, "Status", status);
    let reason = s(pod, "/status/reason");
    if !reason.is_empty() {
        doc.kv(0, "Reason", reason);
        doc.kv(0, "Message", s(pod, "/status/message"));
    }
    doc.kv(0, "IP", s(pod, "/status/podIP"));
    let ips: Vec<&str> = pod
        .pointer("/status/podIPs")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|i| i.get("ip").and_then(Value::as_str)).collect())
        .unwrap_or_default();
    if ips.is_empty() {
        doc.kv(0, "IPs", "<none>");
    } else {
        doc.line(0, "IPs:");
        for ip in ips {
            doc.kv(1, "IP", ip);
        }
    }
    if let Some(owner) = controller_of(pod) {
        doc.kv(0, "Controlled By", owner);
    }
    let statuses = pod.pointer("/status/containerStatuses").and_then(Value::as_array);
    doc.line(0, "Containers:");
    for c in pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = s(c, "/name");
        let st = statuses.and_then(|all| all.iter().find(|x| s(x, "/name") == name));
        container(doc, c, st);
    }
    doc.line(0, "Conditions:");
    let mut rows = vec![vec!["Type".to_string(), "Status".to_string()]];
    for cond in pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        rows.push(vec![s(cond, "/type").to_string(), s(cond, "/status").to_string()]);
    }
    doc.table(1, rows);
    let volumes = pod.pointer("/spec/volumes").and_then(Value::as_array);
    match volumes.filter(|v| !v.is_empty()) {
        None => doc.kv(0, "Volumes", "<none>"),
        Some(volumes) => {
            doc.line(0, "Volumes:");
            for v in volumes {
                doc.line(1, format!("{}:", s(v, "/name")));
                let kind = v
                    .as_object()
                    .and_then(|m| m.keys().find(|k| *k != "name").cloned())
                    .unwrap_or_default();
                doc.kv(2, "Type", kind);
            }
        }
    }
    doc.kv(0, "QoS Class", or_none(pod, "/status/qosClass"));
    doc.kv(0, "Node-Selectors", map_lines(pod.pointer("/spec/nodeSelector"), "="));
    let tolerations: Vec<String> = pod
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(toleration)
        .collect();
    doc.kv(
        0,
        "Tolerations",
        if tolerations.is_empty() {
            "<none>".into()
        } else {
            tolerations.join("\n")
        },
    );
}

/// `ReplicaSet/web-7d9f` from the controller owner reference.
pub fn controller_of(object: &Value) -> Option<String> {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|r| format!("{}/{}", s(r, "/kind"), s(r, "/name")))
}

fn toleration(t: &Value) -> String {
    let key = s(t, "/key");
    let value = s(t, "/value");
    let effect = s(t, "/effect");
    let mut out = key.to_string();
    if !value.is_empty() {
        out.push('=');
        out.push_str(value);
    }
    if !effect.is_empty() {
        out.push(':');
        out.push_str(effect);
    }
    if s(t, "/operator") == "Exists" && key.is_empty() {
        out = "op=Exists".into();
    } else if s(t, "/operator") == "Exists" {
        out.push_str(" op=Exists");
    }
    if let Some(secs) = t.get("tolerationSeconds").and_then(Value::as_i64) {
        out.push_str(&format!(" for {secs}s"));
    }
    out
}

fn container(doc: &mut Doc, c: &Value, status: Option<&Value>) {
    doc.line(1, format!("{}:", s(c, "/name")));
    if let Some(st) = status {
        doc.kv(2, "Container ID", s(st, "/containerID"));
    }
    doc.kv(2, "Image", s(c, "/image"));
    if let Some(st) = status {
        doc.kv(2, "Image ID", s(st, "/imageID"));
    }
    let ports: Vec<String> = c
        .pointer("/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = s(p, "/protocol");
            format!(
                "{}/{}",
                p.get("containerPort").and_then(Value::as_i64).unwrap_or(0),
                if proto.is_empty() { "TCP" } else { proto }
            )
        })
        .collect();
    doc.kv(
        2,
        "Port",
        if ports.is_empty() {
            "<none>".into()
        } else {
            ports.join(", ")
        },
    );
    if let Some(cmd) = c.get("command").and_then(Value::as_array) {
        doc.kv(
            2,
            "Command",
            cmd.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n"),
        );
    }
    if let Some(args) = c.get("args").and_then(Value::as_array) {
        doc.kv(
            2,
            "Args",
            args.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n"),
        );
    }
    if let Some(st) = status {
        state(doc, "State", st.get("state"));
        if st
            .get("lastState")
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
        {
            state(doc, "Last State", st.get("lastState"));
        }
        let ready = st.get("ready").and_then(Value::as_bool).unwrap_or(false);
        doc.kv(2, "Ready", if ready { "True" } else { "False" });
        doc.kv(
            2,
            "Restart Count",
            st.get("restartCount").and_then(Value::as_i64).unwrap_or(0).to_string(),
        );
    }
    for (title, path) in [("Limits", "/resources/limits"), ("Requests", "/resources/requests")] {
        if let Some(m) = c.pointer(path).and_then(Value::as_object).filter(|m| !m.is_empty()) {
            doc.line(2, format!("{title}:"));
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                doc.kv(
                    3,
                    k,
                    m[k].as_str().map(str::to_string).unwrap_or_else(|| m[k].to_string()),
                );
            }
        }
    }
    let env: Vec<String> = c
        .pointer("/env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            let value = e
                .get("value")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    e.get("valueFrom")
                        .map(|v| format!("<set from {v}>"))
                        .unwrap_or_default()
                });
            format!("{}:  {value}", s(e, "/name"))
        })
        .collect();
    if env.is_empty() {
        doc.kv(2, "Environment", "<none>");
    } else {
        doc.line(2, "Environment:");
        for line in env {
            doc.line(3, line);
        }
    }
    let mounts: Vec<String> = c
        .pointer("/volumeMounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|m| format!("{} from {}", s(m, "/mountPath"), s(m, "/name")))
        .collect();
    if mounts.is_empty() {
        doc.kv(2, "Mounts", "<none>");
    } else {
        doc.line(2, "Mounts:");
        for m in mounts {
            doc.line(3, m);
        }
    }
}

/// `State: Running` with `Started: ...`, `Waiting` with its reason, `Terminated` with its exit
/// code.
fn state(doc: &mut Doc, title: &str, state: Option<&Value>) {
    let Some(map) = state.and_then(Value::as_object) else {
        doc.kv(2, title, "Waiting");
        return;
    };
    if let Some(running) = map.get("running") {
        doc.kv(2, title, "Running");
        doc.kv(3, "Started", time(running, "/startedAt"));
    } else if let Some(waiting) = map.get("waiting") {
        doc.kv(2, title, "Waiting");
        doc.kv(3, "Reason", s(waiting, "/reason"));
    } else if let Some(t) = map.get("terminated") {
        doc.kv(2, title, "Terminated");
        doc.kv(3, "Reason", s(t, "/reason"));
        doc.kv(
            3,
            "Exit Code",
            t.get("exitCode").and_then(Value::as_i64).unwrap_or(0).to_string(),
        );
        doc.kv(3, "Started", time(t, "/startedAt"));
        doc.kv(3, "Finished", time(t, "/finishedAt"));
    } else {
        doc.kv(2, title, "Waiting");
    }
}
