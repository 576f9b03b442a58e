//! One reconcile of one claim: pick or make its volume, then write the binding.
//!
//! The binding is four writes, in Kubernetes' order, each skipped when already done:
//!
//! 1. the volume's `spec.claimRef` names the claim (with its uid). This write is the lock: it
//!    carries the volume's `resourceVersion`, so of two claims racing for one volume only one
//!    succeeds; the other gets a conflict and looks again;
//! 2. the volume's `status.phase` is `Bound`;
//! 3. the claim's `spec.volumeName` names the volume, with the annotations
//!    `pv.kubernetes.io/bind-completed: "yes"` and `pv.kubernetes.io/bound-by-controller: "yes"`;
//! 4. the claim's status: `phase: Bound`, the volume's `capacity` and `accessModes`.
//!
//! A claim that names no class at all gets the default class first (step 0), as Kubernetes'
//! `DefaultStorageClass` admission plugin would have done when the claim was created.

use std::sync::Arc;

use kubelab_api::core::{PersistentVolume, PersistentVolumeClaim};
use kubelab_api::storage::StorageClass;
use kubelab_client::{Api, Patch};
use serde_json::json;

use super::matching::{claim_class, find_matching_volume, is_reserved_for};
use super::provision::{claim_ref, default_class, provisioned_volume, PROVISIONER};
use super::{VolumeController, VolumeError};
use crate::events::{NORMAL, WARNING};
use crate::runtime::Action;

/// Set on a claim once its binding is complete.
pub const BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// Set on a claim (and volume) whose binding the controller wrote, not the user.
pub const BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";

/// What to do with a claim that has no volume yet.
#[derive(Debug, PartialEq)]
pub enum Plan {
    /// Name the default class in the claim first.
    SetClass(String),
    /// Bind to this existing volume.
    Bind(Arc<PersistentVolume>),
    /// Make a new volume with this class.
    Provision(Arc<StorageClass>),
    /// Nothing fits; wait (the reason becomes an event).
    Wait { reason: &'static str, message: String },
}

/// Decides what a pending claim without `volumeName` needs (pure).
pub fn plan(claim: &PersistentVolumeClaim, volumes: &[Arc<PersistentVolume>], classes: &[Arc<StorageClass>]) -> Plan {
    if claim.spec.storage_class_name.is_none() {
        if let Some(class) = default_class(classes) {
            return Plan::SetClass(class.metadata.name().to_string());
        }
    }
    if let Some(volume) = find_matching_volume(claim, volumes) {
        return Plan::Bind(volume);
    }
    let class_name = claim_class(claim);
    if class_name.is_empty() {
        return Plan::Wait {
            reason: "FailedBinding",
            message: "no persistent volumes available for this claim and no storage class is set".into(),
        };
    }
    match classes.iter().find(|c| c.metadata.name() == class_name) {
        None => Plan::Wait {
            reason: "ProvisioningFailed",
            message: format!("storageclass.storage.k8s.io \"{class_name}\" not found"),
        },
        Some(class) if class.provisioner == PROVISIONER => Plan::Provision(class.clone()),
        Some(class) => Plan::Wait {
            reason: "ExternalProvisioning",
            message: format!(
                "Waiting for a volume to be created either by the external provisioner '{}' or manually by the \
                 system administrator. If volume creation is delayed, please verify that the provisioner is \
                 running and correctly registered.",
                class.provisioner
            ),
        },
    }
}

impl VolumeController {
    fn claims_api(&self, claim: &PersistentVolumeClaim) -> Api<PersistentVolumeClaim> {
        Api::namespaced(self.client.clone(), claim.metadata.namespace())
    }

    fn volumes_api(&self) -> Api<PersistentVolume> {
        Api::all(self.client.clone())
    }

    pub(crate) async fn sync_claim(&self, key: &str) -> Result<Action, VolumeError> {
        let Some(claim) = self.claims.get(key) else {
            return Ok(Action::Done);
        };
        if claim.metadata.deletion_timestamp.is_some() {
            return Ok(Action::Done);
        }
        match claim.spec.volume_name.as_deref().filter(|v| !v.is_empty()) {
            Some(volume_name) => self.sync_bound_claim(&claim, volume_name).await,
            None => self.sync_unbound_claim(&claim).await,
        }
    }

