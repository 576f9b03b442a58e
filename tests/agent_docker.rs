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

use std::ops::Deref;
use std::time::Duration;

use common::docker::{
    container_status, docker_agent_process, fast_agent_config, running, DockerCluster, DEMO_IMAGE as DEMO,
};
use common::{eventually, KubelabProcess};
use futures_util::StreamExt;
use kubelab_agent::runtime::docker::DockerRuntime;
use kubelab_agent::runtime::{ContainerRuntime, ContainerState};
use serde_json::{json, Value};

const NODE: &str = "node-a";
const PODS: &str = "/api/v1/namespaces/default/pods";

// ---------------------------------------------------------------------------------------------
// Set-up: the shared Docker cluster (tests/common/docker.rs), an agent as a process
// ---------------------------------------------------------------------------------------------

/// One test's world; with `agent`, an agent process (the `kill -9` test). Fields drop in order:
/// the agent stops before its cluster is removed.
struct Env {
    process: Option<KubelabProcess>,
    cluster: DockerCluster,
}

impl Deref for Env {
    type Target = DockerCluster;

    fn deref(&self) -> &DockerCluster {
        &self.cluster
    }
}

/// An API server process and a cluster; with `in_process`, an agent running in this test.
async fn env(in_process: bool) -> Option<Env> {
    let mut cluster = DockerCluster::start("a").await?;
    if in_process {
        cluster.start_agent(fast_agent_config(NODE, &cluster.name)).await;
    }
    Some(Env { process: None, cluster })
}

/// A `kubelab agent` process of the cluster, with the crash back-off of [`fast_agent_config`].
fn agent_process(server: &str, cluster: &str) -> KubelabProcess {
    let backoff = ["--crash-backoff-base-ms", "400", "--crash-backoff-max-ms", "1600"];
    docker_agent_process(server, cluster, NODE, &backoff)
}

impl Env {
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
        self.create(PODS, pod).await;
    }

    /// GET `pods/{name}/log` through the API server.
    async fn logs(&self, name: &str, query: &str) -> (u16, String) {
        let url = format!("{}{PODS}/{name}/log?{query}", self.base);
        let response = self.http.get(url).send().await.expect("logs");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// The pod's runtime objects as Docker sees them (through a runtime of the same node).
    async fn runtime(&self) -> DockerRuntime {
        DockerRuntime::connect_with_network(&self.name, NODE)
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

fn restarts(pod: &Value, container: &str) -> u64 {
    container_status(pod, container)
        .and_then(|s| s["restartCount"].as_u64())
        .unwrap_or(0)
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
    env.process = Some(agent_process(&env.base, &env.name));
    env.wait_node_ready(NODE).await;
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
    env.process = Some(agent_process(&env.base, &env.name));

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
