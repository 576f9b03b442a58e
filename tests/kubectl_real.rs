//! The real `kubectl` against a real `kubelab up` cluster on Docker, through the README's tour:
//! apply (created, then unchanged, then configured after an edit), rollout status, get (and
//! `get -w` seeing a change), describe, logs, exec, scale, label, delete.
//!
//! kubectl caches discovery on disk, so every call gets a fresh `--cache-dir`. Without kubectl
//! or Docker the test prints a loud SKIPPED line, unless `KUBELAB_REQUIRE_DOCKER=1` (CI).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::cluster::{skip_or_fail, UpCluster};
use common::kubectl::{kubectl_installed, Kubectl};

/// The names of the `app=web` pods that are Running and not being deleted.
fn running_pods(kubectl: &Kubectl) -> Vec<String> {
    let text = kubectl.ok(&["get", "pods", "-l", "app=web", "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&text).expect("kubectl -o json prints JSON");
    list["items"]
        .as_array()
        .expect("a list's items")
        .iter()
        .filter(|pod| pod["status"]["phase"] == "Running" && pod["metadata"]["deletionTimestamp"].is_null())
        .filter_map(|pod| pod["metadata"]["name"].as_str().map(String::from))
        .collect()
}

/// Waits until exactly `count` `app=web` pods run (none terminating among them).
fn wait_for_running(kubectl: &Kubectl, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let pods = running_pods(kubectl);
        if pods.len() == count {
            return pods;
        }
        assert!(
            Instant::now() < deadline,
            "not {count} running pods after 90 s: {pods:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn manifest_with_replicas(dir: &Path, replicas: u32) -> PathBuf {
    let original = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/web-deployment.yaml"))
        .expect("the example manifest");
    let edited = original.replace("replicas: 3", &format!("replicas: {replicas}"));
    assert_ne!(edited, original, "the example says replicas: 3");
    let path = dir.join(format!("web-{replicas}.yaml"));
    std::fs::write(&path, edited).expect("write the edited manifest");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_kubectl_drives_a_docker_cluster() {
    if !kubectl_installed() {
        return skip_or_fail("kubectl is not installed");
    }
    if kubelab_agent::runtime::docker::connect_docker().await.is_err() {
        return skip_or_fail("Docker is unreachable");
    }
    let cluster = UpCluster::new("kubectl");
    let up = cluster.up(&["--runtime", "docker", "--nodes", "2"]);
    assert!(up.status.success(), "kubelab up failed");
    let kubectl = Kubectl::new(cluster.kubeconfig());
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/web-deployment.yaml");
    let work = tempfile::tempdir().expect("a work directory");

    // apply: created, unchanged, configured.
    assert!(kubectl
        .ok(&["apply", "-f", example])
        .contains("deployment.apps/web created"));
    assert!(kubectl
        .ok(&["apply", "-f", example])
        .contains("deployment.apps/web unchanged"));
    let rolled = kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    assert!(rolled.contains("successfully rolled out"), "{rolled}");
    let two = manifest_with_replicas(work.path(), 2);
    let two = two.to_str().expect("a UTF-8 path");
    assert!(kubectl
        .ok(&["apply", "-f", two])
        .contains("deployment.apps/web configured"));
    let pods = wait_for_running(&kubectl, 2);

    // get -o wide: kubectl's columns, the pods on the cluster's nodes.
    let wide = kubectl.ok(&["get", "pods", "-o", "wide"]);
    let header = wide.lines().next().unwrap_or_default();
    for column in ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"] {
        assert!(header.contains(column), "no {column} column: {header}");
    }
    assert!(wide.contains("node-"), "{wide}");
    let pod = pods[0].as_str();

    // describe, logs, exec, label.
    let described = kubectl.ok(&["describe", "pod", pod]);
    for field in [
        "Name:",
        "Node:",
        "Status:",
        "IP:",
        "Containers:",
        "Conditions:",
        "Events:",
    ] {
        assert!(described.contains(field), "describe has no {field}:\n{described}");
    }
    let logs = kubectl.until(&["logs", pod], Duration::from_secs(30), |t| !t.trim().is_empty());
    assert!(
        logs.contains("8080"),
        "the demo web server says where it listens: {logs}"
    );
    let exec = kubectl.ok(&["exec", pod, "--", "kubelab-demo", "get", "http://localhost:8080/"]);
    assert!(
        exec.contains(pod),
        "the pod's own web server answers with its name: {exec}"
    );
    assert!(kubectl
        .ok(&["label", "pod", pod, "lab=one"])
        .contains(&format!("pod/{pod} labeled")));
    assert!(kubectl
        .ok(&["get", "pods", "-l", "lab=one", "-o", "name"])
        .contains(pod));

    // get -w sees a deleted pod go and its replacement come.
    let mut watch = kubectl
        .command(&["get", "pods", "-w", "--no-headers"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kubectl get -w");
    let lines = BufReader::new(watch.stdout.take().expect("the watch's stdout"));
    let (seen_tx, seen_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in lines.lines().map_while(Result::ok) {
            if seen_tx.send(line).is_err() {
                break;
            }
        }
    });
    kubectl.ok(&["delete", "pod", pod, "--wait=false"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut replacement = None;
    while replacement.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = seen_rx
            .recv_timeout(left)
            .expect("kubectl get -w shows a replacement pod within 60 s");
        let name = line.split_whitespace().next().unwrap_or_default().to_string();
        if name.starts_with("web-") && !pods.contains(&name) {
            replacement = Some(name);
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();

    // scale, then delete -f waits until the Deployment is gone.
    assert!(kubectl
        .ok(&["scale", "deployment", "web", "--replicas=3"])
        .contains("deployment.apps/web scaled"));
    let rolled = kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    assert!(rolled.contains("successfully rolled out"), "{rolled}");
    wait_for_running(&kubectl, 3);
    let deleted = kubectl.ok(&["delete", "-f", example]);
    assert!(deleted.contains("deployment.apps \"web\" deleted"), "{deleted}");
    kubectl.until(
        &["get", "pods", "-l", "app=web", "-o", "name"],
        Duration::from_secs(90),
        |t| t.trim().is_empty(),
    );
}
