//! The whole control plane, end to end, as separate processes: an API server, schedulers,
//! controller managers and node agents with the hollow runtime (containers faked in memory, so no
//! Docker is needed), each a real `kubelab` process on a free loopback port, driven and observed
//! through `kubelab_client` as kubectl would.
//!
//! Each test makes its own cluster (its own API server, data directory, kubeconfig and cluster
//! name), so tests run in parallel without colliding; every process it started is killed when the
//! test ends, even when it fails. Every wait has a deadline: nothing sleeps hoping that something
//! happened, and a wait that runs out says what it last saw.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::watch::follow;
use common::{eventually_ok, unique_name, AbortOnDrop, Apiserver, KubelabProcess};
use kubelab_api::apps::{Deployment, ReplicaSet};
use kubelab_api::coordination::Lease;
use kubelab_api::core::{Node, Pod};
use kubelab_client::{Api, Client, Config, DeleteParams, ListParams, Patch};
use serde_json::json;

const NS: &str = "default";
const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
const NOT_READY: &str = "node.kubernetes.io/not-ready";

// ---------------------------------------------------------------------------------------------
// A cluster of processes
// ---------------------------------------------------------------------------------------------

/// Timings given to the controller managers and schedulers.
#[derive(Clone, Copy)]
struct Timings {
    /// `--node-monitor-grace-period`, in seconds.
    grace_seconds: u64,
    /// `--default-eviction-seconds`.
    eviction_seconds: u64,
    /// `--leader-elect-lease-duration`, `--leader-elect-renew-deadline`,
    /// `--leader-elect-retry-period`, in milliseconds.
    lease_ms: [u64; 3],
}

/// Kubernetes' own timings: nothing fails over or gets evicted by accident on a busy machine.
const CALM: Timings = Timings {
    grace_seconds: 40,
    eviction_seconds: 300,
    lease_ms: [15_000, 10_000, 2_000],
};

