//! `kubelab`: run a component of the cluster, or measure one.

use clap::{Parser, Subcommand};
use kubelab::apiserver_cmd::{self, ApiserverArgs};
use kubelab::bench::{self, BenchTarget};

#[derive(Parser)]
#[command(name = "kubelab", version, about = "A small, real Kubernetes for learning")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server (the same as `kubelab-apiserver`).
    Apiserver(ApiserverArgs),
    /// Run a node agent, or many hollow ones (the same as `kubelab-agent`).
    Agent(kubelab::agent_cmd::AgentArgs),
    /// Run the scheduler (the same as `kubelab-scheduler`).
    Scheduler(kubelab::scheduler_cmd::SchedulerArgs),
    /// Run the controller manager (the same as `kubelab-controller`).
    Controller(kubelab::controller_cmd::ControllerArgs),
    /// Measure a component against a real process on loopback and print a report.
    Bench {
        #[command(subcommand)]
        target: BenchTarget,
    },
    /// Build the images kubelab needs (kubelab/pause, kubelab/demo) from its own binaries.
    Images(kubelab::images_cmd::ImagesArgs),
    /// Start a whole cluster, each component its own process (minikube start).
    Up(kubelab::cluster::up::UpArgs),
    /// Each component's process and health, and each node's Ready condition (minikube status).
    Status(kubelab::cluster::status::StatusArgs),
    /// Stop the cluster's processes and remove its Docker objects; --purge deletes its data too.
    Down(kubelab::cluster::down::DownArgs),
    /// Print a component's log: apiserver, scheduler, controller, node-1, ...
    Logs(kubelab::cluster::logs::LogsArgs),
    /// The URL of a NodePort Service from this machine (minikube service).
    Service(kubelab::service_cmd::ServiceArgs),
    /// Run the cluster's service-proxy manager: one proxy container per Service (kube-proxy's place).
    ServiceProxy(kubelab::service_proxy_cmd::ServiceProxyArgs),
    /// Run the cluster's ingress controller: an HTTP(S) proxy on the host serving Ingresses.
    Ingress(kubelab::ingress_cmd::IngressArgs),
}

#[global_allocator]
static GLOBAL: kubelab::Allocator = kubelab::Allocator {};

fn main() -> anyhow::Result<()> {
    kubelab::logging::init();
    let command = Cli::parse().command;
    // A node agent runs on every node for good: it gets a runtime sized for it (see
    // `agent_cmd::tokio_runtime`); everything else gets tokio's default, a thread per core.
    let runtime = match &command {
        Command::Agent(args) => kubelab::agent_cmd::tokio_runtime(args)?,
        _ => tokio::runtime::Runtime::new()?,
    };
    runtime.block_on(run(command))
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Apiserver(args) => apiserver_cmd::run(args).await,
        Command::Agent(args) => kubelab::agent_cmd::run(args).await,
        Command::Scheduler(args) => kubelab::scheduler_cmd::run(args).await,
        Command::Controller(args) => kubelab::controller_cmd::run(args).await,
        Command::Bench { target } => bench::run(target).await,
        Command::Images(args) => kubelab::images_cmd::run(args).await,
        Command::Up(args) => kubelab::cluster::up::run(args).await,
        Command::Status(args) => kubelab::cluster::status::run(args).await,
        Command::Down(args) => kubelab::cluster::down::run(args).await,
        Command::Logs(args) => kubelab::cluster::logs::run(args).await,
        Command::Service(args) => kubelab::service_cmd::run(args).await,
        Command::ServiceProxy(args) => kubelab::service_proxy_cmd::run(args).await,
        Command::Ingress(args) => kubelab::ingress_cmd::run(args).await,
    }
}
