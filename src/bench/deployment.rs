//! `kubelab bench deployment`: a Deployment of R replicas on N hollow nodes, created, scaled to
//! 0 and scaled back, with the whole control plane running as real processes.
//!
//! Four processes of this very binary run on loopback, each reading the same kubeconfig: the API
//! server (fresh data in a temp directory), `kubelab scheduler`, `kubelab controller` and one
//! `kubelab agent --runtime hollow --nodes N` process running N hollow nodes (kubemark's idea:
//! real agents, containers faked in memory). Once the N nodes are Ready, one watch on pods and one
//! on Deployments follow everything the cluster does, and three phases are timed:
//!
//! 1. **create**: a Deployment of R tiny pods (10m CPU, 16Mi) is created → every pod is Running
//!    and the Deployment reports `availableReplicas == R`;
//! 2. **scale to 0** (the scale subresource, as `kubectl scale` does) → no pod is left and the
//!    Deployment reports 0 replicas;
//! 3. **scale to R** again → as in 1.
//!
//! Each phase gives two times, counted from the request: when the pods got there (all Running,
//! or all gone) as the watch saw it, and when the Deployment's status agreed too; pods/s is R over
//! the second. The report ends with how the pods were spread over the nodes after phase 1 and the
//! resident memory (now and peak) of each process.
//!
//! Every process is killed and the temp directory removed on every path, Ctrl-C included.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use clap::Args;
use futures_util::StreamExt;
use kubelab_api::apps::Deployment;
use kubelab_api::core::{Node, Pod};
use kubelab_api::Object;
use kubelab_client::{Api, Client, Config, ListParams, Patch, WatchEvent};
use serde_json::json;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::process::ApiserverProcess;

const NAMESPACE: &str = "default";
const NAME: &str = "bench";

