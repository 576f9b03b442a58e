//! End-to-end test of the cluster DNS on real Docker: the API server, a node agent started with
//! `--cluster-dns` (the kube-dns address), the controller manager (Endpoints) and the
//! service-proxy manager, which creates `kube-system/kube-dns` and runs the DNS container.
//!
//! What it checks, each time by resolving from inside a client pod (`kubelab-demo resolve`,
//! glibc's resolver through Docker's embedded DNS, which forwards to the cluster DNS):
//! the manager made `kube-dns` at the 10th address of the service range; a headless Service
//! created **after** its pods resolves to exactly the ready pods' IPs; a pod whose readiness
//! fails drops out of the answer (and comes back); a StatefulSet-like pod's
//! `hostname.subdomain` resolves; SRV queries answer for a headless and a ClusterIP Service's
//! named port; a name that does not exist fails at once as "not found".
//!
//! Without Docker the test prints a loud `SKIPPED:` line and passes, unless
//! `KUBELAB_REQUIRE_DOCKER=1`, which makes it fail. A guard removes every container and network
//! labelled with the test's cluster (the DNS container included), even when the test fails.

mod common;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::docker::{docker_agent_process, docker_with_images, ClusterGuard};
use common::wait::{eventually, eventually_ok};
use common::KubelabProcess;
use kubelab_agent::runtime::docker::ClusterNetwork;
use serde_json::{json, Value};

const DEMO: &str = "kubelab/demo:latest";
const NODE: &str = "node-a";

/// The processes, killed last-started first, before the guard removes the containers (a live
/// manager would otherwise recreate them during the cleanup).
struct Env {
    processes: Vec<KubelabProcess>,
    _guard: ClusterGuard,
    _dir: tempfile::TempDir,
    cluster: String,
    base: String,
    network: ClusterNetwork,
    http: reqwest::Client,
    docker: bollard::Docker,
}

impl Drop for Env {
    fn drop(&mut self) {
        while let Some(mut process) = self.processes.pop() {
            process.kill_9();
        }
    }
}

async fn env() -> Option<Env> {
    let docker = docker_with_images().await?;
    let guard = ClusterGuard::new("dns");
    let cluster = guard.name().to_string();
    let network = ClusterNetwork::ensure(&docker, &cluster)
        .await
        .expect("cluster network");
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
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data").to_string_lossy().into_owned();
    let (gateway, range, dns) = (
        network.gateway.to_string(),
        network.service_range.to_string(),
        network.dns_ip().to_string(),
    );
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut env = Env {
        processes: Vec::new(),
        _guard: guard,
        _dir: dir,
        cluster: cluster.clone(),
        base: base.clone(),
        network,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("http client"),
        docker,
    };
    env.processes.push(KubelabProcess::start(
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
    ));
    eventually(Duration::from_secs(30), "the API server to be ready", || async {
        let r = env.http.get(format!("{base}/readyz")).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    env.processes
        .push(docker_agent_process(&base, &cluster, NODE, &["--cluster-dns", &dns]));
    env.processes.push(KubelabProcess::start(
        "controller",
        &strings(&["controller", "--server", &base]),
        &[],
    ));
    env.processes.push(KubelabProcess::start(
        "service-proxy",
        &strings(&[
            "service-proxy",
            "--cluster",
            &cluster,
            "--apiserver",
            &base,
            "--proxy-binary",
            env!("CARGO_BIN_EXE_kubelab-proxy"),
        ]),
        &[],
    ));
    Some(env)
}

fn pod(name: &str, app: &str, subdomain: Option<&str>) -> Value {
    let mut spec = json!({"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [{
        "name": "web", "image": DEMO, "imagePullPolicy": "Never", "args": ["web"],
        "ports": [{"containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1, "failureThreshold": 1}
    }]});
    if let Some(subdomain) = subdomain {
        spec["hostname"] = json!(name);
        spec["subdomain"] = json!(subdomain);
    }
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "default", "labels": {"app": app}}, "spec": spec})
}

