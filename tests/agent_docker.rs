//! End-to-end tests of the node agent on real Docker: an API server process, an agent (in this
//! process, or as its own `kubelab agent` process for the `kill -9` test) with the Docker runtime,
//! and pods written through the API exactly as `kubectl apply` would.
//!
//! Each test makes its own cluster (`a-<unique>`): its own Docker network and labels, so tests
//! run in parallel without colliding, and a guard removes every container and network labelled
//! with that cluster when the test ends, even when it fails. Without Docker each test prints a
//! loud `SKIPPED:` line and passes, unless `KUBELAB_REQUIRE_DOCKER=1`, which makes it fail.
//! Every wait has a deadline; nothing sleeps for a fixed time hoping something happened.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use kubelab_agent::runtime::docker::{connect_docker, remove_cluster_objects, DockerRuntime};
use kubelab_agent::runtime::{ContainerRuntime, ContainerState};
use kubelab_agent::AgentConfig;
use serde_json::{json, Value};

const DEMO: &str = "kubelab/demo:latest";
const NODE: &str = "node-a";

// ---------------------------------------------------------------------------------------------
// Set-up: Docker and images, an API server, an agent, cleanup on drop
// ---------------------------------------------------------------------------------------------

fn skip_or_fail(reason: &str) {
    if std::env::var("KUBELAB_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
        panic!("KUBELAB_REQUIRE_DOCKER=1 but {reason}");
    }
    eprintln!("\n========================================================\nSKIPPED: {reason}\n========================================================\n");
}

static IMAGES: tokio::sync::OnceCell<Result<(), String>> = tokio::sync::OnceCell::const_new();

/// Docker is reachable and the pause and demo images are built (once per test process).
async fn docker_ready() -> bool {
    if let Err(e) = connect_docker().await {
        skip_or_fail(&format!("Docker is unreachable ({e})"));
        return false;
    }
    let images = IMAGES
        .get_or_init(|| async {
            let sources = kubelab_agent::images::ImageSources {
                pause_binary: env!("CARGO_BIN_EXE_kubelab-pause").into(),
                demo_binary: env!("CARGO_BIN_EXE_kubelab-demo").into(),
            };
            let docker = connect_docker().await.map_err(|e| e.to_string())?;
            kubelab_agent::images::ensure_images(&docker, &sources, false)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await;
    if let Err(e) = images {
        skip_or_fail(&format!("the kubelab images cannot be built ({e})"));
        return false;
    }
    true
}

fn unique_cluster() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "a-{:x}-{:x}-{}",
        std::process::id(),
        nanos & 0xfffff,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes every Docker object of its cluster when dropped (also when the test panics).
struct ClusterGuard(String);

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        let cluster = self.0.clone();
        let joined = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let docker = connect_docker().await.map_err(|e| e.to_string())?;
                remove_cluster_objects(&docker, &cluster)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        match joined {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("cleanup of cluster {} failed: {e}", self.0),
            Err(_) => eprintln!("cleanup of cluster {} panicked", self.0),
        }
    }
}

/// A `kubelab agent` process, killed when dropped.
struct AgentProcess(Option<Child>);

