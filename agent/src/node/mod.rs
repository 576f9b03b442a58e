//! # Node registration and heartbeat
//!
//! Before a scheduler can place a pod on a machine, the machine must exist in the API as a
//! Node. The agent creates it on start (or adopts the one a previous run created: the name is
//! the identity), then keeps telling the control plane it is alive in two ways, as the kubelet
//! does:
//!
//! - the **Lease** ([`lease`]) is renewed every few seconds: a tiny write that proves liveness;
//! - the **status** ([`status`]) is rewritten every `status_update_interval`, and at once when
//!   something in it changes (the runtime stops answering, say): capacity, conditions, addresses,
//!   `nodeInfo`.
//!
//! Host facts come from [`host`].

pub mod host;
pub mod lease;
pub mod status;

use std::sync::Arc;

use kubelab_api::core::Node;
use kubelab_api::{ObjectMeta, Time};
use kubelab_client::{Api, Client, ClientError};
use tokio::time::MissedTickBehavior;

use crate::config::AgentConfig;
use crate::runtime::{ContainerRuntime, RuntimeError};
use host::host_facts;
use lease::LeaseKeeper;
use status::{build_node_status, differs, node_labels, NodeHealth};

/// Why registration or a status update failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The API server refused or did not answer.
    #[error("node {node}: {source}")]
    Api {
        node: String,
        #[source]
        source: ClientError,
    },
    /// The container runtime did not answer when the agent started.
    #[error("container runtime: {0}")]
    Runtime(#[from] RuntimeError),
}

/// Asks the runtime how it is.
pub async fn check_health(runtime: &dyn ContainerRuntime) -> NodeHealth {
    match runtime.version().await {
        Ok(version) => NodeHealth {
            runtime_version: version,
            runtime_error: None,
        },
        Err(e) => NodeHealth {
            runtime_version: String::new(),
            runtime_error: Some(e.to_string()),
        },
    }
}

/// Creates the Node, or adopts an existing one (adding our labels), and writes its status.
pub async fn register(config: &AgentConfig, client: &Client, health: &NodeHealth) -> Result<Node, NodeError> {
    let api: Api<Node> = Api::all(client.clone());
    let err = |source| NodeError::Api {
        node: config.node_name.clone(),
        source,
    };
    let labels = node_labels(config);
    for _ in 0..5 {
        let node = match api.get_opt(&config.node_name).await.map_err(err)? {
            None => {
                let node = Node {
                    metadata: ObjectMeta {
                        name: Some(config.node_name.clone()),
                        labels: labels.clone(),
                        ..Default::default()
                    },
                    status: Some(build_node_status(config, host_facts(), health, None, Time::now())),
                    ..Default::default()
                };
                match api.create(&node).await {
                    Ok(created) => {
                        tracing::info!(node = %config.node_name, "registered node");
                        created
                    }
                    Err(e) if e.is_already_exists() => continue,
                    Err(e) => return Err(err(e)),
                }
            }
            Some(mut node) => {
                let mut merged = node.metadata.labels.clone();
                merged.extend(labels.clone());
                if merged != node.metadata.labels {
                    node.metadata.labels = merged;
                    node = match api.replace(&config.node_name, &node).await {
                        Ok(node) => node,
                        Err(e) if e.is_conflict() => continue,
                        Err(e) => return Err(err(e)),
                    };
                }
                tracing::info!(node = %config.node_name, "adopted existing node");
                node
            }
        };
        return update_status(config, &api, health).await.map(|n| n.unwrap_or(node));
    }
    Err(err(ClientError::Request(format!(
        "node {} kept changing while registering",
        config.node_name
    ))))
}

/// Writes the node's status from what is known now; `None` if the Node is gone.
pub async fn update_status(
    config: &AgentConfig,
    api: &Api<Node>,
    health: &NodeHealth,
) -> Result<Option<Node>, NodeError> {
    let err = |source| NodeError::Api {
        node: config.node_name.clone(),
        source,
    };
    for _ in 0..3 {
        let Some(mut node) = api.get_opt(&config.node_name).await.map_err(err)? else {
            return Ok(None);
        };
        node.status = Some(build_node_status(
            config,
            host_facts(),
            health,
            node.status.as_ref(),
            Time::now(),
        ));
        match api.replace_status(&config.node_name, &node).await {
            Ok(written) => return Ok(Some(written)),
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(err(e)),
        }
    }
    Ok(None)
}

/// Renews the Lease and reports status until the task is aborted. Failures are logged and
/// retried at the next tick: a heartbeat loop never gives up.
pub async fn heartbeat(config: AgentConfig, client: Client, runtime: Arc<dyn ContainerRuntime>, node: Node) {
    let api: Api<Node> = Api::all(client.clone());
    let mut lease = LeaseKeeper::new(
        client,
        &config.node_name,
        node.metadata.uid.clone(),
        config.lease_duration,
    );
    let mut reported = node.status.clone().unwrap_or_default();
    let mut lease_ticker = tokio::time::interval(config.lease_renew_interval);
    lease_ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut status_ticker = tokio::time::interval(config.status_update_interval);
    status_ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    status_ticker.tick().await; // registration just wrote it
    loop {
        let force = tokio::select! {
            _ = lease_ticker.tick() => {
                if let Err(e) = lease.renew().await {
                    tracing::warn!(node = %config.node_name, error = %e, "renewing the node lease failed");
                }
                false
            }
            _ = status_ticker.tick() => true,
        };
        let health = check_health(runtime.as_ref()).await;
        let wanted = build_node_status(&config, host_facts(), &health, Some(&reported), Time::now());
        if !force && !differs(&reported, &wanted) {
            continue;
        }
        match update_status(&config, &api, &health).await {
            Ok(Some(node)) => reported = node.status.unwrap_or_default(),
            Ok(None) => {
                tracing::warn!(node = %config.node_name, "the Node object is gone; it is created again on restart")
            }
            Err(e) => tracing::warn!(error = %e, "updating node status failed"),
        }
    }
}
