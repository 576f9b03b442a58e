//! # The service-proxy manager: one proxy container per Service, kept right
//!
//! kube-proxy runs on every node and programs that node's packet filter. kubelab's pods all
//! share one Docker network, so one manager per cluster (`kubelab service-proxy`) is enough: it
//! watches every Service and makes Docker match, as a controller does:
//!
//! ```text
//!  Service informer ──(enqueue ns/name)──▶ WorkQueue ──▶ reconcile(ns/name)
//!                                                         │ desired: spec::desired(Service)
//!                                                         │ actual:  containers labelled with it
//!                                                         └ same hash and running: nothing;
//!                                                           otherwise remove, then create
//! ```
//!
//! A Service with a ClusterIP gets a container (created); one whose IP, ports or nodePorts
//! change gets a new one (recreated); a deleted or headless one gets none (removed). A periodic
//! resync also finds proxy containers whose Service vanished while the manager was down. The
//! containers outlive the manager: a restarted manager adopts them by label and hash.
//!
//! The manager also keeps the cluster's DNS (kube-dns's place): it creates the
//! `kube-system/kube-dns` Service at the 10th address of the service range when it is missing,
//! and reconciles that one Service into a **DNS container** (`kubelab-proxy dns`) instead of a
//! proxy ([`spec::Role::Dns`]). Agents started with `--cluster-dns <that address>` give it to
//! every pod as its name server.

pub mod docker;
pub mod spec;

use std::collections::BTreeSet;
use std::future::Future;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;
use kubelab_agent::images::{ensure_image, PROXY_IMAGE};
use kubelab_agent::runtime::docker::{connect_docker, ClusterNetwork};
use kubelab_api::core::Service;
use kubelab_client::{Api, Client, Config, Informer, ListParams, Store, WorkQueue};

/// How often every Service is reconciled even without a change (finds containers that died or
/// were removed by hand, and orphans).
const RESYNC: Duration = Duration::from_secs(10);
/// How many Services are reconciled at once.
const WORKERS: usize = 4;

/// Flags of the manager.
#[derive(Clone, Debug)]
pub struct ManagerConfig {
    pub cluster: String,
    /// The API server, as the manager (on the host) reaches it.
    pub apiserver: String,
    /// The API server as proxy containers reach it; by default the cluster network's gateway
    /// with the port of `apiserver`.
    pub proxy_apiserver: Option<String>,
    /// The `kubelab-proxy` binary to build `kubelab/proxy` from.
    pub proxy_binary: PathBuf,
}

/// Why the manager stopped, or why one Service could not be reconciled.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// Docker is unreachable or refused a request.
    #[error("docker: {0}")]
    Docker(String),
    /// The proxy image could not be built.
    #[error("building {PROXY_IMAGE}: {0}")]
    Image(String),
    /// A flag is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// The URL proxies use: `proxy_apiserver`, or the gateway with the port of `apiserver`.
pub fn proxy_apiserver_url(
    apiserver: &str,
    explicit: Option<&str>,
    gateway: std::net::Ipv4Addr,
) -> Result<String, ManagerError> {
    if let Some(url) = explicit {
        return Ok(url.trim_end_matches('/').to_string());
    }
    let rest = apiserver
        .strip_prefix("http://")
        .ok_or_else(|| ManagerError::Config(format!("--apiserver {apiserver:?} must be an http:// URL")))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let port = match authority.rsplit_once(':') {
        Some((_, port)) if !port.contains(']') => port
            .parse::<u16>()
            .map_err(|_| ManagerError::Config(format!("--apiserver {apiserver:?}: bad port {port:?}")))?,
        _ => 80,
    };
    Ok(format!("http://{gateway}:{port}"))
}

