//! `kubelab agent` (and `kubelab-agent`): flags → [`kubelab_agent::AgentConfig`], one agent per
//! node.
//!
//! With `--nodes N` one process runs N agents, named `<node-name>-0` … `<node-name>-(N-1)`,
//! each with its own runtime: that is how `--runtime hollow` simulates a fleet for scale tests
//! (Kubernetes' kubemark). With the Docker runtime, N agents in one process are N nodes sharing
//! one Docker engine.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use kubelab_agent::runtime::hollow::{HollowConfig, HollowRuntime};
use kubelab_agent::runtime::ContainerRuntime;
use kubelab_agent::{AgentConfig, Capacity};
use kubelab_client::{Client, Config};
use tokio::sync::watch;

/// Which container runtime runs the pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RuntimeKind {
    /// Real containers through the local Docker engine.
    Docker,
    /// Containers faked in memory (no Docker needed), for scale tests.
    Hollow,
}

/// Flags of the node agent.
#[derive(Args, Debug, Clone)]
pub struct AgentArgs {
    /// The API server's URL (`http://127.0.0.1:6443`); overrides the kubeconfig.
    #[arg(long)]
    pub server: Option<String>,
    /// The kubeconfig to read the server from (default: `KUBECONFIG`, else `~/.kube/config`).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The node's name; with `--nodes N` > 1, the prefix of `<name>-0`…`<name>-(N-1)`.
    #[arg(long, default_value = "node")]
    pub node_name: String,
    /// The cluster's name: decides the Docker network and labels every Docker object.
    #[arg(long, default_value = "kubelab")]
    pub cluster: String,
    /// `docker` (real containers) or `hollow` (simulated).
    #[arg(long, value_enum, default_value = "docker")]
    pub runtime: RuntimeKind,
    /// How many nodes this process runs.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// Extra node labels: `zone=a,disk=ssd`.
    #[arg(long, default_value = "")]
    pub node_labels: String,
    /// What the node offers: `cpu=4,memory=8Gi,pods=110` (default: read from the host; pods 110).
    #[arg(long, default_value = "")]
    pub capacity: String,
    /// The node's address (`InternalIP`, and every pod's `hostIP`).
    #[arg(long, default_value = "127.0.0.1")]
    pub node_ip: String,
    /// The port serving container logs and exec, on loopback only (0: any free port). Default:
    /// 10250 (the kubelet's) with the Docker runtime, not served with the hollow one. With
    /// `--nodes N`, node i uses port + i.
    #[arg(long)]
    pub port: Option<u16>,
    /// Milliseconds before the first restart of a crashed container (doubling each time).
    #[arg(long, default_value_t = 10_000)]
    pub crash_backoff_base_ms: u64,
    /// The longest wait before restarting a crashed container, in milliseconds.
    #[arg(long, default_value_t = 300_000)]
    pub crash_backoff_max_ms: u64,
    /// Seconds between full node status reports.
    #[arg(long, default_value_t = 10)]
    pub status_update_seconds: u64,
    /// Seconds between node Lease renewals.
    #[arg(long, default_value_t = 10)]
    pub lease_renew_seconds: u64,
    /// Where the agent keeps pods' volumes (ConfigMap files, emptyDirs): the kubelet's
    /// `--root-dir`. Default: `~/.kubelab/<cluster>/nodes/<node>`. With `--nodes N`, node i uses
    /// `<root-dir>/<node name>`.
    #[arg(long)]
    pub root_dir: Option<PathBuf>,
    /// How many pods each node syncs at once (default: 16; 2 per node for many hollow nodes in
    /// one process). A pod is never synced twice at once.
    #[arg(long)]
    pub sync_workers: Option<usize>,
    /// The cluster DNS server's IP, every pod's name server (the kubelet's `--cluster-dns`;
    /// `kubelab up` passes the `kube-dns` Service's address). Without it, pods use Docker's
    /// embedded DNS only: ClusterIP Services' names and `hostname.subdomain` resolve (network
    /// aliases), but headless Services do not follow their pods' readiness and have no SRV records.
    #[arg(long)]
    pub cluster_dns: Option<std::net::Ipv4Addr>,
    /// Hollow runtime: milliseconds every container start takes.
    #[arg(long, default_value_t = 0)]
    pub hollow_start_latency_ms: u64,
    /// Hollow runtime: fraction (0 to 1) of container starts that fail.
    #[arg(long, default_value_t = 0.0)]
    pub hollow_start_failure_rate: f64,
}

impl AgentArgs {
    fn client(&self) -> anyhow::Result<Client> {
        let config = match (&self.server, &self.kubeconfig) {
            (Some(server), _) => Config::new(server.clone()),
            (None, Some(path)) => Config::from_kubeconfig_file(path, None)?,
            (None, None) => Config::infer().context("no --server given and no kubeconfig found")?,
        };
        Ok(Client::new(config)?)
    }

    fn node_names(&self) -> Vec<String> {
        if self.nodes <= 1 {
            vec![self.node_name.clone()]
        } else {
            (0..self.nodes).map(|i| format!("{}-{i}", self.node_name)).collect()
        }
    }
}

/// The async runtime for `args`' agents: a thread per core for many hollow nodes, which are CPU
/// work, but [`DOCKER_WORKER_THREADS`] for agents on Docker, which spend their time waiting on
/// Docker and the API server. Every thread costs memory of its own (its stack and the allocator's
/// per-thread heap), so a node agent does not get one per core of a big machine. Blocking work
/// (volume files) gets at most [`DOCKER_BLOCKING_THREADS`] threads for the same reason.
pub fn tokio_runtime(args: &AgentArgs) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if args.runtime == RuntimeKind::Docker {
        builder
            .worker_threads(DOCKER_WORKER_THREADS)
            .max_blocking_threads(DOCKER_BLOCKING_THREADS);
        return_freed_memory_at_once();
    }
    builder.build()
}

