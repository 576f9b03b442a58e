//! # kubelab-ingress: the ingress controller (ingress-nginx's place)
//!
//! An Ingress says "requests for `shop.example.com/api` go to Service `api`, port `http`"; this
//! crate is the program that makes it so. It runs on the host, one per cluster, listening on
//! `127.0.0.1:<http-port>` and `<https-port>`, and proxies each request straight to a ready pod
//! of the right Service (pod IPs on the cluster's Docker network are reachable from the host on
//! Linux), the way ingress-nginx runs as a pod that proxies to endpoints.
//!
//! | module | what it does |
//! | --- | --- |
//! | [`routes`] | the route table: host and path → Service port, Kubernetes' matching rules (pure) |
//! | [`backends`] | Service port → ready endpoint addresses, round-robin (pure) |
//! | [`tls`] | certificates from `kubernetes.io/tls` Secrets, chosen per handshake by SNI |
//! | [`snapshot`] | which Ingresses are ours (by class); one consistent view of all the above |
//! | [`controller`] | informers, rebuilding the snapshot on change, the IngressClass, the status |
//! | [`proxy`] | HTTP/1.1 server and client: route, forward, stream, `X-Forwarded-*` |
//!
//! Reading order: `routes.rs`, `backends.rs`, `snapshot.rs`, `proxy.rs`, `controller.rs`.

pub mod backends;
pub mod controller;
pub mod proxy;
pub mod routes;
pub mod snapshot;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use kubelab_client::Client;
use tokio::net::TcpListener;

/// The class kubelab's ingress serves unless told otherwise.
pub const DEFAULT_CLASS: &str = "kubelab";

/// How the ingress process runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The API server's URL.
    pub apiserver: String,
    /// The IngressClass served (created, as the default class, if missing).
    pub class: String,
    /// Where plain HTTP is served (`127.0.0.1:18080`).
    pub http: SocketAddr,
    /// Where HTTPS is served; `None` serves no HTTPS.
    pub https: Option<SocketAddr>,
}

/// Why the ingress could not run.
#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    #[error("cannot listen on {address} ({what}): {source}")]
    Listen {
        address: SocketAddr,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("bad API server address: {0}")]
    Client(#[from] kubelab_client::ClientError),
    #[error("setting up TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error(transparent)]
    Controller(#[from] controller::ControllerError),
}

/// Binds the listeners, then [`serve`]s until `shutdown` completes.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), IngressError> {
    let bind = |address: SocketAddr, what: &'static str| async move {
        TcpListener::bind(address)
            .await
            .map_err(|source| IngressError::Listen { address, what, source })
    };
    let http = bind(config.http, "--http-port").await?;
    let https = match config.https {
        Some(address) => Some(bind(address, "--https-port").await?),
        None => None,
    };
    serve(config, http, https, shutdown).await
}

/// Serves on already-bound listeners (tests bind port 0 and read the port) until `shutdown`.
pub async fn serve(
    config: Config,
    http: TcpListener,
    https: Option<TcpListener>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), IngressError> {
    let client = Client::new(kubelab_client::Config::new(config.apiserver.clone()))?;
    let mut ports = vec![local_port(&http)];
    ports.extend(https.as_ref().map(local_port));
    let shared = proxy::Shared::new();
    let resolver = Arc::new(tls::SniResolver::default());
    let tls_config = tls::server_config(resolver.clone())?;
    tokio::pin!(shutdown);

    // The class first: without it, Ingresses that name no class would not be known to be ours.
    let mut retry = kubelab_client::Backoff::default();
    loop {
        match controller::ensure_class(&client, &config.class).await {
            Ok(()) => break,
            Err(e @ controller::ControllerError::ForeignClass { .. }) => return Err(e.into()),
            Err(e) => tracing::warn!(error = %e, "cannot check the IngressClass yet; retrying"),
        }
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep(retry.next_delay()) => {}
        }
    }
    tracing::info!(
        http = %http.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        https = %https.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.to_string()).unwrap_or_default(),
        class = %config.class,
        "ingress listening"
    );
    let target = controller::Target {
        shared: shared.clone(),
        resolver,
        class: config.class.clone(),
        address: "127.0.0.1".into(),
        ports,
    };
    let serve_https = async {
        match https {
            Some(listener) => proxy::serve_https(listener, tls_config, shared.clone()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = &mut shutdown => {}
        _ = controller::run(client, target) => {}
        _ = proxy::serve_http(http, shared.clone()) => {}
        _ = serve_https => {}
    }
    Ok(())
}

fn local_port(listener: &TcpListener) -> u16 {
    listener.local_addr().map(|a| a.port()).unwrap_or(0)
}
