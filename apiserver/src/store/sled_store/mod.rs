//! # The embedded backend: a revisioned store on sled
//!
//! sled is an embedded key-value store: ordered keys, atomic batches, and `flush()` to make
//! writes durable. It knows nothing of revisions, so this module adds etcd's model on top:
//!
//! - **Our own revision and event log.** Every write gets the next value of one counter, and the
//!   change is appended to an event log keyed by that revision, in the same atomic batch as the
//!   object itself (see [`keys`] for the layout). sled's own `watch_prefix` is no substitute: its
//!   events carry no revision and are not ordered across keys, so a watcher could neither resume
//!   after a disconnect nor trust the order of changes to two objects.
//! - **One writer, group commit.** All writes go through one thread that commits whatever is
//!   queued as one batch with one flush ([`writer`]). A write is acknowledged only after the flush.
//! - **Reads never run ahead of the disk.** get and list read sled directly, and sled shows a
//!   batch as soon as it is applied, a moment *before* its flush ends. If a client read revision
//!   101 there and the machine then lost power, 101 would be gone and later reused for a
//!   different change: the revision would have gone back. So a read notes the last applied
//!   revision under a read lock (the writer holds the write lock only while applying a batch in
//!   memory, so a reader never sees half a batch) and then waits until the durable revision has
//!   caught up. Without writes in flight there is nothing to wait for. A list is one consistent
//!   snapshot without holding the lock while it scans: see [`snapshot`].
//! - **A watch cache** ([`hub`]): recent events are kept in memory and fanned out to all
//!   watchers; older ones (within the kept history) are read back from the log.
//! - **Compaction**: the log keeps the last `history` revisions; the newest removed revision is
//!   stored, so a watch from before it gets [`StoreError::Gone`], also after a restart.
//!
//! Memory stays bounded by design: objects are not cached by us (sled's page cache is bounded by
//! `cache_bytes`), and the watch cache holds at most `watch_window` events, as JSON bytes (an
//! object is parsed only when a selector needs to look inside; see [`super::StoredObject`]).

mod codec;
mod hub;
mod keys;
mod snapshot;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use super::encryption::Encryption;
use super::{ListResult, Revision, Store, StoreError, StoreEvent, StoreStats, StoredObject, Trigger, WatchStream};
use codec::{decode_event, decode_object};
use hub::{Hub, Subscription};
use keys::{decode_u64, event_key, object_key, revision_of_event_key};
use writer::{Op, Request, Writer};

/// How many write requests may wait for the writer before callers are held back.
const REQUEST_QUEUE: usize = 4096;

/// Options of the sled backend.
#[derive(Clone, Debug)]
pub struct SledOptions {
    /// How many revisions of the event log are kept for watches to resume from.
    pub history: u64,
    /// Bytes of sled's page cache. Small on purpose: the objects sled reads back are also in
    /// the operating system's file cache, so a bigger sled cache mostly doubles memory. sled
    /// 0.34 counts serialized bytes and overshoots its budget; at 50,000 pods, 32 MiB here cost
    /// about 35 MB of resident memory more than 8 MiB, with no gain in writes/s.
    pub cache_bytes: u64,
    /// How many recent events the watch cache keeps in memory, which is also how far a watcher
    /// may fall behind before it is ended with [`StoreError::WatcherTooSlow`].
    pub watch_window: usize,
    /// What is sealed before it reaches the disk (Secrets, when `kubelab up` starts the server).
    pub encryption: Arc<Encryption>,
}

impl Default for SledOptions {
    fn default() -> Self {
        SledOptions {
            history: 10_000,
            cache_bytes: 8 * 1024 * 1024,
            watch_window: 4096,
            encryption: Arc::new(Encryption::identity()),
        }
    }
}

/// State shared by the store's handles and its writer thread.
struct Shared {
    db: sled::Db,
    /// Held for writing only while the writer applies a batch (in memory, no I/O).
    lock: RwLock<()>,
    /// The last revision applied to sled (maybe not yet durable).
    applied: AtomicU64,
    /// The last revision known to be on disk.
    durable: watch::Receiver<Revision>,
    compacted: AtomicU64,
    count: AtomicU64,
    hub: Hub,
    encryption: Arc<Encryption>,
}

/// A [`super::Store`] on sled.
pub struct SledStore {
    shared: Arc<Shared>,
    /// `None` only while dropping.
    requests: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
}

fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

fn writer_stopped() -> StoreError {
    StoreError::Backend("the store's writer has stopped (see the log for why)".into())
}

