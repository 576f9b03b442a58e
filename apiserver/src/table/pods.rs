//! # The pod table: READY, STATUS, RESTARTS
//!
//! The STATUS column is not a field of the pod. `status.phase` has only five values (Pending,
//! Running, Succeeded, Failed, Unknown), which hides what a learner wants to know: *why* a pod
//! is not running. So kubectl's rule (kept here, as the server computes the cells) digs into the
//! container statuses:
//!
//! 1. Start from the phase, or `status.reason` when set (`Evicted`).
//! 2. Walk the init containers in order: one that failed gives `Init:Error` (or
//!    `Init:ExitCode:1`), one waiting with a reason gives `Init:CrashLoopBackOff`, one still
//!    running gives `Init:0/2`; the first unfinished one decides.
//! 3. Once initialised, a container waiting (`ErrImagePull`, `CrashLoopBackOff`,
//!    `ContainerCreating`) or terminated (`Completed`, `Error`, `OOMKilled`) names the status;
//!    the first container in the list wins, as kubectl walks them from the last.
//! 4. A pod with a `deletionTimestamp` that is not finished is `Terminating`.
//!
//! RESTARTS adds up the containers' `restartCount`, with how long ago the last one ended:
//! `3 (2m ago)`.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{
    array, at, col, human_duration, int, name, parse_time, text, text_or_empty, wide, Column, Printer, AGE, NAME,
};

/// The pod printer.
pub const PRINTER: Printer = Printer {
    columns: COLUMNS,
    cells,
    conditions,
};

const COLUMNS: &[Column] = &[
    NAME,
    col(
        "Ready",
        "string",
        "How many of the pod's containers are ready, out of how many.",
    ),
    col(
        "Status",
        "string",
        "The pod's phase, or the reason one of its containers is not running.",
    ),
    col(
        "Restarts",
        "string",
        "How many times the pod's containers restarted, and how long ago the last restart was.",
    ),
    AGE,
    wide("IP", "string", "The pod's IP address (status.podIPs)."),
    wide("Node", "string", "The node the pod runs on (spec.nodeName)."),
    wide(
        "Nominated Node",
        "string",
        "The node a preempting pod expects to run on (status.nominatedNodeName).",
    ),
    wide(
        "Readiness Gates",
        "string",
        "How many of the pod's readiness gates are true, out of how many.",
    ),
];

/// The cells of one pod.
pub fn cells(pod: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let summary = summarize(pod);
    let restarts = match summary.last_restart {
        Some(at) if summary.restarts != 0 => format!("{} ({} ago)", summary.restarts, human_duration(now - at)),
        _ => summary.restarts.to_string(),
    };
    let pod_ip = array(pod, &["status", "podIPs"])
        .first()
        .map(|ip| text_or_empty(ip, &["ip"]))
        .filter(|ip| !ip.is_empty())
        .or_else(|| text(pod, &["status", "podIP"]))
        .unwrap_or("");
    vec![
        name(pod).into(),
        format!("{}/{}", summary.ready, summary.total).into(),
        summary.reason.into(),
        restarts.into(),
        super::age(pod, now),
        super::or_none(pod_ip),
        super::or_none(text_or_empty(pod, &["spec", "nodeName"])),
        super::or_none(text_or_empty(pod, &["status", "nominatedNodeName"])),
        readiness_gates(pod).into(),
    ]
}

/// Finished pods are marked `Completed` (kubectl once used this to hide them).
fn conditions(pod: &Value) -> Vec<Value> {
    let (reason, message) = match text(pod, &["status", "phase"]) {
        Some("Succeeded") => ("Succeeded", "The pod has completed successfully."),
        Some("Failed") => ("Failed", "The pod failed."),
        _ => return Vec::new(),
    };
    vec![json!({"type": "Completed", "status": "True", "reason": reason, "message": message})]
}

/// What the Ready, Status and Restarts cells are made of.
#[derive(Debug, PartialEq)]
pub struct Summary {
    pub ready: usize,
    pub total: usize,
    pub reason: String,
    pub restarts: i64,
    pub last_restart: Option<DateTime<Utc>>,
}

