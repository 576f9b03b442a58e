//! A StatefulSet on real Docker, driven by the real `kubectl`, as `examples/statefulset/README.md`
//! walks through it: `kubelab up`, then `examples/statefulset/web.yaml` (three `kubelab/demo`
//! web pods, a headless Service `web`, a claim template `data`).
//!
//! What it checks, in order:
//! - the pods are created one at a time: `web-1` appears only after `web-0` is Ready, `web-2`
//!   only after `web-1` is (seen in the order of a watch's events, which is the order of the
//!   changes in the store, not in wall-clock time);
//! - from inside each pod, every other pod answers at its DNS name `web-N.web` (and the full
//!   `web-N.web.default.svc.cluster.local`): the cluster DNS that `kubelab up` runs, answering
//!   from the headless Service's Endpoints (Docker's embedded DNS forwards to it);
//! - each pod has its own claim, `data-web-0` to `data-web-2`, each bound to its own volume;
//! - a file written in `web-1`'s volume is there again after `web-1` is deleted: it comes back
//!   with the same name and the same claim; `web-0`'s volume never had it;
//! - a rolling update (an env var changed with `kubectl set env`) replaces the pods from the
//!   highest ordinal down, each only once the one replaced before it is Ready, and `kubectl
//!   rollout status sts/web` reports it complete.
//!
//! kubectl caches discovery on disk, so it gets a temporary `--cache-dir`. Without kubectl or
//! Docker the test prints a loud `SKIPPED:` line and passes, unless `KUBELAB_REQUIRE_DOCKER=1`
//! (set by CI) makes that a failure. The cluster guard runs `kubelab down --purge`, which removes
//! the cluster's containers, network and volumes, also when an assertion fails.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::cluster::{skip_or_fail, UpCluster};
use common::docker::tool_or_skip;
use common::kubectl::Kubectl;
use common::watch::follow;
use common::{eventually_ok, AbortOnDrop};
use kubelab_api::core::{PersistentVolumeClaim, Pod};
use kubelab_client::{Api, Client, ListParams};

const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/statefulset/web.yaml");
const SELECTOR: &str = "app=web-sts";

/// `kubectl exec POD -- kubelab-demo ARGS...`, which must succeed; returns stdout.
fn demo(kubectl: &Kubectl, pod: &str, args: &[&str]) -> String {
    let mut all = vec!["exec", pod, "--", "kubelab-demo"];
    all.extend_from_slice(args);
    kubectl.ok(&all)
}

/// A pod as one watch event showed it.
#[derive(Clone, Debug)]
struct Seen {
    name: String,
    uid: String,
    ready: bool,
    /// Being deleted (a deletion timestamp), or gone (a DELETED event).
    leaving: bool,
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn seen(pod: &Pod, deleted: bool) -> Seen {
    Seen {
        name: pod.metadata.name.clone().unwrap_or_default(),
        uid: pod.metadata.uid.clone().unwrap_or_default(),
        ready: is_ready(pod),
        leaving: deleted || pod.metadata.deletion_timestamp.is_some(),
    }
}

/// Every change to the set's pods, in the order the API server made them (see
/// `common::watch::follow`). The watch stops when this is dropped.
struct History {
    log: Arc<Mutex<Vec<Seen>>>,
    _watch: AbortOnDrop,
}

impl History {
    async fn start(client: Client) -> History {
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let pods: Api<Pod> = Api::namespaced(client, "default");
        let lp = ListParams::default().labels(SELECTOR);
        let listed = pods.list(&lp).await.expect("listing the pods");
        assert!(listed.items.is_empty(), "pods exist before the StatefulSet");
        let revision = listed.metadata.resource_version.clone().unwrap_or_default();
        let shared = log.clone();
        let watch = follow(pods, lp, revision, move |pod, deleted| {
            shared.lock().expect("the history").push(seen(&pod, deleted));
        });
        History { log, _watch: watch }
    }

    fn events(&self) -> Vec<Seen> {
        self.log.lock().expect("the history").clone()
    }

    fn len(&self) -> usize {
        self.log.lock().expect("the history").len()
    }

