//! # Storage: a revisioned key-value store with watches (etcd's model)
//!
//! Only the API server touches storage. It keeps each object as JSON under a key shaped like
//! Kubernetes' own (`/registry/pods/default/web`), and the store gives it what etcd gives
//! kube-apiserver:
//!
//! - **one revision for the whole cluster**: every write bumps a single counter, and the object
//!   written carries it as `metadata.resourceVersion`; revisions only go up, even across restarts;
//! - **compare-and-swap**: an update names the revision it read, and loses with
//!   [`StoreError::Conflict`] if somebody wrote in between ([`guaranteed_update`] retries for you);
//! - **watch from any kept revision**: every change is also an event in an ordered log, so a
//!   watcher can resume exactly where it left off; past the kept history it gets
//!   [`StoreError::Gone`] (HTTP 410) and must list again;
//! - **durability**: a write is acknowledged only once it is on disk.
//!
//! The [`Store`] trait is what the rest of the API server sees; [`sled_store`] is the embedded
//! backend. One test suite ([`suite`]) runs against every backend.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use serde_json::Value;

pub mod encryption;
pub mod sled_store;
pub mod sparse;
#[cfg(test)]
mod suite;
pub mod trigger;

pub use trigger::Trigger;

/// A cluster-wide revision; `metadata.resourceVersion` is its decimal string.
pub type Revision = u64;

/// An object as stored, at the revision it was last written.
///
/// What a store hands out is mostly sent on as it is: a GET, a list or a watch event writes
/// `raw` to the client. So the object is parsed into a [`Value`] only when somebody looks
/// inside ([`StoredObject::value`]: a selector, an update, admission), and at most once, since
/// clones share the parsed copy. That spares the CPU a parse per read, and the watch cache the
/// memory of thousands of parsed objects nobody asked for.
#[derive(Clone, Debug)]
pub struct StoredObject {
    pub key: String,
    /// The object's JSON as on disk, `metadata.resourceVersion` included, so lists and watches
    /// send it without encoding it again.
    pub raw: Bytes,
    /// The revision of the object's last change (its `resourceVersion`).
    pub revision: Revision,
    parsed: Arc<OnceLock<Value>>,
    /// Only the parts selectors read ([`StoredObject::selectable`]), parsed on first use.
    selectable: Arc<OnceLock<Value>>,
}

impl StoredObject {
    /// An object from its JSON bytes, which the caller has checked (a backend validates what it
    /// reads), parsed later if at all.
    pub fn new(key: String, raw: Bytes, revision: Revision) -> StoredObject {
        StoredObject {
            key,
            raw,
            revision,
            parsed: Arc::default(),
            selectable: Arc::default(),
        }
    }

    /// The object reduced to the subtrees at `paths` (see [`sparse`]), or the whole object if
    /// it is already parsed. Every caller must pass the same paths for one object (a selector
    /// passes its kind's), since the first call's result is kept.
    pub fn selectable(&self, paths: &[&str]) -> &Value {
        if let Some(whole) = self.parsed.get() {
            return whole;
        }
        self.selectable.get_or_init(|| sparse::parse_paths(&self.raw, paths))
    }

    /// The object as a JSON value, parsed on first use.
    pub fn value(&self) -> &Value {
        self.parsed.get_or_init(|| {
            // Backends only build a StoredObject from bytes they have checked to be a JSON
            // object, so this cannot fail; if it ever did, an empty object is the safe answer
            // (it matches no selector and admission refuses to build on it).
            serde_json::from_slice(&self.raw).unwrap_or_else(|error| {
                tracing::error!(key = %self.key, %error, "a stored object no longer parses");
                Value::Object(Default::default())
            })
        })
    }
}

/// What happened to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    /// `ADDED`, `MODIFIED`, `DELETED`, as watch events spell them.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as the event log keeps it.
#[derive(Clone, Debug)]
pub struct StoreEvent {
    pub event_type: EventType,
    /// The revision of this change.
    pub revision: Revision,
    /// The object after the change; for `Deleted`, the last state with `resourceVersion` set to
    /// the deletion's revision (as Kubernetes does).
    pub object: StoredObject,
    /// The object before the change (none for `Added`), so a watch filtered by a selector can
    /// tell an object that left the selection (sent as DELETED) from one that never matched.
    pub prev: Option<StoredObject>,
}

/// A consistent snapshot of the keys under a prefix.
#[derive(Clone, Debug)]
pub struct ListResult {
    pub items: Vec<StoredObject>,
    /// The revision the snapshot was read at: a watch from here sees every later change.
    pub revision: Revision,
}

