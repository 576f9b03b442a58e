//! Kubernetes' official Python client (`kubernetes` on PyPI) against kubelab: an API server
//! process and a node agent (in this process, hollow runtime: no Docker needed) serving logs,
//! then `tests/python/client_smoke.py`, which creates, lists, watches, patches (strategic merge
//! and JSON patch), reads a log, lists nodes and deletes, asserting at every step.
//!
//! The client lives in a virtual environment that `.ci/run` makes (`target/pyenv`, with a pinned
//! `kubernetes` version) and names in `KUBELAB_PYTHON`. Without it the test prints a loud
//! `SKIPPED:` line and passes, unless CI (`KUBELAB_REQUIRE_DOCKER=1` or `CI`) is set: then it fails.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use kubelab_agent::runtime::hollow::{HollowConfig, HollowRuntime};
use kubelab_agent::AgentConfig;

const NODE: &str = "py-node";

/// The venv's python with `kubernetes` importable, or why there is none.
fn python() -> Result<PathBuf, String> {
    let candidate = match std::env::var_os("KUBELAB_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python"),
    };
    if !candidate.exists() {
        return Err(format!(
            "no Python client: {} does not exist (.ci/run creates it; or set KUBELAB_PYTHON)",
            candidate.display()
        ));
    }
    let import = std::process::Command::new(&candidate)
        .args(["-c", "import kubernetes"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", candidate.display()))?;
    if !import.status.success() {
        return Err(format!(
            "{} cannot import kubernetes: {}",
            candidate.display(),
            String::from_utf8_lossy(&import.stderr)
        ));
    }
    Ok(candidate)
}

fn required() -> bool {
    std::env::var("KUBELAB_REQUIRE_DOCKER").is_ok_and(|v| v == "1") || std::env::var_os("CI").is_some()
}

#[tokio::test]
async fn the_official_python_client_works() {
    let python = match python() {
        Ok(python) => python,
        Err(reason) if required() => panic!("CI requires the Python client, but {reason}"),
        Err(reason) => {
            eprintln!("\n========================================================\nSKIPPED: {reason}\n========================================================\n");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let apiserver = common::Apiserver::start(dir.path()).await;
    let base = apiserver.base_url();

    // A hollow node whose agent serves logs on a free loopback port.
    let client = kubelab_client::Client::new(kubelab_client::Config::new(base.clone())).expect("client");
    let runtime = Arc::new(HollowRuntime::new(HollowConfig::new(NODE, "py")));
    let mut config = AgentConfig::new(NODE, "py");
    config.serve = true;
    config.port = 0;
    config.relist_interval = Duration::from_millis(200);
    config.status_update_interval = Duration::from_secs(1);
    let agent = tokio::spawn(kubelab_agent::run(config, client, runtime, std::future::pending()));

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/client_smoke.py");
    let child = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(&base)
        .arg(NODE)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start python");
    let output = tokio::time::timeout(Duration::from_secs(180), child.wait_with_output())
        .await
        .expect("the Python smoke test finished within 180 s")
        .expect("python's output");
    agent.abort();
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "client_smoke.py failed ({}): see its output above",
        output.status
    );
    drop(apiserver);
}
