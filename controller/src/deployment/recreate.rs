//! Recreate: stop every old pod, *then* start the new ones.
//!
//! For apps that cannot run two versions side by side (a schema migration, a singleton holding
//! a lock), at the price of downtime. The steps, one per reconcile:
//!
//! 1. scale every old ReplicaSet to 0;
//! 2. wait until their pods are really gone — not merely marked for deletion, since a
//!    terminating container may still hold the lock — which the pod informer's DELETED events
//!    tell us;
//! 3. create (or reuse) the new ReplicaSet at full size.

use std::collections::HashSet;
use std::sync::Arc;

use kubelab_api::apps::ReplicaSet;
use kubelab_api::core::Pod;

use super::rolling::plan_new_rs;
use super::{spec_replicas, DeploymentController, DeploymentError, Work};
use crate::runtime::Action;

/// Whether any pod of the old ReplicaSets may still be running: their status still counts
/// pods, or a pod they control exists and has not finished (terminating ones included).
pub fn old_pods_running(new: Option<&ReplicaSet>, old: &[ReplicaSet], pods: &[Arc<Pod>]) -> bool {
    if old.iter().any(|rs| rs.status.as_ref().is_some_and(|s| s.replicas > 0)) {
        return true;
    }
    let new_uid = new.and_then(|rs| rs.metadata.uid.as_deref());
    let old_uids: HashSet<&str> = old
        .iter()
        .filter_map(|rs| rs.metadata.uid.as_deref())
        .filter(|uid| Some(*uid) != new_uid)
        .collect();
    pods.iter().any(|pod| {
        let owned_by_old = pod
            .metadata
            .controller_ref()
            .is_some_and(|r| old_uids.contains(r.uid.as_str()));
        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or("Pending");
        owned_by_old && !matches!(phase, "Succeeded" | "Failed")
    })
}

impl DeploymentController {
    pub(crate) async fn rollout_recreate(
        &self,
        work: &mut Work,
        list: Vec<ReplicaSet>,
    ) -> Result<Action, DeploymentError> {
        let (new, mut old) = self.get_all_replica_sets(work, list, false).await?;

        let mut scaled_down = false;
        for rs in old.iter_mut().filter(|rs| spec_replicas(rs) > 0) {
            *rs = self.scale_replica_set(&work.d, rs, 0).await?;
            scaled_down = true;
        }
        if scaled_down {
            return self.sync_rollout_status(work, &old, new.as_ref()).await;
        }

        let namespace = work.d.metadata.namespace().to_string();
        let pods: Vec<Arc<Pod>> = self
            .pods
            .list()
            .into_iter()
            .filter(|p| p.metadata.namespace() == namespace)
            .collect();
        if old_pods_running(new.as_ref(), &old, &pods) {
            // A DELETED pod event brings us back here.
            return self.sync_rollout_status(work, &old, new.as_ref()).await;
        }

        let mut new = match new {
            Some(new) => new,
            None => {
                let mut list = old.clone();
                list.sort_by(|a, b| a.metadata.name().cmp(b.metadata.name()));
                let (created, _) = self.get_all_replica_sets(work, list, true).await?;
                created.ok_or_else(|| DeploymentError::NoNewReplicaSet(work.key.clone()))?
            }
        };
        let all: Vec<ReplicaSet> = old.iter().cloned().chain(std::iter::once(new.clone())).collect();
        if let Some(size) = plan_new_rs(&work.d, &all, &new) {
            new = self.scale_replica_set(&work.d, &new, size).await?;
        }
        if super::progress::deployment_complete(&work.d, work.d.status.as_ref()) {
            self.cleanup_history(&work.d, &old).await?;
        }
        self.sync_rollout_status(work, &old, Some(&new)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(uid: &str, status_replicas: i32) -> ReplicaSet {
        serde_json::from_value(json!({"metadata": {"name": uid, "uid": uid},
            "status": {"replicas": status_replicas}}))
        .unwrap()
    }

    fn pod(owner: &str, phase: &str, deleting: bool) -> Arc<Pod> {
        let mut pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": owner, "uid": owner, "controller": true}]},
            "status": {"phase": phase},
        }))
        .unwrap();
        if deleting {
            pod.metadata.deletion_timestamp = Some(kubelab_api::Time::now());
        }
        Arc::new(pod)
    }

    #[test]
    fn waits_for_old_pods_to_be_gone() {
        let new = rs("new", 0);
        assert!(old_pods_running(Some(&new), &[rs("old", 1)], &[]));
        assert!(!old_pods_running(Some(&new), &[rs("old", 0)], &[]));
        // Terminating pods still count: their containers may still run.
        assert!(old_pods_running(
            Some(&new),
            &[rs("old", 0)],
            &[pod("old", "Running", true)]
        ));
        assert!(!old_pods_running(
            Some(&new),
            &[rs("old", 0)],
            &[pod("old", "Succeeded", false)]
        ));
        assert!(!old_pods_running(
            Some(&new),
            &[rs("old", 0)],
            &[pod("new", "Running", false)]
        ));
        assert!(!old_pods_running(None, &[], &[pod("other", "Running", false)]));
    }
}
