//! One reconcile of one ReplicaSet: claim, manage, report (see the module docs in `mod.rs`).
//! Decisions come from the pure functions of `pods`, `scale` and `status`; this file only
//! reads the caches and carries the decisions out against the API server.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use kubelab_api::apps::ReplicaSet;
use kubelab_api::core::Pod;
use kubelab_api::selector::Selector;

use kubelab_client::{object_key, Api, DeleteParams, Patch};
use serde_json::json;

use super::pods::{controller_ref, is_active, pod_from_template};
use super::scale::{decide, pods_to_delete, slow_start_batches, ScaleDecision, SLOW_START_INITIAL_BATCH};
use super::{status, ReplicaSetController, ReplicaSetError};
use crate::events::{NORMAL, WARNING};
use crate::runtime::{claim, now, Action, Reconciler};

impl Reconciler for ReplicaSetController {
    type Error = ReplicaSetError;

    async fn reconcile(&self, key: &str) -> Result<Action, ReplicaSetError> {
        let Some(rs) = self.replica_sets.get(key) else {
            // Gone: its pods are the garbage collector's business now.
            self.expectations.forget(key);
            return Ok(Action::Done);
        };
        let selector =
            Selector::from_label_selector(&rs.spec.selector).map_err(|source| ReplicaSetError::Selector {
                key: key.to_string(),
                source,
            })?;
        if selector.is_empty() {
            // An empty selector would select every pod of the namespace: refuse, as Kubernetes does.
            self.recorder.record(
                rs.as_ref(),
                WARNING,
                "SelectingAll",
                "This replica set is selecting all pods",
            );
            return Ok(Action::Done);
        }
        let deleting = rs.metadata.deletion_timestamp.is_some();
        let namespace = rs.metadata.namespace();
        let candidates = self
            .pods
            .list()
            .into_iter()
            .filter(|p| p.metadata.namespace() == namespace);
        let claimed = claim(
            rs.metadata.uid.as_deref().unwrap_or(""),
            deleting,
            &selector,
            candidates,
        );

        let mut first_error: Option<ReplicaSetError> = None;
        let mut owned = claimed.owned;
        for pod in &claimed.adopt {
            match self.set_owner_references(&rs, pod, true).await {
                Ok(Some(adopted)) => owned.push(Arc::new(adopted)),
                Ok(None) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        for pod in &claimed.release {
            if let Err(e) = self.set_owner_references(&rs, pod, false).await {
                first_error.get_or_insert(e);
            }
        }
        let active: Vec<Arc<Pod>> = owned.into_iter().filter(|p| is_active(p)).collect();

        if self.expectations.satisfied(key) && !deleting {
            if let Err(e) = self.manage(key, &rs, &active).await {
                first_error.get_or_insert(e);
            }
        }

        let (new_status, next_check) = status::compute(&rs, &active, now());
        self.write_status(&rs, &new_status).await?;
        if let Some(e) = first_error {
            return Err(e);
        }
        // A bit after the pod's time, so the second-resolution timestamps have surely passed.
        Ok(next_check
            .map(|wait| Action::RequeueAfter(wait + Duration::from_millis(100)))
            .unwrap_or(Action::Done))
    }
}

impl ReplicaSetController {
    fn pods_api(&self, rs: &ReplicaSet) -> Api<Pod> {
        Api::namespaced(self.client.clone(), rs.metadata.namespace())
    }

    /// Adopts (`adopt`) or releases `pod` by rewriting its ownerReferences. A merge patch of the
    /// whole list, so a concurrent status update by the agent does not conflict with it.
    async fn set_owner_references(
        &self,
        rs: &ReplicaSet,
        pod: &Pod,
        adopt: bool,
    ) -> Result<Option<Pod>, ReplicaSetError> {
        let uid = rs.metadata.uid.clone().unwrap_or_default();
        let mut references = pod.metadata.owner_references.clone();
        references.retain(|r| r.uid != uid);
        if adopt {
            references.push(controller_ref(rs));
        }
        let patch = Patch::Merge(json!({"metadata": {"ownerReferences": references}}));
        match self.pods_api(rs).patch(pod.metadata.name(), &patch).await {
            Ok(pod) => Ok(Some(pod)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(source) => Err(ReplicaSetError::Api {
                action: format!(
                    "{} pod {} for replicaset {}",
                    if adopt { "adopting" } else { "releasing" },
                    object_key(&pod.metadata),
                    object_key(&rs.metadata)
                ),
                source,
            }),
        }
    }

    /// Creates or deletes pods so that `active` moves towards `spec.replicas`.
    async fn manage(&self, key: &str, rs: &ReplicaSet, active: &[Arc<Pod>]) -> Result<(), ReplicaSetError> {
        let desired = rs.spec.replicas.unwrap_or(1).max(0) as usize;
        match decide(active.len(), desired) {
            ScaleDecision::Nothing => Ok(()),
            ScaleDecision::Create(count) => self.create_pods(key, rs, count).await,
            ScaleDecision::Delete(count) => self.delete_pods(key, rs, &pods_to_delete(active, count)).await,
        }
    }

    async fn create_pods(&self, key: &str, rs: &ReplicaSet, count: usize) -> Result<(), ReplicaSetError> {
        // Expect them all before the first request: the first ADDED event may arrive before the
        // last create returns.
        self.expectations.expect_creations(key, count);
        let api = self.pods_api(rs);
        let template = pod_from_template(rs);
        let mut remaining = count;
        let mut first_error = None;
        for batch in slow_start_batches(count, SLOW_START_INITIAL_BATCH) {
            remaining -= batch;
            let results = join_all((0..batch).map(|_| api.create(&template))).await;
            for result in results {
                match result {
                    Ok(pod) => self.recorder.record(
                        rs,
                        NORMAL,
                        "SuccessfulCreate",
                        &format!("Created pod: {}", pod.metadata.name()),
                    ),
                    Err(source) => {
                        // No ADDED event will come for this one.
                        self.expectations.creation_observed(key);
                        self.recorder
                            .record(rs, WARNING, "FailedCreate", &format!("Error creating: {source}"));
                        first_error.get_or_insert(source);
                    }
                }
            }
            if first_error.is_some() {
                // Slow start: stop at the first failing batch; the rest are not even tried.
                for _ in 0..remaining {
                    self.expectations.creation_observed(key);
                }
                break;
            }
        }
        match first_error {
            None => Ok(()),
            Some(source) => Err(ReplicaSetError::Api {
                action: format!("creating pods for replicaset {key}"),
                source,
            }),
        }
    }

    async fn delete_pods(&self, key: &str, rs: &ReplicaSet, victims: &[Arc<Pod>]) -> Result<(), ReplicaSetError> {
        self.expectations
            .expect_deletions(key, victims.iter().map(|p| object_key(&p.metadata)));
        let api = self.pods_api(rs);
        let params = DeleteParams::default();
        let results = join_all(victims.iter().map(|p| api.delete(p.metadata.name(), &params))).await;
        let mut first_error = None;
        for (pod, result) in victims.iter().zip(results) {
            match result {
                Ok(_) => self.recorder.record(
                    rs,
                    NORMAL,
                    "SuccessfulDelete",
                    &format!("Deleted pod: {}", pod.metadata.name()),
                ),
                Err(e) if e.is_not_found() => self.expectations.deletion_observed(key, &object_key(&pod.metadata)),
                Err(source) => {
                    self.expectations.deletion_observed(key, &object_key(&pod.metadata));
                    self.recorder
                        .record(rs, WARNING, "FailedDelete", &format!("Error deleting: {source}"));
                    first_error.get_or_insert(source);
                }
            }
        }
        match first_error {
            None => Ok(()),
            Some(source) => Err(ReplicaSetError::Api {
                action: format!("deleting pods of replicaset {key}"),
                source,
            }),
        }
    }

    /// Writes the status if it changed. A merge patch naming every counter (zeros too, which the
    /// typed status would leave out) rather than a PUT: no conflict with a concurrent spec change
    /// (a Deployment scaling us), and `observedGeneration` still says what we based it on.
    async fn write_status(
        &self,
        rs: &ReplicaSet,
        new: &kubelab_api::apps::ReplicaSetStatus,
    ) -> Result<(), ReplicaSetError> {
        if rs.status.as_ref() == Some(new) {
            return Ok(());
        }
        let patch = Patch::Merge(json!({"status": {
            "replicas": new.replicas,
            "fullyLabeledReplicas": new.fully_labeled_replicas,
            "readyReplicas": new.ready_replicas,
            "availableReplicas": new.available_replicas,
            "observedGeneration": new.observed_generation,
        }}));
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), rs.metadata.namespace());
        match api.patch_status(rs.metadata.name(), &patch).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(source) => Err(ReplicaSetError::Api {
                action: format!("writing status of replicaset {}", object_key(&rs.metadata)),
                source,
            }),
        }
    }
}
