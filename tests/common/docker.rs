//! What tests on real Docker share: the guard that skips a test loudly without Docker (or fails
//! it when `KUBELAB_REQUIRE_DOCKER=1`, as CI sets), the pause and demo images built once per test
//! process, a [`ClusterGuard`] that removes every Docker object labelled with a test's own
//! cluster name however the test ends, a node agent run inside the test, and [`DockerCluster`]:
//! an API server process plus a guarded cluster, which most agent tests start from.
//!
//! Each test makes its own cluster (`<prefix>-<unique>`: its own Docker network and labels), so
//! tests run in parallel without colliding and clean up only what is theirs.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use kubelab_agent::runtime::docker::volume::remove_cluster_volumes;
use kubelab_agent::runtime::docker::{connect_docker, remove_cluster_objects, DockerRuntime};
use kubelab_agent::AgentConfig;
use serde_json::Value;

use super::{eventually, unique_name, AbortOnDrop, Apiserver, KubelabProcess};

/// The demo image (a web app, a worker, a tiny shell: `kubelab-demo`), built from this build.
pub const DEMO_IMAGE: &str = "kubelab/demo:latest";

/// How long a pod gets to reach what a test waits for.
pub const POD_LIMIT: Duration = Duration::from_secs(45);

// ---------------------------------------------------------------------------------------------
// Skip (or fail) without Docker
// ---------------------------------------------------------------------------------------------

/// Without Docker (or another thing a test needs), a loud `SKIPPED:` line, unless
/// `KUBELAB_REQUIRE_DOCKER=1` (CI) makes it a failure.
pub fn skip_or_fail(reason: &str) {
    if std::env::var("KUBELAB_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
        panic!("KUBELAB_REQUIRE_DOCKER=1 but {reason}");
    }
    eprintln!("\n========================================================\nSKIPPED: {reason}\n========================================================\n");
}

/// A Docker client, or `None` after [`skip_or_fail`] when Docker does not answer within 10 s.
pub async fn docker_or_skip() -> Option<Docker> {
    let result = match tokio::time::timeout(Duration::from_secs(10), connect_docker()).await {
        Ok(connected) => connected.map_err(|e| e.to_string()),
        Err(_) => Err("no answer within 10 s".to_string()),
    };
    match result {
        Ok(docker) => Some(docker),
        Err(e) => {
            skip_or_fail(&format!("Docker is unreachable ({e})"));
            None
        }
    }
}

/// Whether `name` is on the `PATH`; if not, [`skip_or_fail`] says so.
pub fn tool_or_skip(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        skip_or_fail(&format!("`{name}` is not installed"));
    }
    found
}

/// The pause and demo images, built (from this package's binaries) once per test process.
static IMAGES: tokio::sync::OnceCell<Result<(), String>> = tokio::sync::OnceCell::const_new();

