//! The StatefulSet controller (with the volume controller binding its claims) on hollow nodes:
//! ordered creation, stable identity, claims kept across scale-down, rolling updates with a
//! partition, OnDelete, Parallel, and `kubectl rollout status` with the real kubectl.

use kubelab_api::apps::StatefulSet;
use kubelab_api::core::{PersistentVolumeClaim, Pod};
use kubelab_client::{Api, Client, DeleteParams, Patch};
use kubelab_controller::statefulset::identity::{POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL};
use kubelab_controller::statefulset::rollout_complete_for_kubectl;
use serde_json::{json, Value};

use crate::common::*;

/// A cluster of `nodes` hollow nodes with the StatefulSet and volume controllers.
async fn sts_cluster(nodes: usize) -> Cluster {
    let mut cluster = cluster(nodes, false).await;
    let mut config = manager_config("test-manager");
    config.controllers = vec!["statefulset".into(), "persistentvolume-binder".into()];
    cluster.manager = Some(spawn_manager(&cluster.client, config));
    cluster
}

fn sets(client: &Client) -> Api<StatefulSet> {
    Api::namespaced(client.clone(), "default")
}

fn claims(client: &Client) -> Api<PersistentVolumeClaim> {
    Api::namespaced(client.clone(), "default")
}

/// A StatefulSet `name` of `replicas` pods with a `data` claim template, `extra` merged into its spec.
fn stateful_set(name: &str, replicas: i32, image: &str, extra_spec: Value) -> StatefulSet {
    let mut object = json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [{"name": "app", "image": image}]},
            },
            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
        },
    });
    merge(&mut object["spec"], extra_spec);
    serde_json::from_value(object).expect("statefulset")
}

/// Waits until kubectl would call the rollout complete and exactly the pods `name-0..replicas-1`
/// exist, running and ready; returns them by ordinal.
async fn rolled_out(client: &Client, name: &str, replicas: usize) -> Vec<Pod> {
    rolled_out_within(client, name, replicas, LIMIT - std::time::Duration::from_secs(2)).await
}

/// [`rolled_out`] with its own deadline. Pods whose claims are created a moment before them can
/// take longer: the node agent backs off after a mount of a not-yet-bound claim fails.
async fn rolled_out_within(client: &Client, name: &str, replicas: usize, limit: std::time::Duration) -> Vec<Pod> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(50));
    loop {
        ticker.tick().await;
        if let Some(pods) = rollout_state(client, name, replicas).await {
            return pods;
        }
        if tokio::time::Instant::now() > deadline {
            break;
        }
    }
    let status = sets(client).get(name).await.ok().and_then(|s| s.status);
    let pods: Vec<String> = live_pods(client, name)
        .await
        .iter()
        .map(|p| {
            format!(
                "{} {} ready={} rev={}",
                p.metadata.name(),
                image(p),
                is_ready(p),
                revision(p)
            )
        })
        .collect();
    let mounts: Vec<String> = events(client, "FailedMount")
        .await
        .into_iter()
        .filter_map(|e| e.message)
        .collect();
    panic!(
        "timed out after {limit:?} waiting for statefulset {name} to roll out: status {status:?}, pods {pods:?}, \
         FailedMount events {mounts:?}"
    );
}

/// The pods `name-0..replicas-1`, if kubectl would call the rollout complete and they are
/// exactly those, running and ready.
async fn rollout_state(client: &Client, name: &str, replicas: usize) -> Option<Vec<Pod>> {
    let set = sets(client).get(name).await.ok()?;
    if !rollout_complete_for_kubectl(&set) {
        return None;
    }
    let mut all = live_pods(client, name).await;
    all.sort_by_key(|p| {
        p.metadata
            .labels
            .get(POD_INDEX_LABEL)
            .and_then(|i| i.parse::<i32>().ok())
    });
    let names: Vec<String> = all.iter().map(|p| p.metadata.name().to_string()).collect();
    let expected: Vec<String> = (0..replicas).map(|i| format!("{name}-{i}")).collect();
    (names == expected && all.iter().all(|p| is_running(p) && is_ready(p))).then_some(all)
}

fn image(pod: &Pod) -> &str {
    pod.spec.containers[0].image.as_deref().unwrap_or("")
}

