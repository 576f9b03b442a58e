//! # kubelab-agent: the node agent (Kubernetes' kubelet)
//!
//! An agent makes a machine a node: it registers a Node object, keeps it alive with a Lease, and
//! runs every pod the scheduler bound to it through a [`runtime::ContainerRuntime`] — real Docker
//! containers, or the in-memory hollow runtime for scale tests.
//!
//! | what the kubelet does | where it lives here |
//! | --- | --- |
//! | flags and defaults | [`config`] |
//! | register the Node, renew its Lease, report node status | [`node`] |
//! | watch the pods bound to this node, sync each one | [`pods`] |
//! | plan a pod's containers (`computePodActions`) | [`pods::plan`] |
//! | crash-loop back-off | [`pods::backoff`] |
//! | pod status (phase, conditions, container states) | [`pods::status`] |
//! | liveness, readiness, startup probes | [`pods::probes`] |
//! | notice exited containers (PLEG), remove orphans | [`pods::relist`] |
//! | events (`Pulled`, `Started`, `BackOff`...) | [`events`] |
//! | serve container logs and exec on the node's port | [`server`] |
//! | the container runtime (CRI) and the fake one of kubemark | [`runtime`], [`runtime::hollow`] |
//!
//! The entry point is [`run`]: one call runs one node until `shutdown` resolves. Containers
//! outlive the agent on purpose — a restarted agent adopts them.

pub mod images;
pub mod runtime;

pub mod config;
pub mod events;
pub mod node;
pub mod pods;
pub mod server;

use std::future::Future;
use std::sync::Arc;

pub use config::{AgentConfig, Capacity};
use runtime::ContainerRuntime;

/// Why an agent stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The Node could not be registered.
    #[error(transparent)]
    Node(#[from] node::NodeError),
    /// The agent's port (logs and exec) could not be opened.
    #[error("cannot listen on port {port} for logs and exec: {source}")]
    Listen { port: u16, source: std::io::Error },
    /// One of the agent's loops ended, which they never do on their own.
    #[error("agent loop {0} ended unexpectedly")]
    LoopEnded(&'static str),
}

/// Runs one node agent until `shutdown` resolves: registers the Node, then keeps its Lease and
/// status fresh and runs the pods bound to it with `runtime`.
///
/// Stopping the agent leaves its containers running, as stopping a kubelet does: the next agent
/// for this node adopts them.
pub async fn run(
    mut config: AgentConfig,
    client: kubelab_client::Client,
    runtime: Arc<dyn ContainerRuntime>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    // Bound before the Node is registered, so the Node reports the port that really serves.
    let listeners = if config.serve {
        let (listeners, port) =
            server::bind(&config.node_ip, config.port)
                .await
                .map_err(|source| AgentError::Listen {
                    port: config.port,
                    source,
                })?;
        config.port = port;
        listeners
    } else {
        Vec::new()
    };
    let health = node::check_health(runtime.as_ref()).await;
    if let Some(why) = &health.runtime_error {
        tracing::warn!(node = %config.node_name, error = %why, "container runtime is not answering; the node registers as not ready");
    }
    let registered = node::register(&config, &client, &health).await?;
    let scheme = health
        .runtime_version
        .split_once("://")
        .map_or("docker", |(scheme, _)| scheme)
        .to_string();
    let events = events::EventRecorder::spawn(client.clone(), &config.node_name);

    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(node::heartbeat(
        config.clone(),
        client.clone(),
        runtime.clone(),
        registered,
    ));
    if !listeners.is_empty() {
        let runtime = runtime.clone();
        tasks.spawn(async move { server::serve(listeners, runtime).await });
    }
    tasks.spawn(pods::run(config, client, runtime, events, scheme));
    tokio::pin!(shutdown);
    let result = tokio::select! {
        _ = &mut shutdown => Ok(()),
        _ = tasks.join_next() => Err(AgentError::LoopEnded("heartbeat, pod sync or server")),
    };
    tasks.shutdown().await;
    result
}
