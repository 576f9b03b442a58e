//! # Running the API server
//!
//! [`run`] opens the sled store, makes sure the built-in namespaces exist, resumes the cleanup
//! of namespaces that were being deleted, and serves until told to stop. On shutdown it stops
//! accepting connections, ends every open watch (clients reconnect to another server, or to
//! this one after a restart, and resume from their last revision, so nothing is lost), lets
//! in-flight requests finish, and closes the store, which flushes it.

use std::future::Future;
use std::sync::Arc;

use axum::serve::ListenerExt;

use crate::config::Config;
use crate::registry::namespace;
use crate::state::AppState;
use crate::store::encryption::Encryption;
use crate::store::sled_store::{SledOptions, SledStore};
use crate::store::{Store, StoreError};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened or written at startup.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The `--encryption-provider-config` file is missing or wrong.
    #[error(transparent)]
    Encryption(crate::store::encryption::EncryptionConfigError),
    /// The listening socket could not be bound, or serving failed.
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

/// Serves the API on `config.listen` until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServerError> {
    let encryption = match &config.encryption_config {
        Some(path) => Encryption::from_file(path).map_err(ServerError::Encryption)?,
        None => Encryption::identity(),
    };
    if encryption.is_identity() {
        tracing::warn!("no --encryption-provider-config: Secrets are stored in clear in the data directory");
    }
    let options = SledOptions {
        history: config.history,
        encryption: Arc::new(encryption),
        ..SledOptions::default()
    };
    let dir = config.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || SledStore::open(&dir, options))
        .await
        .map_err(|e| StoreError::Backend(format!("opening the store panicked: {e}")))??;
    let store: Arc<dyn Store> = Arc::new(store);
    namespace::ensure_built_in(store.as_ref()).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Io {
            context: format!("binding {}", config.listen),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| ServerError::Io {
        context: "reading the local address".into(),
        source,
    })?;
    // `--advertise-address`: also listen where the cluster's pods reach this server (the gateway of
    // the cluster's Docker network), on the same port.
    let advertised = match config.advertise_listen(local.port()) {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .map_err(|source| ServerError::Io {
                    context: format!(
                    "binding the advertise address {address} (--advertise-address must be an address of this machine)"
                ),
                    source,
                })?,
        ),
        None => None,
    };
    let state = AppState::new(store.clone())
        .with_max_body_bytes(config.max_body_bytes)
        .with_server_address(local.to_string())
        .with_service_ranges(config.service_ranges.clone());
    namespace::resume_sweeps(&state).await?;
    let endpoint = crate::allocator::bootstrap::endpoint_address(config.advertise_address, local);
    if let Err(error) = crate::allocator::bootstrap::ensure_kubernetes_service(&state, local.port(), endpoint).await {
        // Not fatal: the API works without it; pods just cannot find it by name.
        tracing::error!(%error, "could not create the kubernetes Service");
    }
    tracing::info!(address = %local, data_dir = %config.data_dir.display(), "kubelab-apiserver listening");
    let stopping = state.clone();
    // Nagle's algorithm holds a small write back while an earlier one is unacknowledged, and the
    // client may delay its acknowledgement by up to 40 ms: a watch event sent a millisecond after
    // the previous one would wait for it. Every response here is written whole, so send at once.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "could not set TCP_NODELAY on a connection");
        }
    });
    let second = advertised.map(|listener| {
        if let Ok(address) = listener.local_addr() {
            tracing::info!(%address, "also listening on the advertise address");
        }
        let app = crate::app(state.clone());
        let stopped = state.shutdown_signal();
        tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stopped).await })
    });
    let served = axum::serve(listener, crate::app(state.clone()))
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: ending watches and finishing requests");
            stopping.begin_shutdown();
        })
        .await;
    state.begin_shutdown();
    if let Some(second) = second {
        let _ = second.await;
    }
    drop(state);
    // Dropping the last handle stops the store's writer and flushes it; that blocks, so do it
    // off the async threads.
    let _ = tokio::task::spawn_blocking(move || drop(store)).await;
    tracing::info!("kubelab-apiserver stopped");
    served.map_err(|source| ServerError::Io {
        context: "serving".into(),
        source,
    })
}