/// One test's cluster. Fields drop in order: the processes die before the API server, which dies
/// before its data directory is removed.
struct Cluster {
    processes: Mutex<BTreeMap<String, KubelabProcess>>,
    name: String,
    kubeconfig: PathBuf,
    client: Client,
    timings: Timings,
    _apiserver: Apiserver,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// An API server process and a kubeconfig pointing at it; no other component yet.
    async fn start(timings: Timings) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        let apiserver = Apiserver::start(&data).await;
        let name = unique_name("h");
        let kubeconfig = dir.path().join("kubeconfig");
        kubelab_client::write_kubeconfig(&kubeconfig, &name, &apiserver.base_url()).expect("write kubeconfig");
        let client = Client::new(Config::new(apiserver.base_url())).expect("client");
        Cluster {
            processes: Mutex::default(),
            name,
            kubeconfig,
            client,
            timings,
            _apiserver: apiserver,
            _dir: dir,
        }
    }

    fn kubeconfig_args(&self, subcommand: &str) -> Vec<String> {
        vec![
            subcommand.into(),
            "--kubeconfig".into(),
            self.kubeconfig.display().to_string(),
        ]
    }

    fn lease_args(&self) -> Vec<String> {
        let [duration, renew, retry] = self.timings.lease_ms;
        vec![
            format!("--leader-elect-lease-duration={duration}ms"),
            format!("--leader-elect-renew-deadline={renew}ms"),
            format!("--leader-elect-retry-period={retry}ms"),
        ]
    }

    fn spawn(&self, label: &str, args: Vec<String>, envs: &[(&str, &str)]) {
        let process = KubelabProcess::start(label, &args, envs);
        let previous = self.processes.lock().expect("lock").insert(label.into(), process);
        assert!(previous.is_none(), "{label} was already running");
    }

    /// `kubelab scheduler`, with `HOSTNAME=<label>` so its leader-election identity starts with
    /// the label.
    fn start_scheduler(&self, label: &str) {
        let mut args = self.kubeconfig_args("scheduler");
        args.extend(self.lease_args());
        self.spawn(label, args, &[("HOSTNAME", label)]);
    }

    /// `kubelab controller`, with `HOSTNAME=<label>` (see [`Cluster::start_scheduler`]).
    fn start_controller(&self, label: &str) {
        let mut args = self.kubeconfig_args("controller");
        args.extend(self.lease_args());
        args.push(format!("--node-monitor-grace-period={}s", self.timings.grace_seconds));
        args.push(format!("--default-eviction-seconds={}", self.timings.eviction_seconds));
        self.spawn(label, args, &[("HOSTNAME", label)]);
    }

    /// `kubelab agent --runtime hollow` running `nodes` nodes (named `node`, or `node-0`…).
    fn start_agent(&self, label: &str, node: &str, nodes: usize, extra: &[&str]) {
        let mut args = self.kubeconfig_args("agent");
        args.extend(
            ["--node-name", node, "--cluster", &self.name, "--runtime", "hollow"]
                .iter()
                .map(|s| s.to_string()),
        );
        args.push(format!("--nodes={nodes}"));
        args.extend(extra.iter().map(|s| s.to_string()));
        self.spawn(label, args, &[]);
    }

    /// One agent process per node, renewing its Lease and status every second.
    fn start_fast_agent(&self, node: &str, extra: &[&str]) {
        let mut args = vec!["--lease-renew-seconds=1", "--status-update-seconds=1"];
        args.extend_from_slice(extra);
        self.start_agent(&format!("agent-{node}"), node, 1, &args);
    }

    fn kill_9(&self, label: &str) {
        let process = self.processes.lock().expect("lock").remove(label);
        match process {
            Some(mut process) => process.kill_9(),
            None => panic!("no process {label} to kill"),
        }
    }

    /// Fails the test at once if a process it started has exited by itself.
    fn check_alive(&self) {
        let mut processes = self.processes.lock().expect("lock");
        for (label, process) in processes.iter_mut() {
            if let Some(status) = process.exited() {
                panic!("{label} exited by itself with {status}");
            }
        }
    }

    /// [`eventually_ok`], failing at once if a process of the cluster has exited by itself.
    async fn eventually<T, F, Fut>(&self, limit: Duration, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        eventually_ok(limit, what, || {
            self.check_alive();
            check()
        })
        .await
    }

    fn pods_api(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), NS)
    }

    fn deployments(&self) -> Api<Deployment> {
        Api::namespaced(self.client.clone(), NS)
    }

    fn replica_sets(&self) -> Api<ReplicaSet> {
        Api::namespaced(self.client.clone(), NS)
    }

    fn nodes_api(&self) -> Api<Node> {
        Api::all(self.client.clone())
    }

    async fn pods(&self, selector: &str) -> Result<Vec<Pod>, String> {
        let lp = ListParams::default().labels(selector);
        Ok(self.pods_api().list(&lp).await.map_err(|e| e.to_string())?.items)
    }

    async fn node(&self, name: &str) -> Result<Node, String> {
        self.nodes_api().get(name).await.map_err(|e| e.to_string())
    }

    async fn lease_holder(&self, name: &str) -> Result<String, String> {
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), "kube-system");
        let lease = leases.get_opt(name).await.map_err(|e| e.to_string())?;
        lease
            .and_then(|l| l.spec.holder_identity)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("lease kube-system/{name} has no holder"))
    }

    /// Waits until `count` nodes are Ready.
    async fn wait_nodes_ready(&self, count: usize, limit: Duration) {
        self.eventually(limit, &format!("{count} Ready nodes"), || async {
            let nodes = self
                .nodes_api()
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?;
            let ready = nodes.items.iter().filter(|n| node_ready(n) == "True").count();
            if ready == count {
                Ok(())
            } else {
                Err(format!("{ready} of {} nodes Ready", nodes.items.len()))
            }
        })
        .await
    }

    /// Waits until the Deployment's rollout is complete (as `kubectl rollout status` judges it)
    /// and exactly `replicas` pods exist, all Running and Ready; returns them.
    async fn wait_rollout(&self, name: &str, replicas: usize, limit: Duration) -> Vec<Pod> {
        self.eventually(
            limit,
            &format!("deployment {name} complete with {replicas} ready pods"),
            || async {
                let d = self.deployments().get(name).await.map_err(|e| e.to_string())?;
                rollout_complete(&d)?;
                let pods = self.pods(&format!("app={name}")).await?;
                let ready = pods.iter().filter(|p| pod_ready(p)).count();
                if pods.len() != replicas || ready != replicas {
                    return Err(format!("{} pods, {ready} ready: {}", pods.len(), describe(&pods)));
                }
                Ok(pods)
            },
        )
        .await
    }
}

