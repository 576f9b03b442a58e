//! # A cluster's home directory and its state file
//!
//! Everything `kubelab up` makes for one cluster lives under one directory (by default
//! `~/.kubelab/<cluster>`), so `kubelab down --purge` is "delete that directory":
//!
//! ```text
//! <home>/state.json      which processes make up the cluster (PID, address, log, command line)
//! <home>/kubeconfig      how kubectl and kubectl-lite reach the API server
//! <home>/data/           the API server's store: objects survive `down` and `up` again
//! <home>/logs/<c>.log    each component's stdout and stderr
//! <home>/nodes/<node>/   each node agent's root directory (its pods' volumes)
//! ```
//!
//! minikube keeps the same kind of record (`~/.minikube/profiles/<name>`). The state file is what
//! lets `status` and `down` find processes that `up` started and then left running: `up` is long
//! gone by then, so the only memory of "which PIDs are ours" is on disk. A PID alone is not proof:
//! once a process exits, the kernel may give its number to an unrelated program. So each entry
//! also keeps the process's start time (from `/proc/<pid>/stat`), and a PID whose start time
//! differs is treated as someone else's and never signalled.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The file name of the state file inside the home directory.
pub const STATE_FILE: &str = "state.json";

/// The file holding the key Secrets are encrypted with at rest.
const ENCRYPTION_CONFIG: &str = "encryption.yaml";

/// The paths of one cluster's home directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub home: PathBuf,
}

impl Layout {
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Layout { home: home.into() }
    }

    pub fn state_file(&self) -> PathBuf {
        self.home.join(STATE_FILE)
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.home.join("kubeconfig")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.home.join("data")
    }

    /// The API server's `EncryptionConfiguration`: the key Secrets are sealed with on disk.
    pub fn encryption_config(&self) -> PathBuf {
        self.home.join(ENCRYPTION_CONFIG)
    }

    /// Each node agent's `--root-dir` (its pods' volumes): `<home>/nodes/<node>`.
    pub fn nodes_dir(&self) -> PathBuf {
        self.home.join("nodes")
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.home.join("logs")
    }

    /// The log file of a component (`apiserver`, `scheduler`, `controller`, `node-1`, ...).
    pub fn log_file(&self, component: &str) -> PathBuf {
        self.logs_dir().join(format!("{component}.log"))
    }

    /// Whether `down --purge` may delete the home directory: it holds nothing but what `up`
    /// puts there. A mistyped `--home $HOME` must never lose anyone's files.
    pub fn is_only_ours(&self) -> std::io::Result<bool> {
        const OURS: [&str; 7] = [
            STATE_FILE,
            "kubeconfig",
            "data",
            "logs",
            "nodes",
            "state.json.tmp",
            ENCRYPTION_CONFIG,
        ];
        for entry in std::fs::read_dir(&self.home)? {
            let name = entry?.file_name();
            if !OURS.iter().any(|ours| name == *ours) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The default home of a cluster: `$HOME/.kubelab/<cluster>`.
pub fn default_home(cluster: &str, user_home: Option<&Path>) -> anyhow::Result<PathBuf> {
    let user_home = user_home.context("HOME is not set: give the cluster's directory with --home DIR")?;
    Ok(user_home.join(".kubelab").join(cluster))
}

/// What kind of component a process is; decides the order of `up` and `down`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Apiserver,
    Scheduler,
    Controller,
    Agent,
    /// `kubelab service-proxy`: one per cluster, Docker runtime only.
    ServiceProxy,
    /// `kubelab ingress`: one per cluster, Docker runtime only.
    Ingress,
}

/// One process of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// `apiserver`, `scheduler`, `controller`, or the node's name for an agent.
    pub name: String,
    pub role: Role,
    /// The process, once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Its start time in clock ticks since boot (`/proc/<pid>/stat` field 22), where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<u64>,
    /// Where it serves (`127.0.0.1:6443`), if it serves anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Its stdout and stderr.
    pub log: PathBuf,
    /// The arguments given to the `kubelab` binary, so `up` can start it again identically.
    pub args: Vec<String>,
}

