//! An API server inside a test process, for the other crates' integration tests.
//!
//! The scheduler, controllers, agents and client are all clients of the API server, so their
//! tests need a real one: this starts the real router over a real sled store in a temporary
//! directory, on a free loopback port, with the built-in namespaces, and stops it when dropped.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::store::sled_store::{SledOptions, SledStore};
use crate::store::{Store, StoreError};
use crate::{app, AppState};

/// A running in-process API server; dropping it stops it and deletes its data.
pub struct InProcessApiserver {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
    task: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

/// Why the test server could not start.
#[derive(Debug, thiserror::Error)]
pub enum TestServerError {
    #[error("creating a temporary directory or binding a loopback port: {0}")]
    Io(#[from] std::io::Error),
    #[error("opening the store: {0}")]
    Store(#[from] StoreError),
}

impl InProcessApiserver {
    /// Starts one with the store's default options.
    pub async fn start() -> Result<Self, TestServerError> {
        Self::start_with(SledOptions::default()).await
    }

    /// Starts one with the given store options (a short history, say).
    pub async fn start_with(options: SledOptions) -> Result<Self, TestServerError> {
        let dir = tempfile::tempdir()?;
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), options)?);
        crate::registry::namespace::ensure_built_in(store.as_ref()).await?;
        let router = app(AppState::new(store.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(InProcessApiserver {
            url: format!("http://{addr}"),
            addr,
            store,
            task,
            _dir: dir,
        })
    }
}

impl Drop for InProcessApiserver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
