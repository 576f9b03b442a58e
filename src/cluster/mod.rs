//! # `kubelab up`, `status`, `down`, `logs`: a whole cluster with one command
//!
//! This is kubelab's minikube. `minikube start` boots a VM (or a container) and runs the
//! control plane inside it; `kubelab up` runs the same parts as plain processes on this machine:
//!
//! ```text
//! kubelab apiserver   --listen 127.0.0.1:6443 --data-dir <home>/data
//! kubelab scheduler   --server http://127.0.0.1:6443
//! kubelab controller  --server http://127.0.0.1:6443 --node-monitor-grace-period 10s ...
//! kubelab agent       --node-name node-1 --cluster <name> --runtime docker --port 10251
//! kubelab agent       --node-name node-2 ...                                --port 10252
//! ```
//!
//! Why each is its own process, when one process could run them all: that is how Kubernetes is
//! built, and it is what a student should be able to see and break. The components share no
//! memory; they only talk to the API server. So `kill -9` of one node's agent is a node failure
//! (the node goes `NotReady`, its pods are evicted and replaced elsewhere) while everything else
//! keeps running; killing the scheduler leaves new pods `Pending` until it is back; and each one
//! has its own log to read (`kubelab logs node-2`).
//!
//! The cluster's files live in one home directory ([`state`]); the processes are started
//! detached so they outlive `kubelab up` ([`process`]). `up` is safe to run again: it starts
//! only what is not running. `down` stops the processes and removes the cluster's Docker objects
//! (found by their `io.kubelab.cluster` label, never by name patterns); `down --purge` also
//! deletes the home directory.

pub mod down;
pub mod logs;
pub mod process;
pub mod state;
pub mod status;
pub mod up;

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::Args;

use state::Layout;

/// The default cluster name.
pub const DEFAULT_CLUSTER: &str = "kubelab";

/// Which cluster a command is about: `--cluster NAME` and where it lives.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct ClusterArgs {
    /// The cluster's name: its Docker network and labels, and its default home directory.
    #[arg(long, default_value = DEFAULT_CLUSTER)]
    pub cluster: String,
    /// The cluster's directory (state, kubeconfig, data, logs). Default: `~/.kubelab/<cluster>`.
    #[arg(long)]
    pub home: Option<PathBuf>,
}

impl ClusterArgs {
    /// The cluster's home directory, after checking its name (which also becomes part of Docker
    /// object names and of the default path, so it keeps to `[a-z0-9-]`).
    pub fn layout(&self) -> anyhow::Result<Layout> {
        kubelab_agent::runtime::docker::network::validate_cluster_name(&self.cluster)
            .map_err(|e| anyhow!("--cluster: {e}"))?;
        let home = match &self.home {
            Some(home) => home.clone(),
            None => state::default_home(&self.cluster, std::env::var_os("HOME").map(PathBuf::from).as_deref())?,
        };
        // Absolute, since the paths are stored and used from other working directories.
        let home = std::path::absolute(&home).with_context(|| format!("--home {}", home.display()))?;
        Ok(Layout::new(home))
    }

    /// The flags to repeat in hints (`kubelab down --cluster lab`), empty for the defaults.
    pub fn hint_flags(&self) -> String {
        let mut flags = String::new();
        if self.cluster != DEFAULT_CLUSTER {
            flags.push_str(&format!(" --cluster {}", self.cluster));
        }
        if let Some(home) = &self.home {
            flags.push_str(&format!(" --home {}", home.display()));
        }
        flags
    }
}

pub use crate::flags::parse_duration;

/// The last `n` lines of a log file, for error messages ("the apiserver exited: ...").
pub fn log_tail(path: &std::path::Path, n: usize) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].iter().map(|l| format!("    {l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::time::Duration;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ClusterArgs,
    }

    #[test]
    fn cluster_names_are_checked_and_homes_derived() {
        let args = Cli::try_parse_from(["k", "--cluster", "lab", "--home", "/tmp/x"])
            .unwrap()
            .args;
        assert_eq!(args.layout().unwrap().home, PathBuf::from("/tmp/x"));
        assert_eq!(args.hint_flags(), " --cluster lab --home /tmp/x");
        let args = Cli::try_parse_from(["k"]).unwrap().args;
        assert_eq!(args.cluster, "kubelab");
        assert_eq!(args.hint_flags(), "");
        let bad = Cli::try_parse_from(["k", "--cluster", "../etc"]).unwrap().args;
        let message = bad.layout().unwrap_err().to_string();
        assert!(
            message.contains("--cluster") && message.contains("lowercase"),
            "{message}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("3h").is_err() && parse_duration("x").is_err());
    }

    #[test]
    fn log_tails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        std::fs::write(&path, "1\n2\n3\n").unwrap();
        assert_eq!(log_tail(&path, 2), "    2\n    3\n");
        assert_eq!(log_tail(&dir.path().join("none"), 2), "");
    }
}
