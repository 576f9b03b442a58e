//! # kubelab-proxy: kubelab's kube-proxy, one small proxy per Service
//!
//! Kubernetes gives every Service a virtual IP that no machine owns; kube-proxy on each node
//! rewrites packets sent to it (iptables or IPVS rules) so they reach a ready pod. kubelab runs
//! on Docker, without touching the host's packet filter, so it makes the virtual IP real: each
//! Service with a ClusterIP gets one **proxy container** that owns that IP on the cluster's
//! network, answers to the Service's DNS names, and forwards each TCP connection to a ready pod.
//!
//! Two halves, both in this crate:
//!
//! - the **proxy** ([`run`], the `kubelab-proxy` binary inside the `kubelab/proxy` image):
//!   [`follow`] watches its Service and Endpoints, [`plan`] turns them into ports and backends,
//!   and per port a tower stack does the work, outside in: [`route`] (no endpoints: reset at
//!   once; session affinity) → [`retry`] (a failed connect tries another pod) → [`balance`]
//!   (power of two choices over open connections) → [`backend`] (connect, count). [`forward`]
//!   accepts and splices bytes;
//! - the **manager** ([`manager`], `kubelab service-proxy`, one per cluster): watches every
//!   Service and keeps exactly one proxy container per ClusterIP Service, with the right IP,
//!   DNS aliases and published NodePorts.

pub mod affinity;
pub mod backend;
pub mod balance;
pub mod follow;
pub mod forward;
pub mod manager;
pub mod plan;
pub mod retry;
pub mod route;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use kubelab_client::{Client, Config};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::affinity::Affinity;
use crate::balance::Pool;
use crate::plan::Plan;
use crate::route::Route;

/// What one proxy serves.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// The API server, as seen from where the proxy runs (`http://<gateway>:6443` in a container).
    pub apiserver: String,
    pub namespace: String,
    /// The Service's name.
    pub service: String,
    /// The address the Service's ports are opened on (`0.0.0.0` in the proxy's container).
    pub listen_ip: IpAddr,
}

/// Why the proxy could not run.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The configuration is unusable (bad API server URL, empty names).
    #[error("invalid proxy configuration: {0}")]
    Config(String),
}

/// Runs the proxy until `shutdown` completes.
pub async fn run(config: ProxyConfig, shutdown: impl Future<Output = ()>) -> Result<(), ProxyError> {
    if config.namespace.is_empty() || config.service.is_empty() {
        return Err(ProxyError::Config("--namespace and --service must not be empty".into()));
    }
    let client = Client::new(Config::new(config.apiserver.clone()))
        .map_err(|e| ProxyError::Config(format!("API server {:?}: {e}", config.apiserver)))?;
    let (plans_tx, mut plans) = watch::channel(None);
    let follower = {
        let (namespace, service) = (config.namespace.clone(), config.service.clone());
        tokio::spawn(async move { follow::follow(client, &namespace, &service, plans_tx).await })
    };
    tracing::info!(service = %format!("{}/{}", config.namespace, config.service), apiserver = %config.apiserver, "proxy started");
    let mut ports = Ports::new(config.listen_ip);
    // Ports that could not be opened are tried again now and then (another process may hold one).
    let mut retry = tokio::time::interval(Duration::from_secs(1));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            changed = plans.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            _ = retry.tick(), if ports.has_failures() => {}
        }
        let plan = plans.borrow_and_update().clone();
        if let Some(plan) = plan {
            ports.apply(&plan).await;
        }
    }
    follower.abort();
    Ok(())
}

/// The open Service ports, each with its listener task and backend pool.
struct Ports {
    listen_ip: IpAddr,
    open: BTreeMap<u16, OpenPort>,
    failed: Vec<u16>,
}

/// One open port. Affinity is per port, as in Kubernetes: one client may stick to different
/// pods on two ports of one Service.
struct OpenPort {
    pool: Pool,
    affinity: Arc<Affinity>,
    task: JoinHandle<()>,
}

impl Drop for OpenPort {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Ports {
    fn new(listen_ip: IpAddr) -> Self {
        Ports {
            listen_ip,
            open: BTreeMap::new(),
            failed: Vec::new(),
        }
    }

    fn has_failures(&self) -> bool {
        !self.failed.is_empty()
    }

    /// Opens, updates and closes ports to match `plan`.
    async fn apply(&mut self, plan: &Plan) {
        for reason in &plan.skipped {
            tracing::warn!("{reason}");
        }
        self.open.retain(|port, _| {
            let keep = plan.ports.contains_key(port);
            if !keep {
                tracing::info!(port, "port closed");
            }
            keep
        });
        self.failed.clear();
        for (port, wanted) in &plan.ports {
            if !self.open.contains_key(port) {
                let addr = SocketAddr::new(self.listen_ip, *port);
                let listener = match TcpListener::bind(addr).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(%addr, error = %e, "cannot open the service port; will try again");
                        self.failed.push(*port);
                        continue;
                    }
                };
                let pool = Pool::new();
                let affinity = Arc::new(Affinity::default());
                let route = Route::new(pool.service(), pool.subscribe(), affinity.clone());
                let task = tokio::spawn(forward::serve(listener, route));
                tracing::info!(%addr, name = %wanted.name, "port open");
                self.open.insert(*port, OpenPort { pool, affinity, task });
            }
            if let Some(open) = self.open.get(port) {
                open.affinity.set_timeout(plan.affinity);
                let (added, removed) = open.pool.set_backends(&wanted.backends);
                if added + removed > 0 {
                    tracing::info!(
                        port,
                        added,
                        removed,
                        backends = wanted.backends.len(),
                        "endpoints changed"
                    );
                }
            }
        }
    }
}