/// A scheduler, a controller manager and one agent process for each of `nodes` (with the extra
/// agent flags `agent_args`), all Ready.
async fn cluster_with_nodes(timings: Timings, nodes: &[&str], agent_args: &[&str]) -> Cluster {
    let cluster = Cluster::start(timings).await;
    cluster.start_scheduler("scheduler");
    cluster.start_controller("controller");
    for node in nodes {
        cluster.start_fast_agent(node, agent_args);
    }
    cluster.wait_nodes_ready(nodes.len(), Duration::from_secs(30)).await;
    cluster
}

// ---------------------------------------------------------------------------------------------
// Objects and what to read from them
// ---------------------------------------------------------------------------------------------

/// A Deployment of `hollow/<name>` pods labelled `app=<name>`, rolling 1 pod at a time.
fn deployment(name: &str, replicas: i32, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]}
            }
        }
    }))
    .expect("a valid Deployment")
}

/// `kubectl rollout status`'s test for "successfully rolled out".
fn rollout_complete(d: &Deployment) -> Result<(), String> {
    let status = d.status.clone().unwrap_or_default();
    let generation = d.metadata.generation.unwrap_or(0);
    let replicas = d.spec.replicas.unwrap_or(1);
    if generation > status.observed_generation {
        return Err(format!(
            "generation {generation} not yet observed ({})",
            status.observed_generation
        ));
    }
    if status.updated_replicas < replicas {
        return Err(format!(
            "{} of {replicas} new replicas updated",
            status.updated_replicas
        ));
    }
    if status.replicas > status.updated_replicas {
        return Err(format!(
            "{} old replicas pending termination",
            status.replicas - status.updated_replicas
        ));
    }
    if status.available_replicas < status.updated_replicas {
        return Err(format!(
            "{} of {} updated replicas available",
            status.available_replicas, status.updated_replicas
        ));
    }
    Ok(())
}

/// Running, Ready and not being deleted.
fn pod_ready(pod: &Pod) -> bool {
    let Some(status) = &pod.status else { return false };
    pod.metadata.deletion_timestamp.is_none()
        && status.phase.as_deref() == Some("Running")
        && status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
}

fn node_of(pod: &Pod) -> &str {
    pod.spec.node_name.as_deref().unwrap_or("")
}

fn image_of(pod: &Pod) -> &str {
    pod.spec
        .containers
        .first()
        .and_then(|c| c.image.as_deref())
        .unwrap_or("")
}

fn name_of<T: kubelab_api::Object>(object: &T) -> String {
    object.metadata().name.clone().unwrap_or_default()
}

/// `name@node(phase, ready)` for each pod, for failure messages.
fn describe(pods: &[Pod]) -> String {
    let items: Vec<String> = pods
        .iter()
        .map(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
            let deleting = if p.metadata.deletion_timestamp.is_some() {
                ",deleting"
            } else {
                ""
            };
            format!(
                "{}@{}({phase}{},{deleting})",
                name_of(p),
                node_of(p),
                if pod_ready(p) { ",ready" } else { "" }
            )
        })
        .collect();
    items.join(" ")
}

/// The status of the node's Ready condition (`True`, `False`, `Unknown`, or `missing`).
fn node_ready(node: &Node) -> String {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.clone())
        .unwrap_or_else(|| "missing".into())
}

fn taint_keys(node: &Node) -> Vec<String> {
    node.spec
        .taints
        .iter()
        .map(|t| format!("{}:{}", t.key, t.effect))
        .collect()
}

fn replicas_of(rs: &ReplicaSet) -> (i32, i32) {
    let status = rs.status.clone().unwrap_or_default();
    (rs.spec.replicas.unwrap_or(1), status.replicas)
}

/// Follows the pods labelled `selector` through a watch (resuming where it stopped) and, after
/// every event, counts the Ready ones: the lowest count seen, and how many events were seen.
struct ReadyTracker {
    lowest: Arc<Mutex<(usize, usize)>>,
    _watch: AbortOnDrop,
}

