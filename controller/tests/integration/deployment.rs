//! Deployments end to end: spread, self-healing, scaling, rolling update, rollback, pause,
//! Recreate — with the real scheduler and hollow agents running the pods.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use kubelab_api::apps::{Deployment, ReplicaSet};
use kubelab_api::core::Pod;
use kubelab_client::{watcher, DeleteParams, ListParams, Patch, Store};
use kubelab_controller::deployment::hash::POD_TEMPLATE_HASH_LABEL;
use kubelab_controller::deployment::rollback::{revision, REVISION_ANNOTATION};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::common::*;

async fn owned_replica_sets(client: &kubelab_client::Client, d: &Deployment) -> Vec<ReplicaSet> {
    replica_sets(client)
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|rs| rs.metadata.controller_ref().map(|r| &r.uid) == d.metadata.uid.as_ref())
        .collect()
}

fn image(rs: &ReplicaSet) -> &str {
    rs.spec.template.spec.containers[0].image.as_deref().unwrap_or("")
}

fn spec_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.replicas.unwrap_or(1)
}

/// Watches the pods of `app` and, after every event, records the fewest ready pods not being
/// deleted: the availability a rolling update must never drop below.
struct MinReady {
    min: Arc<AtomicUsize>,
    events: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for MinReady {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn watch_min_ready(client: &kubelab_client::Client, app: &str) -> MinReady {
    let min = Arc::new(AtomicUsize::new(usize::MAX));
    let events = Arc::new(AtomicUsize::new(0));
    let store: Store<Pod> = Store::new();
    let mut stream = watcher(pods(client), ListParams::default().labels(&format!("app={app}")));
    let (m, e) = (min.clone(), events.clone());
    let task = tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            let Ok(event) = item else { continue };
            store.apply(event);
            let ready = store
                .list()
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none() && is_ready(p))
                .count();
            m.fetch_min(ready, Ordering::SeqCst);
            e.fetch_add(1, Ordering::SeqCst);
        }
    });
    MinReady { min, events, task }
}

#[tokio::test]
async fn three_replicas_spread_over_three_nodes_and_heal() {
    let cluster = cluster(3, true).await;
    let client = &cluster.client;
    deployments(client)
        .create(&deployment("web", 3, "nginx:1", json!({})))
        .await
        .expect("create");
    let d = rolled_out(client, "web", 3).await;
    let status = d.status.clone().expect("status");
    assert_eq!(
        (
            status.replicas,
            status.updated_replicas,
            status.ready_replicas,
            status.available_replicas
        ),
        (3, 3, 3, 3)
    );
    assert_eq!(status.unavailable_replicas, 0);
    assert_eq!(status.observed_generation, d.metadata.generation.unwrap_or(0));
    let conditions: HashMap<&str, (&str, Option<&str>)> = status
        .conditions
        .iter()
        .map(|c| (c.type_.as_str(), (c.status.as_str(), c.reason.as_deref())))
        .collect();
    assert_eq!(
        conditions.get("Available"),
        Some(&("True", Some("MinimumReplicasAvailable")))
    );
    eventually("Progressing NewReplicaSetAvailable", || async {
        let d = deployments(client).get("web").await.ok()?;
        d.status?
            .conditions
            .iter()
            .any(|c| c.type_ == "Progressing" && c.reason.as_deref() == Some("NewReplicaSetAvailable"))
            .then_some(())
    })
    .await;
    assert_eq!(
        d.metadata.annotations.get(REVISION_ANNOTATION).map(String::as_str),
        Some("1")
    );

    let nodes: BTreeSet<String> = live_pods(client, "web")
        .await
        .iter()
        .filter_map(|p| p.spec.node_name.clone())
        .collect();
    assert_eq!(nodes.len(), 3, "one pod per node: {nodes:?}");

    let sets = owned_replica_sets(client, &d).await;
    assert_eq!(sets.len(), 1);
    let rs = &sets[0];
    let hash = rs
        .metadata
        .labels
        .get(POD_TEMPLATE_HASH_LABEL)
        .cloned()
        .expect("hash label");
    assert_eq!(rs.metadata.name(), format!("web-{hash}"));
    assert_eq!(rs.spec.selector.match_labels.get(POD_TEMPLATE_HASH_LABEL), Some(&hash));
    assert_eq!(revision(rs), 1);
    let scaled = events(client, "ScalingReplicaSet").await;
    let expected = format!("Scaled up replica set web-{hash} from 0 to 3");
    assert!(
        scaled.iter().any(|e| e.message.as_deref() == Some(expected.as_str())),
        "event {expected:?} in {:?}",
        scaled.iter().map(|e| e.message.clone()).collect::<Vec<_>>()
    );

    // A deleted pod comes back.
    let victim = live_pods(client, "web").await.remove(0);
    pods(client)
        .delete(victim.metadata.name(), &DeleteParams::default())
        .await
        .expect("delete pod");
    eventually("a replacement", || async {
        let all = live_pods(client, "web").await;
        let ok = all.len() == 3
            && all
                .iter()
                .all(|p| p.metadata.name() != victim.metadata.name() && is_ready(p));
        ok.then_some(())
    })
    .await;
    rolled_out(client, "web", 3).await;

    // Scale up, then down.
    deployments(client)
        .patch("web", &Patch::Merge(json!({"spec": {"replicas": 5}})))
        .await
        .expect("scale up");
    rolled_out(client, "web", 5).await;
    deployments(client)
        .patch("web", &Patch::Merge(json!({"spec": {"replicas": 2}})))
        .await
        .expect("scale down");
    let d = rolled_out(client, "web", 2).await;
    assert_eq!(
        owned_replica_sets(client, &d).await.len(),
        1,
        "scaling makes no new ReplicaSet"
    );
}

