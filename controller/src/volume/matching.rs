//! Which existing volume a claim should get: Kubernetes' `FindMatchingVolume`, as a pure function.
//!
//! A volume fits a claim when
//!
//! - it is free (no `claimRef`), or already reserved for exactly this claim (a `claimRef` naming
//!   the claim, with its uid or without one: an administrator "pre-binding" a volume);
//! - it is of the claim's storage class ("" matches only "");
//! - it offers every access mode the claim asks for, in the same `volumeMode`;
//! - its capacity is at least the claim's request;
//! - its labels match the claim's `selector`, if the claim has one;
//! - it is not being deleted, and not `Released` or `Failed` (those hold someone else's data).
//!
//! Among the volumes that fit, a volume reserved for the claim wins; otherwise the **smallest**
//! that fits, so a 1Gi claim does not take the 100Gi volume a later 50Gi claim needs. Ties go to
//! the name, so the choice is the same on every run.

use std::sync::Arc;

use kubelab_api::core::{PersistentVolume, PersistentVolumeClaim};
use kubelab_api::quantity::Quantity;
use kubelab_api::selector::Selector;

/// Bytes of a `storage` quantity, if it is one.
pub fn storage_bytes(quantity: Option<&Quantity>) -> Option<i128> {
    quantity.and_then(|q| q.value().ok())
}

/// The bytes a claim requests (`spec.resources.requests.storage`).
pub fn requested_bytes(claim: &PersistentVolumeClaim) -> Option<i128> {
    storage_bytes(claim.spec.resources.as_ref().and_then(|r| r.requests.get("storage")))
}

/// The class a claim asks for; "" is "no class".
pub fn claim_class(claim: &PersistentVolumeClaim) -> &str {
    claim.spec.storage_class_name.as_deref().unwrap_or("")
}

/// Whether the volume's `claimRef` names this claim (by namespace and name, and by uid when the
/// reference has one).
pub fn is_reserved_for(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let Some(reference) = &volume.spec.claim_ref else {
        return false;
    };
    reference.namespace.as_deref() == Some(claim.metadata.namespace())
        && reference.name.as_deref() == Some(claim.metadata.name())
        && reference
            .uid
            .as_deref()
            .is_none_or(|uid| uid.is_empty() || Some(uid) == claim.metadata.uid.as_deref())
}

/// Whether `volume` could serve `claim`, leaving aside who else might want it.
pub fn fits(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    if volume.metadata.deletion_timestamp.is_some() || matches!(volume.phase(), "Released" | "Failed") {
        return false;
    }
    if volume.spec.claim_ref.is_some() && !is_reserved_for(volume, claim) {
        return false;
    }
    if volume.class() != claim_class(claim) {
        return false;
    }
    let mode = |m: &Option<String>| m.clone().unwrap_or_else(|| "Filesystem".into());
    if mode(&volume.spec.volume_mode) != mode(&claim.spec.volume_mode) {
        return false;
    }
    if !claim
        .spec
        .access_modes
        .iter()
        .all(|m| volume.spec.access_modes.contains(m))
    {
        return false;
    }
    let (Some(have), Some(want)) = (
        storage_bytes(volume.spec.capacity.get("storage")),
        requested_bytes(claim),
    ) else {
        return false;
    };
    if have < want {
        return false;
    }
    match &claim.spec.selector {
        None => true,
        Some(selector) => Selector::from_label_selector(selector).is_ok_and(|s| s.matches(&volume.metadata.labels)),
    }
}