impl ReadyTracker {
    async fn start(api: Api<Pod>, selector: &str) -> ReadyTracker {
        let lp = ListParams::default().labels(selector);
        let list = api.list(&lp).await.expect("list pods");
        let mut pods: HashMap<String, Pod> = list.items.into_iter().map(|p| (name_of(&p), p)).collect();
        let initial = pods.values().filter(|p| pod_ready(p)).count();
        let lowest = Arc::new(Mutex::new((initial, 0)));
        let resource_version = list.metadata.resource_version.unwrap_or_default();
        let shared = lowest.clone();
        let watch = follow(api, lp, resource_version, move |pod, deleted| {
            if deleted {
                pods.remove(&name_of(&pod));
            } else {
                pods.insert(name_of(&pod), pod);
            }
            let ready = pods.values().filter(|p| pod_ready(p)).count();
            let mut lowest = shared.lock().expect("lock");
            lowest.0 = lowest.0.min(ready);
            lowest.1 += 1;
        });
        ReadyTracker { lowest, _watch: watch }
    }

    /// (lowest Ready count seen, events seen) so far.
    fn seen(&self) -> (usize, usize) {
        *self.lowest.lock().expect("lock")
    }
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

/// A Deployment of 3 on 3 nodes: 3 Running pods, one per node, and a complete rollout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_of_three_spreads_one_pod_per_node() {
    let cluster = cluster_with_nodes(CALM, &["n0", "n1", "n2"], &[]).await;
    let started = Instant::now();
    cluster
        .deployments()
        .create(&deployment("web", 3, "hollow/web:1"))
        .await
        .expect("create deployment");

    let pods = cluster.wait_rollout("web", 3, Duration::from_secs(30)).await;
    let nodes: BTreeSet<&str> = pods.iter().map(node_of).collect();
    assert_eq!(
        nodes,
        BTreeSet::from(["n0", "n1", "n2"]),
        "one pod per node: {}",
        describe(&pods)
    );
    let d = cluster.deployments().get("web").await.expect("deployment");
    let status = d.status.clone().unwrap_or_default();
    assert_eq!(
        (status.replicas, status.ready_replicas, status.available_replicas),
        (3, 3, 3)
    );
    eprintln!(
        "3 pods Running on 3 nodes {:?} after creating the Deployment",
        started.elapsed()
    );
}

/// Deleting a pod brings a replacement; scaling up to 5 and down to 2 converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_pod_is_replaced_and_scaling_converges() {
    let cluster = cluster_with_nodes(CALM, &["n0", "n1", "n2"], &[]).await;
    cluster
        .deployments()
        .create(&deployment("web", 3, "hollow/web:1"))
        .await
        .expect("create deployment");
    let pods = cluster.wait_rollout("web", 3, Duration::from_secs(30)).await;

    // Delete one pod: the ReplicaSet makes another; the agent finishes the deletion.
    let victim = name_of(&pods[0]);
    cluster
        .pods_api()
        .delete(&victim, &DeleteParams::default())
        .await
        .expect("delete pod");
    let pods = cluster.wait_rollout("web", 3, Duration::from_secs(30)).await;
    assert!(
        pods.iter().all(|p| name_of(p) != victim),
        "the deleted pod {victim} is still there: {}",
        describe(&pods)
    );

    // Scale through the scale subresource, as `kubectl scale` does.
    for replicas in [5, 2] {
        cluster
            .deployments()
            .patch_scale("web", &Patch::Merge(json!({"spec": {"replicas": replicas}})))
            .await
            .expect("scale");
        let pods = cluster.wait_rollout("web", replicas, Duration::from_secs(30)).await;
        let d = cluster.deployments().get("web").await.expect("deployment");
        let status = d.status.clone().unwrap_or_default();
        assert_eq!(status.replicas as usize, replicas, "{}", describe(&pods));
        assert_eq!(status.available_replicas as usize, replicas);
    }
}

