//! End-to-end test of the Service data plane on real Docker: the API server (listening on the
//! cluster network's gateway, where containers reach it), a node agent, the service-proxy
//! manager (`kubelab service-proxy`), demo web pods behind a Service, and a client pod that
//! calls the Service by its DNS names.
//!
//! What it checks, in order: `web`, `web.default` and the full name reach all three backends
//! from a pod; the NodePort answers on the host's 127.0.0.1; a pod that turns not ready leaves
//! the rotation; deleting a pod under steady traffic leaves no failure window over a second; a
//! Service created after its client still resolves; a Service without endpoints resets
//! connections at once instead of hanging them; a headless Service and a pod's
//! `hostname.subdomain` resolve to pod IPs; deleting a Service removes its proxy container.
//!
//! The whole control plane that Services need runs as real processes: the API server allocates
//! ClusterIPs from the cluster network's service range (`--service-cluster-ip-range`) and also
//! listens on the network's gateway (`--advertise-address`), the controller manager's endpoints
//! controller writes Endpoints from pod readiness, and the agent runs the pods.
//!
//! Without Docker the test prints a loud `SKIPPED:` line and passes, unless
//! `KUBELAB_REQUIRE_DOCKER=1`, which makes it fail. A guard removes every container and network
//! labelled with the test's cluster, even when the test fails.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bollard::query_parameters::ListContainersOptions;
use common::docker::{docker_with_images, ClusterGuard};
use common::wait::eventually;
use common::KubelabProcess;
use kubelab_agent::runtime::docker::ClusterNetwork;
use serde_json::{json, Value};
use tokio::time::Instant;

const DEMO: &str = "kubelab/demo:latest";
const NODE: &str = "node-a";

/// The cluster's processes, stopped last-started first (the API server last, so no client
/// complains about it going away).
struct Processes(Vec<KubelabProcess>);

impl Drop for Processes {
    fn drop(&mut self) {
        while let Some(mut process) = self.0.pop() {
            process.kill_9();
        }
    }
}

/// The cluster: processes first in field order, so they are gone before the guard cleans up
/// (a live manager would otherwise recreate proxy containers during the cleanup).
struct Env {
    processes: Processes,
    _guard: ClusterGuard,
    _dir: tempfile::TempDir,
    cluster: String,
    base: String,
    network: ClusterNetwork,
    http: reqwest::Client,
    /// No connection reuse: every request is a new connection through the proxy, so each one
    /// is balanced (and fails if it would fail for a new client).
    fresh: reqwest::Client,
    docker: bollard::Docker,
}

async fn env() -> Option<Env> {
    let docker = docker_with_images().await?;
    let guard = ClusterGuard::new("s");
    let cluster = guard.name().to_string();
    let network = ClusterNetwork::ensure(&docker, &cluster)
        .await
        .expect("cluster network");
    // The API server listens on loopback and, for pods and proxies, on the network's gateway.
    let port = (0..20)
        .find_map(|_| {
            let port = std::net::TcpListener::bind(("127.0.0.1", 0))
                .ok()?
                .local_addr()
                .ok()?
                .port();
            std::net::TcpListener::bind((network.gateway, port)).ok().map(|_| port)
        })
        .expect("a port free on both loopback and the gateway");
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, port)).to_string();
    let base = format!("http://{listen}");
    let (gateway, range) = (network.gateway.to_string(), network.service_range.to_string());
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data").to_string_lossy().into_owned();
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut processes = vec![KubelabProcess::start(
        "apiserver",
        &strings(&[
            "apiserver",
            "--listen",
            &listen,
            "--data-dir",
            &data,
            "--advertise-address",
            &gateway,
            "--service-cluster-ip-range",
            &range,
        ]),
        &[],
    )];
    let http = reqwest::Client::new();
    eventually(Duration::from_secs(30), "the API server to be ready", || async {
        let r = http.get(format!("{base}/readyz")).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    processes.push(KubelabProcess::start(
        "agent",
        &strings(&[
            "agent",
            "--server",
            &base,
            "--cluster",
            &cluster,
            "--node-name",
            NODE,
            "--runtime",
            "docker",
            "--port",
            "0",
            "--status-update-seconds",
            "1",
            "--lease-renew-seconds",
            "1",
        ]),
        &[],
    ));
    processes.push(KubelabProcess::start(
        "controller",
        &strings(&["controller", "--server", &base]),
        &[],
    ));
    processes.push(service_proxy(&cluster, &base));
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("http client");
    Some(Env {
        processes: Processes(processes),
        _guard: guard,
        _dir: dir,
        cluster,
        base,
        network,
        http,
        fresh,
        docker,
    })
}

/// `kubelab service-proxy` for the cluster.
fn service_proxy(cluster: &str, base: &str) -> KubelabProcess {
    let args = [
        "service-proxy",
        "--cluster",
        cluster,
        "--apiserver",
        base,
        "--proxy-binary",
        env!("CARGO_BIN_EXE_kubelab-proxy"),
    ];
    KubelabProcess::start("service-proxy", &args.map(String::from), &[])
}

fn web_pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
        "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 2, "containers": [{
            "name": "web", "image": DEMO, "imagePullPolicy": "Never", "args": ["web"],
            "ports": [{"containerPort": 8080}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1, "failureThreshold": 1}
        }]}
    })
}