#[tokio::test]
async fn rolling_update_keeps_availability_and_rollback_reuses_the_old_replica_set() {
    let cluster = cluster(3, true).await;
    let client = &cluster.client;
    let strategy = json!({"strategy": {"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}});
    deployments(client)
        .create(&deployment("roll", 4, "nginx:1", strategy))
        .await
        .expect("create");
    let d = rolled_out(client, "roll", 4).await;
    let first = owned_replica_sets(client, &d).await.remove(0);

    let watch = watch_min_ready(client, "roll");
    eventually("the watch to see the pods", || async {
        (watch.events.load(Ordering::SeqCst) >= 1).then_some(())
    })
    .await;
    deployments(client)
        .patch(
            "roll",
            &Patch::Strategic(
                json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}}),
            ),
        )
        .await
        .expect("update image");
    let d = eventually("the update to be observed and complete", || async {
        let d = rolled_out(client, "roll", 4).await;
        let sets = owned_replica_sets(client, &d).await;
        let done = sets.len() == 2
            && sets.iter().all(|rs| {
                if image(rs) == "nginx:2" {
                    spec_replicas(rs) == 4
                } else {
                    spec_replicas(rs) == 0
                }
            });
        done.then_some(d)
    })
    .await;
    let min = watch.min.load(Ordering::SeqCst);
    assert!(
        min >= 3,
        "availability dropped to {min} < replicas - maxUnavailable = 3"
    );
    drop(watch);
    assert_eq!(
        d.metadata.annotations.get(REVISION_ANNOTATION).map(String::as_str),
        Some("2")
    );
    let old = replica_sets(client).get(first.metadata.name()).await.expect("old rs");
    assert_eq!(old.status.map(|s| s.replicas).unwrap_or(0), 0);

    // Roll back as `kubectl rollout undo` does: put the old template back.
    let mut template = first.spec.template.clone();
    template.metadata.labels.remove(POD_TEMPLATE_HASH_LABEL);
    deployments(client)
        .patch("roll", &Patch::Merge(json!({"spec": {"template": template}})))
        .await
        .expect("undo");
    let d = eventually("the rollback to complete on the old ReplicaSet", || async {
        let d = rolled_out(client, "roll", 4).await;
        let rs = replica_sets(client).get(first.metadata.name()).await.ok()?;
        (spec_replicas(&rs) == 4 && revision(&rs) == 3).then_some(d)
    })
    .await;
    let sets = owned_replica_sets(client, &d).await;
    assert_eq!(
        sets.len(),
        2,
        "no third ReplicaSet: {:?}",
        sets.iter().map(|r| r.metadata.name()).collect::<Vec<_>>()
    );
    assert_eq!(
        d.metadata.annotations.get(REVISION_ANNOTATION).map(String::as_str),
        Some("3")
    );
    let images: BTreeSet<String> = live_pods(client, "roll")
        .await
        .iter()
        .filter_map(|p| p.spec.containers[0].image.clone())
        .collect();
    assert_eq!(images, BTreeSet::from(["nginx:1".to_string()]));
}