/// A rolling update never drops below replicas − maxUnavailable Ready pods and leaves the old
/// ReplicaSet at 0; a rollback (what `kubectl rollout undo` does) scales the old one back up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_keeps_enough_ready_pods_and_rollback_reuses_the_old_replica_set() {
    const REPLICAS: usize = 4;
    const MAX_UNAVAILABLE: usize = 1;
    // Containers take a while to start, so the rollout goes through visible steps.
    let cluster = cluster_with_nodes(CALM, &["n0", "n1", "n2"], &["--hollow-start-latency-ms=300"]).await;
    cluster
        .deployments()
        .create(&deployment("web", REPLICAS as i32, "hollow/web:1"))
        .await
        .expect("create deployment");
    cluster.wait_rollout("web", REPLICAS, Duration::from_secs(30)).await;
    let first = cluster
        .replica_sets()
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("list replicasets")
        .items;
    assert_eq!(first.len(), 1, "one ReplicaSet before the update");
    let old = first[0].clone();
    let old_uid = old.metadata.uid.clone().unwrap_or_default();

    let tracker = ReadyTracker::start(cluster.pods_api(), "app=web").await;
    cluster
        .deployments()
        .patch(
            "web",
            &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "hollow/web:2"}
            ]}}}})),
        )
        .await
        .expect("update the image");
    let pods = cluster.wait_rollout("web", REPLICAS, Duration::from_secs(45)).await;
    assert!(
        pods.iter().all(|p| image_of(p) == "hollow/web:2"),
        "every pod runs the new image: {}",
        describe(&pods)
    );
    let replica_sets = cluster
        .replica_sets()
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("list replicasets")
        .items;
    assert_eq!(replica_sets.len(), 2, "an old and a new ReplicaSet");
    for rs in &replica_sets {
        let expected = if rs.metadata.uid.as_deref() == Some(&old_uid) {
            (0, 0)
        } else {
            (4, 4)
        };
        assert_eq!(
            replicas_of(rs),
            expected,
            "ReplicaSet {} (spec, status) replicas",
            name_of(rs)
        );
    }
    let (lowest, events) = tracker.seen();
    eprintln!("rolling update: {events} pod events, at least {lowest} Ready pods throughout");
    assert!(events > 0, "the pod watch saw the update");
    assert!(
        lowest >= REPLICAS - MAX_UNAVAILABLE,
        "the update dropped to {lowest} Ready pods (minimum {})",
        REPLICAS - MAX_UNAVAILABLE
    );

    // `kubectl rollout undo`: the old ReplicaSet's template (without its pod-template-hash label)
    // becomes the Deployment's template again.
    let old = cluster
        .replica_sets()
        .get(&name_of(&old))
        .await
        .expect("the old ReplicaSet is kept");
    let mut template = old.spec.template.clone();
    template.metadata.labels.remove("pod-template-hash");
    let mut d = cluster.deployments().get("web").await.expect("deployment");
    d.spec.template = template;
    cluster.deployments().replace("web", &d).await.expect("roll back");
    let pods = cluster.wait_rollout("web", REPLICAS, Duration::from_secs(45)).await;
    assert!(
        pods.iter()
            .all(|p| image_of(p) == "hollow/web:1" && p.metadata.owner_references.iter().any(|o| o.uid == old_uid)),
        "every pod runs the first image and belongs to the first ReplicaSet: {}",
        describe(&pods)
    );
    let replica_sets = cluster
        .replica_sets()
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("list replicasets")
        .items;
    assert_eq!(
        replica_sets.len(),
        2,
        "the rollback reused a ReplicaSet instead of making one"
    );
    for rs in &replica_sets {
        let expected = if rs.metadata.uid.as_deref() == Some(&old_uid) {
            (4, 4)
        } else {
            (0, 0)
        };
        assert_eq!(
            replicas_of(rs),
            expected,
            "ReplicaSet {} (spec, status) replicas",
            name_of(rs)
        );
    }
    let (lowest, events) = tracker.seen();
    eprintln!("rolling update and rollback: {events} pod events, at least {lowest} Ready pods throughout");
    assert!(
        lowest >= REPLICAS - MAX_UNAVAILABLE,
        "the rollback dropped to {lowest} Ready pods (minimum {})",
        REPLICAS - MAX_UNAVAILABLE
    );
}

