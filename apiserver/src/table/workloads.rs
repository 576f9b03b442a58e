//! # Deployments, ReplicaSets, StatefulSets: desired against actual
//!
//! A controller's table is a progress report: how many replicas were asked for (`spec`) and how
//! many exist, are ready, run the newest template (`status`, written by the controller). During
//! a rollout, `kubectl get deploy` shows READY `2/3` and UP-TO-DATE `1` moving towards the
//! spec. With `-o wide`, the template's containers, images and the selector join them: the
//! quickest way to see which image a ReplicaSet runs.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{age, at, col, container_cells, format_selector, int, name, wide, Column, Printer, AGE, NAME};

const CONTAINERS: Column = wide("Containers", "string", "Names of each container in the template.");
const IMAGES: Column = wide(
    "Images",
    "string",
    "Images referenced by each container in the template.",
);
const SELECTOR: Column = wide("Selector", "string", "The label selector of the pods it manages.");

/// Deployments: READY `ready/desired`, UP-TO-DATE, AVAILABLE.
pub const DEPLOYMENT: Printer = Printer {
    columns: &[
        NAME,
        col("Ready", "string", "Ready pods, out of the desired number."),
        col(
            "Up-to-date",
            "string",
            "Pods running the newest pod template (status.updatedReplicas).",
        ),
        col(
            "Available",
            "string",
            "Pods ready for at least minReadySeconds (status.availableReplicas).",
        ),
        AGE,
        CONTAINERS,
        IMAGES,
        SELECTOR,
    ],
    cells: deployment_cells,
    conditions: super::no_conditions,
};

/// ReplicaSets: DESIRED, CURRENT, READY as numbers.
pub const REPLICA_SET: Printer = Printer {
    columns: &[
        NAME,
        col("Desired", "integer", "The number of pods wanted (spec.replicas)."),
        col("Current", "integer", "The number of pods that exist (status.replicas)."),
        col("Ready", "integer", "The number of ready pods (status.readyReplicas)."),
        AGE,
        CONTAINERS,
        IMAGES,
        SELECTOR,
    ],
    cells: replica_set_cells,
    conditions: super::no_conditions,
};

/// StatefulSets: READY `ready/desired`.
pub const STATEFUL_SET: Printer = Printer {
    columns: &[
        NAME,
        col("Ready", "string", "Ready pods, out of the desired number."),
        AGE,
        CONTAINERS,
        IMAGES,
    ],
    cells: stateful_set_cells,
    conditions: super::no_conditions,
};

/// `spec.replicas`, which defaults to 1.
fn desired(object: &Value) -> i64 {
    at(object, &["spec", "replicas"]).and_then(Value::as_i64).unwrap_or(1)
}

fn template_spec(object: &Value) -> Option<&Value> {
    at(object, &["spec", "template", "spec"])
}

fn deployment_cells(d: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (containers, images) = container_cells(template_spec(d));
    vec![
        name(d).into(),
        format!("{}/{}", int(d, &["status", "readyReplicas"]), desired(d)).into(),
        int(d, &["status", "updatedReplicas"]).into(),
        int(d, &["status", "availableReplicas"]).into(),
        age(d, now),
        containers,
        images,
        format_selector(at(d, &["spec", "selector"])).into(),
    ]
}

fn replica_set_cells(rs: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (containers, images) = container_cells(template_spec(rs));
    vec![
        name(rs).into(),
        desired(rs).into(),
        int(rs, &["status", "replicas"]).into(),
        int(rs, &["status", "readyReplicas"]).into(),
        age(rs, now),
        containers,
        images,
        format_selector(at(rs, &["spec", "selector"])).into(),
    ]
}

fn stateful_set_cells(sts: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (containers, images) = container_cells(template_spec(sts));
    vec![
        name(sts).into(),
        format!("{}/{}", int(sts, &["status", "readyReplicas"]), desired(sts)).into(),
        age(sts, now),
        containers,
        images,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::parse_time;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        parse_time("2025-01-03T15:00:00Z").unwrap()
    }

    fn workload(replicas: Option<i64>, status: Value) -> Value {
        let mut spec = json!({
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {"containers": [
                {"name": "web", "image": "kubelab/demo:v1"},
                {"name": "log", "image": "kubelab/demo:v1"}]}},
        });
        if let Some(r) = replicas {
            spec["replicas"] = json!(r);
        }
        json!({"metadata": {"name": "web", "creationTimestamp": "2025-01-01T12:00:00Z"}, "spec": spec, "status": status})
    }

    #[test]
    fn deployment_cells_during_a_rollout() {
        let d = workload(
            Some(3),
            json!({"replicas": 4, "readyReplicas": 2, "updatedReplicas": 1, "availableReplicas": 2}),
        );
        let cells = deployment_cells(&d, now());
        assert_eq!(
            cells,
            vec![
                json!("web"),
                json!("2/3"),
                json!(1),
                json!(2),
                json!("2d3h"),
                json!("web,log"),
                json!("kubelab/demo:v1,kubelab/demo:v1"),
                json!("app=web")
            ]
        );
        assert_eq!(cells.len(), DEPLOYMENT.columns.len());
        // A new deployment without status yet.
        assert_eq!(deployment_cells(&workload(None, Value::Null), now())[1], json!("0/1"));
    }

    #[test]
    fn replica_set_and_stateful_set_cells() {
        let rs = workload(Some(3), json!({"replicas": 3, "readyReplicas": 1}));
        let cells = replica_set_cells(&rs, now());
        assert_eq!(&cells[..4], &[json!("web"), json!(3), json!(3), json!(1)]);
        assert_eq!(cells.len(), REPLICA_SET.columns.len());
        let sts = workload(Some(2), json!({"readyReplicas": 2}));
        let cells = stateful_set_cells(&sts, now());
        assert_eq!(cells[1], json!("2/2"));
        assert_eq!(cells.len(), STATEFUL_SET.columns.len());
    }
}