impl AgentProcess {
    fn start(server: &str, cluster: &str) -> AgentProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_kubelab"))
            .args(["agent", "--server", server, "--cluster", cluster, "--node-name", NODE])
            .args(["--runtime", "docker", "--port", "0"])
            .args(["--crash-backoff-base-ms", "400", "--crash-backoff-max-ms", "1600"])
            .args(["--status-update-seconds", "1", "--lease-renew-seconds", "1"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start kubelab agent");
        AgentProcess(Some(child))
    }

    /// SIGKILL: no chance to clean anything up.
    fn kill_9(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// One test's world. Fields drop in order: the agent stops before its cluster is removed.
struct Env {
    agent: Option<tokio::task::JoinHandle<()>>,
    process: Option<AgentProcess>,
    cluster: String,
    http: reqwest::Client,
    base: String,
    _apiserver: common::Apiserver,
    _guard: ClusterGuard,
    _dir: tempfile::TempDir,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(agent) = self.agent.take() {
            agent.abort();
        }
        self.process.take();
    }
}

/// Intervals shortened so a test takes seconds; the agent serves logs on a free loopback port.
fn fast_config(cluster: &str) -> AgentConfig {
    let mut config = AgentConfig::new(NODE, cluster);
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

/// An API server process and a cluster; with `in_process`, an agent running in this test.
async fn env(in_process: bool) -> Option<Env> {
    if !docker_ready().await {
        return None;
    }
    let cluster = unique_cluster();
    let guard = ClusterGuard(cluster.clone());
    let dir = tempfile::tempdir().expect("temp dir");
    let apiserver = common::Apiserver::start(dir.path()).await;
    let base = apiserver.base_url();
    let mut env = Env {
        agent: None,
        process: None,
        cluster: cluster.clone(),
        http: reqwest::Client::new(),
        base: base.clone(),
        _apiserver: apiserver,
        _guard: guard,
        _dir: dir,
    };
    if in_process {
        let runtime = DockerRuntime::connect_with_network(&cluster, NODE)
            .await
            .expect("docker runtime");
        let client = kubelab_client::Client::new(kubelab_client::Config::new(base)).expect("client");
        let config = fast_config(&cluster);
        env.agent = Some(tokio::spawn(async move {
            let result = kubelab_agent::run(config, client, Arc::new(runtime), std::future::pending()).await;
            eprintln!("the agent stopped: {result:?}");
        }));
        env.wait_node_ready().await;
    }
    Some(env)
}

/// Polls `check` every 100 ms until it returns `Some`, failing after `limit`.
async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Env {
    async fn get_json(&self, path: &str) -> Option<Value> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.ok()?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        response.json().await.ok()
    }

    async fn wait_node_ready(&self) {
        eventually(Duration::from_secs(30), "the node to register as Ready", || async {
            let node = self.get_json(&format!("/api/v1/nodes/{NODE}")).await?;
            let ready = node["status"]["conditions"]
                .as_array()?
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            ready.then_some(())
        })
        .await
    }

    /// The agent's logs-and-exec port, as the Node reports it.
    async fn agent_port(&self) -> u64 {
        let node = self.get_json(&format!("/api/v1/nodes/{NODE}")).await.expect("node");
        let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
            .as_u64()
            .unwrap_or(0);
        assert_ne!(port, 0, "the node reports no kubelet port: {node}");
        assert_eq!(node["status"]["addresses"][0]["address"], "127.0.0.1");
        port
    }

    async fn create_pod(&self, pod: Value) {
        let response = self
            .http
            .post(format!("{}/api/v1/namespaces/default/pods", self.base))
            .json(&pod)
            .send()
            .await
            .expect("create pod");
        let status = response.status();
        assert_eq!(status, 201, "{}", response.text().await.unwrap_or_default());
    }

    async fn pod(&self, name: &str) -> Option<Value> {
        self.get_json(&format!("/api/v1/namespaces/default/pods/{name}")).await
    }

    /// Waits until `check` holds for the pod, returning it.
    async fn wait_pod(&self, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let limit = Duration::from_secs(45);
        eventually(limit, &format!("pod {name}: {what}"), || async {
            self.pod(name).await.filter(|p| check(p))
        })
        .await
    }

    /// GET `pods/{name}/log` through the API server.
    async fn logs(&self, name: &str, query: &str) -> (u16, String) {
        let url = format!("{}/api/v1/namespaces/default/pods/{name}/log?{query}", self.base);
        let response = self.http.get(url).send().await.expect("logs");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// The pod's runtime objects as Docker sees them (through a runtime of the same node).
    async fn runtime(&self) -> DockerRuntime {
        DockerRuntime::connect_with_network(&self.cluster, NODE)
            .await
            .expect("runtime")
    }
}

fn demo(name: &str, args: &[&str]) -> Value {
    json!({"name": name, "image": DEMO, "imagePullPolicy": "Never", "args": args})
}

fn pod_spec(name: &str, containers: Vec<Value>, grace: u32) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": grace, "containers": containers}
    })
}