fn revision(pod: &Pod) -> &str {
    pod.metadata
        .labels
        .get(REVISION_LABEL)
        .map(String::as_str)
        .unwrap_or("")
}

fn ready_since(pod: &Pod) -> chrono::DateTime<chrono::Utc> {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready" && c.status == "True"))
        .and_then(|c| c.last_transition_time)
        .map(|t| t.0)
        .expect("ready pod has a Ready condition with a time")
}

fn created(pod: &Pod) -> chrono::DateTime<chrono::Utc> {
    pod.metadata.creation_timestamp.expect("creationTimestamp").0
}

async fn claim_uid(client: &Client, name: &str) -> String {
    eventually(&format!("claim {name} bound"), || async {
        let claim = claims(client).get(name).await.ok()?;
        let bound = claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
        bound.then(|| claim.metadata.uid.clone().unwrap_or_default())
    })
    .await
}

#[tokio::test]
async fn pods_come_in_order_with_stable_names_and_their_own_claims() {
    let cluster = sts_cluster(2).await;
    let client = &cluster.client;
    sets(client)
        .create(&stateful_set("web", 3, "nginx:1", json!({})))
        .await
        .expect("create statefulset");
    let slow = std::time::Duration::from_secs(120);
    let running = rolled_out_within(client, "web", 3, slow).await;

    // OrderedReady: each pod was created only once the one before it was ready.
    for pair in running.windows(2) {
        assert!(
            created(&pair[1]) >= ready_since(&pair[0]),
            "{} created before {} was ready",
            pair[1].metadata.name(),
            pair[0].metadata.name()
        );
    }
    let set = sets(client).get("web").await.expect("set");
    for (i, pod) in running.iter().enumerate() {
        let name = format!("web-{i}");
        assert_eq!(pod.spec.hostname.as_deref(), Some(name.as_str()));
        assert_eq!(pod.spec.subdomain.as_deref(), Some("web"));
        assert_eq!(pod.metadata.labels[POD_NAME_LABEL], name);
        assert_eq!(pod.metadata.labels[POD_INDEX_LABEL], i.to_string());
        let owner = pod.metadata.controller_ref().expect("owner");
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("StatefulSet", set.metadata.uid.as_deref().unwrap())
        );
        let volume = pod.spec.volumes.iter().find(|v| v.name == "data").expect("data volume");
        assert_eq!(
            volume.persistent_volume_claim.as_ref().unwrap().claim_name,
            format!("data-web-{i}")
        );
    }
    let status = set.status.expect("status");
    assert_eq!(
        (
            status.replicas,
            status.ready_replicas,
            status.current_replicas,
            status.updated_replicas
        ),
        (3, 3, 3, 3)
    );
    assert_eq!(status.current_revision, status.update_revision);
    assert_eq!(status.current_revision.as_deref(), Some(revision(&running[0])));
    let uids: Vec<String> = {
        let mut uids = Vec::new();
        for i in 0..3 {
            uids.push(claim_uid(client, &format!("data-web-{i}")).await);
        }
        uids
    };
    let created_events = events(client, "SuccessfulCreate").await;
    assert!(
        created_events
            .iter()
            .any(|e| e.message.as_deref() == Some("create Pod web-0 in StatefulSet web successful")),
        "Kubernetes' event message"
    );

    // A deleted pod comes back with the same name and the same claim.
    let old_uid = running[1].metadata.uid.clone();
    pods(client)
        .delete("web-1", &DeleteParams::default())
        .await
        .expect("delete web-1");
    let again = eventually("web-1 re-created", || async {
        let pod = pods(client).get("web-1").await.ok()?;
        (pod.metadata.uid != old_uid && is_ready(&pod)).then_some(pod)
    })
    .await;
    assert_eq!(again.spec.hostname.as_deref(), Some("web-1"));

    // Scale down: the claims stay; scale up: the same claims come back into use.
    sets(client)
        .patch("web", &Patch::Merge(json!({"spec": {"replicas": 1}})))
        .await
        .expect("scale down");
    rolled_out_within(client, "web", 1, slow).await;
    for (i, uid) in uids.iter().enumerate() {
        let claim = claims(client)
            .get(&format!("data-web-{i}"))
            .await
            .expect("claims are kept");
        assert_eq!(claim.metadata.uid.as_deref(), Some(uid.as_str()));
    }
    sets(client)
        .patch("web", &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await
        .expect("scale up");
    rolled_out_within(client, "web", 3, slow).await;
    for (i, uid) in uids.iter().enumerate() {
        assert_eq!(
            &claim_uid(client, &format!("data-web-{i}")).await,
            uid,
            "data-web-{i} is the same claim"
        );
    }
}

