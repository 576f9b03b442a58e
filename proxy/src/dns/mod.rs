//! # The cluster DNS server (CoreDNS's place)
//!
//! Every Kubernetes cluster runs a DNS server that knows the cluster: CoreDNS with its
//! `kubernetes` plugin, behind the `kube-system/kube-dns` Service, whose ClusterIP every pod
//! has as its `nameserver` (the kubelet's `--cluster-dns`). It answers from live Services and
//! Endpoints, so a headless Service created after its pods resolves to them at once, and a pod
//! that stops being ready drops out of the answer within seconds.
//!
//! kubelab's is this module, run by `kubelab-proxy dns` inside the `kubelab/proxy` image (the
//! service-proxy manager keeps one such container per cluster, at the 10th address of the
//! service range, as Kubernetes' convention puts kube-dns at 10.96.0.10). Four parts, each
//! readable alone:
//!
//! ```text
//!   follow    informers on Services and Endpoints ──▶ Snapshot::build ──▶ watch channel
//!   snapshot  the facts DNS needs, from the objects (pure)
//!   lookup    (snapshot, question) → answer: the Kubernetes DNS specification (pure)
//!   codec     bytes ⇄ question/answer, with truncation (hickory-proto does the bytes)
//!   serve     UDP and TCP loops on port 53
//! ```
//!
//! How a pod's question gets here: the pause container is made with this server as its DNS
//! server (Docker's `--dns`). Docker still puts its own embedded server (127.0.0.11) in the
//! pod's `resolv.conf`; that one answers the network aliases it knows (ClusterIP Services'
//! names on their proxy containers) and forwards every other question to this server, from
//! inside the pod's network namespace (seen working on Docker 20.10, SRV queries included). Names
//! outside `cluster.local` get NXDOMAIN, never forwarded: kubelab sends no traffic beyond the
//! machine.

pub mod codec;
pub mod follow;
pub mod lookup;
pub mod serve;
pub mod snapshot;

use std::future::Future;
use std::net::SocketAddr;

use kubelab_client::{Client, Config};
use tokio::sync::watch;

/// What the DNS server needs.
#[derive(Clone, Debug)]
pub struct DnsConfig {
    /// The API server, as seen from where the server runs.
    pub apiserver: String,
    /// Where to answer, UDP and TCP (`0.0.0.0:53` in its container).
    pub listen: SocketAddr,
}

/// Why the DNS server could not run.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The API server URL is unusable.
    #[error("invalid DNS configuration: {0}")]
    Config(String),
    /// A socket could not be opened, or failed.
    #[error(transparent)]
    Serve(#[from] serve::ServeError),
}

/// Runs the DNS server until `shutdown` completes or a socket fails.
pub async fn run(config: DnsConfig, shutdown: impl Future<Output = ()>) -> Result<(), DnsError> {
    let client = Client::new(Config::new(config.apiserver.clone()))
        .map_err(|e| DnsError::Config(format!("API server {:?}: {e}", config.apiserver)))?;
    let (udp, tcp) = serve::bind(config.listen).await?;
    let (snapshots_tx, snapshots) = watch::channel(None);
    let follower = tokio::spawn(follow::follow(client, snapshots_tx));
    tracing::info!(listen = %config.listen, apiserver = %config.apiserver, zone = lookup::ZONE, "cluster DNS started");
    let result = tokio::select! {
        _ = shutdown => Ok(()),
        r = serve::serve_udp(udp, snapshots.clone()) => r,
        r = serve::serve_tcp(tcp, snapshots) => r,
    };
    follower.abort();
    Ok(result?)
}