fn container_status<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    pod["status"]["containerStatuses"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == container)
}

fn restarts(pod: &Value, container: &str) -> u64 {
    container_status(pod, container)
        .and_then(|s| s["restartCount"].as_u64())
        .unwrap_or(0)
}

fn running(pod: &Value, container: &str) -> bool {
    container_status(pod, container).is_some_and(|s| s["state"]["running"].is_object())
}

fn condition(pod: &Value, type_: &str) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == type_ && c["status"] == "True"))
}

fn pod_ip(pod: &Value) -> String {
    pod["status"]["podIP"].as_str().expect("pod IP").to_string()
}

/// POST to the demo web app at the pod's IP, on this test's own Docker network.
async fn poke(http: &reqwest::Client, ip: &str, path: &str) {
    let response = http
        .post(format!("http://{ip}:8080{path}"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("reach the pod");
    assert!(response.status().is_success(), "POST {path}: {}", response.status());
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// Two containers of a pod share `localhost`; logs (tail, follow) come through the API server;
/// exec runs through the agent's port; readiness gates the Ready condition.
#[tokio::test]
async fn two_containers_share_localhost_with_logs_exec_and_readiness() {
    let Some(env) = env(true).await else { return };
    let mut web = demo("web", &["web"]);
    web["readinessProbe"] =
        json!({"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1, "failureThreshold": 1});
    env.create_pod(pod_spec("web", vec![web, demo("ticker", &["worker"])], 5))
        .await;
    let pod = env
        .wait_pod("web", "Running and Ready", |p| {
            p["status"]["phase"] == "Running" && condition(p, "Ready")
        })
        .await;
    assert!(condition(&pod, "ContainersReady"));

    // The second container reaches the first over the pod's shared localhost.
    let port = env.agent_port().await;
    let url = format!(
        "http://127.0.0.1:{port}/exec/default/web/ticker?command=/bin/kubelab-demo&command=get&command=http://127.0.0.1:8080/"
    );
    let result: Value = env
        .http
        .post(url)
        .send()
        .await
        .expect("exec")
        .json()
        .await
        .expect("exec result");
    assert_eq!(result["exitCode"], 0, "{result}");
    assert!(
        result["stdout"].as_str().unwrap_or_default().contains("web"),
        "{result}"
    );
    let refused = env
        .http
        .post(format!(
            "http://127.0.0.1:{port}/exec/default/web/ticker?command=sh&tty=true"
        ))
        .send()
        .await
        .expect("exec -t");
    assert_eq!(refused.status(), 501);

    // Logs through the API server's proxy, as `kubectl logs` asks for them.
    let (code, text) = env.logs("web", "").await;
    assert_eq!(code, 400, "{text}");
    assert!(
        text.contains("a container name must be specified for pod web, choose one of: [web ticker]"),
        "{text}"
    );
    let (code, text) = env.logs("web", "container=web").await;
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("listening on 0.0.0.0:8080"), "{text}");
    let text = eventually(Duration::from_secs(10), "two ticks", || async {
        let (_, text) = env.logs("web", "container=ticker").await;
        text.contains("tick 2").then_some(text)
    })
    .await;
    assert!(text.contains("worker: tick 1"), "{text}");
    let (_, tail) = env.logs("web", "container=ticker&tailLines=1&timestamps=true").await;
    assert_eq!(tail.lines().count(), 1, "{tail:?}");
    assert!(tail.starts_with("20") && tail.contains("Z worker: tick"), "{tail:?}");

    // Follow: new lines arrive on the open response as the worker prints them.
    let response = env
        .http
        .get(format!(
            "{}/api/v1/namespaces/default/pods/web/log?container=ticker&follow=true&tailLines=0",
            env.base
        ))
        .send()
        .await
        .expect("follow");
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut seen = String::new();
    let followed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
            if seen.matches("tick").count() >= 2 {
                return;
            }
        }
    })
    .await;
    assert!(followed.is_ok(), "followed lines did not arrive: {seen:?}");
    drop(stream);

    // Readiness: a failing health check takes Ready away (without a restart), recovering
    // brings it back.
    let ip = pod_ip(&pod);
    poke(&env.http, &ip, "/fail-health").await;
    let pod = env.wait_pod("web", "not Ready", |p| !condition(p, "Ready")).await;
    assert_eq!(pod["status"]["phase"], "Running");
    assert_eq!(restarts(&pod, "web"), 0);
    poke(&env.http, &ip, "/recover").await;
    env.wait_pod("web", "Ready again", |p| condition(p, "Ready")).await;
}

/// A crashing container is restarted with growing back-off (and its previous instance's logs
/// stay readable); a failing liveness probe restarts a container.
#[tokio::test]
async fn crash_loop_backs_off_and_liveness_restarts() {
    let Some(env) = env(true).await else { return };
    env.create_pod(pod_spec("crash", vec![demo("app", &["worker", "--crash"])], 2))
        .await;
    let mut live = demo("web", &["web"]);
    // Generous timings so a busy CI machine does not fail the probe before the test asks it to:
    // the server gets a second to start listening, and three slow answers in a row are needed.
    live["livenessProbe"] = json!({
        "httpGet": {"path": "/healthz", "port": 8080},
        "initialDelaySeconds": 1, "periodSeconds": 1, "timeoutSeconds": 2, "failureThreshold": 3
    });
    env.create_pod(pod_spec("live", vec![live], 2)).await;

    let pod = env
        .wait_pod("crash", "in CrashLoopBackOff", |p| {
            container_status(p, "app").is_some_and(|s| s["state"]["waiting"]["reason"] == "CrashLoopBackOff")
        })
        .await;
    let first = restarts(&pod, "app");
    let pod = env
        .wait_pod("crash", "restarted twice more", |p| restarts(p, "app") >= first + 2)
        .await;
    let last = &container_status(&pod, "app").expect("status")["lastState"]["terminated"];
    assert_ne!(last["exitCode"], 0, "{pod}");
    let (code, text) = env.logs("crash", "previous=true").await;
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("crashing on purpose"), "{text}");

    // Liveness: make the health check fail; the agent restarts the container.
    let pod = env.wait_pod("live", "Running", |p| running(p, "web")).await;
    assert_eq!(restarts(&pod, "web"), 0);
    poke(&env.http, &pod_ip(&pod), "/fail-health").await;
    let pod = env
        .wait_pod("live", "restarted by its liveness probe", |p| {
            restarts(p, "web") >= 1 && running(p, "web")
        })
        .await;
    assert!(
        container_status(&pod, "web").is_some_and(|s| s["lastState"]["terminated"].is_object()),
        "{pod}"
    );
}

