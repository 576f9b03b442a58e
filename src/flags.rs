//! Flag value parsers shared by the `kubelab` subcommands.

use std::time::Duration;

/// `15s`, `500ms`, `1m`, or plain seconds, as the components' duration flags take them.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number.parse().map_err(|_| format!("invalid duration {text:?}"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("invalid duration {text:?}: use ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("invalid duration {text:?}: {e}"))
}

/// `--server` / `--kubeconfig`: how a control-plane component finds the API server.
#[derive(clap::Args, Debug, Clone)]
pub struct ServerFlags {
    /// URL of the API server (`http://127.0.0.1:6443`).
    #[arg(long, conflicts_with = "kubeconfig")]
    pub server: Option<String>,
    /// Kubeconfig file to read the server from (default: `KUBECONFIG`, then `~/.kube/config`).
    #[arg(long)]
    pub kubeconfig: Option<std::path::PathBuf>,
}

impl ServerFlags {
    /// The API client: `--server`, else `--kubeconfig`, else the kubeconfig kubectl would use.
    pub fn client(&self) -> anyhow::Result<kubelab_client::Client> {
        use anyhow::Context;
        use kubelab_client::Config;
        let config = match (&self.server, &self.kubeconfig) {
            (Some(server), _) => Config::new(server.clone()),
            (None, Some(path)) => {
                Config::from_kubeconfig_file(path, None).with_context(|| format!("reading {}", path.display()))?
            }
            (None, None) => Config::infer().context("no --server or --kubeconfig, and no kubeconfig found")?,
        };
        Ok(kubelab_client::Client::new(config)?)
    }
}

/// kube-scheduler's and kube-controller-manager's leader-election flags.
#[derive(clap::Args, Debug, Clone)]
pub struct LeaderElectionFlags {
    /// Run several replicas safely: only the holder of the lease acts. `--leader-elect=false`
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
}

impl LeaderElectionFlags {
    /// Sets the election's timings, refusing a renew deadline that is not shorter than the lease.
    pub fn apply(&self, election: &mut kubelab_client::LeaderElectionConfig) -> anyhow::Result<()> {
        if self.leader_elect && self.leader_elect_renew_deadline >= self.leader_elect_lease_duration {
            anyhow::bail!("--leader-elect-renew-deadline must be shorter than --leader-elect-lease-duration");
        }
        election.lease_duration = self.leader_elect_lease_duration;
        election.renew_deadline = self.leader_elect_renew_deadline;
        election.retry_period = self.leader_elect_retry_period;
        Ok(())
    }
}
