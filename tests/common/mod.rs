//! Helpers for end-to-end tests: real processes on free loopback ports, always cleaned up. Each
//! helper lives here once; a test binary uses the subset it needs (hence `allow(dead_code)`).
//!
//! - this file: an API server process ([`Apiserver`]), `kubelab` component processes
//!   ([`KubelabProcess`]), unique names, free ports, a JSON GET;
//! - [`cluster`]: a cluster started by `kubelab up` ([`cluster::UpCluster`]);
//! - [`docker`]: skip (or fail) without Docker, the images, [`docker::ClusterGuard`], a node agent
//!   in the test's process or as a process, [`docker::DockerCluster`];
//! - [`wait`]: waiting with a deadline ([`eventually`], [`eventually_ok`]);
//! - [`watch`]: following every change to a set of objects ([`watch::follow`]).

#![allow(dead_code)]

pub mod cluster;
pub mod docker;
pub mod kubectl;
pub mod wait;
pub mod watch;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[allow(unused_imports)] // each test binary uses a subset
pub use wait::{eventually, eventually_ok};

/// A loopback port free right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// GET `url` and its JSON answer, whatever the status; panics (naming the URL) if either fails.
pub async fn get_json(http: &reqwest::Client, url: &str) -> serde_json::Value {
    let response = http.get(url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    response
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: the answer is not JSON: {e}"))
}

/// A `kubelab-apiserver` process, killed when dropped.
pub struct Apiserver {
    child: Option<Child>,
    pub addr: SocketAddr,
}

impl Apiserver {
    /// Starts the server on a free port with its data in `data_dir` and waits for `/readyz`.
    pub async fn start(data_dir: &Path) -> Apiserver {
        Apiserver::start_with(data_dir, &[]).await
    }

    /// As [`Apiserver::start`], with more flags.
    pub async fn start_with(data_dir: &Path, extra_args: &[&str]) -> Apiserver {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        Apiserver::start_at(addr, data_dir, extra_args).await
    }

    /// As [`Apiserver::start_with`], listening on `addr` (for a port chosen to be free on
    /// another address too, such as a cluster network's gateway for `--advertise-address`).
    pub async fn start_at(addr: SocketAddr, data_dir: &Path, extra_args: &[&str]) -> Apiserver {
        let child = Command::new(env!("CARGO_BIN_EXE_kubelab-apiserver"))
            .args(["--listen", &addr.to_string(), "--data-dir"])
            .arg(data_dir)
            .args(extra_args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .expect("start kubelab-apiserver");
        let server = Apiserver {
            child: Some(child),
            addr,
        };
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{}/readyz", server.base_url())).send().await {
                if r.status().is_success() {
                    return server;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the apiserver did not become ready within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: no chance to flush or close anything.
    pub fn kill_9(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for a clean exit (SIGKILL after 10 s).
    pub async fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    assert!(status.success(), "the apiserver exited with {status} on SIGTERM");
                    return;
                }
                if tokio::time::Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("the apiserver did not stop within 10 s of SIGTERM");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

impl Drop for Apiserver {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A task aborted when dropped: a node agent in the test's process, a watch.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A name no other test (in this process or another) uses at the same time: `<prefix>-<pid>-<n>`.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{:x}-{:x}-{}",
        std::process::id(),
        nanos & 0xffff,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A `kubelab <subcommand> ...` process (scheduler, controller, agent), SIGKILLed when dropped.
///
/// Its stderr goes to the test's (logs at `warn` unless `RUST_LOG` says otherwise), so a failing
/// test shows what the components complained about.
pub struct KubelabProcess {
    pub name: String,
    child: Option<Child>,
}

impl KubelabProcess {
    /// Starts `kubelab <args>` with the extra environment `envs`.
    pub fn start(name: &str, args: &[String], envs: &[(&str, &str)]) -> KubelabProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kubelab"));
        command
            .args(args)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        for (key, value) in envs {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {name} (kubelab {args:?}): {e}"));
        KubelabProcess {
            name: name.into(),
            child: Some(child),
        }
    }

    /// SIGKILL and reap: the process gets no chance to clean anything up.
    pub fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `Some(status)` if the process has exited on its own (a killed one is not reported).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }
}

impl Drop for KubelabProcess {
    fn drop(&mut self) {
        self.kill_9();
    }
}
