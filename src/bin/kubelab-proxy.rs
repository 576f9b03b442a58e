//! `kubelab-proxy`: the program inside the `kubelab/proxy` image. Two modes:
//!
//! - `kubelab-proxy --service NAME [--namespace NS] --apiserver URL`: one Service's proxy. The
//!   service-proxy manager (`kubelab service-proxy`) starts one container of it per Service;
//! - `kubelab-proxy dns --apiserver URL [--listen ADDR]`: the cluster DNS server (CoreDNS's
//!   place), which the manager runs once per cluster at the `kube-dns` Service's address.

use std::net::{IpAddr, SocketAddr};

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "kubelab-proxy",
    version,
    about = "kubelab's proxy of one Service, or (`dns`) the cluster DNS server",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    proxy: ProxyArgs,
}

#[derive(Subcommand)]
enum Command {
    /// The cluster DNS server: answers `cluster.local` names from live Services and Endpoints.
    Dns(DnsArgs),
}

/// One Service's proxy (the default mode).
#[derive(Args)]
struct ProxyArgs {
    /// URL of the API server, as reachable from where the proxy runs.
    #[arg(long, env = "KUBELAB_APISERVER")]
    apiserver: Option<String>,
    /// The Service's namespace.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// The Service's name.
    #[arg(long, required = true)]
    service: Option<String>,
    /// The address to open the Service's ports on.
    #[arg(long, default_value = "0.0.0.0")]
    listen_ip: IpAddr,
    /// Threads forwarding connections, each with its own runtime and listening sockets.
    #[arg(long, env = "KUBELAB_PROXY_THREADS", default_value_t = 2)]
    threads: usize,
}

#[derive(Args)]
struct DnsArgs {
    /// URL of the API server, as reachable from where the server runs.
    #[arg(long, env = "KUBELAB_APISERVER")]
    apiserver: String,
    /// Where to answer, over UDP and TCP.
    #[arg(long, default_value = "0.0.0.0:53")]
    listen: SocketAddr,
}

#[global_allocator]
static GLOBAL: kubelab::Allocator = kubelab::Allocator {};

fn main() -> anyhow::Result<()> {
    kubelab::logging::init();
    let cli = Cli::parse();
    // This thread does the control work (the API watch, opening ports, the balancers); the
    // proxy starts its forwarding threads itself. The DNS server needs no more than this one.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    match cli.command {
        Some(Command::Dns(args)) => {
            let config = kubelab_proxy::dns::DnsConfig {
                apiserver: args.apiserver,
                listen: args.listen,
            };
            runtime.block_on(kubelab_proxy::dns::run(config, kubelab::shutdown::signal()))?;
        }
        None => {
            let args = cli.proxy;
            let config = kubelab_proxy::ProxyConfig {
                apiserver: args
                    .apiserver
                    .ok_or_else(|| anyhow::anyhow!("--apiserver (or KUBELAB_APISERVER) is required"))?,
                namespace: args.namespace,
                service: args.service.unwrap_or_default(),
                listen_ip: args.listen_ip,
                threads: args.threads,
            };
            runtime.block_on(kubelab_proxy::run(config, kubelab::shutdown::signal()))?;
        }
    }
    Ok(())
}
