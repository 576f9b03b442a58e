//! End-to-end tests of `kubelab up`, `status`, `logs` and `down`, run exactly as a user types
//! them: the built `kubelab` binary as a real process, a fresh home directory, a free API port.
//!
//! `up` leaves its components running after it exits (that is its point), so every test holds a
//! guard that runs `kubelab down --purge` when dropped, also when an assertion fails, and checks
//! afterwards that none of the recorded PIDs is left. The Docker test makes its own cluster name
//! (so its own network and labels) and, without Docker, prints a loud `SKIPPED:` line and passes,
//! unless `KUBELAB_REQUIRE_DOCKER=1` makes that a failure.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::Duration;

use kubelab_api::core::{Node, Pod};
use kubelab_client::{Api, Client, ListParams};

mod common;

use common::cluster::{pid_alive, UpCluster as Cluster};
use common::docker::docker_or_skip;
use common::eventually_ok;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn node_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

async fn ready_nodes(client: &Client) -> Vec<String> {
    let nodes: Api<Node> = Api::all(client.clone());
    let mut names: Vec<String> = nodes
        .list(&ListParams::default())
        .await
        .expect("listing nodes")
        .items
        .into_iter()
        .filter(node_ready)
        .filter_map(|n| n.metadata.name)
        .collect();
    names.sort();
    names
}

/// A row of `kubelab status`: (STATE, HEALTH) of `name`.
fn status_of(status: &str, name: &str) -> Option<(String, String)> {
    status.lines().find_map(|line| {
        let cells: Vec<&str> = line.split_whitespace().collect();
        (cells.first() == Some(&name)).then(|| (cells[1].to_string(), cells[4..].join(" ")))
    })
}

fn assert_down_leaves_nothing(cluster: &Cluster, pids: &[(String, u32)]) {
    let down = cluster.kubelab("down", &["--purge"]);
    assert!(down.status.success(), "down failed");
    let text = stdout(&down);
    for (name, _) in pids {
        assert!(text.contains(name.as_str()), "down does not mention {name}:\n{text}");
    }
    for (name, pid) in pids {
        assert!(!pid_alive(*pid), "{name} (pid {pid}) still runs after down");
    }
    assert!(!cluster.home.exists(), "the home directory survived down --purge");
    // Twice is harmless.
    let again = cluster.kubelab("down", &["--purge"]);
    assert!(again.status.success(), "a second down failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_status_logs_and_down_on_hollow_nodes() {
    let cluster = Cluster::new("up");
    let up = cluster.up(&["--runtime", "hollow", "--nodes", "2"]);
    assert!(up.status.success(), "kubelab up failed");
    let text = stdout(&up);
    let kubeconfig = cluster.home.join("kubeconfig");
    assert!(
        text.contains(&format!("export KUBECONFIG={}", kubeconfig.display())),
        "{text}"
    );
    assert!(text.contains("2 of 2 Ready"), "{text}");
    // The key Secrets are sealed with at rest, readable by its owner only.
    {
        use std::os::unix::fs::PermissionsExt;
        let key = std::fs::metadata(cluster.home.join("encryption.yaml")).expect("up wrote encryption.yaml");
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }

    // Every component is its own process, and each one runs.
    let pids = cluster.pids();
    let names: Vec<&str> = pids.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["apiserver", "scheduler", "controller", "node-1", "node-2"]);
    for (name, pid) in &pids {
        assert!(pid_alive(*pid), "{name} is not running");
    }
    let mut distinct: Vec<u32> = pids.iter().map(|(_, p)| *p).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 5);

    // status: every row running and healthy.
    let status = cluster.kubelab("status", &[]);
    assert!(status.status.success(), "status says the cluster is not healthy");
    let table = stdout(&status);
    assert_eq!(status_of(&table, "apiserver"), Some(("running".into(), "ok".into())));
    assert_eq!(status_of(&table, "scheduler").map(|s| s.0).as_deref(), Some("running"));
    assert_eq!(status_of(&table, "controller").map(|s| s.0).as_deref(), Some("running"));
    for node in ["node-1", "node-2"] {
        assert_eq!(
            status_of(&table, node),
            Some(("running".into(), "Ready".into())),
            "{table}"
        );
    }
    assert!(table.contains(&format!("127.0.0.1:{}", cluster.api_port)), "{table}");

    // The nodes through the API, with the kubeconfig up wrote.
    let client = cluster.client();
    assert_eq!(ready_nodes(&client).await, ["node-1", "node-2"]);

    // Each component logs to its own file.
    let logs = cluster.kubelab("logs", &["node-1", "--tail", "50"]);
    assert!(logs.status.success());
    assert!(stdout(&logs).contains("node-1"), "node-1's log does not mention node-1");
    let wrong = cluster.kubelab("logs", &["node-7"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("node-1, node-2"));

    // up again: nothing restarted.
    let again = cluster.up(&["--runtime", "hollow", "--nodes", "2"]);
    assert!(again.status.success(), "a second up failed");
    assert!(stdout(&again).contains("already running"));
    assert_eq!(cluster.pids(), pids);

    // A node agent dies: status says so, and up starts only that one again.
    let (_, node2) = pids[4].clone();
    let _ = Command::new("kill").args(["-9", &node2.to_string()]).status();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pid_alive(node2) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let degraded = cluster.kubelab("status", &[]);
    assert!(!degraded.status.success(), "status exits 0 with a dead agent");
    assert_eq!(
        status_of(&stdout(&degraded), "node-2").map(|s| s.0).as_deref(),
        Some("stopped")
    );
    let healed = cluster.up(&["--runtime", "hollow", "--nodes", "2"]);
    assert!(healed.status.success());
    let after = cluster.pids();
    assert_eq!(after[..4], pids[..4], "up restarted components that were running");
    assert_ne!(after[4].1, node2);
    assert!(pid_alive(after[4].1));
    assert!(cluster.kubelab("status", &[]).status.success());

    assert_down_leaves_nothing(&cluster, &after);
}