/// A missing image gives ImagePullBackOff naming the image; deletion waits out the grace period
/// of a container that ignores SIGTERM, and the pod leaves the API only once it stopped.
#[tokio::test]
async fn missing_image_and_graceful_deletion() {
    let Some(env) = env(true).await else { return };
    let mut ghost = demo("app", &[]);
    ghost["image"] = json!("kubelab/does-not-exist:never");
    ghost["imagePullPolicy"] = json!("IfNotPresent");
    env.create_pod(pod_spec("ghost", vec![ghost], 2)).await;
    let pod = env
        .wait_pod("ghost", "ImagePullBackOff", |p| {
            container_status(p, "app").is_some_and(|s| s["state"]["waiting"]["reason"] == "ImagePullBackOff")
        })
        .await;
    let message = container_status(&pod, "app").expect("status")["state"]["waiting"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains("kubelab/does-not-exist:never"), "{message}");

    let grace = 3;
    env.create_pod(pod_spec(
        "stubborn",
        vec![demo("app", &["sleep", "--ignore-sigterm"])],
        grace,
    ))
    .await;
    env.wait_pod("stubborn", "Running", |p| running(p, "app")).await;
    // Until its handler is installed the program would die of SIGTERM: wait for its first line.
    eventually(Duration::from_secs(10), "the program to start", || async {
        let (_, text) = env.logs("stubborn", "").await;
        text.contains("ignoring SIGTERM").then_some(())
    })
    .await;
    let started = tokio::time::Instant::now();
    let response = env
        .http
        .delete(format!("{}/api/v1/namespaces/default/pods/stubborn", env.base))
        .send()
        .await
        .expect("delete");
    assert!(response.status().is_success());
    let runtime = env.runtime().await;
    eventually(Duration::from_secs(30), "the pod to leave the API", || async {
        match env.pod("stubborn").await {
            None => Some(()),
            Some(_) => None,
        }
    })
    .await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(u64::from(grace) * 1000 - 500),
        "the pod was removed after {took:?}, before its grace period of {grace} s ran out"
    );
    let left: Vec<_> = runtime
        .list_containers()
        .await
        .expect("list")
        .into_iter()
        .filter(|c| c.pod_name == "stubborn")
        .collect();
    assert!(left.is_empty(), "containers outlived their pod: {left:?}");
    let (code, text) = env.logs("stubborn", "").await;
    assert_eq!(code, 404, "{text}");
}

