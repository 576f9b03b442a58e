//! # `kubelab bench pod-start`: how much the agent adds to what Docker costs anyway
//!
//! A pod on Docker is two containers: the pause container holding the pod's network, and the app
//! container joined to it. Docker's own create+start of those two is a floor no agent can beat;
//! what matters is how far above it kubelab lands. So one run measures both, on the same engine,
//! with the same container configurations (the agent's own `create_body` functions):
//!
//! 1. **kubelab, one at a time**: create a pod (pause + `kubelab-demo sleep`) through a real API
//!    server process, and time until a watch sees it `Running` — the path a user waits on:
//!    API write, watch to the agent, two containers, status write, watch back. p50 and p99.
//! 2. **raw Docker, one at a time**: the same two containers created and started with bollard.
//! 3. **kubelab, 100 at once** on one node, until every pod is `Running`; then the agent's RSS.
//! 4. **raw Docker, 100 × 2 at once**.
//!
//! Everything carries a `bench-<pid>` cluster label and is removed at the end (also on failure).
//! Raw containers are labelled as another node's, so the agent never mistakes them for orphans.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bollard::query_parameters::{CreateContainerOptions, StartContainerOptions};
use bollard::Docker;
use clap::Args;
use futures_util::{StreamExt, TryStreamExt};
use kubelab_agent::runtime::docker::{container, network::ClusterNetwork, remove_cluster_objects, sandbox, Owner};
use kubelab_agent::runtime::{ContainerConfig, SandboxConfig};
use serde_json::{json, Value};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::process::ApiserverProcess;
use super::stats::LatencySummary;

const NODE: &str = "bench-node";
const RAW_NODE: &str = "bench-raw";
const DEMO: &str = kubelab_agent::images::DEMO_IMAGE;

/// Flags of `kubelab bench pod-start`.
#[derive(Args, Debug, Clone)]
pub struct PodStartBenchArgs {
    /// Pods started one at a time for the latency percentiles.
    #[arg(long, default_value_t = 30)]
    pub pods: usize,
    /// Pods started at once on the node.
    #[arg(long, default_value_t = 100)]
    pub burst: usize,
    /// Print one JSON object instead of a report.
    #[arg(long)]
    pub json: bool,
}

/// The figures of one run.
#[derive(Debug, serde::Serialize)]
pub struct PodStartReport {
    pub kubelab_one_at_a_time: LatencySummary,
    pub docker_one_at_a_time: LatencySummary,
    pub p50_ratio: f64,
    pub p99_ratio: f64,
    pub burst_pods: usize,
    pub kubelab_burst_seconds: f64,
    pub docker_burst_seconds: f64,
    pub burst_ratio: f64,
    pub agent_rss_bytes: u64,
}

/// Runs the benchmark and prints its report.
pub async fn run(args: PodStartBenchArgs) -> anyhow::Result<()> {
    if args.pods == 0 || args.burst == 0 {
        bail!("--pods and --burst must be at least 1");
    }
    let exe = std::env::current_exe().context("finding the kubelab binary")?;
    let sources = crate::images_cmd::sources_next_to(&exe)?;
    let docker = kubelab_agent::runtime::docker::connect_docker()
        .await
        .context("connecting to Docker")?;
    kubelab_agent::images::ensure_images(&docker, &sources, false)
        .await
        .context("building the kubelab images")?;
    let cluster = format!("bench-{:x}", std::process::id());
    let data = std::env::temp_dir().join(format!("kubelab-bench-pod-start-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;

    let result = measure(&args, &docker, &cluster, &data).await;

    // Whatever happened: the processes are gone (killed on drop inside `measure`), now the
    // containers and the network of the bench cluster, then the API server's data.
    match remove_cluster_objects(&docker, &cluster).await {
        Ok(report) => eprintln!(
            "cleanup: removed {} containers and {} network(s) of cluster {cluster}",
            report.containers, report.networks
        ),
        Err(e) => eprintln!("cleanup of cluster {cluster} failed: {e}"),
    }
    let _ = std::fs::remove_dir_all(&data);

    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&args, &report);
    }
    Ok(())
}