/// Runs the manager until `shutdown`.
pub async fn run(config: ManagerConfig, shutdown: impl Future<Output = ()>) -> Result<(), ManagerError> {
    let docker = connect_docker()
        .await
        .map_err(|e| ManagerError::Docker(e.to_string()))?;
    let network = ClusterNetwork::ensure(&docker, &config.cluster)
        .await
        .map_err(|e| ManagerError::Docker(e.to_string()))?;
    let image = ensure_image(&docker, PROXY_IMAGE, &config.proxy_binary, None, false)
        .await
        .map_err(|e| ManagerError::Image(e.to_string()))?;
    let proxy_apiserver = proxy_apiserver_url(&config.apiserver, config.proxy_apiserver.as_deref(), network.gateway)?;
    tracing::info!(cluster = %config.cluster, network = %network.name, service_range = %network.service_range,
        proxy_apiserver = %proxy_apiserver, image = %image.id, "service-proxy manager started");

    let client = Client::new(Config::new(config.apiserver.clone()))
        .map_err(|e| ManagerError::Config(format!("--apiserver {:?}: {e}", config.apiserver)))?;
    let dns_services = Api::<Service>::namespaced(client.clone(), spec::DNS_NAMESPACE);
    let dns_ip = network.dns_ip();
    let queue: WorkQueue = WorkQueue::new();
    let mut informer = Informer::new(Api::<Service>::all(client), ListParams::default());
    {
        let q = queue.clone();
        informer.on_event(move |event| q.add(event.key()));
    }
    let store = informer.store();
    let informer_task = tokio::spawn(informer.run());
    store.wait_for_sync().await;
    ensure_dns_service(&store, &dns_services, dns_ip).await;

    let reconciler = std::sync::Arc::new(Reconciler {
        docker,
        network,
        store,
        proxy_apiserver,
        image_id: image.id,
    });
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..WORKERS {
        let (reconciler, queue) = (reconciler.clone(), queue.clone());
        workers.spawn(async move {
            while let Some(key) = queue.get().await {
                match reconciler.reconcile(&key).await {
                    Ok(()) => queue.forget(&key),
                    Err(e) => {
                        tracing::warn!(service = %key, error = %e, "reconcile failed; will retry");
                        queue.add_rate_limited(key.clone());
                    }
                }
                queue.done(&key);
            }
        });
    }
    let resync = {
        let (reconciler, queue) = (reconciler.clone(), queue.clone());
        async move {
            let mut tick = tokio::time::interval(RESYNC);
            loop {
                tick.tick().await;
                // kube-dns deleted by hand comes back, as kube-dns's addon manager would do.
                ensure_dns_service(&reconciler.store, &dns_services, dns_ip).await;
                // Every known Service, plus every container's Service (orphans of deleted ones).
                let mut keys: BTreeSet<String> = reconciler.store.keys().into_iter().collect();
                match docker::list(&reconciler.docker, &reconciler.network.cluster).await {
                    Ok(actual) => keys.extend(actual.into_iter().map(|a| a.service)),
                    Err(e) => tracing::warn!(error = %e, "resync: cannot list proxy containers"),
                }
                for key in keys {
                    queue.add(key);
                }
            }
        }
    };
    tokio::select! {
        _ = shutdown => {}
        _ = resync => {}
    }
    queue.shut_down();
    while workers.join_next().await.is_some() {}
    informer_task.abort();
    Ok(())
}

/// Creates `kube-system/kube-dns` with clusterIP `ip` if the informer's `store` has none. A
/// failure is logged, not fatal: the proxies work without DNS, and the next resync tries again.
async fn ensure_dns_service(store: &Store<Service>, services: &Api<Service>, ip: Ipv4Addr) {
    let key = format!("{}/{}", spec::DNS_NAMESPACE, spec::DNS_SERVICE);
    if let Some(existing) = store.get(&key) {
        let wanted = ip.to_string();
        if existing.spec.cluster_ip.as_deref() != Some(wanted.as_str()) {
            tracing::debug!(service = %key, cluster_ip = ?existing.spec.cluster_ip, expected = %ip,
                "kube-dns has another address than the one agents are given (--cluster-dns)");
        }
        return;
    }
    match services.create(&spec::kube_dns_service(ip)).await {
        Ok(_) => tracing::info!(service = %key, %ip, "created the cluster DNS Service"),
        Err(e) if e.is_already_exists() => {}
        // Another Service holding the address, most likely: say so plainly.
        Err(e) => tracing::warn!(service = %key, %ip, error = %e, "cannot create the cluster DNS Service"),
    }
}

struct Reconciler {
    docker: Docker,
    network: ClusterNetwork,
    store: Store<Service>,
    proxy_apiserver: String,
    image_id: String,
}

impl Reconciler {
    /// Makes the proxy containers of Service `key` (`namespace/name`) match it.
    async fn reconcile(&self, key: &str) -> Result<(), ManagerError> {
        let service = self.store.get(key);
        let wanted = match service.as_deref() {
            Some(service) => match spec::desired(service, &self.network, &self.proxy_apiserver, &self.image_id) {
                Ok(wanted) => wanted,
                Err(e) => {
                    // Not retried: only a change to the Service can fix it (and re-enqueues it).
                    tracing::warn!(service = %key, "{e}");
                    None
                }
            },
            None => None,
        };
        let actual: Vec<docker::Actual> = docker::list(&self.docker, &self.network.cluster)
            .await?
            .into_iter()
            .filter(|a| a.service == key)
            .collect();
        let mut keep = None;
        for found in &actual {
            let good = wanted.as_ref().is_some_and(|w| w.hash == found.hash) && found.running && keep.is_none();
            if good {
                keep = Some(found.id.clone());
            } else {
                tracing::info!(service = %key, container = %short(&found.id), "removing proxy container");
                docker::remove(&self.docker, &found.id).await?;
            }
        }
        if let (Some(wanted), None) = (&wanted, &keep) {
            let id = docker::create(&self.docker, wanted, &self.network).await?;
            tracing::info!(service = %key, ip = %wanted.ip, container = %short(&id), node_ports = ?wanted.node_ports,
                role = wanted.role.label(), "container started");
        }
        Ok(())
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_reach_the_apiserver_at_the_gateway_by_default() {
        let gw = std::net::Ipv4Addr::new(10, 130, 16, 1);
        assert_eq!(
            proxy_apiserver_url("http://127.0.0.1:6443", None, gw).unwrap(),
            "http://10.130.16.1:6443"
        );
        assert_eq!(
            proxy_apiserver_url("http://localhost/", None, gw).unwrap(),
            "http://10.130.16.1:80"
        );
        assert_eq!(
            proxy_apiserver_url("http://x:1", Some("http://10.0.0.1:9/"), gw).unwrap(),
            "http://10.0.0.1:9"
        );
        assert!(proxy_apiserver_url("https://x:1", None, gw).is_err());
        assert!(proxy_apiserver_url("http://x:notaport", None, gw).is_err());
    }
}
