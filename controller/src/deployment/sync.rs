//! The steps every strategy shares: claiming ReplicaSets, finding or creating the new one,
//! scaling (also while paused, proportionally), cleaning up history and writing status.

use kubelab_api::apps::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use kubelab_api::core::PodTemplateSpec;
use kubelab_api::selector::Selector;
use kubelab_api::ObjectMeta;
use kubelab_client::{object_key, Api, DeleteParams, Patch};
use serde_json::json;

use super::hash::{pod_template_hash, POD_TEMPLATE_HASH_LABEL};
use super::progress::{self, get_condition, new_condition, set_condition, PROGRESSING};
use super::rollback::{
    history_to_delete, max_revision, revision, set_new_rs_annotations, set_replicas_annotations,
    DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, REVISION_ANNOTATION,
};
use super::rolling::{is_rolling, max_surge, new_rs_replicas, replicas};
use super::{available, sort_oldest_first, spec_replicas, status, DeploymentController, DeploymentError, Work};
use crate::events::NORMAL;
use crate::replicaset::pods::controller_ref;
use crate::runtime::{claim, now, Action};

/// Whether two templates are equal once the `pod-template-hash` label is ignored: how the new
/// ReplicaSet is recognised (its template has the label, the Deployment's does not).
pub fn equal_ignoring_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        t.metadata.labels.remove(POD_TEMPLATE_HASH_LABEL);
        t
    };
    strip(a) == strip(b)
}

/// Splits the Deployment's ReplicaSets into the new one (the oldest whose template matches, in
/// case there are duplicates) and the old ones.
pub fn split_new_and_old(d: &Deployment, mut list: Vec<ReplicaSet>) -> (Option<ReplicaSet>, Vec<ReplicaSet>) {
    sort_oldest_first(&mut list);
    match list
        .iter()
        .position(|rs| equal_ignoring_hash(&rs.spec.template, &d.spec.template))
    {
        Some(i) => {
            let new = list.remove(i);
            (Some(new), list)
        }
        None => (None, list),
    }
}

/// Whether `replicas` changed since the active ReplicaSets were last scaled (their
/// desired-replicas annotation says another number): then only scaling is done.
pub fn is_scaling_event(d: &Deployment, list: &[ReplicaSet]) -> bool {
    list.iter().filter(|rs| spec_replicas(rs) > 0).any(|rs| {
        rs.metadata
            .annotations
            .get(DESIRED_REPLICAS_ANNOTATION)
            .and_then(|v| v.parse::<i32>().ok())
            .is_some_and(|desired| desired != replicas(d))
    })
}

