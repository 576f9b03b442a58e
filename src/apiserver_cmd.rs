//! `kubelab apiserver` (and `kubelab-apiserver`): flags → [`kubelab_apiserver::Config`].

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// Flags of the API server.
#[derive(Args, Debug, Clone)]
pub struct ApiserverArgs {
    /// Address and port to serve the API on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Directory of the embedded store (created if missing).
    #[arg(long, default_value = "kubelab-data")]
    pub data_dir: PathBuf,
    /// How many revisions of change history to keep for watches to resume from.
    #[arg(long, default_value_t = 10_000)]
    pub history: u64,
    /// Largest request body accepted, in bytes (Kubernetes' limit is 3 MiB).
    #[arg(long, default_value_t = 3 * 1024 * 1024)]
    pub max_body_bytes: usize,
}

/// Runs the API server until SIGINT/SIGTERM.
pub async fn run(args: ApiserverArgs) -> anyhow::Result<()> {
    let mut config = kubelab_apiserver::Config::new(args.listen, args.data_dir);
    config.history = args.history;
    config.max_body_bytes = args.max_body_bytes;
    kubelab_apiserver::run(config, crate::shutdown::signal()).await?;
    Ok(())
}
