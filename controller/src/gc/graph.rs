//! The ownership graph: who owns whom, by uid.
//!
//! Every object the collector watches is a node; each `ownerReference` is an edge from the
//! dependent to the owner's *uid*. Edges point at uids, not names, because a name can be reused:
//! a ReplicaSet `web` deleted and created again is a different owner, and the pods of the first
//! one must not be adopted by the second by accident. An edge may point at a uid that no object
//! has (the owner is gone): that is exactly what the collector looks for.
//!
//! The informers' handlers keep the graph current (a few map updates, under a lock) and return
//! the keys the change may concern, which go into the work queue:
//!
//! - an object with owners, or being deleted with a GC finalizer: itself;
//! - an object whose owners changed, or that is being deleted: its owners (a foreground owner
//!   waits for it);
//! - a removed object: its dependents (their owner may be gone now) and its owners.

use std::collections::{BTreeSet, HashMap};

use kubelab_api::{ObjectMeta, OwnerReference};

/// Finalizer of an owner whose dependents must be deleted first.
pub const FOREGROUND: &str = "foregroundDeletion";
/// Finalizer of an owner whose dependents must be released first.
pub const ORPHAN: &str = "orphan";

/// An object the collector knows: its kind, namespace (`""` if cluster-scoped) and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemKey {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
}

impl ItemKey {
    pub fn new(kind: &'static str, meta: &ObjectMeta) -> Self {
        ItemKey {
            kind,
            namespace: meta.namespace().to_string(),
            name: meta.name().to_string(),
        }
    }
}

impl std::fmt::Display for ItemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.namespace.as_str() {
            "" => write!(f, "{} {}", self.kind, self.name),
            ns => write!(f, "{} {ns}/{}", self.kind, self.name),
        }
    }
}

#[derive(Debug)]
struct Item {
    uid: String,
    owners: Vec<String>,
}

/// Whether the object is being deleted and waits for the collector.
pub fn has_gc_finalizer(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some() && meta.finalizers.iter().any(|f| f == FOREGROUND || f == ORPHAN)
}

fn owner_uids(refs: &[OwnerReference]) -> Vec<String> {
    refs.iter().map(|r| r.uid.clone()).collect()
}

/// Objects, their owners' uids, and the reverse index.
#[derive(Debug, Default)]
pub struct Graph {
    items: HashMap<ItemKey, Item>,
    by_uid: HashMap<String, ItemKey>,
    dependents: HashMap<String, BTreeSet<ItemKey>>,
}

impl Graph {
    /// Records an added or changed object; returns the keys to reconcile.
    pub fn upsert(&mut self, key: ItemKey, meta: &ObjectMeta) -> Vec<ItemKey> {
        let uid = meta.uid.clone().unwrap_or_default();
        let owners = owner_uids(&meta.owner_references);
        let old = self.items.insert(
            key.clone(),
            Item {
                uid: uid.clone(),
                owners: owners.clone(),
            },
        );
        let old_owners = match &old {
            Some(item) => {
                if item.uid != uid && self.by_uid.get(&item.uid) == Some(&key) {
                    self.by_uid.remove(&item.uid);
                }
                item.owners.clone()
            }
            None => Vec::new(),
        };
        for gone in old_owners.iter().filter(|o| !owners.contains(o)) {
            self.unlink(gone, &key);
        }
        for owner in &owners {
            self.dependents.entry(owner.clone()).or_default().insert(key.clone());
        }
        if !uid.is_empty() {
            self.by_uid.insert(uid, key.clone());
        }

        let mut wake = Vec::new();
        if !owners.is_empty() || has_gc_finalizer(meta) {
            wake.push(key);
        }
        if old_owners != owners || meta.deletion_timestamp.is_some() {
            let mut all = old_owners;
            all.extend(owners);
            wake.extend(self.keys_of(&all));
        }
        dedup(wake)
    }

    /// Forgets a removed object; returns the keys to reconcile.
    pub fn remove(&mut self, key: &ItemKey) -> Vec<ItemKey> {
        let Some(item) = self.items.remove(key) else {
            return Vec::new();
        };
        if self.by_uid.get(&item.uid) == Some(key) {
            self.by_uid.remove(&item.uid);
        }
        for owner in &item.owners {
            self.unlink(owner, key);
        }
        let mut wake = self.dependents(&item.uid);
        wake.extend(self.keys_of(&item.owners));
        dedup(wake)
    }