/// `kill -9` of an agent: its node turns Unknown and tainted unreachable, its pod is replaced on
/// the other nodes within grace + eviction + a margin; restarted, the node is Ready and untainted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_whose_agent_is_killed_has_its_pod_replaced_and_recovers() {
    const GRACE: u64 = 4;
    const EVICTION: u64 = 2;
    const MARGIN: u64 = 10;
    let timings = Timings {
        grace_seconds: GRACE,
        eviction_seconds: EVICTION,
        ..CALM
    };
    let cluster = cluster_with_nodes(timings, &["n0", "n1", "n2"], &[]).await;
    cluster
        .deployments()
        .create(&deployment("web", 3, "hollow/web:1"))
        .await
        .expect("create deployment");
    let pods = cluster.wait_rollout("web", 3, Duration::from_secs(30)).await;
    let victim = pods
        .iter()
        .find(|p| node_of(p) == "n1")
        .map(name_of)
        .unwrap_or_else(|| panic!("no pod on n1: {}", describe(&pods)));

    cluster.kill_9("agent-n1");
    let killed = Instant::now();

    cluster
        .eventually(
            Duration::from_secs(GRACE + 20),
            "n1 Unknown and tainted unreachable",
            || async {
                let node = cluster.node("n1").await?;
                let taints = taint_keys(&node);
                if node_ready(&node) == "Unknown" && taints.iter().any(|t| t.starts_with(UNREACHABLE)) {
                    Ok(())
                } else {
                    Err(format!("Ready={}, taints {taints:?}", node_ready(&node)))
                }
            },
        )
        .await;
    eprintln!(
        "n1 Unknown and tainted {:?} after kill -9 of its agent",
        killed.elapsed()
    );

    cluster
        .eventually(
            Duration::from_secs(GRACE + EVICTION + MARGIN + 10),
            "3 Ready pods on n0 and n2",
            || async {
                let pods = cluster.pods("app=web").await?;
                let elsewhere = pods.iter().filter(|p| pod_ready(p) && node_of(p) != "n1").count();
                let evicted = pods
                    .iter()
                    .any(|p| name_of(p) == victim && p.metadata.deletion_timestamp.is_some())
                    || pods.iter().all(|p| name_of(p) != victim);
                if elsewhere == 3 && evicted {
                    Ok(())
                } else {
                    Err(describe(&pods))
                }
            },
        )
        .await;
    let replaced = killed.elapsed();
    eprintln!(
        "the pod of n1 replaced on the other nodes {replaced:?} after kill -9 (grace {GRACE} s, eviction {EVICTION} s)"
    );
    assert!(
        replaced <= Duration::from_secs(GRACE + EVICTION + MARGIN),
        "replacing the pod took {replaced:?}, more than grace + eviction + {MARGIN} s"
    );

    // The agent comes back: the node is Ready and untainted, and the evicted pod is gone.
    cluster.start_fast_agent("n1", &[]);
    let restarted = Instant::now();
    cluster
        .eventually(
            Duration::from_secs(30),
            "n1 Ready, untainted, evicted pod gone",
            || async {
                let node = cluster.node("n1").await?;
                let taints = taint_keys(&node);
                let pods = cluster.pods("app=web").await?;
                if node_ready(&node) != "True"
                    || taints
                        .iter()
                        .any(|t| t.starts_with(UNREACHABLE) || t.starts_with(NOT_READY))
                {
                    return Err(format!("Ready={}, taints {taints:?}", node_ready(&node)));
                }
                if pods.iter().any(|p| name_of(p) == victim) {
                    return Err(format!("the evicted pod is still there: {}", describe(&pods)));
                }
                Ok(())
            },
        )
        .await;
    eprintln!("n1 Ready again {:?} after its agent restarted", restarted.elapsed());
    cluster.wait_rollout("web", 3, Duration::from_secs(10)).await;
}

