//! One reconcile of one volume: its phase, and what happens once its claim is gone.
//!
//! | the volume's `claimRef` | phase |
//! | --- | --- |
//! | none | `Available` |
//! | a claim that exists (same uid), bound to it | `Bound` |
//! | a claim without uid (an administrator's reservation), not bound yet | `Available` |
//! | a claim that is gone, or was replaced by a new one of the same name | `Released`, then reclaim |
//!
//! **Reclaiming** a released volume follows its `persistentVolumeReclaimPolicy`: `Retain` keeps
//! it `Released` (the data stays for an administrator, who deletes the volume or clears its
//! `claimRef` to reuse it); `Delete` deletes the PersistentVolume, and the node agent then
//! removes the Docker volume behind it. kubelab can only delete its own Docker volumes: a
//! `hostPath` volume with `Delete` becomes `Failed` instead, with the reason in its status,
//! exactly as Kubernetes does when no plugin can delete a volume.
//!
//! Before declaring a claim gone the controller asks the API server, not only its cache: a
//! volume released by mistake because the cache lagged would lose its data.

use kubelab_api::core::{PersistentVolume, PersistentVolumeClaim};
use kubelab_client::{Api, DeleteParams, Patch, Preconditions};
use serde_json::json;

use super::provision::PROVISIONER;
use super::{VolumeController, VolumeError};
use crate::runtime::Action;

/// Where the volume stands with its claim (pure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimState {
    /// No `claimRef`.
    Unclaimed,
    /// Reserved for a claim by name only (no uid): waiting for it.
    Reserved,
    /// The claim exists with the referenced uid and names this volume.
    Bound,
    /// The claim exists with the referenced uid but is not bound (yet, or to another volume).
    Binding,
    /// The claim was deleted (or replaced by a new one of the same name).
    Gone,
}

/// Classifies a volume against its claim as read (`None`: no such claim).
pub fn claim_state(volume: &PersistentVolume, claim: Option<&PersistentVolumeClaim>) -> ClaimState {
    let Some(reference) = &volume.spec.claim_ref else {
        return ClaimState::Unclaimed;
    };
    let uid = reference.uid.as_deref().filter(|u| !u.is_empty());
    match (claim, uid) {
        (Some(claim), Some(uid)) if claim.metadata.uid.as_deref() == Some(uid) => {
            if claim.spec.volume_name.as_deref() == Some(volume.metadata.name()) {
                ClaimState::Bound
            } else {
                ClaimState::Binding
            }
        }
        (_, None) => ClaimState::Reserved,
        (_, Some(_)) => ClaimState::Gone,
    }
}

/// What reclaiming a released volume means for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reclaim {
    /// Keep it Released.
    Retain,
    /// Delete the PersistentVolume.
    Delete,
    /// It cannot be deleted: mark it Failed with this message.
    Fail(String),
}

/// The reclaim decision for a released volume (pure).
pub fn reclaim(volume: &PersistentVolume) -> Reclaim {
    match volume.spec.persistent_volume_reclaim_policy.as_deref() {
        Some("Delete") if volume.spec.csi.as_ref().is_some_and(|c| c.driver == PROVISIONER) => Reclaim::Delete,
        Some("Delete") => Reclaim::Fail(format!(
            "error getting deleter volume plugin for volume \"{}\": kubelab deletes only {PROVISIONER} volumes; \
             delete the data and the PersistentVolume by hand",
            volume.metadata.name()
        )),
        _ => Reclaim::Retain,
    }
}

impl VolumeController {
    pub(crate) async fn sync_volume(&self, name: &str) -> Result<Action, VolumeError> {
        let Some(volume) = self.volumes.get(name) else {
            return Ok(Action::Done);
        };
        if volume.metadata.deletion_timestamp.is_some() {
            return Ok(Action::Done);
        }
        let cached = volume.spec.claim_ref.as_ref().and_then(|r| {
            let key = format!("{}/{}", r.namespace.as_deref()?, r.name.as_deref()?);
            self.claims.get(&key)
        });
        let mut state = claim_state(&volume, cached.as_deref());
        if state == ClaimState::Gone {
            // Confirm with the server before letting go of anyone's data.
            let reference = volume.spec.claim_ref.as_ref().expect("Gone implies a claimRef");
            let api: Api<PersistentVolumeClaim> =
                Api::namespaced(self.client.clone(), reference.namespace.as_deref().unwrap_or_default());
            let live = api
                .get_opt(reference.name.as_deref().unwrap_or_default())
                .await
                .map_err(VolumeError::api(format!("reading the claim of volume {name}")))?;
            state = claim_state(&volume, live.as_ref());
        }
        match state {
            ClaimState::Unclaimed | ClaimState::Reserved => self.set_phase(&volume, "Available", None).await?,
            ClaimState::Bound => self.set_phase(&volume, "Bound", None).await?,
            ClaimState::Binding => {
                if let Some(reference) = &volume.spec.claim_ref {
                    // The claim's reconcile finishes (or refuses) the binding.
                    self.queue.add(format!(
                        "{}{}/{}",
                        super::CLAIM_PREFIX,
                        reference.namespace.as_deref().unwrap_or_default(),
                        reference.name.as_deref().unwrap_or_default()
                    ));
                }
            }
            ClaimState::Gone => {
                if !matches!(volume.phase(), "Released" | "Failed") {
                    self.set_phase(&volume, "Released", None).await?;
                }
                match reclaim(&volume) {
                    Reclaim::Retain => {}
                    Reclaim::Delete => self.delete_volume(&volume).await?,
                    Reclaim::Fail(message) => {
                        self.set_phase(&volume, "Failed", Some(("VolumeFailedDelete", &message)))
                            .await?
                    }
                }
            }
        }
        Ok(Action::Done)
    }