    /// The objects that name `uid` as an owner.
    pub fn dependents(&self, uid: &str) -> Vec<ItemKey> {
        self.dependents
            .get(uid)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The key of the object with `uid`, if the graph has it.
    pub fn key_of(&self, uid: &str) -> Option<&ItemKey> {
        self.by_uid.get(uid)
    }

    fn keys_of(&self, uids: &[String]) -> Vec<ItemKey> {
        uids.iter().filter_map(|u| self.by_uid.get(u).cloned()).collect()
    }

    fn unlink(&mut self, owner: &str, dependent: &ItemKey) {
        if let Some(set) = self.dependents.get_mut(owner) {
            set.remove(dependent);
            if set.is_empty() {
                self.dependents.remove(owner);
            }
        }
    }
}

fn dedup(mut keys: Vec<ItemKey>) -> Vec<ItemKey> {
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, uid: &str, owners: &[&str]) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(uid.into()),
            owner_references: owners
                .iter()
                .map(|o| OwnerReference {
                    api_version: "apps/v1".into(),
                    kind: "ReplicaSet".into(),
                    name: "web".into(),
                    uid: (*o).into(),
                    ..OwnerReference::default()
                })
                .collect(),
            ..ObjectMeta::default()
        }
    }

    fn key(kind: &'static str, name: &str) -> ItemKey {
        ItemKey {
            kind,
            namespace: "default".into(),
            name: name.into(),
        }
    }

    #[test]
    fn edges_by_uid_and_what_to_wake() {
        let mut g = Graph::default();
        assert_eq!(g.upsert(key("ReplicaSet", "web"), &meta("web", "rs-1", &[])), vec![]);
        // A pod with an owner is checked itself; its new owner is woken too.
        assert_eq!(
            g.upsert(key("Pod", "web-a"), &meta("web-a", "pod-a", &["rs-1"])),
            vec![key("Pod", "web-a"), key("ReplicaSet", "web")]
        );
        g.upsert(key("Pod", "web-b"), &meta("web-b", "pod-b", &["rs-1"]));
        assert_eq!(g.dependents("rs-1"), vec![key("Pod", "web-a"), key("Pod", "web-b")]);
        assert_eq!(g.key_of("rs-1"), Some(&key("ReplicaSet", "web")));
        // The owner goes: both dependents are woken.
        assert_eq!(
            g.remove(&key("ReplicaSet", "web")),
            vec![key("Pod", "web-a"), key("Pod", "web-b")]
        );
        assert_eq!(g.key_of("rs-1"), None);
        // Edges to the missing uid stay: that is what makes the pods orphans.
        assert_eq!(g.dependents("rs-1").len(), 2);
        // A pod released (no owners any more) leaves the index.
        g.upsert(key("Pod", "web-a"), &meta("web-a", "pod-a", &[]));
        assert_eq!(g.dependents("rs-1"), vec![key("Pod", "web-b")]);
        g.remove(&key("Pod", "web-b"));
        assert!(g.dependents("rs-1").is_empty());
    }

    #[test]
    fn a_namesake_with_another_uid_is_another_object() {
        let mut g = Graph::default();
        g.upsert(key("ReplicaSet", "web"), &meta("web", "rs-1", &[]));
        g.upsert(key("ReplicaSet", "web"), &meta("web", "rs-2", &[]));
        assert_eq!(g.key_of("rs-1"), None);
        assert_eq!(g.key_of("rs-2"), Some(&key("ReplicaSet", "web")));
    }

    #[test]
    fn a_deleting_owner_with_a_gc_finalizer_is_woken() {
        let mut g = Graph::default();
        let mut m = meta("web", "rs-1", &[]);
        m.deletion_timestamp = Some(kubelab_api::Time::now());
        m.finalizers = vec![FOREGROUND.into()];
        assert_eq!(g.upsert(key("ReplicaSet", "web"), &m), vec![key("ReplicaSet", "web")]);
        m.finalizers = vec!["example.com/other".into()];
        assert_eq!(g.upsert(key("ReplicaSet", "web"), &m), vec![]);
    }
}
