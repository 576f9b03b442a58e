//! `kubelab scheduler` (and `kubelab-scheduler`): flags → [`kubelab_scheduler::SchedulerConfig`].
//!
//! The flags are kube-scheduler's where it has them (`--leader-elect`,
//! `--leader-elect-lease-duration`, ...), so its documentation applies.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use kubelab_client::{Client, Config};
use kubelab_scheduler::{SchedulerConfig, DEFAULT_SCHEDULER_NAME};

use crate::flags::parse_duration;

/// Flags of the scheduler.
#[derive(Args, Debug, Clone)]
pub struct SchedulerArgs {
    /// URL of the API server (`http://127.0.0.1:6443`).
    #[arg(long, conflicts_with = "kubeconfig")]
    pub server: Option<String>,
    /// Kubeconfig file to read the server from (default: `KUBECONFIG`, then `~/.kube/config`).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Schedule only pods whose `spec.schedulerName` is this.
    #[arg(long, default_value = DEFAULT_SCHEDULER_NAME)]
    pub scheduler_name: String,
    /// Run several replicas safely: only the holder of the lease schedules. `--leader-elect=false`
    /// for a single replica.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// How long others wait after the leader's last renewal before taking over.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_elect_lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up (and exits).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub leader_elect_renew_deadline: Duration,
    /// How often candidates try to acquire, and the leader to renew.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub leader_elect_retry_period: Duration,
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
        if self.leader_elect && self.leader_elect_renew_deadline >= self.leader_elect_lease_duration {
            bail!("--leader-elect-renew-deadline must be shorter than --leader-elect-lease-duration");
        }
        let mut config = SchedulerConfig {
            scheduler_name: self.scheduler_name.clone(),
            leader_elect: self.leader_elect,
            percentage_of_nodes_to_score: self.percentage_of_nodes_to_score.min(100),
            ..SchedulerConfig::default()
        };
        let election = &mut config.leader_election;
        election.namespace = self.leader_elect_resource_namespace.clone();
        election.lease_name = self.leader_elect_resource_name.clone();
        election.lease_duration = self.leader_elect_lease_duration;
        election.renew_deadline = self.leader_elect_renew_deadline;
        election.retry_period = self.leader_elect_retry_period;
        Ok(config)
    }

    /// The API client: `--server`, else `--kubeconfig`, else the kubeconfig kubectl would use.
    pub fn client(&self) -> anyhow::Result<Client> {
        let config = match (&self.server, &self.kubeconfig) {
            (Some(server), _) => Config::new(server.clone()),
            (None, Some(path)) => {
                Config::from_kubeconfig_file(path, None).with_context(|| format!("reading {}", path.display()))?
            }
            (None, None) => Config::infer().context("no --server or --kubeconfig, and no kubeconfig found")?,
        };
        Ok(Client::new(config)?)
    }
}

/// Runs the scheduler until SIGINT/SIGTERM. Losing leadership is an error, so the process exits
/// non-zero and its supervisor restarts it as a candidate, as with kube-scheduler.
pub async fn run(args: SchedulerArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let client = args.client()?;
    kubelab_scheduler::run(config, client, crate::shutdown::signal()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

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
        assert!(parse(&["--leader-elect"]).leader_elect);
        assert!(Cli::try_parse_from(["s", "--server", "http://a", "--kubeconfig", "k"]).is_err());
        assert!(parse_duration("3x").is_err());
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
    }
}
