//! # `kubelab down` (minikube stop / delete)
//!
//! Stops a cluster in the reverse order of `up`: first the clients of the API server (the node
//! agents, the scheduler, the controller manager), so the leaders among them can still release
//! their leases through it, then the API server itself, which closes its store cleanly. Each
//! gets SIGTERM, and SIGKILL only if it is still running after a timeout.
//!
//! Then the cluster's Docker objects go: every container and the network labelled
//! `io.kubelab.cluster=<cluster>`, and nothing else (the agents leave their containers running
//! when they stop, as a kubelet does, so an agent restarted by `up` adopts them).
//!
//! Without `--purge` the home directory stays: the next `up` finds its objects (Deployments,
//! ...) in `data/` and recreates their pods, like `minikube stop` then `start`. With `--purge`
//! it is deleted, like `minikube delete`. Running `down` twice is harmless.

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

use super::process::{self, Stopped};
use super::state::{Component, Role, State};
use super::ClusterArgs;

/// Flags of `kubelab down`.
#[derive(Args, Debug, Clone)]
pub struct DownArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Also delete the cluster's home directory: its data, logs and kubeconfig.
    #[arg(long)]
    pub purge: bool,
    /// How long each group of processes gets to exit after SIGTERM before SIGKILL.
    #[arg(long, default_value = "10s", value_parser = super::parse_duration)]
    pub timeout: Duration,
}

async fn stop_group(components: &[&Component], timeout: Duration) {
    let targets: Vec<(u32, Option<u64>)> = components.iter().map(|c| (c.pid.unwrap_or(0), c.start_time)).collect();
    let results = process::stop(&targets, timeout).await;
    for (component, result) in components.iter().zip(results) {
        let pid = component.pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
        let what = match result {
            Stopped::AlreadyStopped => "was not running".to_string(),
            Stopped::Terminated => format!("stopped{pid}"),
            Stopped::Killed => format!("killed{pid}: it ignored SIGTERM for {} s", timeout.as_secs()),
        };
        println!("  {:<11} {what}", component.name);
    }
}

/// Removes the cluster's Docker objects. With `required` false (the runtime is unknown), a
/// missing Docker engine is not an error: there is nothing of ours in it.
async fn remove_docker_objects(cluster: &str, required: bool) -> anyhow::Result<()> {
    let docker = match crate::images_cmd::connect_docker().await {
        Ok(docker) => docker,
        Err(e) if required => return Err(e.context("removing the cluster's containers and network")),
        Err(_) => return Ok(()),
    };
    let report = kubelab_agent::runtime::docker::remove_cluster_objects(&docker, cluster)
        .await
        .with_context(|| format!("removing the Docker objects labelled io.kubelab.cluster={cluster}"))?;
    println!(
        "  {:<11} removed {} container{} and {} network{} labelled io.kubelab.cluster={cluster}",
        "docker",
        report.containers,
        if report.containers == 1 { "" } else { "s" },
        report.networks,
        if report.networks == 1 { "" } else { "s" },
    );
    Ok(())
}

/// Runs `kubelab down`.
pub async fn run(args: DownArgs) -> anyhow::Result<()> {
    let layout = args.cluster.layout()?;
    let cluster = &args.cluster.cluster;
    match State::load(&layout)? {
        Some(mut state) => {
            println!("Stopping cluster \"{cluster}\" (home {})", layout.home.display());
            let clients: Vec<&Component> = state.components.iter().filter(|c| c.role != Role::Apiserver).collect();
            stop_group(&clients, args.timeout).await;
            let servers: Vec<&Component> = state.components.iter().filter(|c| c.role == Role::Apiserver).collect();
            stop_group(&servers, args.timeout).await;
            for component in &mut state.components {
                component.pid = None;
                component.start_time = None;
            }
            if !args.purge {
                state.save(&layout)?;
            }
            if state.runtime == "docker" {
                remove_docker_objects(cluster, true).await?;
            }
        }
        None => {
            println!(
                "Cluster \"{cluster}\": no processes to stop (no {})",
                layout.state_file().display()
            );
            remove_docker_objects(cluster, false).await?;
        }
    }
    if args.purge {
        purge_volumes(cluster).await;
        purge(&layout)?;
    }
    Ok(())
}

/// `--purge` also deletes the Docker volumes of the cluster's PersistentVolumes (their data).
async fn purge_volumes(cluster: &str) {
    let Ok(docker) = crate::images_cmd::connect_docker().await else {
        return;
    };
    match kubelab_agent::runtime::docker::volume::remove_cluster_volumes(&docker, cluster).await {
        Ok(0) => {}
        Ok(n) => println!(
            "  {:<11} removed {n} volume{} labelled io.kubelab.cluster={cluster}",
            "docker",
            if n == 1 { "" } else { "s" }
        ),
        Err(e) => eprintln!("  removing the cluster's Docker volumes failed: {e}"),
    }
}

fn purge(layout: &super::state::Layout) -> anyhow::Result<()> {
    let home = &layout.home;
    if !home.exists() {
        return Ok(());
    }
    let ours = layout
        .is_only_ours()
        .with_context(|| format!("reading {}", home.display()))?;
    if !ours {
        bail!(
            "refusing to delete {}: it holds files kubelab did not make (only state.json, kubeconfig, data/ and \
             logs/ are expected); delete it yourself if you mean it",
            home.display()
        );
    }
    std::fs::remove_dir_all(home).with_context(|| format!("deleting {}", home.display()))?;
    println!("  {:<11} deleted {} (data, logs, kubeconfig)", "purged", home.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: DownArgs,
    }

    #[test]
    fn flags() {
        let args = Cli::try_parse_from(["down", "--cluster", "lab", "--purge"])
            .unwrap()
            .args;
        assert!(args.purge);
        assert_eq!(args.cluster.cluster, "lab");
        assert_eq!(args.timeout, Duration::from_secs(10));
        assert!(!Cli::try_parse_from(["down"]).unwrap().args.purge);
    }

    #[test]
    fn purge_refuses_a_directory_with_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let layout = super::super::state::Layout::new(dir.path().join("c"));
        std::fs::create_dir_all(layout.logs_dir()).unwrap();
        std::fs::write(layout.home.join("notes.txt"), "mine").unwrap();
        let message = purge(&layout).unwrap_err().to_string();
        assert!(message.contains("refusing to delete"), "{message}");
        std::fs::remove_file(layout.home.join("notes.txt")).unwrap();
        purge(&layout).unwrap();
        assert!(!layout.home.exists());
        purge(&layout).unwrap();
    }
}
