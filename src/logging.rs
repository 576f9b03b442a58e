//! Log setup shared by every binary: `tracing` to stderr, filtered by `RUST_LOG`
//! (default `info`), so `RUST_LOG=kubelab_apiserver=debug` shows each request.

use tracing_subscriber::EnvFilter;

/// Installs the global log subscriber. Safe to call once per process.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