/// Flags of `kubelab bench deployment`.
#[derive(Args, Debug, Clone)]
pub struct DeploymentBenchArgs {
    /// Hollow nodes, all run by one agent process.
    #[arg(long, default_value_t = 1000)]
    pub nodes: usize,
    /// Replicas of the Deployment.
    #[arg(long, default_value_t = 10_000)]
    pub replicas: usize,
    /// Seconds each phase (and the nodes becoming Ready) may take before the bench gives up.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Print one JSON object instead of a text report.
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct Report {
    nodes: usize,
    replicas: usize,
    nodes_ready_seconds: f64,
    create: Phase,
    scale_to_zero: Phase,
    scale_up: Phase,
    min_pods_per_node: usize,
    max_pods_per_node: usize,
    memory: Vec<ProcessMemory>,
}

/// One timed phase; both times are counted from the request that started it.
#[derive(serde::Serialize)]
struct Phase {
    /// Until the pods got there (all Running, or all gone), as the watch saw it.
    pods_seconds: f64,
    /// Until the Deployment's status agreed too: the phase's time.
    seconds: f64,
    /// Replicas over `seconds`.
    pods_per_s: f64,
}

#[derive(serde::Serialize)]
struct ProcessMemory {
    process: &'static str,
    rss_bytes: Option<u64>,
    peak_rss_bytes: Option<u64>,
    /// CPU time (user + system) the process used since it started, in seconds.
    cpu_seconds: Option<f64>,
}

pub async fn run(args: DeploymentBenchArgs) -> anyhow::Result<()> {
    if args.nodes == 0 || args.replicas == 0 {
        bail!("--nodes and --replicas must be at least 1");
    }
    let replicas = i32::try_from(args.replicas).context("--replicas is too large")?;
    let dir = std::env::temp_dir().join(format!("kubelab-bench-deployment-{}", std::process::id()));
    let mut cluster = Cluster {
        dir,
        apiserver: None,
        others: Vec::new(),
    };
    let outcome = tokio::select! {
        report = measure(&args, replicas, &mut cluster) => report,
        _ = crate::shutdown::signal() => Err(anyhow!("interrupted")),
    };
    cluster.stop().await;
    let report = outcome?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(&report);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The processes
// ---------------------------------------------------------------------------------------------

/// Everything the bench started: processes (killed on drop too) and the temp directory.
struct Cluster {
    dir: PathBuf,
    apiserver: Option<ApiserverProcess>,
    others: Vec<(&'static str, Child)>,
}

impl Cluster {
    /// `kubelab <subcommand> --kubeconfig <file> <extra>`, logging warnings to our stderr.
    fn spawn(
        &mut self,
        label: &'static str,
        subcommand: &str,
        kubeconfig: &Path,
        extra: &[String],
    ) -> anyhow::Result<()> {
        let exe = std::env::current_exe().context("finding the kubelab binary")?;
        let child = Command::new(exe)
            .arg(subcommand)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the {label}"))?;
        self.others.push((label, child));
        Ok(())
    }

    /// Fails if a process has exited by itself.
    fn check_alive(&mut self) -> anyhow::Result<()> {
        for (label, child) in &mut self.others {
            if let Some(status) = child.try_wait()? {
                bail!("the {label} exited by itself: {status}");
            }
        }
        if let Some(server) = &mut self.apiserver {
            if let Some(status) = server.child.try_wait()? {
                bail!("the API server exited by itself: {status}");
            }
        }
        Ok(())
    }

    fn memory(&self) -> Vec<ProcessMemory> {
        let apiserver = self.apiserver.as_ref().and_then(|s| s.child.id());
        std::iter::once(("apiserver", apiserver))
            .chain(self.others.iter().map(|(label, child)| (*label, child.id())))
            .chain([("bench client", Some(std::process::id()))])
            .map(|(process, pid)| {
                let (rss, peak) = pid.map(memory_of).unwrap_or((None, None));
                ProcessMemory {
                    process,
                    rss_bytes: rss,
                    peak_rss_bytes: peak,
                    cpu_seconds: pid.and_then(cpu_seconds_of),
                }
            })
            .collect()
    }

    /// Kills the components, stops the API server, then removes the temp directory.
    async fn stop(&mut self) {
        for (_, child) in &mut self.others {
            let _ = child.kill().await;
        }
        self.others.clear();
        if let Some(server) = self.apiserver.take() {
            server.stop().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `VmRSS` and `VmHWM` of a process, in bytes.
fn memory_of(pid: u32) -> (Option<u64>, Option<u64>) {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return (None, None);
    };
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// User + system CPU time of a process, from `/proc/<pid>/stat` (fields 14 and 15, in clock
/// ticks).
fn cpu_seconds_of(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (ticks > 0).then(|| (utime + stime) as f64 / ticks as f64)
}

// ---------------------------------------------------------------------------------------------
// The measurement
// ---------------------------------------------------------------------------------------------

async fn measure(args: &DeploymentBenchArgs, replicas: i32, cluster: &mut Cluster) -> anyhow::Result<Report> {
    let limit = Duration::from_secs(args.timeout);
    let data = cluster.dir.join("data");
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let http = reqwest::Client::new();
    let server = ApiserverProcess::start(&data, &http).await?;
    let base = format!("http://{}", server.addr);
    cluster.apiserver = Some(server);

    let kubeconfig = cluster.dir.join("kubeconfig");
    kubelab_client::write_kubeconfig(&kubeconfig, "kubelab-bench", &base).context("writing the kubeconfig")?;
    let no_election = vec!["--leader-elect=false".to_string()];
    cluster.spawn("scheduler", "scheduler", &kubeconfig, &no_election)?;
    cluster.spawn("controller", "controller", &kubeconfig, &no_election)?;
    let agent_args: Vec<String> = [
        "--node-name",
        "hollow",
        "--cluster",
        "kubelab-bench",
        "--runtime",
        "hollow",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--nodes={}", args.nodes)])
    .collect();
    cluster.spawn("agent", "agent", &kubeconfig, &agent_args)?;

    let client = Client::new(Config::from_kubeconfig_file(&kubeconfig, None)?)?;
    let started = Instant::now();
    wait_nodes_ready(&client, args.nodes, limit, cluster).await?;
    let nodes_ready_seconds = started.elapsed().as_secs_f64();

    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let (changes, mut events) = mpsc::unbounded_channel();
    let followers = [
        follow(pods.clone(), changes.clone(), Change::Pod, Change::PodsListed).await?,
        follow(
            deployments.clone(),
            changes,
            Change::Deployment,
            Change::DeploymentsListed,
        )
        .await?,
    ];
    let mut state = State::default();
    let result = async {
        let r = replicas as usize;
        let want_up = move |s: &State| {
            (
                s.pods.len() == r && s.running == r,
                s.deployment_settled(replicas, true),
            )
        };
        let want_none = |s: &State| (s.pods.is_empty(), s.deployment_settled(0, false));

        let start = Instant::now();
        deployments
            .create(&deployment(replicas))
            .await
            .context("creating the Deployment")?;
        let create = wait(&mut events, &mut state, cluster, start, limit, "create", want_up).await?;
        let per_node = state.pods_per_node();
        let min_pods_per_node = if per_node.len() < args.nodes {
            0
        } else {
            per_node.values().copied().min().unwrap_or(0)
        };
        let max_pods_per_node = per_node.values().copied().max().unwrap_or(0);

        let start = Instant::now();
        scale(&deployments, 0).await?;
        let scale_to_zero = wait(&mut events, &mut state, cluster, start, limit, "scale to 0", want_none).await?;

        let start = Instant::now();
        scale(&deployments, replicas).await?;
        let scale_up = wait(&mut events, &mut state, cluster, start, limit, "scale up", want_up).await?;

        Ok(Report {
            nodes: args.nodes,
            replicas: args.replicas,
            nodes_ready_seconds,
            create: create.phase(args.replicas),
            scale_to_zero: scale_to_zero.phase(args.replicas),
            scale_up: scale_up.phase(args.replicas),
            min_pods_per_node,
            max_pods_per_node,
            memory: cluster.memory(),
        })
    }
    .await;
    for follower in followers {
        follower.abort();
    }
    result
}

/// Polls the nodes until `count` are Ready.
async fn wait_nodes_ready(client: &Client, count: usize, limit: Duration, cluster: &mut Cluster) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let deadline = Instant::now() + limit;
    loop {
        cluster.check_alive()?;
        let list = nodes.list(&ListParams::default()).await?;
        let ready = list.items.iter().filter(|n| node_ready(n)).count();
        if ready >= count {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{ready} of {count} nodes were Ready after {} s", limit.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn node_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// R pods of a tiny hollow image, labelled `app=bench`.
fn deployment(replicas: i32) -> Deployment {
    let value = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": NAME}},
            "template": {
                "metadata": {"labels": {"app": NAME}},
                "spec": {"containers": [{"name": "app", "image": "hollow/bench",
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
            }
        }
    });
    // A literal that matches the types; a mismatch would be a bug here, not bad input.
    serde_json::from_value(value).expect("the bench's Deployment is valid")
}

/// `kubectl scale deployment bench --replicas=N`: a merge patch of the scale subresource.
async fn scale(deployments: &Api<Deployment>, replicas: i32) -> anyhow::Result<()> {
    deployments
        .patch_scale(NAME, &Patch::Merge(json!({"spec": {"replicas": replicas}})))
        .await
        .with_context(|| format!("scaling to {replicas}"))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Following the cluster through watches
// ---------------------------------------------------------------------------------------------

enum Change {
    Pod(WatchEvent<Pod>),
    Deployment(WatchEvent<Deployment>),
    /// The pods as listed again after a watch expired: they replace what was known.
    PodsListed(Vec<Pod>),
    DeploymentsListed(Vec<Deployment>),
    /// A watch failed for good.
    Failed(String),
}

/// Lists the objects (none exist yet) and watches from the list's revision, resuming from the
/// last revision seen whenever the connection breaks; every event goes to `changes`. When the
/// server closes the watch because this reader fell behind (`410 Gone`, the bench shares the
/// CPUs with what it measures), it lists again and starts over from that list, as an informer
/// does.
async fn follow<T>(
    api: Api<T>,
    changes: mpsc::UnboundedSender<Change>,
    wrap: fn(WatchEvent<T>) -> Change,
    relisted: fn(Vec<T>) -> Change,
) -> anyhow::Result<tokio::task::JoinHandle<()>>
where
    T: Object + Send + 'static,
{
    let list = api.list(&ListParams::default()).await?;
    let mut revision = list.metadata.resource_version.unwrap_or_default();
    Ok(tokio::spawn(async move {
        let params = ListParams::default().bookmarks(true);
        let mut expired = 0;
        loop {
            let mut stream = match api.watch(&params, &revision).await {
                Ok(stream) => stream,
                Err(e) => {
                    let _ = changes.send(Change::Failed(format!("watch: {e}")));
                    return;
                }
            };
            while let Some(event) = stream.next().await {
                let event = match event {
                    Ok(WatchEvent::Error(status)) if status.code == 410 && expired < 10 => {
                        expired += 1;
                        match api.list(&ListParams::default()).await {
                            Ok(list) => {
                                revision = list.metadata.resource_version.unwrap_or_default();
                                if changes.send(relisted(list.items)).is_err() {
                                    return;
                                }
                            }
                            Err(e) => {
                                let _ = changes.send(Change::Failed(format!("list after 410: {e}")));
                                return;
                            }
                        }
                        break;
                    }
                    Ok(WatchEvent::Error(status)) => {
                        let _ = changes.send(Change::Failed(format!("watch ended: {}", status.message)));
                        return;
                    }
                    Ok(event) => event,
                    // A broken connection: resume from the last revision.
                    Err(_) => break,
                };
                match &event {
                    WatchEvent::Bookmark { resource_version } => revision = resource_version.clone(),
                    other => {
                        if let Some(rv) = other.object().and_then(|o| o.metadata().resource_version.clone()) {
                            revision = rv;
                        }
                    }
                }
                if changes.send(wrap(event)).is_err() {
                    return;
                }
            }
        }
    }))
}

/// What the watches have shown so far.
#[derive(Default)]
struct State {
    /// Each pod that exists: whether it is Running (and not being deleted), and its node.
    pods: HashMap<String, (bool, String)>,
    running: usize,
    deployment: Option<Deployment>,
}

impl State {
    fn apply(&mut self, change: Change) -> anyhow::Result<()> {
        match change {
            Change::Pod(WatchEvent::Added(pod) | WatchEvent::Modified(pod)) => self.set_pod(pod),
            Change::PodsListed(pods) => {
                self.pods.clear();
                self.running = 0;
                pods.into_iter().for_each(|pod| self.set_pod(pod));
            }
            Change::DeploymentsListed(list) => {
                self.deployment = list.into_iter().find(|d| d.metadata.name.as_deref() == Some(NAME))
            }
            Change::Pod(WatchEvent::Deleted(pod)) => {
                let name = pod.metadata.name.unwrap_or_default();
                if let Some((was_running, _)) = self.pods.remove(&name) {
                    self.running -= usize::from(was_running);
                }
            }
            Change::Deployment(WatchEvent::Added(d) | WatchEvent::Modified(d)) => self.deployment = Some(d),
            Change::Deployment(WatchEvent::Deleted(_)) => self.deployment = None,
            Change::Pod(_) | Change::Deployment(_) => {}
            Change::Failed(why) => bail!("{why}"),
        }
        Ok(())
    }

    fn set_pod(&mut self, pod: Pod) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let running = pod.metadata.deletion_timestamp.is_none()
            && pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
        let node = pod.spec.node_name.clone().unwrap_or_default();
        if let Some((was_running, _)) = self.pods.insert(name, (running, node)) {
            self.running -= usize::from(was_running);
        }
        self.running += usize::from(running);
    }

    /// The controller has seen the latest spec and reports `replicas` pods (all available, if
    /// `available`).
    fn deployment_settled(&self, replicas: i32, available: bool) -> bool {
        let Some(d) = &self.deployment else { return false };
        let status = d.status.clone().unwrap_or_default();
        status.observed_generation >= d.metadata.generation.unwrap_or(0)
            && status.replicas == replicas
            && (!available || status.available_replicas == replicas)
    }

    fn pods_per_node(&self) -> HashMap<&str, usize> {
        let mut per_node: HashMap<&str, usize> = HashMap::new();
        for (_, node) in self.pods.values() {
            if !node.is_empty() {
                *per_node.entry(node.as_str()).or_default() += 1;
            }
        }
        per_node
    }

    fn describe(&self) -> String {
        let status = self
            .deployment
            .as_ref()
            .and_then(|d| d.status.clone())
            .unwrap_or_default();
        format!(
            "{} pods, {} Running; Deployment status replicas {}, available {}",
            self.pods.len(),
            self.running,
            status.replicas,
            status.available_replicas
        )
    }
}

struct Timed {
    pods: Duration,
    all: Duration,
}

impl Timed {
    fn phase(&self, replicas: usize) -> Phase {
        let seconds = self.all.as_secs_f64();
        Phase {
            pods_seconds: self.pods.as_secs_f64(),
            seconds,
            pods_per_s: replicas as f64 / seconds.max(1e-9),
        }
    }
}

/// Applies changes until `done` says (pods there, Deployment agrees); times both from `start`.
async fn wait(
    events: &mut mpsc::UnboundedReceiver<Change>,
    state: &mut State,
    cluster: &mut Cluster,
    start: Instant,
    limit: Duration,
    what: &str,
    done: impl Fn(&State) -> (bool, bool),
) -> anyhow::Result<Timed> {
    let deadline = start + limit;
    let mut pods_at: Option<Duration> = None;
    let mut liveness = tokio::time::interval(Duration::from_secs(1));
    loop {
        let (pods_done, all_done) = done(state);
        if pods_done && pods_at.is_none() {
            pods_at = Some(start.elapsed());
        }
        if pods_done && all_done {
            let all = start.elapsed();
            return Ok(Timed {
                pods: pods_at.unwrap_or(all),
                all,
            });
        }
        tokio::select! {
            change = events.recv() => {
                let change = change.ok_or_else(|| anyhow!("the watches stopped"))?;
                state.apply(change)?;
                // Apply whatever else has already arrived before checking again.
                while let Ok(change) = events.try_recv() {
                    state.apply(change)?;
                }
            }
            _ = liveness.tick() => cluster.check_alive()?,
            _ = tokio::time::sleep_until(deadline) => {
                bail!("{what} did not finish within {} s: {}", limit.as_secs(), state.describe())
            }
        }
    }
}

fn print_text(r: &Report) {
    println!(
        "deployment benchmark: {} replicas on {} hollow nodes (one agent process)",
        r.replicas, r.nodes
    );
    println!("  nodes Ready:  {:.2} s after the agent started", r.nodes_ready_seconds);
    for (name, phase, pods) in [
        ("create", &r.create, "all Running"),
        ("scale to 0", &r.scale_to_zero, "all gone"),
        ("scale up", &r.scale_up, "all Running"),
    ] {
        println!(
            "  {name:<12}  {:.2} s = {:.0} pods/s (pods {pods} at {:.2} s, then the Deployment's status)",
            phase.seconds, phase.pods_per_s, phase.pods_seconds
        );
    }
    println!(
        "  placement:    {}..{} pods per node",
        r.min_pods_per_node, r.max_pods_per_node
    );
    for m in &r.memory {
        let mib = |b: Option<u64>| b.map_or("?".to_string(), |b| format!("{:.1}", b as f64 / (1024.0 * 1024.0)));
        let cpu = m.cpu_seconds.map_or("?".to_string(), |c| format!("{c:.1}"));
        println!(
            "  {:<11} {} MiB resident, peak {} MiB; {cpu} s of CPU",
            format!("{}:", m.process),
            mib(m.rss_bytes),
            mib(m.peak_rss_bytes)
        );
    }
}
