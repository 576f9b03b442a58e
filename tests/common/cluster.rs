//! A cluster started as a user starts it: `kubelab up` in a fresh home directory, on a free API
//! port, with a unique cluster name (so its own Docker network and labels). `up` leaves its
//! components running after it exits, so the guard runs `kubelab down --purge` when dropped, also
//! when an assertion fails, and then kills any PID the cluster recorded that is still alive.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use kubelab_client::{Client, Config};

#[allow(unused_imports)] // each test binary uses a subset
pub use super::{docker::skip_or_fail, free_port};

pub const KUBELAB: &str = env!("CARGO_BIN_EXE_kubelab");

/// A binary of another package of the workspace (`kubectl-lite`), from the target directory this
/// test was built into: `cargo nextest run --workspace` (what `.ci/run` runs) builds every
/// package's binaries first. Cargo gives a test only its own package's binaries by name.
pub fn workspace_binary(name: &str) -> PathBuf {
    let test_exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let profile_dir = test_exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from target/<profile>/deps");
    let binary = profile_dir.join(name);
    assert!(
        binary.exists(),
        "{} is not built: run the tests with `cargo nextest run --workspace` (or `cargo build -p {name}` first)",
        binary.display()
    );
    binary
}

/// Whether a PID is a live (not zombie) process.
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

/// A cluster started by `kubelab up` in its own home directory; `down --purge` on drop.
pub struct UpCluster {
    pub name: String,
    /// Holds the temporary directory the home is in.
    _dir: tempfile::TempDir,
    pub home: PathBuf,
    pub api_port: u16,
}

impl UpCluster {
    pub fn new(prefix: &str) -> UpCluster {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let home = dir.path().join("home");
        UpCluster {
            name: super::unique_name(prefix),
            _dir: dir,
            home,
            api_port: free_port(),
        }
    }

    /// `kubelab <command> --cluster <name> --home <home> <args>`, its output captured.
    pub fn kubelab(&self, command: &str, args: &[&str]) -> Output {
        let output = Command::new(KUBELAB)
            .arg(command)
            .args(["--cluster", &self.name, "--home"])
            .arg(&self.home)
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running kubelab {command}: {e}"));
        eprintln!(
            "$ kubelab {command} {args:?} -> {}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// `kubelab up` on this cluster's API port, with `args` added. Flags `args` leaves out get
    /// test defaults: port 0 (free ports, so clusters of tests running in parallel never collide)
    /// for the agents and the ingress, and `--wait-timeout 60s`.
    pub fn up(&self, args: &[&str]) -> Output {
        let port = self.api_port.to_string();
        let defaults = [
            ("--api-port", port.as_str()),
            ("--agent-port", "0"),
            ("--ingress-http-port", "0"),
            ("--ingress-https-port", "0"),
            ("--wait-timeout", "60s"),
        ];
        let mut all = Vec::new();
        for (flag, value) in defaults {
            if !args.contains(&flag) {
                all.extend([flag, value]);
            }
        }
        all.extend_from_slice(args);
        self.kubelab("up", &all)
    }

    /// What component `name` (`apiserver`, `ingress`, …) has logged so far (empty if nothing).
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.home.join("logs").join(format!("{name}.log"))).unwrap_or_default()
    }

    /// The kubeconfig `up` wrote.
    pub fn kubeconfig(&self) -> PathBuf {
        self.home.join("kubeconfig")
    }

    pub fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.home.join("state.json")).expect("state.json after up");
        serde_json::from_str(&text).expect("state.json is JSON")
    }

    /// Every PID in the state file, by component name.
    pub fn pids(&self) -> Vec<(String, u32)> {
        let state = self.state();
        state["components"]
            .as_array()
            .expect("components")
            .iter()
            .filter_map(|c| {
                let pid = u32::try_from(c["pid"].as_u64()?).ok()?;
                Some((c["name"].as_str()?.to_string(), pid))
            })
            .collect()
    }

    pub fn client(&self) -> Client {
        let config = Config::from_kubeconfig_file(self.kubeconfig(), None).expect("the kubeconfig up wrote");
        Client::new(config).expect("a client")
    }
}

impl Drop for UpCluster {
    fn drop(&mut self) {
        let pids = if self.home.join("state.json").exists() {
            self.pids()
        } else {
            Vec::new()
        };
        let _ = Command::new(KUBELAB)
            .args(["down", "--purge", "--timeout", "5s", "--cluster", &self.name, "--home"])
            .arg(&self.home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
        // Last resort, should `down` itself have failed: only the PIDs this cluster recorded.
        for (_, pid) in pids {
            if pid_alive(pid) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
}
