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
    /// The address the cluster's pods reach this server at (the gateway of the cluster's Docker
    /// network): the server also listens there, on the port of --listen, and the `kubernetes`
    /// Service points at it.
    #[arg(long)]
    pub advertise_address: Option<std::net::IpAddr>,
    /// An `EncryptionConfiguration` file (Kubernetes' format) naming the resources to seal on
    /// disk and their keys; `kubelab up` writes one that encrypts Secrets with AES-GCM.
    #[arg(long)]
    pub encryption_provider_config: Option<PathBuf>,
    /// The CIDR Services' ClusterIPs come from (its first address is the `kubernetes` Service's).
    #[arg(long, default_value = kubelab_apiserver::allocator::DEFAULT_CLUSTER_IP_RANGE)]
    pub service_cluster_ip_range: kubelab_apiserver::allocator::Ipv4Cidr,
    /// The ports NodePort Services' node ports come from, `LOW-HIGH`.
    #[arg(long, default_value = "30000-32767")]
    pub service_node_port_range: kubelab_apiserver::allocator::PortRange,
}

/// Runs the API server until SIGINT/SIGTERM.
pub async fn run(args: ApiserverArgs) -> anyhow::Result<()> {
    let mut config = kubelab_apiserver::Config::new(args.listen, args.data_dir);
    config.history = args.history;
    config.max_body_bytes = args.max_body_bytes;
    config.advertise_address = args.advertise_address;
    config.encryption_config = args.encryption_provider_config;
    config.service_ranges = kubelab_apiserver::allocator::ServiceRanges {
        cluster_ips: args.service_cluster_ip_range,
        node_ports: args.service_node_port_range,
    };
    kubelab_apiserver::run(config, crate::shutdown::signal()).await?;
    Ok(())
}