fn service(name: &str, selector: &str, headless: bool) -> Value {
    let mut spec = json!({"selector": {"app": selector}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]});
    if headless {
        spec["clusterIP"] = json!("None");
        spec["ports"] = json!([{"name": "http", "port": 8080}]);
    }
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

impl Env {
    async fn get_json(&self, path: &str) -> Option<Value> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().await.ok()
    }

    async fn create(&self, plural: &str, object: Value) -> Value {
        let path = format!("{}/api/v1/namespaces/default/{plural}", self.base);
        let response = self.http.post(&path).json(&object).send().await.expect("POST");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "POST {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn wait_pod(&self, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        eventually(Duration::from_secs(60), &format!("pod {name}: {what}"), || async {
            self.get_json(&format!("/api/v1/namespaces/default/pods/{name}"))
                .await
                .filter(|p| check(p))
        })
        .await
    }

    /// The id of a pod's app container, found by the agent's labels.
    async fn container_id(&self, pod: &str) -> String {
        let filters = std::collections::HashMap::from([(
            "label".to_string(),
            vec![
                format!("io.kubelab.cluster={}", self.cluster),
                format!("io.kubelab.pod={pod}"),
                "io.kubelab.container".to_string(),
            ],
        )]);
        let options = bollard::query_parameters::ListContainersOptions {
            filters: Some(filters),
            ..Default::default()
        };
        let found = self.docker.list_containers(Some(options)).await.expect("list");
        found
            .into_iter()
            .find_map(|c| c.id)
            .unwrap_or_else(|| panic!("no container of pod {pod}"))
    }

    /// `kubelab-demo resolve ARGS` in the client: (exit code, stdout lines).
    async fn resolve(&self, client: &str, args: &[&str]) -> (i32, Vec<String>) {
        let mut command = vec!["/bin/kubelab-demo".to_string(), "resolve".to_string()];
        command.extend(args.iter().map(|a| a.to_string()));
        let out = kubelab_agent::runtime::docker::exec::run(&self.docker, client, &command, Duration::from_secs(15))
            .await
            .expect("exec in the client pod");
        let stdout = String::from_utf8_lossy(&out.stdout);
        (out.exit_code, stdout.lines().map(str::to_string).collect())
    }

    /// Waits until `name` resolves, from the client, to exactly `want`.
    async fn wait_resolves(&self, client: &str, name: &str, want: &BTreeSet<String>) {
        eventually_ok(
            Duration::from_secs(30),
            &format!("{name} to resolve to {want:?}"),
            || async {
                let (code, lines) = self.resolve(client, &[name]).await;
                let got: BTreeSet<String> = lines.into_iter().collect();
                if &got == want {
                    Ok(())
                } else {
                    Err(format!("exit {code}, {got:?}"))
                }
            },
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_dns_follows_headless_services_readiness_subdomains_and_answers_srv() {
    let Some(env) = env().await else { return };

    // --- kube-dns: made by the manager at the 10th address of the service range --------------
    let dns_ip = env.network.dns_ip().to_string();
    let kube_dns = eventually(Duration::from_secs(30), "the kube-dns Service", || async {
        env.get_json("/api/v1/namespaces/kube-system/services/kube-dns").await
    })
    .await;
    assert_eq!(kube_dns["spec"]["clusterIP"], json!(dns_ip), "{kube_dns}");
    let ports: Vec<(String, String)> = kube_dns["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or("").into(),
                p["protocol"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [("dns".to_string(), "UDP".to_string()), ("dns-tcp".into(), "TCP".into())]
    );

    // --- Pods first: two web pods, a StatefulSet-like db-0, a client -----------------------
    for object in [
        pod("web-1", "web", None),
        pod("web-2", "web", None),
        pod("db-0", "db", Some("db")),
    ] {
        env.create("pods", object).await;
    }
    env.create(
        "pods",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client", "namespace": "default"},
               "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [
                   {"name": "main", "image": DEMO, "imagePullPolicy": "Never", "args": ["sleep"]}]}}),
    )
    .await;
    let mut ips = std::collections::HashMap::new();
    for name in ["web-1", "web-2", "db-0"] {
        let pod = env.wait_pod(name, "Ready", is_ready).await;
        ips.insert(name, pod["status"]["podIP"].as_str().expect("pod IP").to_string());
    }
    env.wait_pod("client", "Running", |p| p["status"]["phase"] == "Running")
        .await;
    let client = env.container_id("client").await;
    let set = |names: &[&str]| -> BTreeSet<String> { names.iter().map(|n| ips[n].clone()).collect() };

    // The client's name server is the cluster DNS (Docker's embedded DNS forwards to it).
    let sandbox_dns = {
        let filters = std::collections::HashMap::from([(
            "label".to_string(),
            vec![
                format!("io.kubelab.cluster={}", env.cluster),
                "io.kubelab.pod=client".to_string(),
                "io.kubelab.sandbox=true".to_string(),
            ],
        )]);
        let options = bollard::query_parameters::ListContainersOptions {
            filters: Some(filters),
            ..Default::default()
        };
        let pause = env.docker.list_containers(Some(options)).await.expect("list")[0]
            .id
            .clone()
            .expect("id");
        let inspected = env
            .docker
            .inspect_container(&pause, None::<bollard::query_parameters::InspectContainerOptions>)
            .await
            .expect("inspect");
        inspected.host_config.and_then(|h| h.dns).unwrap_or_default()
    };
    assert_eq!(sandbox_dns, std::slice::from_ref(&dns_ip));

    // --- A headless Service created after its pods resolves to exactly the ready ones --------
    env.create("services", service("web-pods", "web", true)).await;
    let both = set(&["web-1", "web-2"]);
    for name in ["web-pods", "web-pods.default", "web-pods.default.svc.cluster.local"] {
        env.wait_resolves(&client, name, &both).await;
    }

    // --- A pod whose readiness fails drops out of the answer, and comes back ----------------
    let web2 = format!("http://{}:8080", ips["web-2"]);
    env.http
        .post(format!("{web2}/fail-health"))
        .send()
        .await
        .expect("fail web-2's health");
    env.wait_pod("web-2", "not Ready", |p| !is_ready(p)).await;
    env.wait_resolves(&client, "web-pods", &set(&["web-1"])).await;
    env.http
        .post(format!("{web2}/recover"))
        .send()
        .await
        .expect("heal web-2");
    env.wait_resolves(&client, "web-pods", &both).await;

    // --- hostname.subdomain of a StatefulSet-like pod ---------------------------------------
    env.create("services", service("db", "db", true)).await;
    for name in ["db-0.db", "db-0.db.default.svc.cluster.local", "db"] {
        env.wait_resolves(&client, name, &set(&["db-0"])).await;
    }

    // --- SRV: one record per ready endpoint of a headless Service, the A records alongside ----
    let (code, lines) = env.resolve(&client, &["--srv", "_http._tcp.db"]).await;
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines,
        [
            "0 100 8080 db-0.db.default.svc.cluster.local".to_string(),
            format!("db-0.db.default.svc.cluster.local {}", ips["db-0"])
        ]
    );
    // ... and the ClusterIP Service's name for a normal one.
    let created = env.create("services", service("web", "web", false)).await;
    let web_ip = created["spec"]["clusterIP"].as_str().expect("a ClusterIP").to_string();
    let lines = eventually_ok(Duration::from_secs(30), "web's SRV record", || async {
        let (code, lines) = env
            .resolve(&client, &["--srv", "_http._tcp.web.default.svc.cluster.local."])
            .await;
        if code == 0 {
            Ok(lines)
        } else {
            Err(format!("exit {code}, {lines:?}"))
        }
    })
    .await;
    assert_eq!(
        lines,
        [
            "0 100 80 web.default.svc.cluster.local".to_string(),
            format!("web.default.svc.cluster.local {web_ip}")
        ]
    );

    // --- A name that does not exist fails at once, as "not found" -------------------------
    let began = tokio::time::Instant::now();
    let (code, lines) = env.resolve(&client, &["nothing-here"]).await;
    assert_eq!((code, lines.len()), (1, 0), "{lines:?}");
    assert!(began.elapsed() < Duration::from_secs(5), "took {:?}", began.elapsed());
}