fn print_report(args: &PodStartBenchArgs, r: &PodStartReport) {
    let (k, d) = (&r.kubelab_one_at_a_time, &r.docker_one_at_a_time);
    println!(
        "pod start, one at a time ({} pods, pause + demo; created → Running seen by a watch)",
        args.pods
    );
    println!(
        "  kubelab      p50 {:8.1} ms   p99 {:8.1} ms   max {:8.1} ms",
        k.p50_ms, k.p99_ms, k.max_ms
    );
    println!(
        "  raw Docker   p50 {:8.1} ms   p99 {:8.1} ms   max {:8.1} ms",
        d.p50_ms, d.p99_ms, d.max_ms
    );
    println!(
        "  ratio        p50 {:8.2}×     p99 {:8.2}×   (target ≤ 1.25×)",
        r.p50_ratio, r.p99_ratio
    );
    println!("{} pods at once on one node", r.burst_pods);
    println!("  kubelab all Running      {:8.2} s", r.kubelab_burst_seconds);
    println!(
        "  raw Docker {} containers {:8.2} s",
        r.burst_pods * 2,
        r.docker_burst_seconds
    );
    println!("  ratio                    {:8.2}×   (target ≤ 1.25×)", r.burst_ratio);
    println!(
        "agent RSS with {} pods: {:.1} MB (target ≤ 20 MB)",
        r.burst_pods,
        r.agent_rss_bytes as f64 / 1e6
    );
}

async fn measure(
    args: &PodStartBenchArgs,
    docker: &Docker,
    cluster: &str,
    data: &std::path::Path,
) -> anyhow::Result<PodStartReport> {
    let http = reqwest::Client::new();
    let network = ClusterNetwork::ensure(docker, cluster).await?;
    let apiserver = ApiserverProcess::start(data, &http).await?;
    let base = format!("http://{}", apiserver.addr);
    let agent = start_agent(&base, cluster)?;
    wait_node_ready(&http, &base).await?;

    // Raw Docker first, while the agent has nothing to do.
    let raw = RawDocker {
        docker,
        cluster,
        network: &network,
    };
    let mut raw_samples = Vec::new();
    for i in 0..args.pods {
        let started = Instant::now();
        raw.pod(&format!("raw-{i}")).await?;
        raw_samples.push(started.elapsed());
    }
    raw.remove_all().await?;
    let started = Instant::now();
    futures_util::stream::iter(0..args.burst)
        .map(|i| raw.pod_owned(format!("rawb-{i}")))
        .buffer_unordered(args.burst)
        .try_collect::<Vec<()>>()
        .await?;
    let docker_burst = started.elapsed();
    raw.remove_all().await?;

    // kubelab: a watch reports when each pod is first seen Running.
    let mut running = watch_running(&http, &base).await?;
    let mut samples = Vec::new();
    for i in 0..args.pods {
        let name = format!("one-{i}");
        let started = Instant::now();
        create_pod(&http, &base, &name).await?;
        running.wait_for(&name).await?;
        samples.push(started.elapsed());
    }
    delete_all(&http, &base, args.pods).await?;
    wait_containers_gone(docker, cluster).await?;

    let started = Instant::now();
    let names: Vec<String> = (0..args.burst).map(|i| format!("burst-{i}")).collect();
    futures_util::stream::iter(names.iter())
        .map(|name| create_pod(&http, &base, name))
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await?;
    for name in &names {
        running.wait_for(name).await?;
    }
    let kubelab_burst = started.elapsed();
    // Let the agent settle (status writes, probes) before reading its memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let agent_rss = rss(&agent).unwrap_or(0);

    drop(agent);
    apiserver.stop().await;

    let kubelab = LatencySummary::of(&mut samples);
    let docker_one = LatencySummary::of(&mut raw_samples);
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    Ok(PodStartReport {
        p50_ratio: ratio(kubelab.p50_ms, docker_one.p50_ms),
        p99_ratio: ratio(kubelab.p99_ms, docker_one.p99_ms),
        kubelab_one_at_a_time: kubelab,
        docker_one_at_a_time: docker_one,
        burst_pods: args.burst,
        kubelab_burst_seconds: kubelab_burst.as_secs_f64(),
        docker_burst_seconds: docker_burst.as_secs_f64(),
        burst_ratio: ratio(kubelab_burst.as_secs_f64(), docker_burst.as_secs_f64()),
        agent_rss_bytes: agent_rss,
    })
}