#[tokio::test]
async fn paused_deployments_scale_but_do_not_roll_out() {
    let cluster = cluster(2, true).await;
    let client = &cluster.client;
    deployments(client)
        .create(&deployment("paused", 2, "nginx:1", json!({})))
        .await
        .expect("create");
    rolled_out(client, "paused", 2).await;
    deployments(client)
        .patch("paused", &Patch::Merge(json!({"spec": {"paused": true}})))
        .await
        .expect("pause");
    deployments(client)
        .patch(
            "paused",
            &Patch::Strategic(json!({"spec": {"replicas": 3,
                "template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}})),
        )
        .await
        .expect("update while paused");
    let d = eventually("the paused deployment to be observed and scaled", || async {
        let d = deployments(client).get("paused").await.ok()?;
        let status = d.status.clone()?;
        let paused = status
            .conditions
            .iter()
            .any(|c| c.type_ == "Progressing" && c.reason.as_deref() == Some("DeploymentPaused"));
        let observed = status.observed_generation >= d.metadata.generation.unwrap_or(0);
        let running = live_pods(client, "paused").await.iter().filter(|p| is_ready(p)).count() == 3;
        (paused && observed && running).then_some(d)
    })
    .await;
    let sets = owned_replica_sets(client, &d).await;
    assert_eq!(sets.len(), 1, "no rollout while paused");
    assert_eq!(image(&sets[0]), "nginx:1");

    deployments(client)
        .patch("paused", &Patch::Merge(json!({"spec": {"paused": false}})))
        .await
        .expect("resume");
    eventually("the rollout after resume", || async {
        let d = rolled_out(client, "paused", 3).await;
        let images: BTreeSet<String> = live_pods(client, "paused")
            .await
            .iter()
            .filter_map(|p| p.spec.containers[0].image.clone())
            .collect();
        let sets = owned_replica_sets(client, &d).await;
        (images == BTreeSet::from(["nginx:2".to_string()]) && sets.len() == 2).then_some(())
    })
    .await;
}

#[tokio::test]
async fn recreate_stops_every_old_pod_before_starting_new_ones() {
    let cluster = cluster(2, true).await;
    let client = &cluster.client;
    deployments(client)
        .create(&deployment(
            "recreate",
            2,
            "nginx:1",
            json!({"strategy": {"type": "Recreate"}}),
        ))
        .await
        .expect("create");
    rolled_out(client, "recreate", 2).await;

    // Watch: a pod of the new version must never exist while one of the old does.
    let overlap = Arc::new(AtomicBool::new(false));
    let store: Store<Pod> = Store::new();
    let mut stream = watcher(pods(client), ListParams::default().labels("app=recreate"));
    let seen = overlap.clone();
    let watch = tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            let Ok(event) = item else { continue };
            store.apply(event);
            let images: BTreeSet<String> = store
                .list()
                .iter()
                .filter_map(|p| p.spec.containers[0].image.clone())
                .collect();
            if images.len() > 1 {
                seen.store(true, Ordering::SeqCst);
            }
        }
    });
    deployments(client)
        .patch(
            "recreate",
            &Patch::Strategic(
                json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}}),
            ),
        )
        .await
        .expect("update");
    eventually("the new version running", || async {
        let d = rolled_out(client, "recreate", 2).await;
        let images: BTreeSet<String> = live_pods(client, "recreate")
            .await
            .iter()
            .filter_map(|p| p.spec.containers[0].image.clone())
            .collect();
        (images == BTreeSet::from(["nginx:2".to_string()]) && owned_replica_sets(client, &d).await.len() == 2)
            .then_some(())
    })
    .await;
    watch.abort();
    assert!(
        !overlap.load(Ordering::SeqCst),
        "old and new pods existed at the same time"
    );
}
