//! What the garbage collector does with one object. Pure decisions over what the caches (and,
//! for "is the owner really gone?", a live read) say.
//!
//! **As a dependent** (it has `ownerReferences`):
//!
//! | its owners | action |
//! | --- | --- |
//! | all present (or of a kind the collector cannot look up) | nothing |
//! | all gone | delete it, background propagation |
//! | some gone, the rest deleting in the foreground | delete it, foreground propagation |
//! | some gone, some present | remove the references to the gone ones |
//!
//! "Gone" means: no object of that kind and name, *or one with another uid*.
//!
//! **As an owner** being deleted with a finalizer the collector honours:
//!
//! - `orphan`: remove the references to it from every dependent, then remove the finalizer;
//! - `foregroundDeletion`: delete every dependent not yet being deleted (in the foreground too,
//!   if it has dependents of its own, so the whole tree goes leaves first); once no dependent
//!   with `blockOwnerDeletion: true` is left, remove the finalizer. The API server removes the
//!   owner when its last finalizer goes.

use kubelab_api::{ObjectMeta, OwnerReference};
use kubelab_client::PropagationPolicy;

use super::graph::{ItemKey, FOREGROUND, ORPHAN};

/// What the collector found about one owner reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerState {
    /// An object with the reference's uid exists; `foreground`: it is being deleted and waits
    /// for its dependents.
    Present { foreground: bool },
    /// No object with that uid.
    Absent,
    /// The kind is not one the collector watches: it cannot tell, so it keeps the dependent.
    Unresolvable,
}

/// What to do with a dependent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DependentAction {
    Nothing,
    Delete(PropagationPolicy),
    /// Remove the owner references with these uids.
    RemoveOwnerRefs(Vec<String>),
}

pub fn decide_dependent(meta: &ObjectMeta, owners: &[(OwnerReference, OwnerState)]) -> DependentAction {
    if meta.deletion_timestamp.is_some() || owners.is_empty() {
        return DependentAction::Nothing;
    }
    let absent: Vec<String> = owners
        .iter()
        .filter(|(_, s)| *s == OwnerState::Absent)
        .map(|(r, _)| r.uid.clone())
        .collect();
    if absent.is_empty() {
        return DependentAction::Nothing;
    }
    let remaining: Vec<OwnerState> = owners
        .iter()
        .map(|(_, s)| *s)
        .filter(|s| *s != OwnerState::Absent)
        .collect();
    if remaining.is_empty() {
        return DependentAction::Delete(PropagationPolicy::Background);
    }
    if remaining.iter().all(|s| *s == OwnerState::Present { foreground: true }) {
        return DependentAction::Delete(PropagationPolicy::Foreground);
    }
    DependentAction::RemoveOwnerRefs(absent)
}

/// A dependent of an owner being deleted, as the owner's decision needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependent {
    pub key: ItemKey,
    /// Its reference to this owner says `blockOwnerDeletion: true`.
    pub blocks: bool,
    /// It is being deleted already.
    pub deleting: bool,
    /// It owns objects itself.
    pub has_dependents: bool,
}

/// What to do for an owner being deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnerPlan {
    /// Dependents whose reference to the owner is to be removed.
    pub orphan: Vec<ItemKey>,
    /// Dependents to delete, and how.
    pub delete: Vec<(ItemKey, PropagationPolicy)>,
    /// The finalizer to remove once the rest is done.
    pub remove_finalizer: Option<&'static str>,
}

pub fn decide_owner(meta: &ObjectMeta, dependents: &[Dependent]) -> OwnerPlan {
    let mut plan = OwnerPlan::default();
    if meta.deletion_timestamp.is_none() {
        return plan;
    }
    let has = |f: &str| meta.finalizers.iter().any(|x| x == f);
    if has(ORPHAN) {
        plan.orphan = dependents.iter().map(|d| d.key.clone()).collect();
        plan.remove_finalizer = Some(ORPHAN);
    } else if has(FOREGROUND) {
        plan.delete = dependents
            .iter()
            .filter(|d| !d.deleting)
            .map(|d| {
                let policy = if d.has_dependents {
                    PropagationPolicy::Foreground
                } else {
                    PropagationPolicy::Background
                };
                (d.key.clone(), policy)
            })
            .collect();
        if !dependents.iter().any(|d| d.blocks) {
            plan.remove_finalizer = Some(FOREGROUND);
        }
    }
    plan
}

/// `finalizers` without `finalizer`.
pub fn without_finalizer(meta: &ObjectMeta, finalizer: &str) -> Vec<String> {
    meta.finalizers.iter().filter(|f| *f != finalizer).cloned().collect()
}