/// Makes the allocator give pages that became free back to the OS at once, instead of keeping
/// them for a second in case they are needed again.
///
/// That delay suits a server that allocates all the time (mimalloc's default, which the API
/// server keeps). An agent allocates in bursts (a hundred pods at once) and then mostly waits,
/// and mimalloc only gets round to returning pages while it is allocating: with a hundred pods on
/// the node, returning them at once leaves about 2 MB less resident. It costs a system call per
/// freed page, and an agent at rest frees few.
fn return_freed_memory_at_once() {
    // `mi_option_set` and the `mi_option_purge_delay` option (number 15 in mimalloc's
    // `mi_option_e`) of the mimalloc that `kubelab::Allocator` links in.
    extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
    // SAFETY: sets one of mimalloc's options, which it reads atomically, to a valid value (0 ms).
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

/// Worker threads of an agent process on the Docker runtime.
pub const DOCKER_WORKER_THREADS: usize = 2;
/// The most threads an agent on Docker runs blocking file work on.
pub const DOCKER_BLOCKING_THREADS: usize = 4;

/// Runs the agents until SIGINT/SIGTERM.
pub async fn run(args: AgentArgs) -> anyhow::Result<()> {
    if args.nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    if !(0.0..=1.0).contains(&args.hollow_start_failure_rate) {
        bail!("--hollow-start-failure-rate must be between 0 and 1");
    }
    if args.sync_workers == Some(0) {
        bail!("--sync-workers must be at least 1");
    }
    let client = args.client()?;
    let labels = kubelab_agent::config::parse_key_values(&args.node_labels).context("--node-labels")?;
    let capacity = Capacity::parse(&args.capacity).context("--capacity")?;

    let (stop, stopped) = watch::channel(false);
    let mut agents = tokio::task::JoinSet::new();
    for (index, name) in args.node_names().into_iter().enumerate() {
        let mut config = AgentConfig::new(name.clone(), args.cluster.clone());
        config.cluster_dns = args.cluster_dns;
        let runtime = make_runtime(&args, &name, index, config.cluster_dns).await?;
        config.labels = labels.clone();
        config.capacity = capacity.clone();
        config.node_ip = args.node_ip.clone();
        config.status_update_interval = Duration::from_secs(args.status_update_seconds.max(1));
        config.lease_renew_interval = Duration::from_secs(args.lease_renew_seconds.max(1));
        config.crash_backoff_base = Duration::from_millis(args.crash_backoff_base_ms);
        config.crash_backoff_max = Duration::from_millis(args.crash_backoff_max_ms.max(args.crash_backoff_base_ms));
        if let Some(root) = &args.root_dir {
            // Absolute: Docker reads a relative bind source as the name of a volume.
            let root = std::path::absolute(root).with_context(|| format!("--root-dir {}", root.display()))?;
            config.root_dir = if args.nodes > 1 { root.join(&name) } else { root };
        }
        let port = match (args.port, args.runtime) {
            (Some(port), _) => Some(port),
            (None, RuntimeKind::Docker) => Some(10250),
            (None, RuntimeKind::Hollow) => None,
        };
        if let Some(port) = port {
            config.serve = true;
            config.port = if port == 0 {
                0
            } else {
                u16::try_from(usize::from(port) + index).context("--port + node index is beyond 65535")?
            };
        }
        if args.runtime == RuntimeKind::Hollow && args.nodes > 1 {
            // Hundreds of nodes in one process: fewer workers and relists per node.
            config.workers = 2;
            config.relist_interval = Duration::from_secs(2);
            config.housekeeping_interval = Duration::from_secs(10);
        }
        if let Some(workers) = args.sync_workers {
            config.workers = workers;
        }
        let mut stopped = stopped.clone();
        let client = client.clone();
        agents.spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            let result = kubelab_agent::run(config, client, runtime, shutdown).await;
            (name, result)
        });
    }
    tracing::info!(nodes = args.nodes, runtime = ?args.runtime, "agents started");

    let mut failure = None;
    tokio::select! {
        _ = crate::shutdown::signal() => {}
        Some(joined) = agents.join_next() => {
            failure = Some(match joined {
                Ok((name, Ok(()))) => anyhow::anyhow!("agent {name} stopped unexpectedly"),
                Ok((name, Err(e))) => anyhow::Error::new(e).context(format!("agent {name}")),
                Err(e) => anyhow::anyhow!("an agent task failed: {e}"),
            });
        }
    }
    let _ = stop.send(true);
    while let Some(joined) = agents.join_next().await {
        if let Ok((name, Err(e))) = joined {
            tracing::warn!(node = %name, error = %e, "agent stopped with an error");
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

async fn make_runtime(
    args: &AgentArgs,
    node: &str,
    index: usize,
    cluster_dns: Option<std::net::Ipv4Addr>,
) -> anyhow::Result<Arc<dyn ContainerRuntime>> {
    Ok(match args.runtime {
        RuntimeKind::Hollow => Arc::new(HollowRuntime::new(HollowConfig {
            start_latency: Duration::from_millis(args.hollow_start_latency_ms),
            start_failure_rate: args.hollow_start_failure_rate,
            ip_range_index: (args.nodes > 1).then(|| u16::try_from(index).unwrap_or(u16::MAX)),
            ..HollowConfig::new(node, &args.cluster)
        })),
        RuntimeKind::Docker => {
            let runtime = kubelab_agent::runtime::docker::DockerRuntime::connect_with_network(&args.cluster, node)
                .await
                .with_context(|| format!("node {node}: connecting to Docker"))?
                .with_cluster_dns(cluster_dns);
            Arc::new(runtime)
        }
    })
}