/// The best volume for `claim` among `volumes`, or `None`.
pub fn find_matching_volume(
    claim: &PersistentVolumeClaim,
    volumes: &[Arc<PersistentVolume>],
) -> Option<Arc<PersistentVolume>> {
    volumes
        .iter()
        .filter(|v| fits(v, claim))
        .min_by_key(|v| {
            (
                !is_reserved_for(v, claim),
                storage_bytes(v.spec.capacity.get("storage")).unwrap_or(i128::MAX),
                v.metadata.name().to_string(),
            )
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn volume(name: &str, size: &str, class: &str, modes: &[&str]) -> Arc<PersistentVolume> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "labels": {"tier": "fast"}},
                "spec": {"capacity": {"storage": size}, "accessModes": modes, "storageClassName": class,
                    "volumeMode": "Filesystem", "hostPath": {"path": "/tmp/x"}},
                "status": {"phase": "Available"},
            }))
            .unwrap(),
        )
    }

    fn claim(size: &str, class: &str, modes: &[&str]) -> PersistentVolumeClaim {
        serde_json::from_value(json!({
            "metadata": {"name": "data", "namespace": "default", "uid": "claim-uid"},
            "spec": {"accessModes": modes, "resources": {"requests": {"storage": size}},
                "storageClassName": class, "volumeMode": "Filesystem"},
        }))
        .unwrap()
    }

    fn with(volume: &Arc<PersistentVolume>, change: impl FnOnce(&mut PersistentVolume)) -> Arc<PersistentVolume> {
        let mut v = (**volume).clone();
        change(&mut v);
        Arc::new(v)
    }

    fn pick(claim: &PersistentVolumeClaim, volumes: &[Arc<PersistentVolume>]) -> Option<String> {
        find_matching_volume(claim, volumes).map(|v| v.metadata.name().to_string())
    }

    #[test]
    fn the_smallest_volume_that_fits_wins() {
        let volumes = vec![
            volume("big", "10Gi", "", &["ReadWriteOnce"]),
            volume("small", "1Gi", "", &["ReadWriteOnce"]),
            volume("tiny", "500Mi", "", &["ReadWriteOnce"]),
            volume("medium", "2Gi", "", &["ReadWriteOnce", "ReadOnlyMany"]),
        ];
        assert_eq!(
            pick(&claim("1Gi", "", &["ReadWriteOnce"]), &volumes).as_deref(),
            Some("small")
        );
        assert_eq!(
            pick(&claim("1500Mi", "", &["ReadWriteOnce"]), &volumes).as_deref(),
            Some("medium")
        );
        assert_eq!(pick(&claim("20Gi", "", &["ReadWriteOnce"]), &volumes), None);
    }

    #[test]
    fn class_modes_and_volume_mode_must_match() {
        let volumes = vec![
            volume("slow", "1Gi", "slow", &["ReadWriteOnce"]),
            volume("none", "1Gi", "", &["ReadWriteOnce"]),
        ];
        assert_eq!(
            pick(&claim("1Gi", "slow", &["ReadWriteOnce"]), &volumes).as_deref(),
            Some("slow")
        );
        assert_eq!(
            pick(&claim("1Gi", "", &["ReadWriteOnce"]), &volumes).as_deref(),
            Some("none")
        );
        assert_eq!(pick(&claim("1Gi", "fast", &["ReadWriteOnce"]), &volumes), None);
        assert_eq!(pick(&claim("1Gi", "", &["ReadWriteMany"]), &volumes), None);
        let block = with(&volumes[1], |v| v.spec.volume_mode = Some("Block".into()));
        assert_eq!(pick(&claim("1Gi", "", &["ReadWriteOnce"]), &[block]), None);
    }

    #[test]
    fn bound_released_and_deleting_volumes_are_skipped() {
        let free = volume("a", "1Gi", "", &["ReadWriteOnce"]);
        let taken = with(&free, |v| {
            v.metadata.name = Some("b".into());
            v.spec.claim_ref = Some(serde_json::from_value(json!({"namespace": "default", "name": "other"})).unwrap());
        });
        let released = with(&free, |v| v.status.as_mut().unwrap().phase = Some("Released".into()));
        let deleting = with(&free, |v| {
            v.metadata.deletion_timestamp = Some(kubelab_api::Time::now())
        });
        let c = claim("1Gi", "", &["ReadWriteOnce"]);
        assert_eq!(pick(&c, &[taken.clone(), released, deleting]), None);
        assert_eq!(pick(&c, &[taken, free]).as_deref(), Some("a"));
    }

    #[test]
    fn a_volume_reserved_for_the_claim_wins_over_a_smaller_one() {
        let small = volume("small", "1Gi", "", &["ReadWriteOnce"]);
        let reserved = with(&volume("reserved", "5Gi", "", &["ReadWriteOnce"]), |v| {
            v.spec.claim_ref = Some(serde_json::from_value(json!({"namespace": "default", "name": "data"})).unwrap());
        });
        let c = claim("1Gi", "", &["ReadWriteOnce"]);
        assert_eq!(
            pick(&c, &[small.clone(), reserved.clone()]).as_deref(),
            Some("reserved")
        );
        // Reserved for an earlier claim of the same name (another uid): not ours.
        let stale = with(&reserved, |v| {
            v.spec.claim_ref.as_mut().unwrap().uid = Some("old-uid".into())
        });
        assert_eq!(pick(&c, &[small, stale]).as_deref(), Some("small"));
    }

    #[test]
    fn the_claim_selector_filters_by_labels() {
        let v = volume("a", "1Gi", "", &["ReadWriteOnce"]);
        let mut c = claim("1Gi", "", &["ReadWriteOnce"]);
        c.spec.selector = Some(serde_json::from_value(json!({"matchLabels": {"tier": "slow"}})).unwrap());
        assert_eq!(pick(&c, std::slice::from_ref(&v)), None);
        c.spec.selector = Some(serde_json::from_value(json!({"matchLabels": {"tier": "fast"}})).unwrap());
        assert_eq!(pick(&c, &[v]).as_deref(), Some("a"));
    }
}
