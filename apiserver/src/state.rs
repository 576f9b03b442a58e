//! # Shared state of the HTTP layer
//!
//! Handlers are plain functions; what they share lives here: the [`Store`] (the only place
//! objects live), the options that tests shorten (bookmark interval, cleanup interval), the
//! metrics, and a shutdown signal that ends open watches so a graceful shutdown does not wait
//! forever on clients that never hang up.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::allocator::{ServiceAllocator, ServiceRanges};
use crate::config::DEFAULT_MAX_BODY_BYTES;
use crate::metrics::Metrics;
use crate::store::Store;

/// Tunables of the HTTP layer.
#[derive(Clone, Debug)]
pub struct Options {
    /// Bodies above this get 413.
    pub max_body_bytes: usize,
    /// How often a watch that asked for bookmarks gets one.
    pub bookmark_interval: Duration,
    /// How often a terminating namespace is swept for what is left in it.
    pub namespace_sweep_interval: Duration,
    /// What `GET /api` reports as the server's address.
    pub server_address: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            bookmark_interval: Duration::from_secs(10),
            namespace_sweep_interval: Duration::from_secs(1),
            server_address: "127.0.0.1:6443".into(),
        }
    }
}

/// Everything a handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub options: Arc<Options>,
    pub metrics: Arc<Metrics>,
    /// Service ClusterIPs and NodePorts (see [`crate::allocator`]).
    pub services: Arc<ServiceAllocator>,
    shutdown: Arc<watch::Sender<bool>>,
    /// Namespaces whose cleanup task is running, so a second DELETE does not start another.
    sweeping: Arc<Mutex<HashSet<String>>>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>) -> Self {
        let (shutdown, _) = watch::channel(false);
        AppState {
            store,
            options: Arc::new(Options::default()),
            metrics: Arc::new(Metrics::new()),
            services: Arc::new(ServiceAllocator::default()),
            shutdown: Arc::new(shutdown),
            sweeping: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    pub fn with_options(mut self, options: Options) -> Self {
        self.options = Arc::new(options);
        self
    }

    pub fn with_bookmark_interval(mut self, interval: Duration) -> Self {
        Arc::make_mut(&mut self.options).bookmark_interval = interval;
        self
    }

    pub fn with_max_body_bytes(mut self, limit: usize) -> Self {
        Arc::make_mut(&mut self.options).max_body_bytes = limit;
        self
    }

    pub fn with_namespace_sweep_interval(mut self, interval: Duration) -> Self {
        Arc::make_mut(&mut self.options).namespace_sweep_interval = interval;
        self
    }

    /// The ranges Services' ClusterIPs and NodePorts come from.
    pub fn with_service_ranges(mut self, ranges: ServiceRanges) -> Self {
        self.services = Arc::new(ServiceAllocator::new(ranges));
        self
    }

    pub fn with_server_address(mut self, address: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.options).server_address = address.into();
        self
    }

    /// Tells every open watch and background task to finish.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves once [`AppState::begin_shutdown`] has been called.
    pub fn shutdown_signal(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.shutdown.subscribe();
        async move {
            // An error means the sender is gone, which also means we are shutting down.
            let _ = rx.wait_for(|stopping| *stopping).await;
        }
    }

    /// A receiver of the shutdown flag, for tasks that select on it in a loop.
    pub fn shutdown_receiver(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Marks `namespace` as being swept; false if a sweep is already running.
    pub(crate) fn start_sweep(&self, namespace: &str) -> bool {
        match self.sweeping.lock() {
            Ok(mut set) => set.insert(namespace.to_string()),
            Err(_) => false,
        }
    }

    pub(crate) fn end_sweep(&self, namespace: &str) {
        if let Ok(mut set) = self.sweeping.lock() {
            set.remove(namespace);
        }
    }
}