/// Drops the event log up to `upto` and records it as compacted, durably, before the writer
/// starts.
fn compact_at_open(db: &sled::Db, compacted: Revision, upto: Revision) -> Result<(), StoreError> {
    let mut batch = sled::Batch::default();
    for key in db.range(event_key(compacted + 1)..=event_key(upto)).keys() {
        batch.remove(key.map_err(backend)?);
    }
    batch.insert(keys::META_COMPACTED, &keys::encode_u64(upto));
    db.apply_batch(batch).map_err(backend)?;
    db.flush().map_err(backend)?;
    Ok(())
}

fn read_counter(db: &sled::Db, key: &[u8]) -> Result<Option<u64>, StoreError> {
    match db.get(key).map_err(backend)? {
        None => Ok(None),
        Some(raw) => decode_u64(&raw).map(Some).ok_or_else(|| StoreError::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            message: "counter is not 8 bytes".into(),
        }),
    }
}

impl SledStore {
    /// `Gone` if events after `after` are no longer kept.
    fn check_kept(&self, after: Revision) -> Result<(), StoreError> {
        let compacted = self.shared.compacted.load(Ordering::Acquire);
        if after < compacted {
            return Err(StoreError::Gone {
                requested: after,
                oldest: compacted,
            });
        }
        Ok(())
    }