    async fn sync_unbound_claim(&self, claim: &PersistentVolumeClaim) -> Result<Action, VolumeError> {
        match plan(claim, &self.volumes.list(), &self.classes.list()) {
            Plan::SetClass(class) => {
                // The informer's update event brings the claim back with its class.
                let patch = Patch::Merge(json!({"spec": {"storageClassName": class}}));
                self.claims_api(claim)
                    .patch(claim.metadata.name(), &patch)
                    .await
                    .map_err(VolumeError::api(format!(
                        "setting the default storage class of claim {}",
                        key_of(claim)
                    )))?;
                Ok(Action::Done)
            }
            Plan::Bind(volume) => self.bind(claim, &volume).await,
            Plan::Provision(class) => {
                let volume = self.provision(claim, &class).await?;
                self.bind(claim, &volume).await
            }
            Plan::Wait { reason, message } => {
                let warning = if reason == "ExternalProvisioning" {
                    NORMAL
                } else {
                    WARNING
                };
                self.recorder.record(claim, warning, reason, &message);
                self.write_claim_status(claim, "Pending", None).await?;
                Ok(Action::Done)
            }
        }
    }

    async fn provision(
        &self,
        claim: &PersistentVolumeClaim,
        class: &StorageClass,
    ) -> Result<Arc<PersistentVolume>, VolumeError> {
        let wanted = provisioned_volume(claim, class, &self.cluster_id);
        let name = wanted.metadata.name().to_string();
        let api = self.volumes_api();
        let created = match api.create(&wanted).await {
            Ok(volume) => {
                self.recorder.record(
                    claim,
                    NORMAL,
                    "ProvisioningSucceeded",
                    &format!("Successfully provisioned volume {name}"),
                );
                volume
            }
            // Made by an earlier try: the name is the claim's uid, so it is ours.
            Err(e) if e.is_already_exists() => api
                .get(&name)
                .await
                .map_err(VolumeError::api(format!("reading provisioned volume {name}")))?,
            Err(source) => {
                self.recorder.record(
                    claim,
                    WARNING,
                    "ProvisioningFailed",
                    &format!(
                        "failed to provision volume with StorageClass \"{}\": {source}",
                        class.metadata.name()
                    ),
                );
                return Err(VolumeError::Api {
                    action: format!("creating volume {name} for claim {}", key_of(claim)),
                    source,
                });
            }
        };
        Ok(Arc::new(created))
    }

    async fn sync_bound_claim(&self, claim: &PersistentVolumeClaim, volume_name: &str) -> Result<Action, VolumeError> {
        match self.volumes.get(volume_name) {
            None => {
                // The cache may lag behind a volume made a moment ago: ask the server.
                match self
                    .volumes_api()
                    .get_opt(volume_name)
                    .await
                    .map_err(VolumeError::api(format!("reading volume {volume_name}")))?
                {
                    Some(volume) => self.bind(claim, &Arc::new(volume)).await,
                    None => {
                        if claim_phase(claim) == "Bound" {
                            self.recorder.record(
                                claim,
                                WARNING,
                                "ClaimLost",
                                "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!",
                            );
                            self.write_claim_status(claim, "Lost", None).await?;
                        }
                        Ok(Action::Done)
                    }
                }
            }
            Some(volume) if volume.spec.claim_ref.is_none() || is_reserved_for(&volume, claim) => {
                self.bind(claim, &volume).await
            }
            Some(_) => {
                self.recorder.record(
                    claim,
                    WARNING,
                    "FailedBinding",
                    &format!("volume \"{volume_name}\" already bound to a different claim."),
                );
                self.write_claim_status(claim, "Pending", None).await?;
                Ok(Action::Done)
            }
        }
    }

