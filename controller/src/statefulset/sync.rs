//! One reconcile of one StatefulSet: claim its pods, plan, act, report. The decisions come from
//! the pure functions of `plan`, `update`, `claims` and `status`; this file reads the caches and
//! carries the decisions out against the API server.

use std::sync::Arc;
use std::time::Duration;

use kubelab_api::apps::{StatefulSet, StatefulSetStatus};
use kubelab_api::core::{PersistentVolumeClaim, Pod};
use kubelab_api::selector::Selector;
use kubelab_client::{object_key, Api, DeleteParams, Patch, Preconditions};
use serde_json::json;

use super::claims::{claims_for, claims_to_delete_after_scale_down};
use super::identity::{new_pod, parse_ordinal, pod_name, replicas, start_ordinal};
use super::plan::{plan, PodView, Step, Wanted, Why};
use super::status::{compute, running_and_ready};
use super::update::{current_revision, pod_revision, rolling_partition, template_for, update_revision};
use super::{StatefulSetController, StatefulSetError};
use crate::events::{NORMAL, WARNING};
use crate::replicaset::pods::{controller_ref, is_available};
use crate::runtime::{claim, now, Action, Reconciler};

fn api_error(action: String) -> impl FnOnce(kubelab_client::ClientError) -> StatefulSetError {
    move |source| StatefulSetError::Api { action, source }
}

/// How the plan sees a pod.
fn view(set: &StatefulSet, pod: &Pod, now: chrono::DateTime<chrono::Utc>) -> Option<PodView> {
    let ordinal = parse_ordinal(set.metadata.name(), pod.metadata.name())?;
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending");
    Some(PodView {
        ordinal,
        name: pod.metadata.name().to_string(),
        uid: pod.metadata.uid.clone().unwrap_or_default(),
        revision: pod_revision(pod).to_string(),
        healthy: running_and_ready(pod) && is_available(pod, set.spec.min_ready_seconds.unwrap_or(0), now),
        terminating: pod.metadata.deletion_timestamp.is_some(),
        finished: matches!(phase, "Failed" | "Succeeded"),
    })
}

impl Reconciler for StatefulSetController {
    type Error = StatefulSetError;