    async fn set_phase(
        &self,
        volume: &PersistentVolume,
        phase: &str,
        why: Option<(&str, &str)>,
    ) -> Result<(), VolumeError> {
        let status = volume.status.clone().unwrap_or_default();
        let (reason, message) = why.unzip();
        if status.phase.as_deref() == Some(phase)
            && status.reason.as_deref() == reason
            && status.message.as_deref() == message
        {
            return Ok(());
        }
        let patch = Patch::Merge(json!({"status": {
            "phase": phase,
            "reason": reason,
            "message": message,
            "lastPhaseTransitionTime": crate::runtime::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }}));
        let api: Api<PersistentVolume> = Api::all(self.client.clone());
        match api.patch_status(volume.metadata.name(), &patch).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(source) => Err(VolumeError::Api {
                action: format!("marking volume {} {phase}", volume.metadata.name()),
                source,
            }),
        }
    }

    async fn delete_volume(&self, volume: &PersistentVolume) -> Result<(), VolumeError> {
        let api: Api<PersistentVolume> = Api::all(self.client.clone());
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: volume.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(volume.metadata.name(), &params).await {
            Ok(_) => {
                tracing::info!(
                    volume = volume.metadata.name(),
                    "volume controller: deleted released volume"
                );
                Ok(())
            }
            Err(e) if e.is_not_found() || e.is_conflict() => Ok(()),
            Err(source) => Err(VolumeError::Api {
                action: format!("deleting released volume {}", volume.metadata.name()),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn volume(claim_uid: Option<&str>, policy: &str, csi: bool) -> PersistentVolume {
        let mut v = json!({
            "metadata": {"name": "pv1"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": policy},
        });
        if csi {
            v["spec"]["csi"] = json!({"driver": PROVISIONER, "volumeHandle": "h"});
        } else {
            v["spec"]["hostPath"] = json!({"path": "/data"});
        }
        if let Some(uid) = claim_uid {
            v["spec"]["claimRef"] = json!({"namespace": "default", "name": "data"});
            if !uid.is_empty() {
                v["spec"]["claimRef"]["uid"] = json!(uid);
            }
        }
        serde_json::from_value(v).unwrap()
    }

    fn claim(uid: &str, volume: Option<&str>) -> PersistentVolumeClaim {
        serde_json::from_value(json!({
            "metadata": {"name": "data", "namespace": "default", "uid": uid},
            "spec": {"volumeName": volume},
        }))
        .unwrap()
    }

    #[test]
    fn the_claim_state_of_a_volume() {
        assert_eq!(claim_state(&volume(None, "Retain", true), None), ClaimState::Unclaimed);
        assert_eq!(
            claim_state(&volume(Some(""), "Retain", true), None),
            ClaimState::Reserved
        );
        let bound = volume(Some("u1"), "Retain", true);
        assert_eq!(claim_state(&bound, Some(&claim("u1", Some("pv1")))), ClaimState::Bound);
        assert_eq!(claim_state(&bound, Some(&claim("u1", None))), ClaimState::Binding);
        assert_eq!(claim_state(&bound, None), ClaimState::Gone);
        assert_eq!(
            claim_state(&bound, Some(&claim("u2", Some("pv1")))),
            ClaimState::Gone,
            "a new claim of the same name is not the one the volume was bound to"
        );
    }

    #[test]
    fn reclaim_follows_the_policy() {
        assert_eq!(reclaim(&volume(Some("u"), "Retain", true)), Reclaim::Retain);
        assert_eq!(reclaim(&volume(Some("u"), "Delete", true)), Reclaim::Delete);
        assert!(matches!(reclaim(&volume(Some("u"), "Delete", false)), Reclaim::Fail(m) if m.contains("pv1")));
    }
}
