//! `kubelab controller` (and `kubelab-controller`): flags → [`kubelab_controller::ManagerConfig`].
//!
//! The flags are kube-controller-manager's where it has them (`--leader-elect`, `--controllers`,
//! `--node-monitor-grace-period`, ...), so its documentation applies.

use std::time::Duration;

use clap::Args;
use kubelab_controller::manager::{self, ManagerConfig};
use tokio::sync::watch;

use crate::flags::{parse_duration, LeaderElectionFlags, ServerFlags};

/// Flags of the controller manager.
#[derive(Args, Debug, Clone)]
pub struct ControllerArgs {
    #[command(flatten)]
    pub server: ServerFlags,
    #[command(flatten)]
    pub election: LeaderElectionFlags,
    /// Controllers to run: `*` for all, `name` to enable, `-name` to disable; comma-separated.
    #[arg(long, default_value = "*", value_delimiter = ',')]
    pub controllers: Vec<String>,
    /// How long a node may stop heartbeating before it is marked unreachable.
    #[arg(long, default_value = "40s", value_parser = parse_duration)]
    pub node_monitor_grace_period: Duration,
    /// Seconds pods stay on an unreachable or not-ready node (without their own toleration).
    #[arg(long, default_value_t = 300)]
    pub default_eviction_seconds: u64,
    /// Deployments reconciled at once.
    #[arg(long, default_value_t = 5)]
    pub concurrent_deployment_syncs: usize,
    /// ReplicaSets reconciled at once.
    #[arg(long, default_value_t = 5)]
    pub concurrent_replicaset_syncs: usize,
}

impl ControllerArgs {
    pub fn config(&self) -> anyhow::Result<ManagerConfig> {
        let mut config = ManagerConfig::new(&manager::default_identity());
        config.leader_elect = self.election.leader_elect;
        self.election.apply(&mut config.leader_election)?;
        config.controllers = self.controllers.clone();
        config.node_lifecycle.node_monitor_grace_period = self.node_monitor_grace_period;
        config.node_lifecycle.default_eviction_seconds = self.default_eviction_seconds;
        config.deployment.workers = self.concurrent_deployment_syncs.max(1);
        config.replica_set.workers = self.concurrent_replicaset_syncs.max(1);
        Ok(config)
    }
}

/// Runs the controller manager until SIGINT/SIGTERM. Losing leadership is an error, so the
/// process exits non-zero and its supervisor restarts it as a candidate.
pub async fn run(args: ControllerArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let client = args.server.client()?;
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(async move {
        crate::shutdown::signal().await;
        let _ = stop.send(true);
    });
    manager::run(client, config, shutdown).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ControllerArgs,
    }

    fn parse(args: &[&str]) -> ControllerArgs {
        Cli::try_parse_from(std::iter::once("kubelab-controller").chain(args.iter().copied()))
            .map(|c| c.args)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn defaults_are_kube_controller_managers() {
        let config = parse(&["--server", "http://127.0.0.1:6443"]).config().unwrap();
        assert!(config.leader_elect);
        assert_eq!(config.leader_election.lease_name, "kube-controller-manager");
        assert_eq!(config.leader_election.namespace, "kube-system");
        assert_eq!(config.controllers, ["*"]);
        assert_eq!(config.node_lifecycle.node_monitor_grace_period, Duration::from_secs(40));
        assert_eq!(config.node_lifecycle.default_eviction_seconds, 300);
    }

    #[test]
    fn flags() {
        let config = parse(&[
            "--server=http://x:1",
            "--leader-elect=false",
            "--controllers=*,-namespace",
            "--node-monitor-grace-period",
            "5s",
            "--default-eviction-seconds=10",
        ])
        .config()
        .unwrap();
        assert!(!config.leader_elect);
        assert!(!config.is_enabled("namespace") && config.is_enabled("deployment"));
        assert_eq!(config.node_lifecycle.node_monitor_grace_period, Duration::from_secs(5));
        assert_eq!(config.node_lifecycle.default_eviction_seconds, 10);
        assert!(parse_duration("3x").is_err());
    }
}
