//! # `kubelab status` (minikube status)
//!
//! Two different questions, answered from two different sources:
//!
//! - **is the process running?** From the state file's PIDs (checked against their start
//!   times): the operating system's view, true even when the API server is down;
//! - **is it healthy?** From the cluster itself: the API server's `/readyz`, and each node's
//!   `Ready` condition as the API server stores it. A node agent can be running while its node
//!   is `NotReady` (it cannot reach the API server), and a killed agent's node still says
//!   `Ready` until the node lifecycle controller notices the missing heartbeats: seeing both
//!   columns side by side is the lesson.
//!
//! Exits non-zero unless every component runs and is healthy, so scripts can wait on it.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use kubelab_api::core::Node;
use kubelab_client::{Api, Client, Config, ListParams};

use super::state::{Component, Role, State};
use super::{process, ClusterArgs};

/// Flags of `kubelab status`.
#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// The nodes as the API server stores them, by name.
pub async fn fetch_nodes(server: &str) -> anyhow::Result<HashMap<String, Node>> {
    let client = Client::new(Config::new(server.to_string())).context("building the API client")?;
    let nodes: Api<Node> = Api::all(client);
    let list = nodes
        .list(&ListParams::default())
        .await
        .with_context(|| format!("listing nodes at {server}"))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|node| node.metadata.name.clone().map(|name| (name, node)))
        .collect())
}

/// A node's `Ready` condition as kubectl's STATUS column shows it.
pub fn node_health(node: Option<&Node>) -> String {
    let Some(node) = node else {
        return "not registered".into();
    };
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"));
    match ready.map(|c| c.status.as_str()) {
        Some("True") => "Ready".into(),
        Some("False") => "NotReady".into(),
        Some(other) => format!("NotReady ({other})"),
        None => "NotReady (no condition)".into(),
    }
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub running: bool,
    pub pid: Option<u32>,
    pub address: Option<String>,
    pub health: String,
}

impl Row {
    fn healthy(&self) -> bool {
        self.running && (self.health == "-" || self.health == "ok" || self.health == "Ready")
    }
}

/// The rows for `state`, given the apiserver's health and the nodes (if the API answered).
pub fn rows(state: &State, apiserver_health: &str, nodes: Option<&HashMap<String, Node>>) -> Vec<Row> {
    state
        .components
        .iter()
        .map(|c: &Component| {
            let running = c.pid.is_some_and(|pid| process::is_alive(pid, c.start_time));
            let health = match c.role {
                Role::Apiserver => apiserver_health.to_string(),
                Role::Scheduler | Role::Controller | Role::ServiceProxy | Role::Ingress => "-".into(),
                Role::Agent => match nodes {
                    Some(nodes) => node_health(nodes.get(&c.name)),
                    None => "unknown (API down)".into(),
                },
            };
            Row {
                name: c.name.clone(),
                running,
                pid: c.pid.filter(|_| running),
                address: c.address.clone(),
                health,
            }
        })
        .collect()
}

/// The table, with aligned columns.
pub fn render(rows: &[Row]) -> String {
    let mut table = vec![[
        "NAME".to_string(),
        "STATE".into(),
        "PID".into(),
        "ADDRESS".into(),
        "HEALTH".into(),
    ]];
    for row in rows {
        table.push([
            row.name.clone(),
            if row.running { "running" } else { "stopped" }.into(),
            row.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            row.address.clone().unwrap_or_else(|| "-".into()),
            row.health.clone(),
        ]);
    }
    let mut widths = [0usize; 5];
    for line in &table {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for line in &table {
        let mut text = String::new();
        for (i, (cell, w)) in line.iter().zip(widths).enumerate() {
            if i + 1 == line.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}   "));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// `/readyz` of the apiserver: `ok`, or why not.
async fn apiserver_health(server: &str) -> String {
    let Ok(http) = reqwest::Client::builder().timeout(Duration::from_secs(2)).build() else {
        return "unknown".into();
    };
    match http.get(format!("{server}/readyz")).send().await {
        Ok(r) if r.status().is_success() => "ok".into(),
        Ok(r) => format!("not ready (/readyz: {})", r.status().as_u16()),
        Err(_) => "unreachable".into(),
    }
}

/// Runs `kubelab status`.
pub async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let layout = args.cluster.layout()?;
    let hint = args.cluster.hint_flags();
    let Some(state) = State::load(&layout)? else {
        bail!(
            "cluster \"{}\" does not exist (no {}); start it with `kubelab up{hint}`",
            args.cluster.cluster,
            layout.state_file().display()
        );
    };
    let server = state.server_url();
    let health = apiserver_health(&server).await;
    let nodes = if health == "ok" {
        fetch_nodes(&server).await.ok()
    } else {
        None
    };
    let rows = rows(&state, &health, nodes.as_ref());
    println!(
        "cluster: {} ({} runtime, {} node{}), home {}",
        state.cluster,
        state.runtime,
        state.nodes,
        if state.nodes == 1 { "" } else { "s" },
        layout.home.display()
    );
    print!("{}", render(&rows));
    println!("kubeconfig: {}", layout.kubeconfig().display());
    let running = rows.iter().filter(|r| r.running).count();
    if running == 0 {
        bail!(
            "cluster \"{}\" is stopped; start it with `kubelab up{hint}`",
            state.cluster
        );
    }
    let unhealthy: Vec<&str> = rows.iter().filter(|r| !r.healthy()).map(|r| r.name.as_str()).collect();
    if !unhealthy.is_empty() {
        bail!(
            "cluster \"{}\" is degraded: {} (`kubelab up{hint}` starts what is stopped; `kubelab logs NAME{hint}`)",
            state.cluster,
            unhealthy.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(ready: &str) -> Node {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n"},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}
        }))
        .unwrap()
    }

    #[test]
    fn node_health_reads_the_ready_condition() {
        assert_eq!(node_health(Some(&node("True"))), "Ready");
        assert_eq!(node_health(Some(&node("False"))), "NotReady");
        assert_eq!(node_health(Some(&node("Unknown"))), "NotReady (Unknown)");
        assert_eq!(node_health(None), "not registered");
    }

    #[test]
    fn the_table_is_aligned_and_stopped_processes_have_no_pid() {
        let me = std::process::id();
        let state = State {
            cluster: "c".into(),
            runtime: "hollow".into(),
            api_port: 1,
            nodes: 1,
            binary: "k".into(),
            components: vec![
                Component {
                    name: "apiserver".into(),
                    role: Role::Apiserver,
                    pid: Some(me),
                    start_time: process::start_time(me),
                    address: Some("127.0.0.1:1".into()),
                    log: "a.log".into(),
                    args: vec![],
                },
                Component {
                    name: "node-1".into(),
                    role: Role::Agent,
                    pid: Some(u32::MAX),
                    start_time: None,
                    address: None,
                    log: "n.log".into(),
                    args: vec![],
                },
            ],
        };
        let nodes = HashMap::from([("node-1".to_string(), node("True"))]);
        let rows = rows(&state, "ok", Some(&nodes));
        assert!(rows[0].running && rows[0].healthy());
        assert!(!rows[1].running && rows[1].pid.is_none() && !rows[1].healthy());
        let text = render(&rows);
        let expected = format!(
            "NAME        STATE     PID{pad}   ADDRESS       HEALTH\n\
             apiserver   running   {me}   127.0.0.1:1   ok\n\
             node-1      stopped   -{dash}   -             Ready\n",
            pad = " ".repeat(me.to_string().len().saturating_sub(3)),
            dash = " ".repeat(me.to_string().len().max(3) - 1),
        );
        assert_eq!(text, expected);
    }
}