/// Docker with the pause and demo images built, or `None` after [`skip_or_fail`].
pub async fn docker_with_images() -> Option<Docker> {
    let docker = docker_or_skip().await?;
    let images = IMAGES
        .get_or_init(|| async {
            let sources = kubelab_agent::images::ImageSources {
                pause_binary: env!("CARGO_BIN_EXE_kubelab-pause").into(),
                demo_binary: env!("CARGO_BIN_EXE_kubelab-demo").into(),
            };
            // A client of its own: this future may finish on another test's runtime.
            let docker = connect_docker().await.map_err(|e| e.to_string())?;
            kubelab_agent::images::ensure_images(&docker, &sources, false)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await;
    if let Err(e) = images {
        skip_or_fail(&format!("the kubelab images cannot be built ({e})"));
        return None;
    }
    Some(docker)
}

// ---------------------------------------------------------------------------------------------
// A cluster name of the test's own, cleaned up on drop
// ---------------------------------------------------------------------------------------------

/// A unique cluster name (`<prefix>-<unique>`) whose Docker objects (containers, networks,
/// volumes labelled `io.kubelab.cluster=<name>`) are all removed when this is dropped, also when
/// the test panics.
pub struct ClusterGuard {
    name: String,
}

impl ClusterGuard {
    pub fn new(prefix: &str) -> ClusterGuard {
        ClusterGuard {
            name: unique_name(prefix),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        let cluster = self.name.clone();
        // Drop may run inside a runtime, which cannot block on itself: clean up from a thread
        // with a runtime of its own.
        let joined = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let docker = connect_docker().await.map_err(|e| e.to_string())?;
                remove_cluster_objects(&docker, &cluster)
                    .await
                    .map_err(|e| e.to_string())?;
                remove_cluster_volumes(&docker, &cluster)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        match joined {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("cleanup of cluster {} failed: {e}", self.name),
            Err(_) => eprintln!("cleanup of cluster {} panicked", self.name),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A node agent in the test's own process
// ---------------------------------------------------------------------------------------------

/// Intervals shortened so a test takes seconds; the agent serves logs and exec on a free
/// loopback port.
pub fn fast_agent_config(node: &str, cluster: &str) -> AgentConfig {
    let mut config = AgentConfig::new(node, cluster);
    config.serve = true;
    config.port = 0;
    config.lease_renew_interval = Duration::from_millis(500);
    config.status_update_interval = Duration::from_secs(1);
    config.relist_interval = Duration::from_millis(200);
    config.housekeeping_interval = Duration::from_millis(500);
    config.resync_interval = Duration::from_secs(5);
    config.crash_backoff_base = Duration::from_millis(400);
    config.crash_backoff_max = Duration::from_millis(1600);
    config
}

/// Runs a node agent with the Docker runtime (on the cluster's network) in this process, talking
/// to the API server at `server`; it stops when the returned task is dropped.
pub async fn start_agent(config: AgentConfig, server: &str) -> AbortOnDrop {
    let runtime = DockerRuntime::connect_with_network(&config.cluster, &config.node_name)
        .await
        .expect("docker runtime");
    let client = kubelab_client::Client::new(kubelab_client::Config::new(server.to_string())).expect("client");
    AbortOnDrop(tokio::spawn(async move {
        let result = kubelab_agent::run(config, client, Arc::new(runtime), std::future::pending()).await;
        eprintln!("the agent stopped: {result:?}");
    }))
}

/// A `kubelab agent` process with the Docker runtime, node `node` of `cluster`, talking to the
/// API server at `server`: logs and exec on a free port, its Lease and status every second,
/// `extra` flags added. Killed when dropped.
pub fn docker_agent_process(server: &str, cluster: &str, node: &str, extra: &[&str]) -> KubelabProcess {
    let mut args: Vec<String> = [
        "agent",
        "--server",
        server,
        "--cluster",
        cluster,
        "--node-name",
        node,
        "--runtime",
        "docker",
        "--port",
        "0",
        "--status-update-seconds",
        "1",
        "--lease-renew-seconds",
        "1",
    ]
    .map(String::from)
    .into();
    args.extend(extra.iter().map(|s| s.to_string()));
    KubelabProcess::start("agent", &args, &[])
}

// ---------------------------------------------------------------------------------------------
// An API server and a cluster on Docker
// ---------------------------------------------------------------------------------------------

/// One test's world: an API server process (data in `dir/data`) and a guarded cluster, with a
/// node agent in this process once [`DockerCluster::start_agent`] is called. Fields drop in
/// order: the agent stops before the API server, and both before the cluster is removed.
pub struct DockerCluster {
    agent: Option<AbortOnDrop>,
    /// The cluster's name: its Docker network, and the label on every object.
    pub name: String,
    pub http: reqwest::Client,
    /// The API server's URL.
    pub base: String,
    pub apiserver: Apiserver,
    _guard: ClusterGuard,
    /// The test's temporary directory.
    pub dir: tempfile::TempDir,
}

impl DockerCluster {
    /// Docker and its images, a cluster named `<prefix>-<unique>` and an API server; `None`
    /// (after [`skip_or_fail`]) without Docker.
    pub async fn start(prefix: &str) -> Option<DockerCluster> {
        docker_with_images().await?;
        let guard = ClusterGuard::new(prefix);
        let dir = tempfile::tempdir().expect("temp dir");
        let apiserver = Apiserver::start(&dir.path().join("data")).await;
        Some(DockerCluster {
            agent: None,
            name: guard.name().to_string(),
            http: reqwest::Client::new(),
            base: apiserver.base_url(),
            apiserver,
            _guard: guard,
            dir,
        })
    }

    /// Runs a node agent with `config` in this process and waits for its node to be Ready.
    pub async fn start_agent(&mut self, config: AgentConfig) {
        let node = config.node_name.clone();
        self.agent = Some(start_agent(config, &self.base).await);
        self.wait_node_ready(&node).await;
    }

    /// GET `path` from the API server: its JSON, or `None` if it is not found (or unreachable).
    pub async fn get_json(&self, path: &str) -> Option<Value> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.ok()?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        response.json().await.ok()
    }

    /// A request to the API server: the status code and the JSON answer (`null` if none).
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs `object` to `path`, expecting 201.
    pub async fn create(&self, path: &str, object: Value) -> Value {
        let (status, body) = self.send(reqwest::Method::POST, path, Some(object)).await;
        assert_eq!(status, 201, "POST {path}: {body}");
        body
    }

    pub async fn wait_node_ready(&self, node: &str) {
        eventually(Duration::from_secs(30), "the node to register as Ready", || async {
            let node = self.get_json(&format!("/api/v1/nodes/{node}")).await?;
            let ready = node["status"]["conditions"]
                .as_array()?
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            ready.then_some(())
        })
        .await
    }

    /// Pod `name` of namespace `default`.
    pub async fn pod(&self, name: &str) -> Option<Value> {
        self.get_json(&format!("/api/v1/namespaces/default/pods/{name}")).await
    }

    /// Waits (up to [`POD_LIMIT`]) until `check` holds for the pod, returning it.
    pub async fn wait_pod(&self, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        eventually(POD_LIMIT, &format!("pod {name}: {what}"), || async {
            self.pod(name).await.filter(|p| check(p))
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// What a pod reports
// ---------------------------------------------------------------------------------------------

/// The status of `container` in the pod (as JSON).
pub fn container_status<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    pod["status"]["containerStatuses"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == container)
}

/// Whether `container` of the pod is running.
pub fn running(pod: &Value, container: &str) -> bool {
    container_status(pod, container).is_some_and(|s| s["state"]["running"].is_object())
}
