//! # The single writer, and group commit
//!
//! Every write goes through one thread. Callers send a [`Request`] over a channel and wait for
//! the reply; the writer takes **all** requests queued at that moment as one batch and:
//!
//! 1. checks each request's precondition (key free for a create, expected revision for an update
//!    or a delete). Being the only writer, it needs no locks or retries for this; it only has to
//!    remember what earlier requests of the same batch changed (`overlay`);
//! 2. gives each successful request the next revision, stamps `metadata.resourceVersion` into the
//!    object, and adds the object, its event and the new revision counter to one `sled::Batch`;
//! 3. applies the batch atomically, then calls `flush()` **once** for the whole batch;
//! 4. only then replies to the callers and publishes the events to watchers.
//!
//! Step 3 is *group commit*: an fsync costs the same for one write as for a hundred, so while
//! one flush runs, the next requests queue up and share the next one. Under load, batches grow
//! by themselves and throughput follows; with a single client, each write pays one flush.
//!
//! Nothing leaves the writer before its flush: a caller cannot be told "done", and a watcher
//! cannot see an event, that a crash would then take back. Readers of sled itself (get, list)
//! could see a batch between apply and flush, so they wait for the durable revision (see
//! [`super`]).
//!
//! If sled fails (disk full, I/O error) the writer stops. Its channel closes, every waiting
//! caller gets [`StoreError::Backend`], and so do later writes: a broken store fails loudly
//! instead of hanging.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use super::super::{EventType, Revision, StoreError, StoreEvent, StoredObject};
use super::codec::{decode_object, encode_event, reparse, stamp};
use super::keys::{encode_u64, event_key, object_key, META_COMPACTED, META_COUNT, META_REVISION};
use super::{backend, Shared};

/// The most requests committed as one batch, so one batch cannot hold readers off for long.
const MAX_BATCH: usize = 512;

/// What a caller asks of the writer.
pub enum Op {
    Create(Value),
    /// Replace, if the object is at this revision.
    Update(Value, Revision),
    /// Delete, if the object is at this revision (when given).
    Delete(Option<Revision>),
}

/// Where a write's outcome goes back to its caller.
pub type Reply = oneshot::Sender<Result<StoredObject, StoreError>>;

/// One write, with the channel its answer goes back on.
pub struct Request {
    pub key: String,
    pub op: Op,
    pub reply: Reply,
}

/// The writer thread's state. The counters here are the truth; `Shared` mirrors them for readers.
pub struct Writer {
    pub shared: Arc<Shared>,
    pub requests: mpsc::Receiver<Request>,
    /// Bumped after each flush: readers and `current_revision` follow it.
    pub durable: watch::Sender<Revision>,
    pub revision: Revision,
    pub compacted: Revision,
    pub count: u64,
    pub history: u64,
}

/// One batch being assembled.
#[derive(Default)]
struct Pending {
    writes: sled::Batch,
    /// Keys changed earlier in this batch: `None` if deleted.
    overlay: HashMap<String, Option<StoredObject>>,
    events: Vec<Arc<StoreEvent>>,
    replies: Vec<(Reply, Result<StoredObject, StoreError>)>,
}

