//! Starting the measured API server as a child process on a free loopback port, and reading its
//! memory from `/proc`.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

/// An API server process that is killed when dropped.
pub struct ApiserverProcess {
    pub child: Child,
    pub addr: SocketAddr,
}

impl ApiserverProcess {
    /// Starts `kubelab apiserver` (this very binary) on a free port with its data in `data_dir`,
    /// and waits until `/readyz` answers.
    pub async fn start(data_dir: &Path, http: &reqwest::Client) -> anyhow::Result<Self> {
        let addr = free_loopback_addr()?;
        let exe = std::env::current_exe().context("finding the kubelab binary")?;
        let child = Command::new(exe)
            .arg("apiserver")
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting the API server")?;
        let mut process = ApiserverProcess { child, addr };
        process.wait_ready(http).await?;
        Ok(process)
    }

    async fn wait_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let url = format!("http://{}/readyz", self.addr);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = http.get(&url).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("the API server exited before it was ready: {status}");
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the API server was not ready at {url} within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Resident memory now and at its peak, in bytes (`VmRSS`, `VmHWM`).
    pub fn memory(&self) -> Option<(u64, u64)> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// Stops the server with SIGTERM, as a user would, and waits for it to exit.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// A loopback address with a port the OS says is free right now.
pub fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?)
}