/// The agent on the Docker runtime, killed when dropped: `kubelab-agent` when it sits beside
/// this binary (as `kubelab up` runs it), else `kubelab agent`.
fn start_agent(base: &str, cluster: &str) -> anyhow::Result<Child> {
    let exe = std::env::current_exe()?;
    let args: Vec<String> = [
        "agent",
        "--server",
        base,
        "--cluster",
        cluster,
        "--node-name",
        NODE,
        "--runtime",
        "docker",
        "--port",
        "0",
        "--capacity",
        "pods=1000",
    ]
    .map(String::from)
    .to_vec();
    let (program, args) = crate::cluster::process::program_for(&exe, &args);
    Command::new(program)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting the agent")
}

fn rss(child: &Child) -> Option<u64> {
    let pid = child.id()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

async fn wait_node_ready(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = http.get(format!("{base}/api/v1/nodes/{NODE}")).send().await {
            if let Ok(node) = response.json::<Value>().await {
                let ready = node["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
                if ready {
                    return Ok(());
                }
            }
        }
        if tokio::time::Instant::now() > deadline {
            bail!("node {NODE} did not become Ready within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn create_pod(http: &reqwest::Client, base: &str, name: &str) -> anyhow::Result<()> {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "nodeName": NODE,
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "app", "image": DEMO, "imagePullPolicy": "Never", "args": ["sleep"]}]
        }
    });
    let response = http
        .post(format!("{base}/api/v1/namespaces/default/pods"))
        .json(&pod)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("creating pod {name}: {}", response.text().await.unwrap_or_default());
    }
    Ok(())
}

/// Deletes every pod of namespace `default` and waits until the API has none left.
async fn delete_all(http: &reqwest::Client, base: &str, expected: usize) -> anyhow::Result<()> {
    for i in 0..expected {
        let _ = http
            .delete(format!("{base}/api/v1/namespaces/default/pods/one-{i}"))
            .send()
            .await?;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let list: Value = http
            .get(format!("{base}/api/v1/namespaces/default/pods"))
            .send()
            .await?
            .json()
            .await?;
        if list["items"].as_array().is_some_and(|items| items.is_empty()) {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the pods were not deleted within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the bench cluster has no containers left (the agent removed them).
async fn wait_containers_gone(docker: &Docker, cluster: &str) -> anyhow::Result<()> {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("{}={cluster}", kubelab_agent::runtime::labels::CLUSTER)],
    )]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let options = bollard::query_parameters::ListContainersOptions {
            all: true,
            filters: Some(filters.clone()),
            ..Default::default()
        };
        if docker.list_containers(Some(options)).await?.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the agent did not remove the deleted pods' containers within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Pod names as a watch first sees them `Running`.
struct RunningWatch {
    events: mpsc::UnboundedReceiver<String>,
    seen: std::collections::HashSet<String>,
}

impl RunningWatch {
    async fn wait_for(&mut self, name: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while !self.seen.contains(name) {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(seen)) => {
                    self.seen.insert(seen);
                }
                Ok(None) => bail!("the watch of pods ended"),
                Err(_) => bail!("pod {name} was not Running within 120 s"),
            }
        }
        Ok(())
    }
}