/// kubectl's reading of a pod's status (see the module docs).
pub fn summarize(pod: &Value) -> Summary {
    let phase = text_or_empty(pod, &["status", "phase"]);
    let mut reason = match text(pod, &["status", "reason"]) {
        Some(r) if !r.is_empty() => r.to_string(),
        _ => phase.to_string(),
    };
    let conditions = array(pod, &["status", "conditions"]);
    if conditions
        .iter()
        .any(|c| text(c, &["type"]) == Some("PodScheduled") && text(c, &["reason"]) == Some("SchedulingGated"))
    {
        reason = "SchedulingGated".into();
    }
    let init_specs = array(pod, &["spec", "initContainers"]);
    // Init containers with `restartPolicy: Always` are sidecars: they count as containers.
    let is_sidecar = |name: &str| {
        init_specs
            .iter()
            .any(|c| text(c, &["name"]) == Some(name) && text(c, &["restartPolicy"]) == Some("Always"))
    };
    let total = array(pod, &["spec", "containers"]).len()
        + init_specs
            .iter()
            .filter(|c| text(c, &["restartPolicy"]) == Some("Always"))
            .count();
    let mut ready = 0;
    let mut restarts = 0;
    let mut sidecar_restarts = 0;
    let mut last_restart: Option<DateTime<Utc>> = None;
    let mut last_sidecar_restart: Option<DateTime<Utc>> = None;

    let mut initializing = false;
    for (i, status) in array(pod, &["status", "initContainerStatuses"]).iter().enumerate() {
        let count = int(status, &["restartCount"]);
        let finished = last_finished(status);
        restarts += count;
        last_restart = later(last_restart, finished);
        let sidecar = is_sidecar(text_or_empty(status, &["name"]));
        if sidecar {
            sidecar_restarts += count;
            last_sidecar_restart = later(last_sidecar_restart, finished);
        }
        let terminated = at(status, &["state", "terminated"]);
        let waiting_reason = text(status, &["state", "waiting", "reason"]).filter(|r| !r.is_empty());
        if terminated.is_some_and(|t| int(t, &["exitCode"]) == 0) {
            continue;
        }
        if sidecar && at(status, &["started"]).and_then(Value::as_bool) == Some(true) {
            if at(status, &["ready"]).and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        reason = match (terminated, waiting_reason) {
            (Some(t), _) => match text(t, &["reason"]).filter(|r| !r.is_empty()) {
                Some(r) => format!("Init:{r}"),
                None if int(t, &["signal"]) != 0 => format!("Init:Signal:{}", int(t, &["signal"])),
                None => format!("Init:ExitCode:{}", int(t, &["exitCode"])),
            },
            (None, Some(r)) if r != "PodInitializing" => format!("Init:{r}"),
            _ => format!("Init:{i}/{}", init_specs.len()),
        };
        initializing = true;
        break;
    }

    let initialized = conditions
        .iter()
        .any(|c| text(c, &["type"]) == Some("Initialized") && text(c, &["status"]) == Some("True"));
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        // From the last container to the first, so the first one's reason is the one left.
        for status in array(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts += int(status, &["restartCount"]);
            last_restart = later(last_restart, last_finished(status));
            let waiting = text(status, &["state", "waiting", "reason"]).filter(|r| !r.is_empty());
            let terminated = at(status, &["state", "terminated"]);
            if let Some(r) = waiting {
                reason = r.to_string();
            } else if let Some(t) = terminated {
                reason = match text(t, &["reason"]).filter(|r| !r.is_empty()) {
                    Some(r) => r.to_string(),
                    None if int(t, &["signal"]) != 0 => format!("Signal:{}", int(t, &["signal"])),
                    None => format!("ExitCode:{}", int(t, &["exitCode"])),
                };
            } else if at(status, &["ready"]).and_then(Value::as_bool) == Some(true)
                && at(status, &["state", "running"]).is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        // A finished container beside one still running: the pod is not completed.
        if reason == "Completed" && has_running {
            let pod_ready = conditions
                .iter()
                .any(|c| text(c, &["type"]) == Some("Ready") && text(c, &["status"]) == Some("True"));
            reason = if pod_ready { "Running" } else { "NotReady" }.into();
        }
    }

    let deleting = at(pod, &["metadata", "deletionTimestamp"]).is_some_and(|v| !v.is_null());
    if deleting && text(pod, &["status", "reason"]) == Some("NodeLost") {
        reason = "Unknown".into();
    } else if deleting && !matches!(phase, "Succeeded" | "Failed") {
        reason = "Terminating".into();
    }
    Summary {
        ready,
        total,
        reason,
        restarts,
        last_restart,
    }
}

/// When the previous run of a container ended, if it did.
fn last_finished(status: &Value) -> Option<DateTime<Utc>> {
    text(status, &["lastState", "terminated", "finishedAt"]).and_then(parse_time)
}

fn later(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// `1/2`: readiness gates whose condition is true, out of all; `<none>` without gates.
fn readiness_gates(pod: &Value) -> String {
    let gates = array(pod, &["spec", "readinessGates"]);
    if gates.is_empty() {
        return "<none>".into();
    }
    let conditions = array(pod, &["status", "conditions"]);
    let true_count = gates
        .iter()
        .filter(|gate| {
            let wanted = text(gate, &["conditionType"]);
            conditions
                .iter()
                .find(|c| text(c, &["type"]) == wanted)
                .is_some_and(|c| text(c, &["status"]) == Some("True"))
        })
        .count();
    format!("{true_count}/{}", gates.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        parse_time("2025-01-01T12:00:00Z").unwrap()
    }

    fn pod(containers: &[&str], status: Value) -> Value {
        let containers: Vec<Value> = containers.iter().map(|n| json!({"name": n, "image": "demo"})).collect();
        json!({
            "metadata": {"name": "web", "creationTimestamp": "2025-01-01T11:57:00Z"},
            "spec": {"containers": containers, "nodeName": "node-1"},
            "status": status,
        })
    }

    fn running(name: &str, ready: bool, restarts: i64) -> Value {
        json!({"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": "2025-01-01T11:58:00Z"}}})
    }

    fn waiting(name: &str, reason: &str, restarts: i64) -> Value {
        json!({"name": name, "ready": false, "restartCount": restarts, "state": {"waiting": {"reason": reason}}})
    }

    fn status_cell(pod: &Value) -> String {
        cells(pod, now())[2].as_str().unwrap().to_string()
    }

    #[test]
    fn running_pod_has_all_columns() {
        let p = pod(
            &["app"],
            json!({"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}], "containerStatuses": [running("app", true, 0)]}),
        );
        assert_eq!(
            cells(&p, now()),
            vec![
                json!("web"),
                json!("1/1"),
                json!("Running"),
                json!("0"),
                json!("3m"),
                json!("10.0.0.5"),
                json!("node-1"),
                json!("<none>"),
                json!("<none>")
            ]
        );
        assert_eq!(cells(&p, now()).len(), COLUMNS.len());
    }

    #[test]
    fn pending_pod_without_statuses() {
        let mut p = pod(&["a", "b"], json!({"phase": "Pending"}));
        p["spec"]["nodeName"] = Value::Null;
        let c = cells(&p, now());
        assert_eq!((c[1].as_str(), c[2].as_str()), (Some("0/2"), Some("Pending")));
        assert_eq!((c[5].as_str(), c[6].as_str()), (Some("<none>"), Some("<none>")));
    }

    #[test]
    fn waiting_reasons_name_the_status() {
        for reason in [
            "ContainerCreating",
            "ErrImagePull",
            "ImagePullBackOff",
            "CrashLoopBackOff",
        ] {
            let p = pod(
                &["app"],
                json!({"phase": "Pending", "containerStatuses": [waiting("app", reason, 0)]}),
            );
            assert_eq!(status_cell(&p), reason);
        }
        // Of two containers, the first one's reason wins; the ready one still counts.
        let p = pod(
            &["a", "b"],
            json!({"phase": "Running", "containerStatuses": [waiting("a", "CrashLoopBackOff", 4), running("b", true, 1)]}),
        );
        let c = cells(&p, now());
        assert_eq!(
            (c[1].as_str(), c[2].as_str(), c[3].as_str()),
            (Some("1/2"), Some("CrashLoopBackOff"), Some("5"))
        );
    }

    #[test]
    fn terminated_containers() {
        let done =
            json!({"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}});
        let p = pod(&["app"], json!({"phase": "Succeeded", "containerStatuses": [done]}));
        assert_eq!(status_cell(&p), "Completed");
        assert_eq!(conditions(&p)[0]["reason"], "Succeeded");
        let failed = json!({"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 3}}});
        let p = pod(&["app"], json!({"phase": "Failed", "containerStatuses": [failed]}));
        assert_eq!(status_cell(&p), "ExitCode:3");
        let killed = json!({"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 137, "signal": 9}}});
        let p = pod(&["app"], json!({"phase": "Failed", "containerStatuses": [killed]}));
        assert_eq!(status_cell(&p), "Signal:9");
        // A completed sidecar-like container next to a running one: Running (or NotReady).
        let p = pod(
            &["a", "b"],
            json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "containerStatuses": [
                {"name": "a", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                running("b", true, 0)]}),
        );
        assert_eq!(status_cell(&p), "Running");
    }

    #[test]
    fn init_containers() {
        let mut p = pod(
            &["app"],
            json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "setup", "restartCount": 0, "state": {"running": {}}}],
            "containerStatuses": [waiting("app", "PodInitializing", 0)]}),
        );
        p["spec"]["initContainers"] = json!([{"name": "setup", "image": "x"}]);
        assert_eq!(status_cell(&p), "Init:0/1");
        p["status"]["initContainerStatuses"][0]["state"] = json!({"waiting": {"reason": "CrashLoopBackOff"}});
        assert_eq!(status_cell(&p), "Init:CrashLoopBackOff");
        p["status"]["initContainerStatuses"][0]["state"] = json!({"terminated": {"exitCode": 1, "reason": "Error"}});
        assert_eq!(status_cell(&p), "Init:Error");
        p["status"]["initContainerStatuses"][0]["state"] = json!({"terminated": {"exitCode": 2}});
        assert_eq!(status_cell(&p), "Init:ExitCode:2");
        // Finished init containers: the app container decides.
        p["status"]["initContainerStatuses"][0]["state"] =
            json!({"terminated": {"exitCode": 0, "reason": "Completed"}});
        p["status"]["containerStatuses"] = json!([running("app", true, 0)]);
        p["status"]["phase"] = json!("Running");
        assert_eq!(status_cell(&p), "Running");
    }

    #[test]
    fn deleting_pods_are_terminating_unless_finished() {
        let mut p = pod(
            &["app"],
            json!({"phase": "Running", "containerStatuses": [running("app", true, 0)]}),
        );
        p["metadata"]["deletionTimestamp"] = json!("2025-01-01T11:59:00Z");
        assert_eq!(status_cell(&p), "Terminating");
        p["status"]["phase"] = json!("Succeeded");
        p["status"]["containerStatuses"] = json!([{"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]);
        assert_eq!(status_cell(&p), "Completed");
        p["status"]["reason"] = json!("NodeLost");
        assert_eq!(status_cell(&p), "Unknown");
        let evicted = pod(&["app"], json!({"phase": "Failed", "reason": "Evicted"}));
        assert_eq!(status_cell(&evicted), "Evicted");
    }

    #[test]
    fn restarts_say_how_long_ago() {
        let mut restarted = running("app", true, 3);
        restarted["lastState"] = json!({"terminated": {"exitCode": 1, "finishedAt": "2025-01-01T11:58:00Z"}});
        let p = pod(&["app"], json!({"phase": "Running", "containerStatuses": [restarted]}));
        assert_eq!(cells(&p, now())[3], json!("3 (2m ago)"));
        // A count without a known last termination is just the count.
        let p = pod(
            &["app"],
            json!({"phase": "Running", "containerStatuses": [running("app", true, 2)]}),
        );
        assert_eq!(cells(&p, now())[3], json!("2"));
    }

    #[test]
    fn readiness_gates_are_counted() {
        let mut p = pod(
            &["app"],
            json!({"phase": "Running", "conditions": [{"type": "example.com/lb", "status": "True"}]}),
        );
        p["spec"]["readinessGates"] =
            json!([{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]);
        assert_eq!(cells(&p, now())[8], json!("1/2"));
    }
}
