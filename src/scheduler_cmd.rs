//! `kubelab scheduler` (and `kubelab-scheduler`): flags → [`kubelab_scheduler::SchedulerConfig`].
//!
//! The flags are kube-scheduler's where it has them (`--leader-elect`,
//! `--leader-elect-lease-duration`, ...), so its documentation applies.

use clap::Args;
use kubelab_scheduler::{SchedulerConfig, DEFAULT_SCHEDULER_NAME};

use crate::flags::{LeaderElectionFlags, ServerFlags};

/// Flags of the scheduler.
#[derive(Args, Debug, Clone)]
pub struct SchedulerArgs {
    #[command(flatten)]
    pub server: ServerFlags,
    /// Schedule only pods whose `spec.schedulerName` is this.
    #[arg(long, default_value = DEFAULT_SCHEDULER_NAME)]
    pub scheduler_name: String,
    #[command(flatten)]
    pub election: LeaderElectionFlags,
    /// Namespace of the lease.
    #[arg(long, default_value = kubelab_scheduler::election::LEASE_NAMESPACE)]
    pub leader_elect_resource_namespace: String,
    /// Name of the lease.
    #[arg(long, default_value = kubelab_scheduler::election::LEASE_NAME)]
    pub leader_elect_resource_name: String,
    /// Percentage of nodes to find feasible before scoring (0: Kubernetes' adaptive default).
    #[arg(long, default_value_t = 0)]
    pub percentage_of_nodes_to_score: u32,
}

impl SchedulerArgs {
    /// The scheduler's configuration (identity: host name and a random suffix).
    pub fn config(&self) -> anyhow::Result<SchedulerConfig> {
        let mut config = SchedulerConfig {
            scheduler_name: self.scheduler_name.clone(),
            leader_elect: self.election.leader_elect,
            percentage_of_nodes_to_score: self.percentage_of_nodes_to_score.min(100),
            ..SchedulerConfig::default()
        };
        config.leader_election.namespace = self.leader_elect_resource_namespace.clone();
        config.leader_election.lease_name = self.leader_elect_resource_name.clone();
        self.election.apply(&mut config.leader_election)?;
        Ok(config)
    }
}

/// Runs the scheduler until SIGINT/SIGTERM. Losing leadership is an error, so the process exits
/// non-zero and its supervisor restarts it as a candidate, as with kube-scheduler.
pub async fn run(args: SchedulerArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let client = args.server.client()?;
    kubelab_scheduler::run(config, client, crate::shutdown::signal()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::parse_duration;
    use clap::Parser;
    use std::time::Duration;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SchedulerArgs,
    }

    fn parse(args: &[&str]) -> SchedulerArgs {
        Cli::try_parse_from(std::iter::once("kubelab-scheduler").chain(args.iter().copied()))
            .map(|c| c.args)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn defaults_are_kube_schedulers() {
        let config = parse(&["--server", "http://127.0.0.1:6443"]).config().unwrap();
        assert_eq!(config.scheduler_name, "default-scheduler");
        assert!(config.leader_elect);
        assert_eq!(config.leader_election.namespace, "kube-system");
        assert_eq!(config.leader_election.lease_name, "kube-scheduler");
        assert_eq!(config.leader_election.lease_duration, Duration::from_secs(15));
        assert_eq!(config.leader_election.renew_deadline, Duration::from_secs(10));
        assert_eq!(config.leader_election.retry_period, Duration::from_secs(2));
        assert_eq!(config.leader_election.identity, config.identity);
    }

    #[test]
    fn flags() {
        let args = parse(&[
            "--server=http://x:1",
            "--leader-elect=false",
            "--scheduler-name",
            "mine",
            "--leader-elect-retry-period=500ms",
        ]);
        let config = args.config().unwrap();
        assert!(!config.leader_elect);
        assert_eq!(config.scheduler_name, "mine");
        assert_eq!(config.leader_election.retry_period, Duration::from_millis(500));
        assert!(parse(&["--leader-elect"]).election.leader_elect);
        assert!(Cli::try_parse_from(["s", "--server", "http://a", "--kubeconfig", "k"]).is_err());
        assert!(parse_duration("3x").is_err());
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
    }
}