    /// Writes the four steps of a binding that are not done yet.
    async fn bind(&self, claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> Result<Action, VolumeError> {
        let volume_name = volume.metadata.name().to_string();
        let wanted_ref = claim_ref(claim);
        let ref_done = volume.spec.claim_ref.as_ref().is_some_and(|r| {
            r.namespace == wanted_ref.namespace && r.name == wanted_ref.name && r.uid == wanted_ref.uid
        });
        let mut volume = volume.clone();
        if !ref_done {
            // Step 1, the lock: a PUT carrying the resourceVersion we read.
            volume.spec.claim_ref = Some(wanted_ref);
            volume
                .metadata
                .annotations
                .insert(BOUND_BY_CONTROLLER.into(), "yes".into());
            volume = self
                .volumes_api()
                .replace(&volume_name, &volume)
                .await
                .map_err(VolumeError::api(format!(
                    "binding volume {volume_name} to claim {}",
                    key_of(claim)
                )))?;
        }
        if volume.phase() != "Bound" {
            let patch = Patch::Merge(json!({"status": {"phase": "Bound", "reason": null, "message": null}}));
            self.volumes_api()
                .patch_status(&volume_name, &patch)
                .await
                .map_err(VolumeError::api(format!("marking volume {volume_name} Bound")))?;
        }
        let annotations = &claim.metadata.annotations;
        let claim_done = claim.spec.volume_name.as_deref() == Some(volume_name.as_str())
            && annotations.get(BIND_COMPLETED).is_some_and(|v| v == "yes");
        if !claim_done {
            let by_controller = claim.spec.volume_name.as_deref().is_none_or(str::is_empty)
                || annotations.contains_key(BOUND_BY_CONTROLLER);
            let mut meta = serde_json::Map::new();
            meta.insert(BIND_COMPLETED.into(), json!("yes"));
            if by_controller {
                meta.insert(BOUND_BY_CONTROLLER.into(), json!("yes"));
            }
            let patch = Patch::Merge(json!({
                "metadata": {"annotations": meta},
                "spec": {"volumeName": volume_name},
            }));
            self.claims_api(claim)
                .patch(claim.metadata.name(), &patch)
                .await
                .map_err(VolumeError::api(format!(
                    "writing volumeName {volume_name} into claim {}",
                    key_of(claim)
                )))?;
        }
        self.write_claim_status(claim, "Bound", Some(&volume)).await?;
        Ok(Action::Done)
    }

    /// Writes the claim's phase (and, when bound, the volume's capacity and modes) if it changed.
    async fn write_claim_status(
        &self,
        claim: &PersistentVolumeClaim,
        phase: &str,
        volume: Option<&PersistentVolume>,
    ) -> Result<(), VolumeError> {
        let status = claim.status.clone().unwrap_or_default();
        let (capacity, modes) = match volume {
            Some(v) => (v.spec.capacity.clone(), v.spec.access_modes.clone()),
            None if phase == "Lost" => (status.capacity.clone(), status.access_modes.clone()),
            None => (Default::default(), Vec::new()),
        };
        if status.phase.as_deref() == Some(phase) && status.capacity == capacity && status.access_modes == modes {
            return Ok(());
        }
        let patch = Patch::Merge(json!({"status": {
            "phase": phase,
            "capacity": if capacity.is_empty() { serde_json::Value::Null } else { json!(capacity) },
            "accessModes": if modes.is_empty() { serde_json::Value::Null } else { json!(modes) },
        }}));
        match self.claims_api(claim).patch_status(claim.metadata.name(), &patch).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(source) => Err(VolumeError::Api {
                action: format!("writing the status of claim {}", key_of(claim)),
                source,
            }),
        }
    }
}

fn claim_phase(claim: &PersistentVolumeClaim) -> &str {
    claim
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

fn key_of(claim: &PersistentVolumeClaim) -> String {
    kubelab_client::object_key(&claim.metadata)
}

#[cfg(test)]
mod tests {
    use super::super::provision::standard_class;
    use super::*;
    use serde_json::json;

    fn claim(class: Option<&str>) -> PersistentVolumeClaim {
        let mut spec = json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}});
        if let Some(class) = class {
            spec["storageClassName"] = json!(class);
        }
        serde_json::from_value(json!({"metadata": {"name": "data", "namespace": "default", "uid": "u"}, "spec": spec}))
            .unwrap()
    }

    fn other_class() -> Arc<StorageClass> {
        let mut class = standard_class();
        class.metadata.name = Some("nfs".into());
        class.metadata.annotations.clear();
        class.provisioner = "example.com/nfs".into();
        Arc::new(class)
    }

    #[test]
    fn a_claim_without_a_class_gets_the_default_first() {
        let classes = [Arc::new(standard_class()), other_class()];
        assert_eq!(plan(&claim(None), &[], &classes), Plan::SetClass("standard".into()));
        // "" is "no class on purpose": it only binds to volumes without a class.
        assert!(matches!(
            plan(&claim(Some("")), &[], &classes),
            Plan::Wait {
                reason: "FailedBinding",
                ..
            }
        ));
        // No default class: the claim stays class-less.
        assert!(matches!(
            plan(&claim(None), &[], &[other_class()]),
            Plan::Wait {
                reason: "FailedBinding",
                ..
            }
        ));
    }

    #[test]
    fn kubelab_classes_provision_others_wait() {
        let classes = [Arc::new(standard_class()), other_class()];
        assert!(
            matches!(plan(&claim(Some("standard")), &[], &classes), Plan::Provision(c) if c.metadata.name() == "standard")
        );
        assert!(matches!(
            plan(&claim(Some("nfs")), &[], &classes),
            Plan::Wait {
                reason: "ExternalProvisioning",
                ..
            }
        ));
        match plan(&claim(Some("gold")), &[], &classes) {
            Plan::Wait { reason, message } => {
                assert_eq!(reason, "ProvisioningFailed");
                assert_eq!(message, "storageclass.storage.k8s.io \"gold\" not found");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_existing_volume_is_preferred_to_provisioning() {
        let volume: Arc<PersistentVolume> = Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": "static"},
                "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                    "hostPath": {"path": "/data"}},
                "status": {"phase": "Available"},
            }))
            .unwrap(),
        );
        let classes = [Arc::new(standard_class())];
        assert!(
            matches!(plan(&claim(Some("standard")), &[volume], &classes), Plan::Bind(v) if v.metadata.name() == "static")
        );
    }
}