/// `kill -9` of an agent process, then a new one: it adopts the running containers (none is
/// started twice) and restart counts keep growing from where they were.
#[tokio::test]
async fn a_killed_agent_is_replaced_without_duplicates() {
    let Some(mut env) = env(false).await else { return };
    // No agent yet: start one as a real process, then wait for its node.
    env.process = Some(AgentProcess::start(&env.base, &env.cluster));
    env.wait_node_ready().await;
    env.create_pod(pod_spec(
        "steady",
        vec![demo("web", &["web"]), demo("crash", &["worker", "--crash"])],
        2,
    ))
    .await;
    let pod = env
        .wait_pod("steady", "running with two crashes behind it", |p| {
            running(p, "web") && restarts(p, "crash") >= 2
        })
        .await;
    let before = restarts(&pod, "crash");
    let runtime = env.runtime().await;
    let web_before: Vec<String> = runtime
        .list_containers()
        .await
        .expect("list")
        .into_iter()
        .filter(|c| c.name == "web")
        .map(|c| c.id)
        .collect();
    assert_eq!(web_before.len(), 1);
    let sandboxes_before = runtime.list_sandboxes().await.expect("list sandboxes");
    assert_eq!(sandboxes_before.len(), 1);

    if let Some(mut process) = env.process.take() {
        process.kill_9();
    }
    env.process = Some(AgentProcess::start(&env.base, &env.cluster));

    // The new agent keeps counting: never below what was reported, and growing.
    eventually(
        Duration::from_secs(45),
        "restarts to go on from the old count",
        || async {
            let pod = env.pod("steady").await?;
            let now = restarts(&pod, "crash");
            assert!(now >= before, "restartCount went back from {before} to {now}");
            (now >= before + 2).then_some(())
        },
    )
    .await;
    let containers = runtime.list_containers().await.expect("list");
    let webs: Vec<_> = containers.iter().filter(|c| c.name == "web").collect();
    assert_eq!(
        webs.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        web_before,
        "the web container was started again"
    );
    assert!(matches!(webs[0].state, ContainerState::Running { .. }));
    let alive_crash = containers
        .iter()
        .filter(|c| c.name == "crash" && matches!(c.state, ContainerState::Running { .. }))
        .count();
    assert!(alive_crash <= 1, "{containers:?}");
    let sandboxes = runtime.list_sandboxes().await.expect("list sandboxes");
    assert_eq!(
        sandboxes.iter().map(|s| &s.id).collect::<Vec<_>>(),
        sandboxes_before.iter().map(|s| &s.id).collect::<Vec<_>>(),
        "the pod's sandbox was made again"
    );
    // And the new process serves logs too.
    let (code, text) = env.logs("steady", "container=web").await;
    assert_eq!(code, 200, "{text}");
}