/// `ownerReferences` without those to `uids`.
pub fn without_owners(meta: &ObjectMeta, uids: &[String]) -> Vec<OwnerReference> {
    meta.owner_references
        .iter()
        .filter(|r| !uids.contains(&r.uid))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubelab_api::Time;

    fn owner_ref(uid: &str) -> OwnerReference {
        OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: "web".into(),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    fn key(name: &str) -> ItemKey {
        ItemKey {
            kind: "Pod",
            namespace: "default".into(),
            name: name.into(),
        }
    }

    fn dependent(name: &str, blocks: bool, deleting: bool, has_dependents: bool) -> Dependent {
        Dependent {
            key: key(name),
            blocks,
            deleting,
            has_dependents,
        }
    }

    fn deleting(finalizers: &[&str]) -> ObjectMeta {
        ObjectMeta {
            deletion_timestamp: Some(Time::now()),
            finalizers: finalizers.iter().map(|f| f.to_string()).collect(),
            ..ObjectMeta::default()
        }
    }

    const PRESENT: OwnerState = OwnerState::Present { foreground: false };

    #[test]
    fn an_orphaned_dependent_is_deleted_in_the_background() {
        let owners = [(owner_ref("rs-1"), OwnerState::Absent)];
        assert_eq!(
            decide_dependent(&ObjectMeta::default(), &owners),
            DependentAction::Delete(PropagationPolicy::Background)
        );
    }

    #[test]
    fn a_dependent_with_a_live_owner_stays() {
        let owners = [(owner_ref("rs-1"), PRESENT)];
        assert_eq!(
            decide_dependent(&ObjectMeta::default(), &owners),
            DependentAction::Nothing
        );
        // An owner of a kind the collector does not know is given the benefit of the doubt.
        let owners = [
            (owner_ref("x"), OwnerState::Unresolvable),
            (owner_ref("rs-1"), OwnerState::Absent),
        ];
        assert_eq!(
            decide_dependent(&ObjectMeta::default(), &owners),
            DependentAction::RemoveOwnerRefs(vec!["rs-1".into()])
        );
    }

    #[test]
    fn a_dangling_reference_beside_a_live_owner_is_removed() {
        let owners = [(owner_ref("rs-1"), OwnerState::Absent), (owner_ref("rs-2"), PRESENT)];
        assert_eq!(
            decide_dependent(&ObjectMeta::default(), &owners),
            DependentAction::RemoveOwnerRefs(vec!["rs-1".into()])
        );
        let meta = ObjectMeta {
            owner_references: vec![owner_ref("rs-1"), owner_ref("rs-2")],
            ..ObjectMeta::default()
        };
        assert_eq!(without_owners(&meta, &["rs-1".into()]), vec![owner_ref("rs-2")]);
    }

    #[test]
    fn gone_plus_foreground_owners_means_foreground_delete() {
        let owners = [
            (owner_ref("rs-1"), OwnerState::Absent),
            (owner_ref("rs-2"), OwnerState::Present { foreground: true }),
        ];
        assert_eq!(
            decide_dependent(&ObjectMeta::default(), &owners),
            DependentAction::Delete(PropagationPolicy::Foreground)
        );
    }

    #[test]
    fn a_dependent_being_deleted_is_left_alone() {
        let owners = [(owner_ref("rs-1"), OwnerState::Absent)];
        assert_eq!(decide_dependent(&deleting(&[]), &owners), DependentAction::Nothing);
    }

    #[test]
    fn foreground_waits_for_blocking_dependents() {
        let owner = deleting(&[FOREGROUND]);
        let deps = [
            dependent("a", true, false, false),
            dependent("b", false, false, true),
            dependent("c", true, true, false),
        ];
        let plan = decide_owner(&owner, &deps);
        assert_eq!(
            plan.delete,
            vec![
                (key("a"), PropagationPolicy::Background),
                (key("b"), PropagationPolicy::Foreground)
            ]
        );
        assert_eq!(plan.remove_finalizer, None, "a and c still block");
        // Only a non-blocking dependent left: the owner may go.
        let plan = decide_owner(&owner, &[dependent("b", false, true, false)]);
        assert!(plan.delete.is_empty());
        assert_eq!(plan.remove_finalizer, Some(FOREGROUND));
        assert_eq!(without_finalizer(&owner, FOREGROUND), Vec::<String>::new());
    }

    #[test]
    fn orphan_releases_every_dependent_then_the_owner() {
        let owner = deleting(&[ORPHAN, "example.com/keep"]);
        let plan = decide_owner(&owner, &[dependent("a", true, false, false)]);
        assert_eq!(plan.orphan, vec![key("a")]);
        assert!(plan.delete.is_empty());
        assert_eq!(plan.remove_finalizer, Some(ORPHAN));
        assert_eq!(without_finalizer(&owner, ORPHAN), vec!["example.com/keep".to_string()]);
    }

    #[test]
    fn owners_not_being_deleted_need_nothing() {
        let plan = decide_owner(&ObjectMeta::default(), &[dependent("a", true, false, false)]);
        assert_eq!(plan, OwnerPlan::default());
    }
}