/// The state file: the cluster's settings and its processes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub cluster: String,
    /// `docker` or `hollow`.
    pub runtime: String,
    pub api_port: u16,
    pub nodes: usize,
    /// The binary the components run (so `status` after a rebuild still names the right one).
    pub binary: PathBuf,
    pub components: Vec<Component>,
}

impl State {
    /// The API server's URL.
    pub fn server_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }

    pub fn component_mut(&mut self, name: &str) -> Option<&mut Component> {
        self.components.iter_mut().find(|c| c.name == name)
    }

    /// Reads `<home>/state.json`; `None` if there is none (the cluster was never started here).
    pub fn load(layout: &Layout) -> anyhow::Result<Option<State>> {
        let path = layout.state_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let state = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a kubelab state file; remove it to start over",
                path.display()
            )
        })?;
        Ok(Some(state))
    }

    /// Writes the state file atomically (a temporary file, then a rename), so a crash halfway
    /// never leaves a truncated file that would lose track of running processes.
    pub fn save(&self, layout: &Layout) -> anyhow::Result<()> {
        let path = layout.state_file();
        std::fs::create_dir_all(&layout.home).with_context(|| format!("creating {}", layout.home.display()))?;
        let tmp = layout.home.join("state.json.tmp");
        let text = serde_json::to_string_pretty(self).context("encoding the state file")?;
        std::fs::write(&tmp, text + "\n").with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(home: &Path) -> State {
        let layout = Layout::new(home);
        State {
            cluster: "demo".into(),
            runtime: "hollow".into(),
            api_port: 6443,
            nodes: 1,
            binary: "kubelab".into(),
            components: vec![
                Component {
                    name: "apiserver".into(),
                    role: Role::Apiserver,
                    pid: Some(42),
                    start_time: Some(1234),
                    address: Some("127.0.0.1:6443".into()),
                    log: layout.log_file("apiserver"),
                    args: vec!["apiserver".into(), "--listen".into(), "127.0.0.1:6443".into()],
                },
                Component {
                    name: "node-1".into(),
                    role: Role::Agent,
                    pid: None,
                    start_time: None,
                    address: None,
                    log: layout.log_file("node-1"),
                    args: vec!["agent".into()],
                },
            ],
        }
    }

    #[test]
    fn layout_paths() {
        let layout = Layout::new("/h");
        assert_eq!(layout.state_file(), Path::new("/h/state.json"));
        assert_eq!(layout.kubeconfig(), Path::new("/h/kubeconfig"));
        assert_eq!(layout.data_dir(), Path::new("/h/data"));
        assert_eq!(layout.log_file("node-2"), Path::new("/h/logs/node-2.log"));
        assert_eq!(
            default_home("lab", Some(Path::new("/u"))).unwrap(),
            Path::new("/u/.kubelab/lab")
        );
        assert!(default_home("lab", None).is_err());
    }

    #[test]
    fn state_round_trips_and_missing_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path().join("c"));
        assert_eq!(State::load(&layout).unwrap(), None);
        let state = sample(&layout.home);
        state.save(&layout).unwrap();
        let loaded = State::load(&layout).unwrap().unwrap();
        assert_eq!(loaded, state);
        assert_eq!(loaded.server_url(), "http://127.0.0.1:6443");
        assert_eq!(loaded.component("node-1").unwrap().role, Role::Agent);
        let text = std::fs::read_to_string(layout.state_file()).unwrap();
        assert!(
            text.contains("\"apiPort\": 6443") && text.contains("\"role\": \"apiserver\""),
            "{text}"
        );
        assert!(!layout.home.join("state.json.tmp").exists());
    }

    #[test]
    fn a_corrupt_state_file_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        std::fs::write(layout.state_file(), "{not json").unwrap();
        let message = format!("{:#}", State::load(&layout).unwrap_err());
        assert!(message.contains("state.json is not a kubelab state file"), "{message}");
    }

    #[test]
    fn purge_only_deletes_our_own_directories() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        sample(dir.path()).save(&layout).unwrap();
        std::fs::create_dir_all(layout.logs_dir()).unwrap();
        assert!(layout.is_only_ours().unwrap());
        std::fs::write(dir.path().join("thesis.tex"), "precious").unwrap();
        assert!(!layout.is_only_ours().unwrap());
    }
}
