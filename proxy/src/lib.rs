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
//!   accepts and splices bytes, on [`workers`]: one single-threaded runtime per thread, each
//!   with its own listening socket per port ([`listen`]);
//! - the **manager** ([`manager`], `kubelab service-proxy`, one per cluster): watches every
//!   Service and keeps exactly one proxy container per ClusterIP Service, with the right IP,
//!   DNS aliases and published NodePorts, plus the cluster's DNS container;
//! - the **cluster DNS server** ([`dns`], `kubelab-proxy dns`, CoreDNS's place): answers
//!   `cluster.local` names from live Services and Endpoints, in the same image.

pub mod affinity;
pub mod backend;
pub mod balance;
pub mod dns;
pub mod follow;
pub mod forward;
pub mod listen;
pub mod manager;
pub mod plan;
pub mod retry;
pub mod route;
pub mod workers;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use kubelab_client::{Client, Config};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::affinity::Affinity;
use crate::balance::Pool;
use crate::plan::Plan;
use crate::route::Route;
use crate::workers::{WorkerError, Workers};

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
    /// How many threads forward connections (see [`workers`]).
    pub threads: usize,
}

/// Why the proxy could not run.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The configuration is unusable (bad API server URL, empty names).
    #[error("invalid proxy configuration: {0}")]
    Config(String),
    /// The forwarding threads could not start.
    #[error(transparent)]
    Workers(#[from] WorkerError),
}

/// Runs the proxy until `shutdown` completes. The control work runs on the caller's runtime,
/// the forwarding on `config.threads` threads of its own.
pub async fn run(config: ProxyConfig, shutdown: impl Future<Output = ()>) -> Result<(), ProxyError> {
    if config.namespace.is_empty() || config.service.is_empty() {
        return Err(ProxyError::Config("--namespace and --service must not be empty".into()));
    }
    let client = Client::new(Config::new(config.apiserver.clone()))
        .map_err(|e| ProxyError::Config(format!("API server {:?}: {e}", config.apiserver)))?;
    let workers = Workers::start(config.threads)?;
    let (plans_tx, mut plans) = watch::channel(None);
    let follower = {
        let (namespace, service) = (config.namespace.clone(), config.service.clone());
        tokio::spawn(async move { follow::follow(client, &namespace, &service, plans_tx).await })
    };
    tracing::info!(service = %format!("{}/{}", config.namespace, config.service), apiserver = %config.apiserver, "proxy started");
    let mut ports = Ports::new(config.listen_ip, workers);
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
            ports.apply(&plan);
        }
    }
    follower.abort();
    Ok(())
}

/// The open Service ports, each with its listener tasks (one per worker) and backend pool.
struct Ports {
    listen_ip: IpAddr,
    open: BTreeMap<u16, OpenPort>,
    failed: Vec<u16>,
    /// Last, so that the ports' tasks are aborted before the workers stop.
    workers: Workers,
}

/// One open port. Affinity is per port, as in Kubernetes: one client may stick to different
/// pods on two ports of one Service.
struct OpenPort {
    pool: Pool,
    affinity: Arc<Affinity>,
    /// The accept loops, one on each worker; aborting one closes its socket.
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for OpenPort {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Ports {
    fn new(listen_ip: IpAddr, workers: Workers) -> Self {
        Ports {
            listen_ip,
            open: BTreeMap::new(),
            failed: Vec::new(),
            workers,
        }
    }

    fn has_failures(&self) -> bool {
        !self.failed.is_empty()
    }

    /// Opens, updates and closes ports to match `plan`. Called on the control runtime: the
    /// pools' balancers run there, shared by the workers.
    fn apply(&mut self, plan: &Plan) {
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
                let listeners = match listen::bind_shared(addr, self.workers.len()) {
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
                let serving = listeners
                    .into_iter()
                    .map(|listener| forward::serve_std(listener, route.clone()));
                let tasks = self.workers.spawn_each(serving);
                tracing::info!(%addr, name = %wanted.name, threads = tasks.len(), "port open");
                self.open.insert(*port, OpenPort { pool, affinity, tasks });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PortPlan;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A backend that echoes what it reads, on every connection.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        addr
    }

    fn plan_with(port: u16, backends: &[SocketAddr]) -> Plan {
        let wanted = PortPlan {
            name: "echo".into(),
            backends: backends.iter().copied().collect(),
        };
        Plan {
            ports: [(port, wanted)].into(),
            ..Plan::default()
        }
    }

    #[tokio::test]
    async fn an_open_port_forwards_on_the_workers_and_a_closed_one_refuses() {
        let backend = echo_server().await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let service = SocketAddr::from(([127, 0, 0, 1], port));
        let mut ports = Ports::new(service.ip(), Workers::start(2).unwrap());
        ports.apply(&plan_with(port, &[backend]));
        assert!(!ports.has_failures());

        // Enough connections that, with the kernel's hashing, both workers very likely serve some.
        let mut clients = Vec::new();
        for i in 0..16u8 {
            let mut client = TcpStream::connect(service).await.unwrap();
            client.write_all(&[i; 3]).await.unwrap();
            clients.push(client);
        }
        for (i, client) in clients.iter_mut().enumerate() {
            let mut echoed = [0u8; 3];
            tokio::time::timeout(Duration::from_secs(10), client.read_exact(&mut echoed))
                .await
                .expect("the proxy forwards within 10 s")
                .unwrap();
            assert_eq!(echoed, [i as u8; 3]);
        }

        ports.apply(&Plan::default());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        // Aborting the accept loops closes their sockets on the workers' threads, a moment later.
        while TcpStream::connect(service).await.is_ok() {
            assert!(tokio::time::Instant::now() < deadline, "the closed port still accepts");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn zero_threads_is_a_configuration_error() {
        let config = ProxyConfig {
            apiserver: "http://127.0.0.1:1".into(),
            namespace: "default".into(),
            service: "web".into(),
            listen_ip: [127, 0, 0, 1].into(),
            threads: 0,
        };
        let err = run(config, std::future::pending()).await.unwrap_err();
        assert!(matches!(err, ProxyError::Workers(WorkerError::NoThreads)), "{err}");
    }
}