#[tokio::test]
async fn ordered_scale_down_removes_the_highest_ordinal_first() {
    let cluster = sts_cluster(2).await;
    let client = &cluster.client;
    sets(client)
        .create(&stateful_set("down", 3, "nginx:1", json!({"volumeClaimTemplates": []})))
        .await
        .expect("create");
    rolled_out(client, "down", 3).await;
    sets(client)
        .patch("down", &Patch::Merge(json!({"spec": {"replicas": 1}})))
        .await
        .expect("scale down");
    rolled_out(client, "down", 1).await;
    // Events are recorded in the background: the second may land just after the status.
    let deletions: Vec<String> = eventually("both SuccessfulDelete events", || async {
        let mut events = events(client, "SuccessfulDelete").await;
        events.sort_by_key(|e| e.event_time.map(|t| t.0));
        let messages: Vec<String> = events.into_iter().filter_map(|e| e.message).collect();
        (messages.len() >= 2).then_some(messages)
    })
    .await;
    assert_eq!(
        deletions,
        [
            "delete Pod down-2 in StatefulSet down successful",
            "delete Pod down-1 in StatefulSet down successful"
        ]
    );
}

#[tokio::test]
async fn rolling_update_goes_from_the_top_and_honours_the_partition() {
    let cluster = sts_cluster(2).await;
    let client = &cluster.client;
    let partition = json!({"volumeClaimTemplates": [],
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}});
    sets(client)
        .create(&stateful_set("roll", 3, "nginx:1", partition))
        .await
        .expect("create");
    let before = rolled_out(client, "roll", 3).await;
    let old_revision = revision(&before[0]).to_string();

    sets(client)
        .patch(
            "roll",
            &Patch::Merge(
                json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}}),
            ),
        )
        .await
        .expect("new image");
    let canary = eventually("roll-2 updated, roll-0 and roll-1 not", || async {
        let pods = rolled_out(client, "roll", 3).await;
        let images: Vec<&str> = pods.iter().map(image).collect();
        (images == ["nginx:1", "nginx:1", "nginx:2"]).then_some(pods)
    })
    .await;
    let set = sets(client).get("roll").await.expect("set");
    let status = set.status.clone().expect("status");
    assert_eq!(
        status.current_revision.as_deref(),
        Some(old_revision.as_str()),
        "not every pod is updated"
    );
    assert_eq!(status.update_revision.as_deref(), Some(revision(&canary[2])));
    assert_eq!((status.current_replicas, status.updated_replicas), (2, 1));

    // A pod below the partition that dies comes back at the current (old) revision.
    pods(client)
        .delete("roll-0", &DeleteParams::default())
        .await
        .expect("delete roll-0");
    let back = eventually("roll-0 back", || async {
        let pod = pods(client).get("roll-0").await.ok()?;
        (pod.metadata.uid != before[0].metadata.uid && is_ready(&pod)).then_some(pod)
    })
    .await;
    assert_eq!((image(&back), revision(&back)), ("nginx:1", old_revision.as_str()));

    // Partition 0: the rest are updated, highest ordinal first, and the rollout completes.
    sets(client)
        .patch(
            "roll",
            &Patch::Merge(json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}})),
        )
        .await
        .expect("partition 0");
    let after = eventually("every pod at the new revision", || async {
        let set = sets(client).get("roll").await.ok()?;
        let status = set.status.clone()?;
        let pods = rolled_out(client, "roll", 3).await;
        (pods.iter().all(|p| image(p) == "nginx:2") && status.current_revision == status.update_revision)
            .then_some(pods)
    })
    .await;
    // Reverse ordinal order: each pod was replaced only once the one above it was ready.
    assert!(
        created(&after[1]) >= ready_since(&after[2]),
        "roll-1 updated before roll-2 was ready"
    );
    assert!(
        created(&after[0]) >= ready_since(&after[1]),
        "roll-0 updated before roll-1 was ready"
    );
}

