//! # `kubelab bench`: measurements against real processes
//!
//! Performance claims in kubelab come from here, never from timed assertions in tests. Each
//! benchmark starts the component it measures as its own process on a free loopback port, drives
//! it the way real clients do (HTTP, JSON, watches), and prints a report — or one JSON object with
//! `--json`, so results can be recorded and compared.

use clap::Subcommand;

mod apiserver;
mod deployment;
mod http_load;
mod pod_start;
mod process;
mod scheduler;
mod service;
mod stats;

pub use apiserver::ApiserverBenchArgs;
pub use deployment::DeploymentBenchArgs;
pub use pod_start::PodStartBenchArgs;
pub use scheduler::SchedulerBenchArgs;
pub use service::ServiceBenchArgs;

/// What to measure.
#[derive(Subcommand, Debug)]
pub enum BenchTarget {
    /// Writes/s, write latency and watch delivery latency of the API server, and its memory.
    Apiserver(ApiserverBenchArgs),
    /// Pods/s from creation to binding stored, with N fake nodes and P pods.
    Scheduler(SchedulerBenchArgs),
    /// Pod start latency and 100 pods on one Docker node, against raw Docker; agent memory.
    PodStart(PodStartBenchArgs),
    /// A Deployment of R replicas on N hollow nodes: created, scaled to 0 and back; memory.
    Deployment(DeploymentBenchArgs),
    /// Requests/s and added latency through a Service's proxy, vs direct and HAProxy; needs Docker.
    Service(ServiceBenchArgs),
}

/// Runs the chosen benchmark and prints its report.
pub async fn run(target: BenchTarget) -> anyhow::Result<()> {
    match target {
        BenchTarget::Apiserver(args) => apiserver::run(args).await,
        BenchTarget::Scheduler(args) => scheduler::run(args).await,
        BenchTarget::PodStart(args) => pod_start::run(args).await,
        BenchTarget::Deployment(args) => deployment::run(args).await,
        BenchTarget::Service(args) => service::run(args).await,
    }
}