/// How much of a change in size a ReplicaSet should take: its share of the new total,
/// proportional to its size (the total it was sized for is its max-replicas annotation).
fn proportion(d: &Deployment, rs: &ReplicaSet, to_add: i32, added: i32) -> i32 {
    if spec_replicas(rs) == 0 || to_add == 0 {
        return 0;
    }
    let fraction = if replicas(d) == 0 {
        -spec_replicas(rs)
    } else {
        let deployment_replicas = replicas(d) + max_surge(d);
        let annotated = rs
            .metadata
            .annotations
            .get(MAX_REPLICAS_ANNOTATION)
            .and_then(|v| v.parse::<i32>().ok())
            .unwrap_or_else(|| d.status.as_ref().map(|s| s.replicas).unwrap_or(0));
        if annotated <= 0 {
            0
        } else {
            let size = f64::from(spec_replicas(rs)) * f64::from(deployment_replicas) / f64::from(annotated);
            size.round() as i32 - spec_replicas(rs)
        }
    };
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// Scaling without a rollout (`replicas` changed, or the Deployment is paused): the sizes to
/// set, `(name, size)`. With one active ReplicaSet it simply gets `replicas`; in the middle of a
/// rolling update the change is shared out in proportion to the ReplicaSets' sizes, so a
/// half-done rollout stays half-done at the new scale.
pub fn plan_scale(d: &Deployment, new: Option<&ReplicaSet>, old: &[ReplicaSet]) -> Vec<(String, i32)> {
    let desired = replicas(d);
    let name = |rs: &ReplicaSet| rs.metadata.name().to_string();
    let active: Vec<&ReplicaSet> = new.into_iter().chain(old).filter(|rs| spec_replicas(rs) > 0).collect();
    let only = match active.len() {
        1 => Some(active[0]),
        0 => new.or_else(|| {
            old.iter()
                .max_by_key(|rs| (rs.metadata.creation_timestamp, rs.metadata.name()))
        }),
        _ => None,
    };
    if active.len() <= 1 {
        return only
            .filter(|rs| spec_replicas(rs) != desired)
            .map(|rs| vec![(name(rs), desired)])
            .unwrap_or_default();
    }
    if let Some(new) = new {
        // Saturated: the new ReplicaSet has everything; the old ones can go.
        if spec_replicas(new) == desired && available(new) >= desired {
            return old
                .iter()
                .filter(|rs| spec_replicas(rs) > 0)
                .map(|rs| (name(rs), 0))
                .collect();
        }
    }
    if !is_rolling(d) {
        return Vec::new();
    }
    let allowed = if desired > 0 { desired + max_surge(d) } else { 0 };
    let total: i32 = active.iter().map(|rs| spec_replicas(rs)).sum();
    let to_add = allowed - total;
    if to_add == 0 {
        return Vec::new();
    }
    let mut sorted = active;
    // Largest first; on ties the newer when growing, the older when shrinking.
    sorted.sort_by(|a, b| {
        let by_size = spec_replicas(b).cmp(&spec_replicas(a));
        let by_age =
            (a.metadata.creation_timestamp, a.metadata.name()).cmp(&(b.metadata.creation_timestamp, b.metadata.name()));
        by_size.then(if to_add > 0 { by_age.reverse() } else { by_age })
    });
    let mut added = 0;
    let mut sizes: Vec<i32> = Vec::new();
    for rs in &sorted {
        let p = proportion(d, rs, to_add, added);
        sizes.push(spec_replicas(rs) + p);
        added += p;
    }
    if let Some(first) = sizes.first_mut() {
        *first = (*first + to_add - added).max(0);
    }
    sorted
        .iter()
        .zip(sizes)
        .filter(|(rs, size)| spec_replicas(rs) != *size)
        .map(|(rs, size)| (name(rs), size))
        .collect()
}

impl DeploymentController {
    fn rs_api(&self, d: &Deployment) -> Api<ReplicaSet> {
        Api::namespaced(self.client.clone(), d.metadata.namespace())
    }

    fn api_error(action: String) -> impl FnOnce(kubelab_client::ClientError) -> DeploymentError {
        move |source| DeploymentError::Api { action, source }
    }

    /// The ReplicaSets this Deployment owns after adopting matching orphans and releasing
    /// owned ones that no longer match.
    pub(crate) async fn claim_replica_sets(
        &self,
        d: &Deployment,
        selector: &Selector,
    ) -> Result<Vec<ReplicaSet>, DeploymentError> {
        let namespace = d.metadata.namespace();
        let candidates = self
            .replica_sets
            .list()
            .into_iter()
            .filter(|rs| rs.metadata.namespace() == namespace);
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let claimed = claim(&uid, d.metadata.deletion_timestamp.is_some(), selector, candidates);
        let mut owned: Vec<ReplicaSet> = claimed.owned.iter().map(|rs| (**rs).clone()).collect();
        for (rs, adopt) in claimed
            .adopt
            .iter()
            .map(|rs| (rs, true))
            .chain(claimed.release.iter().map(|rs| (rs, false)))
        {
            let mut references = rs.metadata.owner_references.clone();
            references.retain(|r| r.uid != uid);
            if adopt {
                references.push(controller_ref(d));
            }
            let patch = Patch::Merge(json!({"metadata": {"ownerReferences": references}}));
            match self.rs_api(d).patch(rs.metadata.name(), &patch).await {
                Ok(updated) if adopt => owned.push(updated),
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(source) => {
                    return Err(DeploymentError::Api {
                        action: format!(
                            "claiming replicaset {} for {}",
                            object_key(&rs.metadata),
                            object_key(&d.metadata)
                        ),
                        source,
                    })
                }
            }
        }
        Ok(owned)
    }

    /// The new ReplicaSet (created if `create` and missing) and the old ones, with revisions
    /// brought up to date on both the new ReplicaSet and the Deployment.
    pub(crate) async fn get_all_replica_sets(
        &self,
        work: &mut Work,
        list: Vec<ReplicaSet>,
        create: bool,
    ) -> Result<(Option<ReplicaSet>, Vec<ReplicaSet>), DeploymentError> {
        let (new, old) = split_new_and_old(&work.d, list);
        let new_revision = max_revision(&old) + 1;
        let new = match new {
            Some(existing) => Some(self.update_new_replica_set(work, existing, new_revision).await?),
            None if create => Some(self.create_new_replica_set(work, &old, new_revision).await?),
            None => None,
        };
        if let Some(rs) = &new {
            self.set_deployment_revision(work, revision(rs)).await?;
        }
        Ok((new, old))
    }

    async fn update_new_replica_set(
        &self,
        work: &mut Work,
        existing: ReplicaSet,
        new_revision: i64,
    ) -> Result<ReplicaSet, DeploymentError> {
        let d = &work.d;
        let mut next = existing.clone();
        let mut changed = set_new_rs_annotations(d, &mut next, new_revision);
        if next.spec.min_ready_seconds != d.spec.min_ready_seconds {
            next.spec.min_ready_seconds = d.spec.min_ready_seconds;
            changed = true;
        }
        let rs = if changed {
            let patch = Patch::Merge(json!({
                "metadata": {"annotations": next.metadata.annotations},
                "spec": {"minReadySeconds": next.spec.min_ready_seconds},
            }));
            self.rs_api(d)
                .patch(existing.metadata.name(), &patch)
                .await
                .map_err(Self::api_error(format!(
                    "updating replicaset {}",
                    object_key(&existing.metadata)
                )))?
        } else {
            existing
        };
        let has_deadline = progress::has_progress_deadline(&work.d);
        let status = work.d.status.get_or_insert_with(DeploymentStatus::default);
        if has_deadline && get_condition(status, PROGRESSING).is_none() {
            let message = format!("Found new replica set \"{}\"", rs.metadata.name());
            set_condition(
                status,
                new_condition(PROGRESSING, "True", progress::FOUND_NEW_RS, message, now()),
            );
        }
        Ok(rs)
    }

    async fn create_new_replica_set(
        &self,
        work: &mut Work,
        old: &[ReplicaSet],
        new_revision: i64,
    ) -> Result<ReplicaSet, DeploymentError> {
        let d = &work.d;
        let collision_count = d.status.as_ref().and_then(|s| s.collision_count);
        let hash = pod_template_hash(&d.spec.template, collision_count);
        let mut template = d.spec.template.clone();
        template
            .metadata
            .labels
            .insert(POD_TEMPLATE_HASH_LABEL.into(), hash.clone());
        let mut selector = d.spec.selector.clone();
        selector
            .match_labels
            .insert(POD_TEMPLATE_HASH_LABEL.into(), hash.clone());
        let name = format!("{}-{hash}", d.metadata.name());
        let size = new_rs_replicas(d, old, 0);
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: d.metadata.namespace.clone(),
                labels: template.metadata.labels.clone(),
                owner_references: vec![controller_ref(d)],
                ..ObjectMeta::default()
            },
            spec: ReplicaSetSpec {
                replicas: Some(size),
                min_ready_seconds: d.spec.min_ready_seconds,
                selector,
                template,
            },
            ..ReplicaSet::default()
        };
        set_new_rs_annotations(d, &mut rs, new_revision);
        set_replicas_annotations(&mut rs.metadata.annotations, replicas(d), replicas(d) + max_surge(d));
        let api = self.rs_api(d);
        let created = match api.create(&rs).await {
            Ok(created) => created,
            Err(e) if e.is_already_exists() => {
                // Our cache may just be behind (we created it a moment ago): if the one there is
                // ours and has our template, it is the new ReplicaSet.
                let existing = api
                    .get(&name)
                    .await
                    .map_err(Self::api_error(format!("reading replicaset {name}")))?;
                let ours = existing.metadata.controller_ref().map(|r| r.uid.as_str()) == d.metadata.uid.as_deref();
                if ours && equal_ignoring_hash(&existing.spec.template, &d.spec.template) {
                    return Ok(existing);
                }
                // A real collision: another template hashed to the same name. Count it; the next
                // reconcile hashes with the new count and gets another name.
                let count = collision_count.unwrap_or(0) + 1;
                let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), d.metadata.namespace());
                deployments
                    .patch_status(
                        d.metadata.name(),
                        &Patch::Merge(json!({"status": {"collisionCount": count}})),
                    )
                    .await
                    .map_err(Self::api_error(format!("writing collisionCount of {}", work.key)))?;
                return Err(DeploymentError::HashCollision {
                    key: work.key.clone(),
                    name,
                });
            }
            Err(source) => {
                return Err(DeploymentError::Api {
                    action: format!("creating replicaset {name}"),
                    source,
                })
            }
        };
        if size > 0 {
            self.recorder.record(
                d,
                NORMAL,
                "ScalingReplicaSet",
                &format!("Scaled up replica set {name} from 0 to {size}"),
            );
        }
        if progress::has_progress_deadline(d) {
            let message = format!("Created new replica set \"{name}\"");
            let condition = new_condition(PROGRESSING, "True", progress::NEW_RS_CREATED, message, now());
            set_condition(work.d.status.get_or_insert_with(DeploymentStatus::default), condition);
        }
        Ok(created)
    }

    /// Puts the new ReplicaSet's revision on the Deployment too (what `rollout history` and
    /// `describe` show). Metadata only, so the generation does not move.
    async fn set_deployment_revision(&self, work: &mut Work, rev: i64) -> Result<(), DeploymentError> {
        let value = rev.to_string();
        if rev == 0 || work.d.metadata.annotations.get(REVISION_ANNOTATION) == Some(&value) {
            return Ok(());
        }
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), work.d.metadata.namespace());
        let patch = Patch::Merge(json!({"metadata": {"annotations": {REVISION_ANNOTATION: value}}}));
        let updated = deployments
            .patch(work.d.metadata.name(), &patch)
            .await
            .map_err(Self::api_error(format!(
                "writing the revision of deployment {}",
                work.key
            )))?;
        work.d.metadata.annotations = updated.metadata.annotations;
        Ok(())
    }

    /// Sets a ReplicaSet's size (and its desired/max annotations), with a ScalingReplicaSet event
    /// on the Deployment. A merge patch, so the ReplicaSet controller's status writes never make
    /// it conflict.
    pub(crate) async fn scale_replica_set(
        &self,
        d: &Deployment,
        rs: &ReplicaSet,
        size: i32,
    ) -> Result<ReplicaSet, DeploymentError> {
        let mut annotations = rs.metadata.annotations.clone();
        let annotations_changed = set_replicas_annotations(&mut annotations, replicas(d), replicas(d) + max_surge(d));
        let from = spec_replicas(rs);
        if from == size && !annotations_changed {
            return Ok(rs.clone());
        }
        let patch = Patch::Merge(json!({
            "metadata": {"annotations": annotations},
            "spec": {"replicas": size},
        }));
        let updated = self
            .rs_api(d)
            .patch(rs.metadata.name(), &patch)
            .await
            .map_err(Self::api_error(format!(
                "scaling replicaset {}",
                object_key(&rs.metadata)
            )))?;
        if from != size {
            let direction = if size > from { "up" } else { "down" };
            self.recorder.record(
                d,
                NORMAL,
                "ScalingReplicaSet",
                &format!(
                    "Scaled {direction} replica set {} from {from} to {size}",
                    rs.metadata.name()
                ),
            );
        }
        Ok(updated)
    }

    /// Paused, or only `replicas` changed: scale without rolling out, then report.
    pub(crate) async fn sync(&self, work: &mut Work, list: Vec<ReplicaSet>) -> Result<Action, DeploymentError> {
        let (mut new, mut old) = self.get_all_replica_sets(work, list, false).await?;
        for (name, size) in plan_scale(&work.d, new.as_ref(), &old) {
            if let Some(rs) = new.as_mut().filter(|rs| rs.metadata.name() == name) {
                *rs = self.scale_replica_set(&work.d, rs, size).await?;
            } else if let Some(rs) = old.iter_mut().find(|rs| rs.metadata.name() == name) {
                *rs = self.scale_replica_set(&work.d, rs, size).await?;
            }
        }
        if work.d.spec.paused.unwrap_or(false) && progress::deployment_complete(&work.d, work.d.status.as_ref()) {
            self.cleanup_history(&work.d, &old).await?;
        }
        let status = status::calculate(&work.d, &old, new.as_ref(), now());
        self.write_status(work, status).await?;
        Ok(Action::Done)
    }

    /// Deletes old ReplicaSets beyond `revisionHistoryLimit`.
    pub(crate) async fn cleanup_history(&self, d: &Deployment, old: &[ReplicaSet]) -> Result<(), DeploymentError> {
        let Some(limit) = d.spec.revision_history_limit else {
            return Ok(());
        };
        for name in history_to_delete(old, limit) {
            match self.rs_api(d).delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(source) => {
                    return Err(DeploymentError::Api {
                        action: format!("deleting old replicaset {name}"),
                        source,
                    })
                }
            }
        }
        Ok(())
    }

    /// Computes the status (with the Progressing condition) and writes it if it changed; asks
    /// to be requeued when the progress deadline would pass.
    pub(crate) async fn sync_rollout_status(
        &self,
        work: &mut Work,
        old: &[ReplicaSet],
        new: Option<&ReplicaSet>,
    ) -> Result<Action, DeploymentError> {
        let now = now();
        let mut status = status::calculate(&work.d, old, new, now);
        progress::update_progressing(&work.d, &mut status, new.map(|rs| rs.metadata.name()), now);
        let requeue = progress::requeue_for_deadline(&work.d, &status, now);
        self.write_status(work, status).await?;
        Ok(requeue.map(Action::RequeueAfter).unwrap_or(Action::Done))
    }

    /// Writes `status` unless it is what is stored. A merge patch naming every counter (zeros
    /// included, which the typed status leaves out) and the whole conditions list.
    async fn write_status(&self, work: &mut Work, status: DeploymentStatus) -> Result<(), DeploymentError> {
        if work.stored_status.as_ref() == Some(&status) {
            work.d.status = Some(status);
            return Ok(());
        }
        let mut body = json!({
            "observedGeneration": status.observed_generation,
            "replicas": status.replicas,
            "updatedReplicas": status.updated_replicas,
            "readyReplicas": status.ready_replicas,
            "availableReplicas": status.available_replicas,
            "unavailableReplicas": status.unavailable_replicas,
            "conditions": status.conditions,
        });
        if let Some(count) = status.collision_count {
            body["collisionCount"] = json!(count);
        }
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), work.d.metadata.namespace());
        match deployments
            .patch_status(work.d.metadata.name(), &Patch::Merge(json!({ "status": body })))
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(source) => {
                return Err(DeploymentError::Api {
                    action: format!("writing status of deployment {}", work.key),
                    source,
                })
            }
        }
        work.stored_status = Some(status.clone());
        work.d.status = Some(status);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubelab_api::Time;
    use serde_json::json;

    fn deployment(replicas: i32) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "uid": "d-uid"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "v2"}]}}},
        }))
        .unwrap()
    }

    fn rs(name: &str, image: &str, replicas: i32, available: i32, max: i32, created: i64) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": name, "annotations": {MAX_REPLICAS_ANNOTATION: max.to_string(),
                DESIRED_REPLICAS_ANNOTATION: "10"},
                "creationTimestamp": Time(chrono::DateTime::from_timestamp(created, 0).unwrap()).to_string()},
            "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": "web", POD_TEMPLATE_HASH_LABEL: name}},
                "spec": {"containers": [{"name": "c", "image": image}]}}},
            "status": {"replicas": replicas, "availableReplicas": available},
        }))
        .unwrap()
    }

    #[test]
    fn the_new_replica_set_is_the_one_with_the_template() {
        let d = deployment(10);
        let list = vec![
            rs("v1", "v1", 5, 5, 13, 1),
            rs("v2", "v2", 3, 0, 13, 2),
            rs("v2-dup", "v2", 0, 0, 13, 3),
        ];
        let (new, old) = split_new_and_old(&d, list);
        assert_eq!(new.map(|rs| rs.metadata.name().to_string()).as_deref(), Some("v2"));
        let old: Vec<&str> = old.iter().map(|rs| rs.metadata.name()).collect();
        assert_eq!(old, ["v1", "v2-dup"]);
    }

    #[test]
    fn scaling_events_are_detected_from_annotations() {
        let list = vec![rs("v1", "v1", 5, 5, 13, 1)];
        assert!(!is_scaling_event(&deployment(10), &list));
        assert!(is_scaling_event(&deployment(20), &list));
        let idle = vec![rs("v1", "v1", 0, 0, 13, 1)];
        assert!(!is_scaling_event(&deployment(20), &idle));
    }

    #[test]
    fn one_active_replica_set_takes_the_new_size() {
        let d = deployment(20);
        let new = rs("v2", "v2", 10, 10, 13, 2);
        assert_eq!(
            plan_scale(&d, Some(&new), &[rs("v1", "v1", 0, 0, 13, 1)]),
            [("v2".to_string(), 20)]
        );
        // Nothing active: the newest gets it.
        let idle = rs("v2", "v2", 0, 0, 13, 2);
        assert_eq!(plan_scale(&d, Some(&idle), &[]), [("v2".to_string(), 20)]);
        assert!(plan_scale(&deployment(10), Some(&new), &[]).is_empty());
    }

    #[test]
    fn mid_rollout_scaling_is_proportional() {
        // 10 replicas, surge 3: mid-rollout v1=8, v2=5 (13 = 10 + 3). Scaled to 20: allowed 23,
        // +10 shared 8:5 → v1 +6, v2 +4 (rounded, the remainder to the largest).
        let d = deployment(20);
        let new = rs("v2", "v2", 5, 0, 13, 2);
        let old = [rs("v1", "v1", 8, 8, 13, 1)];
        let mut plan = plan_scale(&d, Some(&new), &old);
        plan.sort();
        assert_eq!(plan, [("v1".to_string(), 14), ("v2".to_string(), 9)]);
        let total: i32 = plan.iter().map(|(_, n)| n).sum();
        assert_eq!(total, 23);

        // Scaled down to 5 (allowed 8): −5 shared.
        let d = deployment(5);
        let mut plan = plan_scale(&d, Some(&new), &old);
        plan.sort();
        let total: i32 = plan.iter().map(|(_, n)| n).sum();
        assert_eq!(total, 8, "{plan:?}");
        assert!(plan.iter().all(|(_, n)| *n >= 0));
    }

    #[test]
    fn a_saturated_new_replica_set_retires_the_old_ones() {
        let d = deployment(10);
        let new = rs("v2", "v2", 10, 10, 13, 2);
        let old = [rs("v1", "v1", 2, 2, 13, 1)];
        assert_eq!(plan_scale(&d, Some(&new), &old), [("v1".to_string(), 0)]);
    }

    #[test]
    fn templates_compare_without_the_hash_label() {
        let d = deployment(1);
        let r = rs("anything", "v2", 1, 1, 1, 1);
        assert!(equal_ignoring_hash(&r.spec.template, &d.spec.template));
        let other = rs("anything", "v3", 1, 1, 1, 1);
        assert!(!equal_ignoring_hash(&other.spec.template, &d.spec.template));
    }
}