/// Where the store stands, for `/metrics` and `kubelab status`.
#[derive(Clone, Debug, Default)]
pub struct StoreStats {
    pub revision: Revision,
    pub compacted_revision: Revision,
    pub object_count: u64,
    /// Bytes on disk.
    pub size_bytes: u64,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum StoreError {
    /// No object under that key.
    #[error("key {0} not found")]
    NotFound(String),
    /// `create` of a key that already holds an object.
    #[error("key {0} already exists")]
    AlreadyExists(String),
    /// The object changed since the revision the caller read (`current` is its revision now).
    #[error("key {key} was modified: expected revision {expected}, found {current}")]
    Conflict {
        key: String,
        expected: Revision,
        current: Revision,
    },
    /// A watch asked for a revision that the kept history no longer holds.
    #[error("too old resource version: {requested} (oldest kept is {oldest})")]
    Gone { requested: Revision, oldest: Revision },
    /// A watcher fell too far behind and was ended, so it cannot slow the others down.
    #[error("watcher fell behind and was closed; watch again from the last revision seen")]
    WatcherTooSlow,
    /// The stored bytes or the value could not be (de)serialized.
    #[error("corrupt value under {key}: {message}")]
    Corrupt { key: String, message: String },
    /// The value is sealed with an encryption key the configuration does not list.
    #[error("cannot decrypt the value under {key}: {message}")]
    UnknownKey { key: String, message: String },
    /// The backend failed (disk full, I/O error, store closed).
    #[error("storage backend failure: {0}")]
    Backend(String),
}

/// A stream of changes, in revision order, with none missed and none twice.
/// It ends after yielding an error.
pub type WatchStream = BoxStream<'static, Result<Arc<StoreEvent>, StoreError>>;

/// What the API server needs from storage (Kubernetes' `storage.Interface`, trimmed).
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// The object under `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<StoredObject>, StoreError>;

    /// Every object whose key starts with `prefix`, in key order, from one consistent snapshot.
    async fn list(&self, prefix: &str) -> Result<ListResult, StoreError>;

    /// Stores a new object; fails with `AlreadyExists` if the key is taken. The store sets
    /// `metadata.resourceVersion` to the new revision.
    async fn create(&self, key: &str, value: Value) -> Result<StoredObject, StoreError>;

    /// Replaces the object under `key` if it is still at `expected` revision
    /// (`NotFound`, or `Conflict` with the current revision, otherwise).
    async fn update(&self, key: &str, value: Value, expected: Revision) -> Result<StoredObject, StoreError>;

    /// Deletes the object under `key`, if it is at `expected` revision when one is given.
    /// Returns the deleted object, its `resourceVersion` set to the deletion's revision.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<StoredObject, StoreError>;

    /// Every change under `prefix` after revision `after`, then live changes, in order.
    /// `Gone` if `after` is older than the kept history.
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError>;

    /// As [`Store::watch`], but the stream need only carry the pod events whose object, before
    /// or after the change, is on `trigger`'s node; a backend with a watch index uses it so other
    /// nodes' events do not wake this watcher. The caller still filters what it receives, so the
    /// default (an ordinary watch) is correct, only slower.
    async fn watch_triggered(
        &self,
        prefix: &str,
        after: Revision,
        trigger: Trigger,
    ) -> Result<WatchStream, StoreError> {
        let _ = trigger;
        self.watch(prefix, after).await
    }

    /// The latest revision (of any durable write).
    fn current_revision(&self) -> Revision;

    /// Counters for metrics.
    fn stats(&self) -> StoreStats;
}

/// What an update function decides after looking at the current object.
pub enum Update {
    /// Write this new value.
    Write(Value),
    /// Delete the object (a finalizer removed the last thing holding it, say).
    Delete,
    /// Leave it as it is and return the current object.
    Keep,
}

/// Reads the object under `key`, lets `decide` compute its replacement, and writes it with
/// compare-and-swap; if another writer got there first, reads again and retries (Kubernetes'
/// `GuaranteedUpdate`). `decide` may be called several times, so it must not have side effects;
/// an error from it aborts the update and is returned as is.
pub async fn guaranteed_update<E, F>(store: &dyn Store, key: &str, mut decide: F) -> Result<StoredObject, E>
where
    E: From<StoreError>,
    F: FnMut(&StoredObject) -> Result<Update, E>,
{
    loop {
        let current = store
            .get(key)
            .await?
            .ok_or_else(|| StoreError::NotFound(key.to_string()))?;
        let outcome = match decide(&current)? {
            Update::Keep => return Ok(current),
            Update::Write(value) => store.update(key, value, current.revision).await,
            Update::Delete => store.delete(key, Some(current.revision)).await,
        };
        match outcome {
            Err(StoreError::Conflict { .. }) => continue,
            other => return other.map_err(E::from),
        }
    }
}