async fn watch_running(http: &reqwest::Client, base: &str) -> anyhow::Result<RunningWatch> {
    let list: Value = http
        .get(format!("{base}/api/v1/namespaces/default/pods"))
        .send()
        .await?
        .json()
        .await?;
    let rv = list["metadata"]["resourceVersion"].as_str().unwrap_or("0").to_string();
    let response = http
        .get(format!(
            "{base}/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}"
        ))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("watching pods: {}", response.status());
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let mut stream = response.bytes_stream();
    tokio::spawn(async move {
        let mut buffer = Vec::new();
        let mut reported = std::collections::HashSet::new();
        while let Some(Ok(chunk)) = stream.next().await {
            buffer.extend_from_slice(&chunk);
            while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buffer.drain(..=end).collect();
                let Ok(event) = serde_json::from_slice::<Value>(&line) else {
                    continue;
                };
                let object = &event["object"];
                let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
                if object["status"]["phase"] == "Running" && reported.insert(name.clone()) && tx.send(name).is_err() {
                    return;
                }
            }
        }
    });
    Ok(RunningWatch {
        events: rx,
        seen: Default::default(),
    })
}

/// The same two containers the agent makes, created and started with bollard directly.
struct RawDocker<'a> {
    docker: &'a Docker,
    cluster: &'a str,
    network: &'a ClusterNetwork,
}

impl RawDocker<'_> {
    fn owner(&self) -> Owner<'_> {
        Owner {
            cluster: self.cluster,
            node: RAW_NODE,
            network: &self.network.name,
        }
    }

    async fn create_start(&self, name: String, body: bollard::models::ContainerCreateBody) -> anyhow::Result<String> {
        let options = CreateContainerOptions {
            name: Some(name),
            ..Default::default()
        };
        let id = self.docker.create_container(Some(options), body).await?.id;
        self.docker.start_container(&id, None::<StartContainerOptions>).await?;
        Ok(id)
    }

    /// A pause container on the cluster network plus a demo container joined to it.
    async fn pod(&self, name: &str) -> anyhow::Result<()> {
        let sandbox_config = SandboxConfig {
            pod_uid: format!("{name}-uid"),
            namespace: "default".into(),
            pod_name: name.to_string(),
            hostname: name.to_string(),
            dns_search: vec![
                "default.svc.cluster.local".into(),
                "svc.cluster.local".into(),
                "cluster.local".into(),
            ],
            ..Default::default()
        };
        let owner = self.owner();
        let pause = self
            .create_start(
                format!("{name}-pause-{}", self.cluster),
                sandbox::create_body(&owner, &sandbox_config),
            )
            .await?;
        let app = ContainerConfig {
            pod_uid: sandbox_config.pod_uid.clone(),
            namespace: "default".into(),
            pod_name: name.to_string(),
            name: "app".into(),
            image: DEMO.into(),
            args: vec!["sleep".into()],
            ..Default::default()
        };
        self.create_start(
            format!("{name}-app-{}", self.cluster),
            container::create_body(&owner, &pause, &app),
        )
        .await?;
        Ok(())
    }

    async fn pod_owned(&self, name: String) -> anyhow::Result<()> {
        self.pod(&name).await
    }

    /// Removes the raw containers (only those of the raw node of the bench cluster).
    async fn remove_all(&self) -> anyhow::Result<()> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![
                format!("{}={}", kubelab_agent::runtime::labels::CLUSTER, self.cluster),
                format!("{}={RAW_NODE}", kubelab_agent::runtime::labels::NODE),
            ],
        )]);
        let options = bollard::query_parameters::ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        let (sandboxes, apps): (Vec<_>, Vec<_>) = self
            .docker
            .list_containers(Some(options))
            .await?
            .into_iter()
            .partition(|c| {
                c.labels.as_ref().is_some_and(|l| {
                    l.get(kubelab_agent::runtime::labels::SANDBOX)
                        .is_some_and(|v| v == "true")
                })
            });
        let remove = |id: String| async move {
            let options = bollard::query_parameters::RemoveContainerOptions {
                force: true,
                ..Default::default()
            };
            self.docker.remove_container(&id, Some(options)).await
        };
        futures_util::stream::iter(apps.into_iter().filter_map(|c| c.id))
            .map(remove)
            .buffer_unordered(16)
            .try_collect::<Vec<()>>()
            .await?;
        // Pause containers hold the network endpoints: one at a time, or Docker 20.10 may lose
        // count of them and refuse to remove the network at the end (see `DockerRuntime`).
        for id in sandboxes.into_iter().filter_map(|c| c.id) {
            remove(id).await?;
        }
        Ok(())
    }
}
