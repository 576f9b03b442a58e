//! `kubelab bench scheduler`: N fake nodes, P pods, and how fast the scheduler binds them.
//!
//! An API server and a scheduler (`kubelab scheduler --leader-elect=false`) each run as their own
//! process on loopback. The nodes are plain Node objects (Ready, with allocatable), as Kubernetes'
//! `scheduler_perf` uses: the scheduler never talks to nodes, only to the API. Then C clients
//! create P pods as fast as they can while one watch counts the pods whose `spec.nodeName` is set.
//!
//! What it reports, and how each figure is taken:
//! - **pods/s**: P over the time from the first pod creation being sent to the last binding seen
//!   on the watch, i.e. "creation to binding stored", the scheduling throughput Kubernetes' CI
//!   measures;
//! - **creation pods/s**: how fast the clients could create, which bounds the above;
//! - **placement**: fewest and most pods on one node, to see that load was spread;
//! - the scheduler's resident memory at the end.

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::process::{Child, Command};
use tokio::time::Instant;

use super::process::ApiserverProcess;

const NAMESPACE: &str = "default";

/// Flags of `kubelab bench scheduler`.
#[derive(Args, Debug, Clone)]
pub struct SchedulerBenchArgs {
    /// Fake nodes to create.
    #[arg(long, default_value_t = 100)]
    pub nodes: usize,
    /// Pods to create and have scheduled.
    #[arg(long, default_value_t = 1000)]
    pub pods: usize,
    /// Concurrent clients creating nodes and pods.
    #[arg(long, short = 'c', default_value_t = 32)]
    pub clients: usize,
    /// Seconds to wait for every pod to be bound before giving up.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Print one JSON object instead of a text report.
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct Report {
    nodes: usize,
    pods: usize,
    clients: usize,
    bound: usize,
    seconds: f64,
    pods_per_s: f64,
    creation_seconds: f64,
    creation_pods_per_s: f64,
    min_pods_per_node: usize,
    max_pods_per_node: usize,
    scheduler_rss_bytes: Option<u64>,
}

pub async fn run(args: SchedulerBenchArgs) -> anyhow::Result<()> {
    if args.clients == 0 || args.nodes == 0 {
        bail!("--clients and --nodes must be at least 1");
    }
    let data = std::env::temp_dir().join(format!("kubelab-bench-scheduler-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients + 8)
        .build()?;
    let server = ApiserverProcess::start(&data, &http).await?;
    let base = format!("http://{}", server.addr);
    let result = measure(&args, &http, &base).await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&data);
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(&report);
    }
    Ok(())
}

async fn measure(args: &SchedulerBenchArgs, http: &reqwest::Client, base: &str) -> anyhow::Result<Report> {
    create_nodes(http, base, args.nodes, args.clients).await?;
    let mut scheduler = start_scheduler(base)?;

    // The watch starts before the first pod, from the list's revision, so no binding is missed.
    let list: Value = http
        .get(format!("{base}/api/v1/namespaces/{NAMESPACE}/pods"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let revision = list
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("0")
        .to_string();
    let watch = tokio::spawn(count_bindings(http.clone(), base.to_string(), revision, args.pods));

    let started = Instant::now();
    let created = create_pods(http, base, args.pods, args.clients).await;
    let creation = started.elapsed();
    created?;

    let waited = tokio::time::timeout(Duration::from_secs(args.timeout), watch).await;
    let rss = rss_bytes(&scheduler);
    let _ = scheduler.kill().await;
    let (bound, finished_at, per_node) = match waited {
        Ok(joined) => joined.context("the watch task failed")??,
        Err(_) => bail!("not every pod was bound within {} s", args.timeout),
    };
    let seconds = finished_at.duration_since(started).as_secs_f64();
    Ok(Report {
        nodes: args.nodes,
        pods: args.pods,
        clients: args.clients,
        bound,
        seconds,
        pods_per_s: bound as f64 / seconds.max(1e-9),
        creation_seconds: creation.as_secs_f64(),
        creation_pods_per_s: args.pods as f64 / creation.as_secs_f64().max(1e-9),
        min_pods_per_node: if per_node.len() < args.nodes {
            0
        } else {
            per_node.values().copied().min().unwrap_or(0)
        },
        max_pods_per_node: per_node.values().copied().max().unwrap_or(0),
        scheduler_rss_bytes: rss,
    })
}

/// `kubelab scheduler` (this very binary) against the server, without leader election; it logs
/// at `RUST_LOG`'s level (warnings by default) to the bench's stderr.
fn start_scheduler(base: &str) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("finding the kubelab binary")?;
    Command::new(exe)
        .args(["scheduler", "--server", base, "--leader-elect=false"])
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting the scheduler")
}

fn rss_bytes(child: &Child) -> Option<u64> {
    let pid = child.id()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Runs `work(i)` for i in 0..count on `clients` concurrent tasks.
async fn fan_out<F, Fut>(count: usize, clients: usize, work: F) -> anyhow::Result<()>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let work = Arc::new(work);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients.min(count.max(1)) {
        let (work, next) = (work.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    return Ok::<(), anyhow::Error>(());
                }
                work(i).await?;
            }
        }));
    }
    for task in tasks {
        task.await.context("a client task failed")??;
    }
    Ok(())
}