#[tokio::test]
async fn status_and_logs_of_a_cluster_that_does_not_exist_say_so() {
    let cluster = Cluster::new("none");
    let status = cluster.kubelab("status", &[]);
    assert!(!status.status.success());
    let message = String::from_utf8_lossy(&status.stderr);
    assert!(
        message.contains("does not exist") && message.contains("kubelab up"),
        "{message}"
    );
    let down = cluster.kubelab("down", &[]);
    assert!(down.status.success(), "down of a cluster that never ran must succeed");
    let logs = cluster.kubelab("logs", &["apiserver"]);
    assert!(!logs.status.success());
}

#[tokio::test]
async fn up_refuses_a_taken_api_port_and_names_it() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("a port");
    let mut cluster = Cluster::new("busy");
    cluster.api_port = taken.local_addr().expect("address").port();
    let up = cluster.up(&["--runtime", "hollow", "--nodes", "1"]);
    assert!(!up.status.success());
    let message = String::from_utf8_lossy(&up.stderr);
    assert!(
        message.contains(&format!("127.0.0.1:{}", cluster.api_port)) && message.contains("--api-port"),
        "{message}"
    );
}

/// A cluster left half-running (its API server and scheduler died): `down` stops what still runs,
/// says which were not running, and leaves no process behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_of_a_half_running_cluster_says_what_was_not_running() {
    let cluster = Cluster::new("half");
    let up = cluster.up(&["--runtime", "hollow", "--nodes", "1"]);
    assert!(up.status.success(), "kubelab up failed");
    let pids = cluster.pids();
    for (name, pid) in &pids {
        if name == "apiserver" || name == "scheduler" {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
    common::eventually(Duration::from_secs(10), "the killed components to exit", || async {
        pids.iter()
            .filter(|(name, _)| name == "apiserver" || name == "scheduler")
            .all(|(_, pid)| !pid_alive(*pid))
            .then_some(())
    })
    .await;
    let down = cluster.kubelab("down", &[]);
    assert!(down.status.success(), "down of a half-running cluster failed");
    let text = stdout(&down);
    for name in ["apiserver", "scheduler"] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_default();
        assert!(
            line.contains("was not running"),
            "down says nothing clear about {name}:\n{text}"
        );
    }
    for (name, pid) in &pids {
        assert!(!pid_alive(*pid), "{name} (pid {pid}) still runs after down");
    }
}

// ---------------------------------------------------------------------------------------------
// Docker
// ---------------------------------------------------------------------------------------------

async fn docker_objects(docker: &bollard::Docker, cluster: &str) -> (usize, usize) {
    use std::collections::HashMap;
    let filter = HashMap::from([("label".to_string(), vec![format!("io.kubelab.cluster={cluster}")])]);
    let containers = docker
        .list_containers(Some(bollard::query_parameters::ListContainersOptions {
            all: true,
            filters: Some(filter.clone()),
            ..Default::default()
        }))
        .await
        .expect("listing containers");
    let networks = docker
        .list_networks(Some(bollard::query_parameters::ListNetworksOptions {
            filters: Some(filter),
        }))
        .await
        .expect("listing networks");
    (containers.len(), networks.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_runs_pods_on_docker_and_down_removes_the_containers_and_network() {
    let Some(docker) = docker_or_skip().await else {
        return;
    };
    let cluster = Cluster::new("upd");
    let up = cluster.up(&["--runtime", "docker", "--nodes", "1"]);
    assert!(up.status.success(), "kubelab up (docker) failed");
    assert!(
        stdout(&up).contains("kubelab/pause:latest"),
        "up did not report the images"
    );
    let client = cluster.client();
    assert_eq!(ready_nodes(&client).await, ["node-1"]);

    // One pod, so there are containers to remove.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "web", "image": "kubelab/demo:latest", "imagePullPolicy": "Never"}]}
    }))
    .expect("a pod");
    pods.create(&pod).await.expect("creating the pod");
    eventually_ok(Duration::from_secs(60), "the pod to be Running", || async {
        let phase = pods.get("web").await.ok().and_then(|p| p.status).and_then(|s| s.phase);
        match phase.as_deref() {
            Some("Running") => Ok(()),
            _ => Err(format!("phase {phase:?}")),
        }
    })
    .await;
    let (containers, networks) = docker_objects(&docker, &cluster.name).await;
    assert!(
        containers >= 2,
        "expected the pause and app containers, found {containers}"
    );
    assert_eq!(networks, 1);

    let pids = cluster.pids();
    let down = cluster.kubelab("down", &["--purge"]);
    assert!(down.status.success());
    assert!(stdout(&down).contains(&format!("labelled io.kubelab.cluster={}", cluster.name)));
    assert_eq!(
        docker_objects(&docker, &cluster.name).await,
        (0, 0),
        "Docker objects survived down"
    );
    for (name, pid) in &pids {
        assert!(!pid_alive(*pid), "{name} (pid {pid}) still runs after down");
    }
    assert!(!cluster.home.exists());
}
