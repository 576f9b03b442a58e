//! The informer's local cache: the latest copy of every object, keyed by `namespace/name`.
//!
//! Controllers read a lot: "all pods of this ReplicaSet", "the node this pod is on", on every
//! reconcile. Asking the API server each time would flood it, so client-go keeps a local copy
//! that a watch keeps current (the *Indexer*/*Store*), and controllers read that. The copy may be
//! a moment behind the server; controllers are written to cope, because the watch will soon bring
//! the change and trigger another reconcile.
//!
//! [`Store::apply`] is where watcher events become cache changes *and* notifications. After a
//! re-list ([`WatcherEvent::Restarted`]) it compares the fresh list with the cache to find out
//! what was added, changed or deleted while the watch was down; that diff is why an informer
//! never misses a delete, even across a 410 Gone.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use kubelab_api::{Object, ObjectMeta};
use tokio::sync::watch;

use crate::watcher::WatcherEvent;

/// The cache key of an object: `namespace/name`, or `name` for cluster-scoped objects
/// (client-go's `MetaNamespaceKeyFunc`).
pub fn object_key(meta: &ObjectMeta) -> String {
    match meta.namespace() {
        "" => meta.name().to_string(),
        ns => format!("{ns}/{}", meta.name()),
    }
}

/// Splits a key back into `(namespace, name)`; the namespace is `None` for cluster-scoped keys.
pub fn split_key(key: &str) -> (Option<&str>, &str) {
    match key.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, key),
    }
}

/// A change to the cache, as an informer reports it to its handlers.
#[derive(Debug)]
pub enum InformerEvent<T> {
    Added(Arc<T>),
    Updated {
        old: Arc<T>,
        new: Arc<T>,
    },
    /// The object's last known state.
    Deleted(Arc<T>),
}

impl<T: Object> InformerEvent<T> {
    /// The object as it is now (or was last, for a delete).
    pub fn object(&self) -> &Arc<T> {
        match self {
            InformerEvent::Added(o) | InformerEvent::Deleted(o) => o,
            InformerEvent::Updated { new, .. } => new,
        }
    }

    /// The object's cache key, what controllers put in their work queue.
    pub fn key(&self) -> String {
        object_key(self.object().metadata())
    }
}

/// A shared, read-mostly map of the objects an informer has seen. Cheap to clone.
pub struct Store<T> {
    objects: Arc<RwLock<HashMap<String, Arc<T>>>>,
    synced: Arc<watch::Sender<bool>>,
}

impl<T> Clone for Store<T> {
    fn clone(&self) -> Self {
        Store {
            objects: self.objects.clone(),
            synced: self.synced.clone(),
        }
    }
}

impl<T: Object> Default for Store<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Object> Store<T> {
    pub fn new() -> Self {
        Store {
            objects: Arc::default(),
            synced: Arc::new(watch::Sender::new(false)),
        }
    }

    /// The object with key `namespace/name` (or `name`).
    pub fn get(&self, key: &str) -> Option<Arc<T>> {
        self.read().get(key).cloned()
    }