fn service(name: &str, node_port: Option<u16>, selector: &str) -> Value {
    let mut port = json!({"name": "http", "port": 80, "targetPort": 8080});
    let mut spec = json!({"ports": [], "selector": {"app": selector}});
    if let Some(node_port) = node_port {
        port["nodePort"] = json!(node_port);
        spec["type"] = json!("NodePort");
    }
    spec["ports"] = json!([port]);
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

/// The pod name in a demo web answer (`pod:       web-1`).
fn answered_by(body: &str) -> Option<String> {
    body.lines()
        .find_map(|l| l.strip_prefix("pod:"))
        .map(|p| p.trim().to_string())
}

impl Env {
    async fn get_json(&self, path: &str) -> Option<Value> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.ok()?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        response.json().await.ok()
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Value {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn create(&self, plural: &str, object: Value) -> Value {
        self.send(
            reqwest::Method::POST,
            &format!("/api/v1/namespaces/default/{plural}"),
            Some(&object),
        )
        .await
    }

    /// Creates a Service and returns the ClusterIP the API server allocated.
    async fn create_service(&self, service: Value) -> Ipv4Addr {
        let created = self.create("services", service).await;
        let ip = created["spec"]["clusterIP"].as_str().unwrap_or_default();
        let ip: Ipv4Addr = ip
            .parse()
            .unwrap_or_else(|_| panic!("no ClusterIP allocated: {created}"));
        assert!(
            self.network.service_range.contains(ip),
            "{ip} outside {}",
            self.network.service_range
        );
        ip
    }

    async fn delete(&self, plural: &str, name: &str) {
        self.send(
            reqwest::Method::DELETE,
            &format!("/api/v1/namespaces/default/{plural}/{name}"),
            None,
        )
        .await;
    }

    async fn pod(&self, name: &str) -> Option<Value> {
        self.get_json(&format!("/api/v1/namespaces/default/pods/{name}")).await
    }

    async fn wait_pod(&self, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        eventually(Duration::from_secs(60), &format!("pod {name}: {what}"), || async {
            self.pod(name).await.filter(|p| check(p))
        })
        .await
    }

    /// The id of a pod's container, found by the agent's labels.
    async fn container_id(&self, pod: &str, container: &str) -> String {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![
                format!("io.kubelab.cluster={}", self.cluster),
                format!("io.kubelab.pod={pod}"),
                format!("io.kubelab.container={container}"),
            ],
        )]);
        let options = ListContainersOptions {
            filters: Some(filters),
            ..Default::default()
        };
        let found = self
            .docker
            .list_containers(Some(options))
            .await
            .expect("list containers");
        found
            .into_iter()
            .find_map(|c| c.id)
            .unwrap_or_else(|| panic!("no container {container} of pod {pod}"))
    }

    /// `kubelab-demo get URL` inside the client pod: (exit code, stdout).
    async fn get_from_pod(&self, client_container: &str, url: &str) -> (i32, String) {
        let command = ["/bin/kubelab-demo", "get", "--timeout", "3", url].map(String::from);
        let out = kubelab_agent::runtime::docker::exec::run(
            &self.docker,
            client_container,
            &command,
            Duration::from_secs(10),
        )
        .await
        .expect("exec in the client pod");
        (out.exit_code, String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// One request from the host to `url` on a new connection: the pod that answered.
    async fn get_from_host(&self, url: &str) -> Result<String, reqwest::Error> {
        let body = self.fresh.get(url).send().await?.error_for_status()?.text().await?;
        Ok(answered_by(&body).unwrap_or_default())
    }

    /// The proxy containers of Service `default/<name>`.
    async fn proxy_containers(&self, name: &str) -> usize {
        self.proxy_container_ids(name).await.len()
    }

    async fn proxy_container_ids(&self, name: &str) -> Vec<String> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![
                format!("io.kubelab.cluster={}", self.cluster),
                format!("io.kubelab.service=default/{name}"),
            ],
        )]);
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        let listed = self.docker.list_containers(Some(options)).await.expect("list");
        listed.into_iter().filter_map(|c| c.id).collect()
    }
}