/// Nodes with room for plenty of small pods, Ready, as an agent would report them.
async fn create_nodes(http: &reqwest::Client, base: &str, count: usize, clients: usize) -> anyhow::Result<()> {
    let (http, base) = (http.clone(), base.to_string());
    fan_out(count, clients, move |i| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let name = format!("hollow-node-{i:05}");
            let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}});
            let mut created: Value = http
                .post(format!("{base}/api/v1/nodes"))
                .json(&node)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            created["status"] = json!({
                "allocatable": {"cpu": "32", "memory": "128Gi", "pods": "110"},
                "capacity": {"cpu": "32", "memory": "128Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            });
            http.put(format!("{base}/api/v1/nodes/{name}/status"))
                .json(&created)
                .send()
                .await?
                .error_for_status()?;
            Ok(())
        }
    })
    .await
}

async fn create_pods(http: &reqwest::Client, base: &str, count: usize, clients: usize) -> anyhow::Result<()> {
    let http = http.clone();
    let url: Arc<str> = format!("{base}/api/v1/namespaces/{NAMESPACE}/pods").into();
    fan_out(count, clients, move |i| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            // Written out rather than built as a JSON tree: the bench client shares the two cores
            // with what it measures, so it should spend as little of them as it can.
            let pod = format!(
                r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"pod-{i:06}","namespace":"{NAMESPACE}","labels":{{"app":"bench"}}}},"spec":{{"containers":[{{"name":"app","image":"kubelab/demo:latest","resources":{{"requests":{{"cpu":"10m","memory":"16Mi"}}}}}}]}}}}"#
            );
            let response = http
                .post(&*url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(pod)
                .send()
                .await?
                .error_for_status()?;
            // Read to the end, so the connection goes back to the pool for the next pod.
            response.bytes().await?;
            Ok(())
        }
    })
    .await
}

/// Follows pod changes until `want` distinct pods have a node; returns how many, when the last
/// one was seen, and pods per node.
async fn count_bindings(
    http: reqwest::Client,
    base: String,
    revision: String,
    want: usize,
) -> anyhow::Result<(usize, Instant, HashMap<String, usize>)> {
    let url = format!("{base}/api/v1/namespaces/{NAMESPACE}/pods?watch=true&resourceVersion={revision}");
    let response = http.get(url).send().await?.error_for_status()?;
    let mut body = response.bytes_stream();
    let mut buffer: Vec<u8> = Vec::new();
    let mut bound: HashSet<String> = HashSet::new();
    let mut per_node: HashMap<String, usize> = HashMap::new();
    let mut last = Instant::now();
    while bound.len() < want {
        let Some(chunk) = body.next().await else {
            bail!("the watch ended after {} of {want} bindings", bound.len());
        };
        buffer.extend_from_slice(&chunk?);
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            // Only the pod's name and node are read, not the whole pod: this client shares the
            // two cores with what it measures.
            let Ok(event) = serde_json::from_slice::<BindingSeen>(&line) else {
                continue;
            };
            let (name, node) = (event.object.metadata.name, event.object.spec.node_name);
            if !node.is_empty() && bound.insert(name.into_owned()) {
                *per_node.entry(node.into_owned()).or_default() += 1;
                last = Instant::now();
            }
        }
    }
    Ok((bound.len(), last, per_node))
}

/// The two fields of a watch event the bench reads: `object.metadata.name`, `object.spec.nodeName`.
#[derive(serde::Deserialize)]
struct BindingSeen<'a> {
    #[serde(borrow)]
    object: SeenPod<'a>,
}

#[derive(serde::Deserialize)]
struct SeenPod<'a> {
    #[serde(borrow, default)]
    metadata: SeenMeta<'a>,
    #[serde(borrow, default)]
    spec: SeenSpec<'a>,
}

#[derive(serde::Deserialize, Default)]
struct SeenMeta<'a> {
    #[serde(borrow, default)]
    name: std::borrow::Cow<'a, str>,
}

#[derive(serde::Deserialize, Default)]
struct SeenSpec<'a> {
    #[serde(borrow, default, rename = "nodeName")]
    node_name: std::borrow::Cow<'a, str>,
}

fn print_text(r: &Report) {
    println!(
        "scheduler benchmark: {} pods on {} nodes, {} creating clients",
        r.pods, r.nodes, r.clients
    );
    println!(
        "  scheduled:    {} pods in {:.2} s = {:.0} pods/s (creation to binding stored)",
        r.bound, r.seconds, r.pods_per_s
    );
    println!(
        "  creation:     {:.2} s = {:.0} pods/s (the upper bound above)",
        r.creation_seconds, r.creation_pods_per_s
    );
    println!(
        "  placement:    {}..{} pods per node",
        r.min_pods_per_node, r.max_pods_per_node
    );
    if let Some(rss) = r.scheduler_rss_bytes {
        println!("  scheduler memory: {:.1} MiB resident", rss as f64 / (1024.0 * 1024.0));
    }
}