    /// A subscription's stream, preceded by what the ring no longer holds, read from the log on
    /// disk (all of it durable, since only flushed events ever reach the ring).
    fn stream_from(
        &self,
        subscription: Subscription,
        prefix: &str,
        after: Revision,
    ) -> Result<WatchStream, StoreError> {
        let older = if after + 1 < subscription.first_in_memory {
            self.read_log(after, subscription.first_in_memory)?
        } else {
            Vec::new()
        };
        Ok(hub::watch_stream(older, subscription, prefix.to_string(), after))
    }

    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path, options: SledOptions) -> Result<SledStore, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(options.cache_bytes)
            // We flush ourselves, once per batch, before acknowledging.
            .flush_every_ms(None)
            .open()
            .map_err(backend)?;
        let revision = read_counter(&db, keys::META_REVISION)?.unwrap_or(0);
        let mut compacted = read_counter(&db, keys::META_COMPACTED)?.unwrap_or(0);
        let count = match read_counter(&db, keys::META_COUNT)? {
            Some(count) => count,
            None => db.scan_prefix(keys::OBJECT).count() as u64,
        };

        // Warm the watch cache with the log's tail, so watchers resume after a restart without
        // reading the disk.
        let window = options.watch_window.max(1);
        let mut tail = Vec::new();
        for entry in db.scan_prefix(keys::EVENT).rev().take(window) {
            let (key, record) = entry.map_err(backend)?;
            let event_revision = revision_of_event_key(&key).ok_or_else(|| StoreError::Corrupt {
                key: "event log".into(),
                message: "malformed event key".into(),
            })?;
            if event_revision <= compacted {
                break;
            }
            match decode_event(event_revision, &record, &options.encryption) {
                Ok(event) => tail.push(Arc::new(event)),
                // History sealed with a key the configuration no longer lists (the last step of a
                // key rotation): nobody can read it any more, so it is compacted away, as etcd
                // compaction would have done. Watchers from before it get 410 and list again.
                Err(StoreError::UnknownKey { message, .. }) => {
                    tracing::warn!(
                        revision = event_revision,
                        %message,
                        "compacting the event history up to an event no configured key opens"
                    );
                    compact_at_open(&db, compacted, event_revision)?;
                    compacted = event_revision;
                    break;
                }
                Err(error) => return Err(error),
            }
        }
        tail.reverse();

        let (durable_tx, durable_rx) = watch::channel(revision);
        let shared = Arc::new(Shared {
            db,
            lock: RwLock::new(()),
            applied: AtomicU64::new(revision),
            durable: durable_rx,
            compacted: AtomicU64::new(compacted),
            count: AtomicU64::new(count),
            hub: Hub::new(window, revision, tail),
            encryption: options.encryption.clone(),
        });
        let (requests_tx, requests_rx) = mpsc::channel(REQUEST_QUEUE);
        let writer = Writer {
            shared: shared.clone(),
            requests: requests_rx,
            durable: durable_tx,
            revision,
            compacted,
            count,
            history: options.history.max(1),
        };
        let handle = std::thread::Builder::new()
            .name("kubelab-store-writer".into())
            .spawn(move || writer.run())
            .map_err(backend)?;
        Ok(SledStore {
            shared,
            requests: Some(requests_tx),
            writer: Some(handle),
        })
    }

    /// Sends one write to the writer and waits for its (durable) outcome.
    async fn write(&self, key: &str, op: Op) -> Result<StoredObject, StoreError> {
        let (reply, outcome) = oneshot::channel();
        let requests = self.requests.as_ref().ok_or_else(writer_stopped)?;
        let request = Request {
            key: key.to_string(),
            op,
            reply,
        };
        requests.send(request).await.map_err(|_| writer_stopped())?;
        outcome.await.map_err(|_| writer_stopped())?
    }

    /// Runs `read` under the read lock and returns its result with the revision applied then.
    fn read_applied<T>(
        &self,
        read: impl FnOnce(&sled::Db) -> Result<T, StoreError>,
    ) -> Result<(T, Revision), StoreError> {
        let _shared = self.shared.lock.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let value = read(&self.shared.db)?;
        Ok((value, self.shared.applied.load(Ordering::Acquire)))
    }

    /// Waits until `revision` is durable (at once if it already is).
    async fn wait_durable(&self, revision: Revision) -> Result<(), StoreError> {
        if *self.shared.durable.borrow() >= revision {
            return Ok(());
        }
        let mut durable = self.shared.durable.clone();
        durable
            .wait_for(|d| *d >= revision)
            .await
            .map(|_| ())
            .map_err(|_| writer_stopped())
    }

    /// The log's events in `(after, until)`, which must all still be there.
    fn read_log(&self, after: Revision, until: Revision) -> Result<Vec<Arc<StoreEvent>>, StoreError> {
        let mut events = Vec::new();
        let mut expected = after + 1;
        for entry in self.shared.db.range(event_key(after + 1)..event_key(until)) {
            let (key, record) = entry.map_err(backend)?;
            if revision_of_event_key(&key) != Some(expected) {
                break;
            }
            events.push(Arc::new(decode_event(expected, &record, &self.shared.encryption)?));
            expected += 1;
        }
        if expected != until {
            // Compacted while we read.
            let oldest = self.shared.compacted.load(Ordering::Acquire);
            return Err(StoreError::Gone {
                requested: after,
                oldest,
            });
        }
        Ok(events)
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish its batch and stop; waiting for it releases
        // sled's files, so the store can be opened again right away.
        self.requests.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

#[async_trait::async_trait]
impl Store for SledStore {
    async fn get(&self, key: &str) -> Result<Option<StoredObject>, StoreError> {
        let (raw, seen) = self.read_applied(|db| db.get(object_key(key)).map_err(backend))?;
        self.wait_durable(seen).await?;
        match raw {
            Some(raw) => decode_object(key, self.shared.encryption.open(key, Bytes::copy_from_slice(&raw))?).map(Some),
            None => Ok(None),
        }
    }

    async fn list(&self, prefix: &str) -> Result<ListResult, StoreError> {
        let (objects, revision) = snapshot::list_snapshot(&self.shared, prefix)?;
        self.wait_durable(revision).await?;
        // Parsing, the costly part, happens outside any lock.
        let items = objects
            .into_iter()
            .map(|(key, raw)| {
                let plain = self.shared.encryption.open(&key, raw)?;
                decode_object(&key, plain)
            })
            .collect::<Result<_, _>>()?;
        Ok(ListResult { items, revision })
    }

    async fn create(&self, key: &str, value: Value) -> Result<StoredObject, StoreError> {
        self.write(key, Op::Create(value)).await
    }

    async fn update(&self, key: &str, value: Value, expected: Revision) -> Result<StoredObject, StoreError> {
        self.write(key, Op::Update(value, expected)).await
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<StoredObject, StoreError> {
        self.write(key, Op::Delete(expected)).await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        self.check_kept(after)?;
        let subscription = self.shared.hub.subscribe(after, prefix);
        self.stream_from(subscription, prefix, after)
    }

    async fn watch_triggered(
        &self,
        prefix: &str,
        after: Revision,
        trigger: Trigger,
    ) -> Result<WatchStream, StoreError> {
        self.check_kept(after)?;
        let subscription = self.shared.hub.subscribe_triggered(after, &trigger);
        self.stream_from(subscription, prefix, after)
    }

    fn current_revision(&self) -> Revision {
        *self.shared.durable.borrow()
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            revision: self.current_revision(),
            compacted_revision: self.shared.compacted.load(Ordering::Acquire),
            object_count: self.shared.count.load(Ordering::Relaxed),
            size_bytes: self.shared.db.size_on_disk().unwrap_or(0),
        }
    }
}