    /// The index of the first event from `from` on that matches.
    fn first(&self, from: usize, what: &str, matches: impl Fn(&Seen) -> bool) -> usize {
        let events = self.events();
        (from..events.len())
            .find(|i| matches(&events[*i]))
            .unwrap_or_else(|| panic!("no event shows {what}; the events:\n{events:#?}"))
    }
}

/// The uid of pod `name` once it is Ready and is not the pod `not_uid` (a deleted one).
async fn ready_pod(client: &Client, name: &str, not_uid: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    eventually_ok(
        Duration::from_secs(120),
        &format!("a new {name} to be Ready"),
        || async {
            let pod = pods
                .get_opt(name)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("no such pod yet")?;
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            if uid == not_uid || pod.metadata.deletion_timestamp.is_some() {
                return Err("still the old pod".to_string());
            }
            if !is_ready(&pod) {
                return Err(format!("not Ready: {:?}", pod.status));
            }
            Ok(uid)
        },
    )
    .await
}

async fn uid_of(client: &Client, name: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod = pods.get(name).await.expect("the pod");
    pod.metadata.uid.expect("a uid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statefulset_keeps_names_order_dns_and_storage_on_docker() {
    if !tool_or_skip("kubectl") {
        return;
    }
    if let Err(e) = kubelab_agent::runtime::docker::connect_docker().await {
        return skip_or_fail(&format!("Docker is unreachable ({e})"));
    }
    let cluster = UpCluster::new("sts");
    let up = cluster.up(&["--runtime", "docker", "--nodes", "2"]);
    assert!(up.status.success(), "kubelab up failed");
    let client = cluster.client();
    let kubectl = Kubectl::new(cluster.kubeconfig());
    let history = History::start(client.clone()).await;

    // Create, in order: each pod only once the one before it is Ready.
    let applied = kubectl.ok(&["apply", "-f", MANIFEST]);
    assert!(applied.contains("statefulset.apps/web created"), "{applied}");
    assert!(applied.contains("service/web created"), "{applied}");
    let rolled = kubectl.ok(&["rollout", "status", "sts/web", "--timeout=180s"]);
    assert!(rolled.contains("roll out complete"), "{rolled}");
    for (before, after) in [("web-0", "web-1"), ("web-1", "web-2")] {
        let ready = history.first(0, &format!("{before} Ready"), |s| s.name == before && s.ready);
        let created = history.first(0, &format!("{after} created"), |s| s.name == after);
        assert!(
            created > ready,
            "{after} was created (event {created}) before {before} was Ready (event {ready}):\n{:#?}",
            history.events()
        );
    }
    let unexpected: Vec<String> = history
        .events()
        .into_iter()
        .map(|s| s.name)
        .filter(|n| !["web-0", "web-1", "web-2"].contains(&n.as_str()))
        .collect();
    assert!(unexpected.is_empty(), "pods beyond web-0..2: {unexpected:?}");

    // DNS: from each pod, each other pod by its stable name under the headless Service. The
    // cluster DNS learns a pod's name from the Endpoints, a moment after the pod is Ready (and
    // the DNS container itself may still be starting): ask until it answers.
    let answers = |from: usize, url: &str, to: usize| {
        let exec = ["exec", &format!("web-{from}"), "--", "kubelab-demo", "get", url].map(String::from);
        let exec: Vec<&str> = exec.iter().map(String::as_str).collect();
        let expected = format!("pod:       web-{to}\n");
        kubectl.until(&exec, Duration::from_secs(30), |out| out.contains(&expected));
    };
    for from in 0..3 {
        for to in (0..3).filter(|to| *to != from) {
            answers(from, &format!("http://web-{to}.web:8080/"), to);
        }
    }
    answers(0, "http://web-2.web.default.svc.cluster.local:8080/", 2);

    // A claim of its own for each pod, each bound to its own volume.
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut volumes = Vec::new();
    for ordinal in 0..3 {
        let name = format!("data-web-{ordinal}");
        let claim = claims.get(&name).await.expect("the pod's claim");
        let phase = claim.status.as_ref().and_then(|s| s.phase.clone());
        assert_eq!(phase.as_deref(), Some("Bound"), "{name}: {claim:?}");
        volumes.push(claim.spec.volume_name.clone().expect("a bound volume"));
        let pod = pods.get(&format!("web-{ordinal}")).await.expect("the pod");
        let mounted: Vec<String> = pod
            .spec
            .volumes
            .iter()
            .filter_map(|v| v.persistent_volume_claim.as_ref().map(|c| c.claim_name.clone()))
            .collect();
        assert_eq!(mounted, [name], "web-{ordinal} mounts its own claim");
    }
    let mut distinct = volumes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "one volume per claim: {volumes:?}");

    // Data in web-1's volume outlives web-1.
    let marker = format!("kept by {}", cluster.name);
    demo(
        &kubectl,
        "web-1",
        &["sh", "-c", &format!("echo '{marker}' > /data/note")],
    );
    let written = demo(&kubectl, "web-1", &["sh", "-c", "cat /data/note"]);
    assert_eq!(
        written.trim(),
        marker,
        "web-1 cannot read back what it wrote: is kubelab/demo:latest built from an older kubelab-demo, \
         whose `sh` has no `>` and no `cat FILE`?"
    );
    let old_web1 = uid_of(&client, "web-1").await;
    let deleted = kubectl.ok(&["delete", "pod", "web-1"]);
    assert!(deleted.contains("pod \"web-1\" deleted"), "{deleted}");
    let new_web1 = ready_pod(&client, "web-1", &old_web1).await;
    assert_ne!(new_web1, old_web1);
    let note = demo(&kubectl, "web-1", &["sh", "-c", "cat /data/note"]);
    assert_eq!(note.trim(), marker, "the new web-1 sees the old one's file");
    let claim = claims.get("data-web-1").await.expect("web-1's claim");
    assert_eq!(claim.spec.volume_name.as_ref(), Some(&volumes[1]), "the same volume");
    let elsewhere = kubectl.run(&["exec", "web-0", "--", "kubelab-demo", "sh", "-c", "cat /data/note"]);
    assert!(
        !elsewhere.status.success(),
        "web-0's volume has web-1's file: each pod should have its own"
    );

    // A rolling update replaces the pods from the highest ordinal down, one Ready at a time.
    let mark = history.len();
    let before: Vec<(String, String)> = {
        let mut uids = Vec::new();
        for ordinal in 0..3 {
            let name = format!("web-{ordinal}");
            uids.push((name.clone(), uid_of(&client, &name).await));
        }
        uids
    };
    let changed = kubectl.ok(&["set", "env", "sts/web", "GREETING=bonjour"]);
    assert!(changed.contains("statefulset.apps/web env updated"), "{changed}");
    let rolled = kubectl.ok(&["rollout", "status", "sts/web", "--timeout=180s"]);
    assert!(
        rolled.contains("roll out complete: 3 new pods have been updated"),
        "{rolled}"
    );
    let mut replaced: Vec<(usize, String)> = before
        .iter()
        .map(|(name, uid)| {
            let at = history.first(mark, &format!("the old {name} leaving"), |s| &s.uid == uid && s.leaving);
            (at, name.clone())
        })
        .collect();
    replaced.sort();
    let order: Vec<&str> = replaced.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!(order, ["web-2", "web-1", "web-0"], "replaced in reverse ordinal order");
    for (next, done) in [("web-1", "web-2"), ("web-0", "web-1")] {
        let old_next = &before.iter().find(|(n, _)| n == next).expect("old uid").1;
        let old_done = &before.iter().find(|(n, _)| n == done).expect("old uid").1;
        let done_ready = history.first(mark, &format!("the new {done} Ready"), |s| {
            s.name == done && &s.uid != old_done && s.ready && !s.leaving
        });
        let next_leaves = history.first(mark, &format!("the old {next} leaving"), |s| {
            &s.uid == old_next && s.leaving
        });
        assert!(
            next_leaves > done_ready,
            "the old {next} was deleted (event {next_leaves}) before the new {done} was Ready (event {done_ready})"
        );
    }
    for ordinal in 0..3 {
        let env = demo(&kubectl, &format!("web-{ordinal}"), &["sh", "-c", "env"]);
        assert!(env.lines().any(|l| l == "GREETING=bonjour"), "web-{ordinal}: {env}");
    }
    let note = demo(&kubectl, "web-1", &["sh", "-c", "cat /data/note"]);
    assert_eq!(note.trim(), marker, "web-1's file survives the update too");
}
