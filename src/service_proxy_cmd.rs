//! # `kubelab service-proxy`: the cluster's service-proxy manager (kube-proxy's place)
//!
//! Flags → [`kubelab_proxy::manager::ManagerConfig`]. One manager per cluster watches every
//! Service and keeps one `kubelab/proxy` container per ClusterIP Service on the cluster's
//! network (see `proxy/src/manager/`). It builds the `kubelab/proxy` image from the
//! `kubelab-proxy` binary next to `kubelab` when it is missing or stale.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::Args;

/// Flags of the service-proxy manager.
#[derive(Args, Debug, Clone)]
pub struct ServiceProxyArgs {
    /// The cluster whose Docker network the proxies join (as given to its agents).
    #[arg(long)]
    pub cluster: String,
    /// URL of the API server, as this process reaches it.
    #[arg(long, alias = "server", default_value = "http://127.0.0.1:6443")]
    pub apiserver: String,
    /// URL of the API server as proxy containers reach it (default: the cluster network's
    /// gateway, with the port of --apiserver).
    #[arg(long)]
    pub proxy_apiserver: Option<String>,
    /// The kubelab-proxy binary to build the image from (default: next to kubelab).
    #[arg(long)]
    pub proxy_binary: Option<PathBuf>,
}

/// Runs the manager until SIGINT/SIGTERM.
pub async fn run(args: ServiceProxyArgs) -> anyhow::Result<()> {
    let proxy_binary = match args.proxy_binary {
        Some(path) => path,
        None => {
            let exe = std::env::current_exe().context("cannot find the running kubelab binary")?;
            let path = exe
                .parent()
                .ok_or_else(|| anyhow!("{} has no directory", exe.display()))?
                .join("kubelab-proxy");
            if !path.is_file() {
                return Err(anyhow!(
                    "kubelab-proxy not found next to kubelab (looked for {}): run cargo build first",
                    path.display()
                ));
            }
            path
        }
    };
    let config = kubelab_proxy::manager::ManagerConfig {
        cluster: args.cluster,
        apiserver: args.apiserver,
        proxy_apiserver: args.proxy_apiserver,
        proxy_binary,
    };
    kubelab_proxy::manager::run(config, crate::shutdown::signal()).await?;
    Ok(())
}