#[tokio::test]
async fn on_delete_updates_only_the_pods_the_user_deletes() {
    let cluster = sts_cluster(1).await;
    let client = &cluster.client;
    sets(client)
        .create(&stateful_set(
            "od",
            2,
            "nginx:1",
            json!({"volumeClaimTemplates": [], "updateStrategy": {"type": "OnDelete"}}),
        ))
        .await
        .expect("create");
    rolled_out(client, "od", 2).await;
    let set = sets(client)
        .patch(
            "od",
            &Patch::Merge(
                json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}}),
            ),
        )
        .await
        .expect("new image");
    let generation = set.metadata.generation;
    eventually("the new revision observed", || async {
        let set = sets(client).get("od").await.ok()?;
        let status = set.status?;
        (Some(status.observed_generation) == generation && status.update_revision != status.current_revision)
            .then_some(())
    })
    .await;
    let images: Vec<String> = live_pods(client, "od")
        .await
        .iter()
        .map(|p| image(p).to_string())
        .collect();
    assert_eq!(
        images,
        ["nginx:1", "nginx:1"],
        "OnDelete: the controller deletes nothing"
    );
    pods(client)
        .delete("od-1", &DeleteParams::default())
        .await
        .expect("delete od-1");
    eventually("od-1 back with the new image", || async {
        let pod = pods(client).get("od-1").await.ok()?;
        (image(&pod) == "nginx:2" && is_ready(&pod)).then_some(())
    })
    .await;
    assert_eq!(image(&pods(client).get("od-0").await.expect("od-0")), "nginx:1");
}

#[tokio::test]
async fn parallel_creates_every_pod_at_once_ordered_ready_one() {
    // No nodes: pods stay Pending, never Ready.
    let cluster = sts_cluster(0).await;
    let client = &cluster.client;
    let no_claims = json!({"volumeClaimTemplates": []});
    let mut parallel = no_claims.clone();
    parallel["podManagementPolicy"] = json!("Parallel");
    sets(client)
        .create(&stateful_set("par", 3, "nginx:1", parallel))
        .await
        .expect("parallel");
    sets(client)
        .create(&stateful_set("ord", 3, "nginx:1", no_claims))
        .await
        .expect("ordered");
    eventually("all 3 parallel pods created while none is ready", || async {
        (live_pods(client, "par").await.len() == 3).then_some(())
    })
    .await;
    // The ordered set reported on a pass that saw web-0 and stopped there.
    eventually("the ordered set to report 1 pod", || async {
        let status = sets(client).get("ord").await.ok()?.status?;
        (status.observed_generation == 1 && status.replicas == 1).then_some(())
    })
    .await;
    let names: Vec<String> = live_pods(client, "ord")
        .await
        .iter()
        .map(|p| p.metadata.name().to_string())
        .collect();
    assert_eq!(names, ["ord-0"], "OrderedReady waits for ord-0 to be ready");
}

#[tokio::test]
async fn kubectl_rollout_status_reports_the_statefulset_complete() {
    let Some(kubectl) = find_kubectl() else {
        eprintln!("SKIPPED: kubectl is not on PATH; kubectl rollout status was not checked");
        return;
    };
    let cluster = sts_cluster(1).await;
    let client = &cluster.client;
    sets(client)
        .create(&stateful_set("ks", 2, "nginx:1", json!({})))
        .await
        .expect("create");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    kubelab_client::write_kubeconfig(&kubeconfig, "sts-test", client.server()).expect("kubeconfig");
    let cache = dir.path().join("cache");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(&cache)
            .args(["rollout", "status", "statefulset/ks", "--timeout=60s"])
            .output()
    })
    .await
    .expect("join")
    .expect("run kubectl");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "kubectl failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("partitioned roll out complete: 2 new pods have been updated..."),
        "{stdout}"
    );
}

fn find_kubectl() -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| std::path::Path::new(dir).join("kubectl"))
        .find(|p| p.is_file())
}
