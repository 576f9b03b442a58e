//! `kubelab-proxy`: one Service's proxy, the program inside the `kubelab/proxy` image. The
//! service-proxy manager (`kubelab service-proxy`) starts one container of it per Service.

use std::net::IpAddr;

use clap::Parser;

#[derive(Parser)]
#[command(name = "kubelab-proxy", version, about = "kubelab's proxy of one Service")]
struct Cli {
    /// URL of the API server, as reachable from where the proxy runs.
    #[arg(long, env = "KUBELAB_APISERVER")]
    apiserver: String,
    /// The Service's namespace.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// The Service's name.
    #[arg(long)]
    service: String,
    /// The address to open the Service's ports on.
    #[arg(long, default_value = "0.0.0.0")]
    listen_ip: IpAddr,
    /// Threads forwarding connections, each with its own runtime and listening sockets.
    #[arg(long, env = "KUBELAB_PROXY_THREADS", default_value_t = 2)]
    threads: usize,
}

#[global_allocator]
static GLOBAL: kubelab::Allocator = kubelab::Allocator {};

fn main() -> anyhow::Result<()> {
    kubelab::logging::init();
    let cli = Cli::parse();
    // This thread does the control work (the API watch, opening ports, the balancers); the
    // proxy starts its forwarding threads itself.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let config = kubelab_proxy::ProxyConfig {
        apiserver: cli.apiserver,
        namespace: cli.namespace,
        service: cli.service,
        listen_ip: cli.listen_ip,
        threads: cli.threads,
    };
    runtime.block_on(kubelab_proxy::run(config, kubelab::shutdown::signal()))?;
    Ok(())
}