/// Two schedulers and two controller managers: kill -9 each leader, and the other one takes over
/// within the lease duration (short leases here) plus a margin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaders_fail_over_to_the_other_replica() {
    const LEASE_MS: u64 = 4_000;
    const MARGIN: Duration = Duration::from_secs(10);
    let timings = Timings {
        lease_ms: [LEASE_MS, 3_000, 500],
        ..CALM
    };
    let cluster = Cluster::start(timings).await;
    cluster.start_fast_agent("n0", &[]);
    cluster.start_fast_agent("n1", &[]);
    // Each pair: the first replica is started alone, so it is leader; then the second.
    cluster.start_scheduler("sched-a");
    cluster.start_controller("cm-a");
    for (lease, label) in [("kube-scheduler", "sched-a"), ("kube-controller-manager", "cm-a")] {
        let holder = cluster
            .eventually(Duration::from_secs(20), &format!("{label} to lead"), || {
                cluster.lease_holder(lease)
            })
            .await;
        assert!(holder.starts_with(&format!("{label}_")), "{lease} held by {holder}");
    }
    cluster.start_scheduler("sched-b");
    cluster.start_controller("cm-b");
    cluster.wait_nodes_ready(2, Duration::from_secs(30)).await;
    cluster
        .deployments()
        .create(&deployment("web", 2, "hollow/web:1"))
        .await
        .expect("create deployment");
    cluster.wait_rollout("web", 2, Duration::from_secs(30)).await;

    // The scheduler leader dies; a new pod is still scheduled, by the other replica.
    let holder = cluster.lease_holder("kube-scheduler").await.expect("holder");
    let (leader, other) = if holder.starts_with("sched-a_") {
        ("sched-a", "sched-b")
    } else {
        ("sched-b", "sched-a")
    };
    cluster.kill_9(leader);
    let killed = Instant::now();
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "after-failover", "namespace": NS},
        "spec": {"containers": [{"name": "app", "image": "hollow/app"}]}
    }))
    .expect("a valid Pod");
    cluster.pods_api().create(&pod).await.expect("create pod");
    let limit = Duration::from_millis(LEASE_MS) + MARGIN;
    cluster
        .eventually(limit, "the new pod scheduled and Running", || async {
            let pod = cluster
                .pods_api()
                .get("after-failover")
                .await
                .map_err(|e| e.to_string())?;
            if pod_ready(&pod) {
                Ok(())
            } else {
                Err(describe(&[pod]))
            }
        })
        .await;
    eprintln!(
        "scheduler {leader} killed; the new pod Running {:?} later",
        killed.elapsed()
    );
    let holder = cluster.lease_holder("kube-scheduler").await.expect("holder");
    assert!(
        holder.starts_with(&format!("{other}_")),
        "kube-scheduler held by {holder}"
    );

    // The controller manager leader dies; scaling still works, through the other replica.
    let holder = cluster.lease_holder("kube-controller-manager").await.expect("holder");
    let (leader, other) = if holder.starts_with("cm-a_") {
        ("cm-a", "cm-b")
    } else {
        ("cm-b", "cm-a")
    };
    cluster.kill_9(leader);
    let killed = Instant::now();
    cluster
        .deployments()
        .patch_scale("web", &Patch::Merge(json!({"spec": {"replicas": 4}})))
        .await
        .expect("scale");
    cluster.wait_rollout("web", 4, limit).await;
    eprintln!(
        "controller manager {leader} killed; scaled to 4 {:?} later",
        killed.elapsed()
    );
    let holder = cluster.lease_holder("kube-controller-manager").await.expect("holder");
    assert!(
        holder.starts_with(&format!("{other}_")),
        "kube-controller-manager held by {holder}"
    );
}

/// One agent process with 100 hollow nodes runs a Deployment of 1,000 pods.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_hollow_nodes_run_a_thousand_pods() {
    const NODES: usize = 100;
    const REPLICAS: usize = 1_000;
    let cluster = Cluster::start(CALM).await;
    cluster.start_scheduler("scheduler");
    cluster.start_controller("controller");
    cluster.start_agent("agents", "hollow", NODES, &[]);
    let started = Instant::now();
    cluster.wait_nodes_ready(NODES, Duration::from_secs(60)).await;
    eprintln!(
        "{NODES} hollow nodes Ready {:?} after starting the agent process",
        started.elapsed()
    );

    let started = Instant::now();
    cluster
        .deployments()
        .create(&deployment("big", REPLICAS as i32, "hollow/app"))
        .await
        .expect("create deployment");
    let pods = cluster.wait_rollout("big", REPLICAS, Duration::from_secs(120)).await;
    let took = started.elapsed();
    let nodes: BTreeSet<&str> = pods.iter().map(node_of).collect();
    eprintln!(
        "{REPLICAS} pods Running on {} hollow nodes {took:?} after creating the Deployment",
        nodes.len()
    );
    assert!(pods.iter().all(|p| node_of(p).starts_with("hollow-")));
}