    /// Every object, in no particular order.
    pub fn list(&self) -> Vec<Arc<T>> {
        self.read().values().cloned().collect()
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.read().keys().cloned().collect();
        keys.sort();
        keys
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Whether the first list has been loaded. Before that an empty store means "don't know
    /// yet", not "there are none": a controller that acted on it would, say, create replicas
    /// that already exist.
    pub fn has_synced(&self) -> bool {
        *self.synced.borrow()
    }

    /// Waits until the first list has been loaded.
    pub async fn wait_for_sync(&self) {
        let mut receiver = self.synced.subscribe();
        // Fails only if the sender is gone, which cannot happen while `self` holds it.
        let _ = receiver.wait_for(|synced| *synced).await;
    }

    /// Applies a watcher event to the cache and returns what changed, for the handlers.
    pub fn apply(&self, event: WatcherEvent<T>) -> Vec<InformerEvent<T>> {
        self.apply_with(event, |_| {})
    }

    /// Like [`Store::apply`], but calls `handle` on each change *before* the first list marks
    /// the store synced. Handlers often fill caches of their own (the scheduler's node list);
    /// whoever waits for sync must find those filled too, not just this store.
    pub fn apply_with(
        &self,
        event: WatcherEvent<T>,
        mut handle: impl FnMut(&InformerEvent<T>),
    ) -> Vec<InformerEvent<T>> {
        let is_list = matches!(event, WatcherEvent::Restarted(_));
        let changes = self.changes_of(event);
        changes.iter().for_each(&mut handle);
        if is_list && !self.has_synced() {
            self.synced.send_replace(true);
        }
        changes
    }

    fn changes_of(&self, event: WatcherEvent<T>) -> Vec<InformerEvent<T>> {
        match event {
            WatcherEvent::Restarted(items) => self.replace_all(items),
            WatcherEvent::Added(object) | WatcherEvent::Modified(object) => {
                let new = Arc::new(object);
                match self.write().insert(object_key(new.metadata()), new.clone()) {
                    Some(old) => vec![InformerEvent::Updated { old, new }],
                    None => vec![InformerEvent::Added(new)],
                }
            }
            WatcherEvent::Deleted(object) => {
                self.write().remove(&object_key(object.metadata()));
                vec![InformerEvent::Deleted(Arc::new(object))]
            }
        }
    }

    /// Swaps in a fresh list and reports the difference: deletes first, then adds and updates,
    /// each in key order. An object whose `resourceVersion` did not change reports nothing.
    fn replace_all(&self, items: Vec<T>) -> Vec<InformerEvent<T>> {
        let fresh: HashMap<String, Arc<T>> = items
            .into_iter()
            .map(|o| (object_key(o.metadata()), Arc::new(o)))
            .collect();
        let mut objects = self.write();
        let mut deleted: Vec<(&String, &Arc<T>)> = objects.iter().filter(|(k, _)| !fresh.contains_key(*k)).collect();
        deleted.sort_by(|a, b| a.0.cmp(b.0));
        let mut changes: Vec<InformerEvent<T>> = deleted
            .into_iter()
            .map(|(_, old)| InformerEvent::Deleted(old.clone()))
            .collect();
        let mut keys: Vec<&String> = fresh.keys().collect();
        keys.sort();
        for key in keys {
            let new = fresh[key].clone();
            match objects.get(key) {
                None => changes.push(InformerEvent::Added(new)),
                Some(old) if same_version(old.metadata(), new.metadata()) => {}
                Some(old) => changes.push(InformerEvent::Updated { old: old.clone(), new }),
            }
        }
        *objects = fresh;
        changes
    }

    // A panic in another thread while it held the lock leaves the map as it was; carry on.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, Arc<T>>> {
        self.objects.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, Arc<T>>> {
        self.objects.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn same_version(a: &ObjectMeta, b: &ObjectMeta) -> bool {
    a.resource_version.is_some() && a.resource_version == b.resource_version && a.uid == b.uid
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubelab_api::core::{ConfigMap, Node};

    fn cm(ns: &str, name: &str, rv: &str) -> ConfigMap {
        let mut object = ConfigMap::default();
        object.metadata.namespace = Some(ns.into());
        object.metadata.name = Some(name.into());
        object.metadata.resource_version = Some(rv.into());
        object
    }

    fn describe(changes: &[InformerEvent<ConfigMap>]) -> Vec<String> {
        changes
            .iter()
            .map(|c| match c {
                InformerEvent::Added(o) => format!("add {}", object_key(o.metadata())),
                InformerEvent::Updated { old, new } => format!(
                    "update {} {}->{}",
                    object_key(new.metadata()),
                    old.metadata().resource_version.as_deref().unwrap_or(""),
                    new.metadata().resource_version.as_deref().unwrap_or("")
                ),
                InformerEvent::Deleted(o) => format!("delete {}", object_key(o.metadata())),
            })
            .collect()
    }

    #[test]
    fn keys() {
        assert_eq!(object_key(cm("ns", "a", "1").metadata()), "ns/a");
        let mut node = Node::default();
        node.metadata.name = Some("n1".into());
        assert_eq!(object_key(node.metadata()), "n1");
        assert_eq!(split_key("ns/a"), (Some("ns"), "a"));
        assert_eq!(split_key("n1"), (None, "n1"));
    }

    #[test]
    fn restarted_is_diffed_against_the_cache() {
        let store = Store::new();
        assert!(!store.has_synced());
        let first = store.apply(WatcherEvent::Restarted(vec![
            cm("d", "a", "1"),
            cm("d", "b", "2"),
            cm("d", "c", "3"),
        ]));
        assert_eq!(describe(&first), ["add d/a", "add d/b", "add d/c"]);
        assert!(store.has_synced());

        // While the watch was down: b changed, c was deleted, e was created; a is untouched.
        let second = store.apply(WatcherEvent::Restarted(vec![
            cm("d", "a", "1"),
            cm("d", "b", "7"),
            cm("d", "e", "8"),
        ]));
        assert_eq!(describe(&second), ["delete d/c", "update d/b 2->7", "add d/e"]);
        assert_eq!(store.keys(), ["d/a", "d/b", "d/e"]);
        assert_eq!(
            store
                .get("d/b")
                .and_then(|o| o.metadata().resource_version.clone())
                .as_deref(),
            Some("7")
        );
    }

    #[test]
    fn watch_events_update_the_cache() {
        let store = Store::new();
        store.apply(WatcherEvent::Restarted(vec![]));
        assert_eq!(
            describe(&store.apply(WatcherEvent::Added(cm("d", "a", "1")))),
            ["add d/a"]
        );
        assert_eq!(
            describe(&store.apply(WatcherEvent::Modified(cm("d", "a", "2")))),
            ["update d/a 1->2"]
        );
        // An ADDED for a key we have (a watch from "0" repeating what the list said) is an update.
        assert_eq!(
            describe(&store.apply(WatcherEvent::Added(cm("d", "a", "3")))),
            ["update d/a 2->3"]
        );
        assert_eq!(store.len(), 1);
        assert_eq!(
            describe(&store.apply(WatcherEvent::Deleted(cm("d", "a", "4")))),
            ["delete d/a"]
        );
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn wait_for_sync_returns_after_the_first_list() {
        let store: Store<ConfigMap> = Store::new();
        let waiter = {
            let store = store.clone();
            tokio::spawn(async move { store.wait_for_sync().await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        store.apply(WatcherEvent::Restarted(vec![]));
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
    }

    #[test]
    fn handlers_of_the_first_list_run_before_the_store_counts_as_synced() {
        let store: Store<ConfigMap> = Store::new();
        let mut seen_unsynced = 0;
        store.apply_with(
            WatcherEvent::Restarted(vec![cm("a", "x", "1"), cm("a", "y", "2")]),
            |_| {
                if !store.has_synced() {
                    seen_unsynced += 1;
                }
            },
        );
        assert_eq!(
            seen_unsynced, 2,
            "a handler saw the store synced before its own cache was filled"
        );
        assert!(store.has_synced());
    }
}
