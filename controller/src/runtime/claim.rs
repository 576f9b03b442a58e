//! Who owns what: adopting orphans and releasing strays through `ownerReferences`.
//!
//! A ReplicaSet finds "its" pods by label selector, but labels are writable by anyone, so two
//! owners could select the same pod. Kubernetes settles it with the *controller reference*: the
//! one `ownerReference` with `controller: true`. A controller
//!
//! - **keeps** objects that name it as controller and still match its selector;
//! - **adopts** orphans (no controller) that match, by adding a reference to itself;
//! - **releases** objects that name it but no longer match (someone relabelled a pod to take it
//!   out of service for debugging), by removing the reference: the ReplicaSet then creates a
//!   replacement and leaves the relabelled pod alone;
//! - **ignores** objects another controller owns, whatever their labels.
//!
//! Objects being deleted are neither adopted nor released: they are on their way out anyway.
//! This module only decides; the caller writes the references.

use std::sync::Arc;

use kubelab_api::selector::Selector;
use kubelab_api::Object;

/// The decision for a set of candidates.
#[derive(Debug)]
pub struct Claim<T> {
    /// Ours and matching (adoptees not included).
    pub owned: Vec<Arc<T>>,
    /// Orphans that match: add our controller reference.
    pub adopt: Vec<Arc<T>>,
    /// Ours but no longer matching: remove our reference.
    pub release: Vec<Arc<T>>,
}

/// Sorts `candidates` (objects of the owner's namespace) into kept, adopted and released, for
/// the owner with uid `owner_uid`. An owner being deleted adopts nothing.
pub fn claim<T: Object>(
    owner_uid: &str,
    owner_deleting: bool,
    selector: &Selector,
    candidates: impl IntoIterator<Item = Arc<T>>,
) -> Claim<T> {
    let mut result = Claim {
        owned: Vec::new(),
        adopt: Vec::new(),
        release: Vec::new(),
    };
    for object in candidates {
        let meta = object.metadata();
        let matches = selector.matches(&meta.labels);
        let deleting = meta.deletion_timestamp.is_some();
        match meta.controller_ref() {
            Some(owner) if owner.uid == owner_uid => {
                if matches {
                    result.owned.push(object);
                } else if !deleting {
                    result.release.push(object);
                }
            }
            Some(_) => {}
            None => {
                if matches && !deleting && !owner_deleting {
                    result.adopt.push(object);
                }
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubelab_api::core::Pod;
    use kubelab_api::{OwnerReference, Time};

    fn pod(name: &str, app: &str, owner: Option<&str>, deleting: bool) -> Arc<Pod> {
        let mut pod = Pod::default();
        pod.metadata.name = Some(name.into());
        pod.metadata.labels.insert("app".into(), app.into());
        if let Some(uid) = owner {
            pod.metadata.owner_references.push(OwnerReference {
                api_version: "apps/v1".into(),
                kind: "ReplicaSet".into(),
                name: "rs".into(),
                uid: uid.into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            });
        }
        if deleting {
            pod.metadata.deletion_timestamp = Some(Time::now());
        }
        Arc::new(pod)
    }

    fn names(pods: &[Arc<Pod>]) -> Vec<&str> {
        pods.iter().map(|p| p.metadata.name()).collect()
    }

    #[test]
    fn keeps_adopts_releases_and_ignores() {
        let selector = Selector::parse("app=web").unwrap();
        let candidates = vec![
            pod("mine", "web", Some("me"), false),
            pod("orphan", "web", None, false),
            pod("orphan-other-app", "db", None, false),
            pod("relabelled", "debug", Some("me"), false),
            pod("someone-elses", "web", Some("other"), false),
            pod("orphan-deleting", "web", None, true),
            pod("relabelled-deleting", "debug", Some("me"), true),
            pod("mine-deleting", "web", Some("me"), true),
        ];
        let claim = claim("me", false, &selector, candidates.clone());
        assert_eq!(names(&claim.owned), ["mine", "mine-deleting"]);
        assert_eq!(names(&claim.adopt), ["orphan"]);
        assert_eq!(names(&claim.release), ["relabelled"]);

        let deleting_owner = super::claim("me", true, &selector, candidates);
        assert!(deleting_owner.adopt.is_empty());
    }
}