impl Writer {
    /// Serves requests until every sender is gone (the store was dropped) or sled fails.
    pub fn run(mut self) {
        while let Some(first) = self.requests.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match self.requests.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            if let Err(error) = self.commit(batch) {
                tracing::error!(%error, "the store's writer stopped");
                return;
            }
        }
    }

    /// Commits one batch. An `Err` is fatal (sled failed); the callers of that batch have then
    /// been told.
    fn commit(&mut self, batch: Vec<Request>) -> Result<(), StoreError> {
        let mut pending = Pending::default();
        let mut revision = self.revision;
        let mut count = self.count;
        for request in batch {
            let result = self.prepare(&request.key, request.op, revision + 1, &mut pending);
            let result = result.map(|event| {
                revision += 1;
                match event.event_type {
                    EventType::Added => count += 1,
                    EventType::Deleted => count = count.saturating_sub(1),
                    EventType::Modified => {}
                }
                let object = event.object.clone();
                pending.events.push(Arc::new(event));
                object
            });
            pending.replies.push((request.reply, result));
        }
        if pending.events.is_empty() {
            // Only failed preconditions: nothing to write. Their answers were decided against
            // durable state only (no earlier write in this batch succeeded), so they may go now.
            reply_all(pending.replies);
            return Ok(());
        }

        let compacted = revision.saturating_sub(self.history).max(self.compacted);
        let outcome = self.compact(compacted, &mut pending.writes).and_then(|()| {
            pending.writes.insert(META_REVISION, &encode_u64(revision));
            pending.writes.insert(META_COUNT, &encode_u64(count));
            self.apply_and_flush(pending.writes, revision, compacted, count)
        });
        if let Err(error) = outcome {
            let failed = pending
                .replies
                .into_iter()
                .map(|(reply, _)| (reply, Err(error.clone())));
            reply_all(failed.collect());
            return Err(error);
        }
        self.revision = revision;
        self.compacted = compacted;
        self.count = count;
        // Durable now: tell readers, watchers and callers, in that order (watch delivery latency
        // counts from the reply, so the events are already on their way when callers hear back).
        self.durable.send_replace(revision);
        self.shared.hub.publish(pending.events);
        reply_all(pending.replies);
        Ok(())
    }

    /// Checks one request against the current state and adds its writes to the batch.
    fn prepare(&self, key: &str, op: Op, revision: Revision, pending: &mut Pending) -> Result<StoreEvent, StoreError> {
        let event = match op {
            Op::Create(value) => {
                if self.exists(key, pending)? {
                    return Err(StoreError::AlreadyExists(key.to_string()));
                }
                let object = stamp(key, value, revision)?;
                StoreEvent {
                    event_type: EventType::Added,
                    revision,
                    object,
                    prev: None,
                }
            }
            Op::Update(value, expected) => {
                let current = self
                    .current(key, pending)?
                    .ok_or_else(|| StoreError::NotFound(key.to_string()))?;
                check(key, Some(expected), &current)?;
                let object = stamp(key, value, revision)?;
                StoreEvent {
                    event_type: EventType::Modified,
                    revision,
                    object,
                    prev: Some(current),
                }
            }
            Op::Delete(expected) => {
                let current = self
                    .current(key, pending)?
                    .ok_or_else(|| StoreError::NotFound(key.to_string()))?;
                check(key, expected, &current)?;
                // The deleted object as watchers see it: its last state, at the deletion's revision.
                // Parsed into a value of its own: `current` becomes the event's `prev`, which the
                // watch cache keeps as bytes only.
                let object = stamp(key, reparse(&current)?, revision)?;
                StoreEvent {
                    event_type: EventType::Deleted,
                    revision,
                    object,
                    prev: Some(current),
                }
            }
        };
        let sled_key = object_key(key);
        if event.event_type == EventType::Deleted {
            pending.writes.remove(sled_key);
            pending.overlay.insert(key.to_string(), None);
        } else {
            pending
                .writes
                .insert(sled_key, &self.shared.encryption.seal(key, &event.object.raw)[..]);
            pending.overlay.insert(key.to_string(), Some(event.object.clone()));
        }
        pending
            .writes
            .insert(&event_key(revision)[..], encode_event(&event, &self.shared.encryption));
        Ok(event)
    }

    fn exists(&self, key: &str, pending: &Pending) -> Result<bool, StoreError> {
        match pending.overlay.get(key) {
            Some(state) => Ok(state.is_some()),
            None => self.shared.db.contains_key(object_key(key)).map_err(backend),
        }
    }

    fn current(&self, key: &str, pending: &Pending) -> Result<Option<StoredObject>, StoreError> {
        if let Some(state) = pending.overlay.get(key) {
            return Ok(state.clone());
        }
        match self.shared.db.get(object_key(key)).map_err(backend)? {
            Some(raw) => decode_object(key, self.shared.encryption.open(key, Bytes::copy_from_slice(&raw))?).map(Some),
            None => Ok(None),
        }
    }

    /// Drops log entries up to `compacted` (the history kept is `history` revisions).
    fn compact(&self, compacted: Revision, writes: &mut sled::Batch) -> Result<(), StoreError> {
        if compacted <= self.compacted {
            return Ok(());
        }
        // Entries already on disk...
        for key in self
            .shared
            .db
            .range(event_key(self.compacted + 1)..=event_key(compacted))
            .keys()
        {
            writes.remove(key.map_err(backend)?);
        }
        // ...and entries of this very batch, if the history is shorter than the batch (a later
        // remove of the same key wins within a sled::Batch).
        for revision in (self.revision + 1).max(self.compacted + 1)..=compacted {
            writes.remove(&event_key(revision)[..]);
        }
        writes.insert(META_COMPACTED, &encode_u64(compacted));
        Ok(())
    }

    fn apply_and_flush(
        &self,
        writes: sled::Batch,
        revision: Revision,
        compacted: Revision,
        count: u64,
    ) -> Result<(), StoreError> {
        {
            // Readers take this lock for reading: a list sees all of a batch or none of it, and
            // `applied` is exact for whatever a reader saw.
            let _exclusive = self
                .shared
                .lock
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            self.shared.db.apply_batch(writes).map_err(backend)?;
            self.shared.applied.store(revision, Ordering::Release);
            self.shared.compacted.store(compacted, Ordering::Release);
            self.shared.count.store(count, Ordering::Relaxed);
        }
        // Outside the lock: reads go on while the disk works.
        self.shared.db.flush().map_err(backend)?;
        Ok(())
    }
}

/// `Conflict` unless `current` is at the `expected` revision (when one is given).
fn check(key: &str, expected: Option<Revision>, current: &StoredObject) -> Result<(), StoreError> {
    match expected {
        Some(expected) if expected != current.revision => Err(StoreError::Conflict {
            key: key.to_string(),
            expected,
            current: current.revision,
        }),
        _ => Ok(()),
    }
}

fn reply_all(replies: Vec<(Reply, Result<StoredObject, StoreError>)>) {
    for (reply, result) in replies {
        // The caller may have given up waiting (its request was cancelled); the write stands.
        let _ = reply.send(result);
    }
}