/// A free port in the NodePort range on the host's 127.0.0.1.
fn free_node_port() -> u16 {
    let start = 30000 + (std::process::id() % 2000) as u16;
    (start..=32767)
        .chain(30000..start)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port in 30000-32767")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_route_by_dns_name_balance_follow_endpoints_and_publish_node_ports() {
    let Some(mut env) = env().await else { return };
    eventually(Duration::from_secs(30), "the node to be Ready", || async {
        let node = env.get_json(&format!("/api/v1/nodes/{NODE}")).await?;
        let ready = node["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        ready.then_some(())
    })
    .await;

    // --- Three web pods and a client pod ---------------------------------------------------
    let webs = ["web-1", "web-2", "web-3"];
    for name in webs {
        env.create("pods", web_pod(name)).await;
    }
    env.create(
        "pods",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client", "namespace": "default"},
               "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [
                   {"name": "main", "image": DEMO, "imagePullPolicy": "Never", "args": ["sleep"]}]}}),
    )
    .await;
    let mut pod_ips = HashMap::new();
    for name in webs {
        let pod = env.wait_pod(name, "Ready", is_ready).await;
        pod_ips.insert(name, pod["status"]["podIP"].as_str().expect("pod IP").to_string());
    }
    env.wait_pod("client", "Running", |p| p["status"]["phase"] == "Running")
        .await;
    let client = env.container_id("client", "main").await;

    // --- A NodePort Service in front of them ------------------------------------------------
    let node_port = free_node_port();
    let web_ip = env.create_service(service("web", Some(node_port), "web")).await;
    let cluster_url = format!("http://{web_ip}/");
    eventually(
        Duration::from_secs(60),
        "the ClusterIP to answer from the host",
        || async { env.get_from_host(&cluster_url).await.ok().filter(|p| !p.is_empty()) },
    )
    .await;

    // From the client pod, by each DNS name, every backend answers.
    let names = ["web", "web.default", "web.default.svc.cluster.local"];
    let mut seen = BTreeSet::new();
    let mut names_ok = BTreeSet::new();
    for attempt in 0..90 {
        let name = names[attempt % names.len()];
        let (code, body) = env.get_from_pod(&client, &format!("http://{name}/")).await;
        if code == 0 {
            names_ok.insert(name);
            seen.extend(answered_by(&body));
        }
        if seen.len() == webs.len() && names_ok.len() == names.len() {
            break;
        }
    }
    assert_eq!(
        names_ok.len(),
        names.len(),
        "names that answered from the pod: {names_ok:?}"
    );
    assert_eq!(
        seen,
        webs.iter().map(|s| s.to_string()).collect(),
        "backends reached by name"
    );

    // The NodePort, from the host.
    let by_node_port = env
        .get_from_host(&format!("http://127.0.0.1:{node_port}/"))
        .await
        .expect("the NodePort answers on 127.0.0.1");
    assert!(webs.contains(&by_node_port.as_str()), "{by_node_port}");

    // --- A pod that turns unready leaves the rotation --------------------------------------
    let web3 = format!("http://{}:8080", pod_ips["web-3"]);
    env.fresh
        .post(format!("{web3}/fail-health"))
        .send()
        .await
        .expect("fail web-3's health");
    env.wait_pod("web-3", "not Ready", |p| !is_ready(p)).await;
    eventually(
        Duration::from_secs(10),
        "30 requests in a row without web-3",
        || async {
            for _ in 0..30 {
                if env.get_from_host(&cluster_url).await.ok()? == "web-3" {
                    return None;
                }
            }
            Some(())
        },
    )
    .await;
    env.fresh
        .post(format!("{web3}/recover"))
        .send()
        .await
        .expect("heal web-3");
    env.wait_pod("web-3", "Ready again", is_ready).await;
    eventually(Duration::from_secs(10), "web-3 back in the rotation", || async {
        (env.get_from_host(&cluster_url).await.ok()? == "web-3").then_some(())
    })
    .await;

    // --- Deleting a pod under steady traffic: no failure window over a second ----------------
    let load = {
        let (fresh, url) = (env.fresh.clone(), cluster_url.clone());
        let stop = Instant::now() + Duration::from_secs(8);
        tokio::spawn(async move {
            let mut results = Vec::new();
            while Instant::now() < stop {
                let ok = match fresh.get(&url).send().await {
                    Ok(r) => r.status().is_success(),
                    Err(_) => false,
                };
                results.push((Instant::now(), ok));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            results
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await; // traffic before the deletion, for contrast
    env.delete("pods", "web-1").await;
    let results = load.await.expect("load task");
    let mut worst = Duration::ZERO;
    let mut failing_since = None;
    for (at, ok) in &results {
        match (ok, failing_since) {
            (false, None) => failing_since = Some(*at),
            (true, Some(since)) => {
                worst = worst.max(*at - since);
                failing_since = None;
            }
            _ => {}
        }
    }
    if let Some(since) = failing_since {
        worst = worst.max(results.last().expect("results").0 - since);
    }
    let failures = results.iter().filter(|(_, ok)| !ok).count();
    eprintln!(
        "pod deletion under load: {} requests, {failures} failed, worst window {worst:?}",
        results.len()
    );
    assert!(
        results.len() > 50,
        "the load loop made too few requests: {}",
        results.len()
    );
    assert!(
        worst < Duration::from_secs(1),
        "a failure window of {worst:?} ({failures} failed)"
    );

    // --- A Service created after its client pod still resolves ------------------------------
    env.create_service(service("late", None, "web")).await;
    eventually(
        Duration::from_secs(60),
        "the late Service to answer the client pod",
        || async {
            let (code, body) = env.get_from_pod(&client, "http://late/").await;
            (code == 0).then(|| answered_by(&body)).flatten()
        },
    )
    .await;

    // --- A Service without endpoints resets connections at once ----------------------------
    let empty_ip = env.create_service(service("empty", None, "nothing")).await;
    eventually(
        Duration::from_secs(60),
        "the empty Service's proxy to listen",
        || async {
            tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect((empty_ip, 80)))
                .await
                .ok()?
                .ok()
        },
    )
    .await;
    let began = Instant::now();
    let err = env
        .fresh
        .get(format!("http://{empty_ip}/"))
        .send()
        .await
        .expect_err("a Service without endpoints must not answer");
    assert!(!err.is_timeout(), "the connection hung instead of being refused: {err}");
    eprintln!("no endpoints: refused after {:?} ({err})", began.elapsed());

    // --- Headless Service and hostname.subdomain: pod IPs by name ------------------------
    env.create(
        "pods",
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "db-0", "namespace": "default", "labels": {"app": "db"}},
               "spec": {"nodeName": NODE, "hostname": "db-0", "subdomain": "db", "terminationGracePeriodSeconds": 1,
                        "containers": [{"name": "web", "image": DEMO, "imagePullPolicy": "Never", "args": ["web"]}]}}),
    )
    .await;
    env.create(
        "services",
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "default"},
               "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 8080}]}}),
    )
    .await;
    env.wait_pod("db-0", "Running", |p| p["status"]["phase"] == "Running")
        .await;
    for name in ["db-0.db", "db-0.db.default.svc.cluster.local", "db"] {
        let url = format!("http://{name}:8080/");
        let who = eventually(
            Duration::from_secs(20),
            &format!("{url} from the client pod"),
            || async {
                let (code, body) = env.get_from_pod(&client, &url).await;
                (code == 0).then(|| answered_by(&body)).flatten()
            },
        )
        .await;
        assert_eq!(who, "db-0", "{url}");
    }
    assert_eq!(env.proxy_containers("db").await, 0, "a headless Service has no proxy");

    // --- A restarted manager adopts the proxies it finds, and still acts --------------------
    let before = env.proxy_container_ids("web").await;
    assert_eq!(before.len(), 1, "one proxy container for web");
    let manager = env
        .processes
        .0
        .iter_mut()
        .find(|p| p.name == "service-proxy")
        .expect("the manager process");
    manager.kill_9();
    *manager = service_proxy(&env.cluster, &env.base);
    // Deleting `late` proves the new manager is at work; `web`'s container must be the same one.
    env.delete("services", "late").await;
    eventually(
        Duration::from_secs(30),
        "the restarted manager to remove late's proxy",
        || async { (env.proxy_containers("late").await == 0).then_some(()) },
    )
    .await;
    assert_eq!(
        env.proxy_container_ids("web").await,
        before,
        "web's proxy was adopted, not replaced"
    );

    // --- Deleting a Service removes its proxy container -----------------------------------
    env.delete("services", "web").await;
    eventually(
        Duration::from_secs(30),
        "the web proxy container to be removed",
        || async { (env.proxy_containers("web").await == 0).then_some(()) },
    )
    .await;
}