    async fn reconcile(&self, key: &str) -> Result<Action, StatefulSetError> {
        let Some(set) = self.sets.get(key) else {
            // Gone: its pods (and claims with whenDeleted: Delete) are the garbage collector's.
            return Ok(Action::Done);
        };
        let selector =
            Selector::from_label_selector(&set.spec.selector).map_err(|source| StatefulSetError::Selector {
                key: key.to_string(),
                source,
            })?;
        if selector.is_empty() {
            self.recorder.record(
                set.as_ref(),
                WARNING,
                "SelectingAll",
                "This statefulset is selecting all pods",
            );
            return Ok(Action::Done);
        }
        let deleting = set.metadata.deletion_timestamp.is_some();
        let namespace = set.metadata.namespace();
        // Only pods named like ours can be ours (Kubernetes' isMemberOf).
        let candidates = self.pods.list().into_iter().filter(|p| {
            p.metadata.namespace() == namespace && parse_ordinal(set.metadata.name(), p.metadata.name()).is_some()
        });
        let claimed = claim(
            set.metadata.uid.as_deref().unwrap_or(""),
            deleting,
            &selector,
            candidates,
        );
        let mut first_error: Option<StatefulSetError> = None;
        let mut owned = claimed.owned;
        for pod in &claimed.adopt {
            match self.set_owner(&set, pod, true).await {
                Ok(Some(adopted)) => owned.push(Arc::new(adopted)),
                Ok(None) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        for pod in &claimed.release {
            if let Err(e) = self.set_owner(&set, pod, false).await {
                first_error.get_or_insert(e);
            }
        }

        let update = update_revision(&set);
        let current = current_revision(&set, &update);
        let now = now();
        if !deleting {
            let wanted = Wanted {
                start: start_ordinal(&set),
                replicas: replicas(&set),
                ordered: set.spec.pod_management_policy.as_deref() != Some("Parallel"),
                partition: rolling_partition(&set),
                current_revision: current.clone(),
                update_revision: update.clone(),
            };
            let views: Vec<PodView> = owned.iter().filter_map(|p| view(&set, p, now)).collect();
            for step in plan(&wanted, &views) {
                let result = match step {
                    Step::Create { ordinal, revision } => {
                        self.create_pod(&set, ordinal, &revision, &update, &owned).await
                    }
                    Step::Delete { name, uid, why } => self.delete_pod(&set, &name, &uid, why).await,
                };
                if let Err(e) = result {
                    first_error.get_or_insert(e);
                }
            }
            let scaled_away = claims_to_delete_after_scale_down(&set, &self.claims.list(), &owned);
            for claim in scaled_away {
                if let Err(e) = self.delete_claim(&set, &claim).await {
                    first_error.get_or_insert(e);
                }
            }
        }

        let (status, next_check) = compute(&set, &owned, &current, &update, now);
        self.write_status(&set, &status).await?;
        if let Some(e) = first_error {
            return Err(e);
        }
        Ok(next_check
            .map(|wait| Action::RequeueAfter(wait + Duration::from_millis(100)))
            .unwrap_or(Action::Done))
    }
}

impl StatefulSetController {
    fn pods_api(&self, set: &StatefulSet) -> Api<Pod> {
        Api::namespaced(self.client.clone(), set.metadata.namespace())
    }

    fn claims_api(&self, set: &StatefulSet) -> Api<PersistentVolumeClaim> {
        Api::namespaced(self.client.clone(), set.metadata.namespace())
    }

    /// Adopts or releases a pod by rewriting its ownerReferences (a merge patch of the list).
    async fn set_owner(&self, set: &StatefulSet, pod: &Pod, adopt: bool) -> Result<Option<Pod>, StatefulSetError> {
        let uid = set.metadata.uid.clone().unwrap_or_default();
        let mut references = pod.metadata.owner_references.clone();
        references.retain(|r| r.uid != uid);
        if adopt {
            references.push(controller_ref(set));
        }
        let patch = Patch::Merge(json!({"metadata": {"ownerReferences": references}}));
        match self.pods_api(set).patch(pod.metadata.name(), &patch).await {
            Ok(pod) => Ok(Some(pod)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(source) => Err(StatefulSetError::Api {
                action: format!(
                    "{} pod {} for statefulset {}",
                    if adopt { "adopting" } else { "releasing" },
                    object_key(&pod.metadata),
                    object_key(&set.metadata)
                ),
                source,
            }),
        }
    }

    /// Creates the pod's missing claims, then the pod.
    async fn create_pod(
        &self,
        set: &StatefulSet,
        ordinal: i32,
        revision: &str,
        update: &str,
        owned: &[Arc<Pod>],
    ) -> Result<(), StatefulSetError> {
        let set_name = set.metadata.name();
        let name = pod_name(set_name, ordinal);
        for claim in claims_for(set, ordinal) {
            let claim_name = claim.metadata.name().to_string();
            match self.claims.get(&object_key(&claim.metadata)) {
                Some(existing) if existing.metadata.deletion_timestamp.is_some() => {
                    let message = format!(
                        "create Pod {name} in StatefulSet {set_name} failed error: claim {claim_name} is being deleted"
                    );
                    self.recorder.record(set, WARNING, "FailedCreate", &message);
                    return Err(StatefulSetError::ClaimTerminating {
                        set: object_key(&set.metadata),
                        claim: claim_name,
                        pod: name,
                    });
                }
                Some(_) => continue,
                None => {}
            }
            match self.claims_api(set).create(&claim).await {
                Ok(_) => self.recorder.record(
                    set,
                    NORMAL,
                    "SuccessfulCreate",
                    &format!("create Claim {claim_name} Pod {name} in StatefulSet {set_name} success"),
                ),
                Err(e) if e.is_already_exists() => {}
                Err(source) => {
                    self.recorder.record(
                        set,
                        WARNING,
                        "FailedCreate",
                        &format!(
                            "create Claim {claim_name} for Pod {name} in StatefulSet {set_name} failed error: {source}"
                        ),
                    );
                    return Err(StatefulSetError::Api {
                        action: format!(
                            "creating claim {claim_name} for statefulset {}",
                            object_key(&set.metadata)
                        ),
                        source,
                    });
                }
            }
        }
        let (template, revision) = template_for(set, revision, update, owned);
        let pod = new_pod(set, ordinal, &revision, &template);
        match self.pods_api(set).create(&pod).await {
            Ok(_) => {
                self.recorder.record(
                    set,
                    NORMAL,
                    "SuccessfulCreate",
                    &format!("create Pod {name} in StatefulSet {set_name} successful"),
                );
                Ok(())
            }
            // Our cache had not seen it yet; the next reconcile will.
            Err(e) if e.is_already_exists() => Ok(()),
            Err(source) => {
                self.recorder.record(
                    set,
                    WARNING,
                    "FailedCreate",
                    &format!("create Pod {name} in StatefulSet {set_name} failed error: {source}"),
                );
                Err(StatefulSetError::Api {
                    action: format!("creating pod {name} for statefulset {}", object_key(&set.metadata)),
                    source,
                })
            }
        }
    }

    /// Deletes a pod, only if it is still the one we saw (its uid).
    async fn delete_pod(&self, set: &StatefulSet, name: &str, uid: &str, why: Why) -> Result<(), StatefulSetError> {
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        let set_name = set.metadata.name();
        match self.pods_api(set).delete(name, &params).await {
            Ok(_) => {
                tracing::debug!(statefulset = %object_key(&set.metadata), pod = name, ?why, "deleted pod");
                self.recorder.record(
                    set,
                    NORMAL,
                    "SuccessfulDelete",
                    &format!("delete Pod {name} in StatefulSet {set_name} successful"),
                );
                Ok(())
            }
            Err(e) if e.is_not_found() || e.is_conflict() => Ok(()),
            Err(source) => {
                self.recorder.record(
                    set,
                    WARNING,
                    "FailedDelete",
                    &format!("delete Pod {name} in StatefulSet {set_name} failed error: {source}"),
                );
                Err(StatefulSetError::Api {
                    action: format!("deleting pod {name} of statefulset {}", object_key(&set.metadata)),
                    source,
                })
            }
        }
    }

    async fn delete_claim(&self, set: &StatefulSet, claim: &str) -> Result<(), StatefulSetError> {
        match self.claims_api(set).delete(claim, &DeleteParams::default()).await {
            Ok(_) => {
                self.recorder.record(
                    set,
                    NORMAL,
                    "SuccessfulDelete",
                    &format!("delete Claim {claim} in StatefulSet {} successful", set.metadata.name()),
                );
                Ok(())
            }
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(api_error(format!(
                "deleting claim {claim} of statefulset {}",
                object_key(&set.metadata)
            ))(e)),
        }
    }

    /// Writes the status if it changed: a merge patch naming every counter, zeros included.
    async fn write_status(&self, set: &StatefulSet, new: &StatefulSetStatus) -> Result<(), StatefulSetError> {
        if set.status.as_ref() == Some(new) {
            return Ok(());
        }
        let patch = Patch::Merge(json!({"status": {
            "observedGeneration": new.observed_generation,
            "replicas": new.replicas,
            "readyReplicas": new.ready_replicas,
            "currentReplicas": new.current_replicas,
            "updatedReplicas": new.updated_replicas,
            "availableReplicas": new.available_replicas,
            "currentRevision": new.current_revision,
            "updateRevision": new.update_revision,
            "collisionCount": new.collision_count,
        }}));
        let api: Api<StatefulSet> = Api::namespaced(self.client.clone(), set.metadata.namespace());
        match api.patch_status(set.metadata.name(), &patch).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(api_error(format!(
                "writing status of statefulset {}",
                object_key(&set.metadata)
            ))(e)),
        }
    }
}
