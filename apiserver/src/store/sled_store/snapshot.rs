//! # Consistent lists without holding up the writer
//!
//! A list must be one snapshot: every object as it was at one revision, which the list returns
//! so that a watch can continue from exactly there. sled 0.34 has no snapshots, and its
//! iterators see writes that happen while they run. Holding a lock against the writer for the
//! whole scan would work, but a list of 50,000 pods would then stall every write behind it.
//!
//! So a list does what a multi-version store does, with the event log as the versions:
//!
//! 1. note the revision `start` (under the read lock, so no batch is half applied);
//! 2. scan the prefix without any lock: each key is seen as it was at `start` or later;
//! 3. note the revision `end` (under the read lock again, so any batch the scan saw part of has
//!    been applied completely and is counted);
//! 4. if `start == end`, nothing changed: done. Otherwise walk the log's events in
//!    `(start, end]` from newest to oldest and put each key under the prefix back to the event's
//!    previous object (or remove it if the event created it). The oldest change to each key wins,
//!    leaving exactly the state at `start`.
//!
//! If compaction removed some of those events meanwhile (a history shorter than the writes
//! during one scan), the list falls back to scanning under the read lock.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::super::{Revision, StoreError};
use super::codec::split_event;
use super::keys::{event_key, object_key, revision_of_event_key, OBJECT};
use super::{backend, Shared};

/// The objects under `prefix` (key and JSON, in key order) and the revision they were read at.
pub fn list_snapshot(shared: &Shared, prefix: &str) -> Result<(Vec<(String, Bytes)>, Revision), StoreError> {
    let start = applied_now(shared);
    let scanned = scan(&shared.db, prefix)?;
    let end = applied_now(shared);
    if start == end {
        return Ok((scanned, start));
    }
    if let Some(objects) = rewind(shared, prefix, scanned, start, end)? {
        return Ok((objects, start));
    }
    let _shared = shared.lock.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    let objects = scan(&shared.db, prefix)?;
    Ok((objects, shared.applied.load(Ordering::Acquire)))
}

/// The last fully applied revision.
fn applied_now(shared: &Shared) -> Revision {
    let _shared = shared.lock.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    shared.applied.load(Ordering::Acquire)
}

fn scan(db: &sled::Db, prefix: &str) -> Result<Vec<(String, Bytes)>, StoreError> {
    let mut objects = Vec::new();
    for entry in db.scan_prefix(object_key(prefix)) {
        let (sled_key, raw) = entry.map_err(backend)?;
        let key = std::str::from_utf8(&sled_key[OBJECT.len()..]).map_err(|e| StoreError::Corrupt {
            key: String::from_utf8_lossy(&sled_key).into_owned(),
            message: e.to_string(),
        })?;
        objects.push((key.to_string(), Bytes::copy_from_slice(&raw)));
    }
    Ok(objects)
}

/// Takes `scanned` back to its state at `start`, undoing the events in `(start, end]`;
/// `None` if some of them were compacted away.
fn rewind(
    shared: &Shared,
    prefix: &str,
    scanned: Vec<(String, Bytes)>,
    start: Revision,
    end: Revision,
) -> Result<Option<Vec<(String, Bytes)>>, StoreError> {
    let mut records = Vec::new();
    for entry in shared.db.range(event_key(start + 1)..=event_key(end)) {
        records.push(entry.map_err(backend)?);
    }
    // Revisions are consecutive, so a complete range holds exactly `end - start` events.
    if records.len() as u64 != end - start {
        return Ok(None);
    }
    let mut state: BTreeMap<String, Bytes> = scanned.into_iter().collect();
    for (key, record) in records.iter().rev() {
        // The revision only labels an error message here.
        let event = split_event(revision_of_event_key(key).unwrap_or_default(), record)?;
        if !event.key.starts_with(prefix) {
            continue;
        }
        match event.prev {
            Some(prev) => state.insert(event.key.to_string(), Bytes::copy_from_slice(prev)),
            None => state.remove(event.key),
        };
    }
    Ok(Some(state.into_iter().collect()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::sled_store::{SledOptions, SledStore};
    use crate::store::Store;

    /// Rewinding a scan taken after later writes gives back the state at the earlier revision.
    #[tokio::test]
    async fn rewind_restores_the_earlier_state() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = SledStore::open(dir.path(), SledOptions::default()).unwrap();
        let key = |n: &str| format!("/registry/pods/ns/{n}");
        for name in ["a", "b", "c"] {
            store
                .create(&key(name), json!({"metadata": {"name": name}}))
                .await
                .unwrap();
        }
        let before = store.list("/registry/pods/ns/").await.unwrap();

        let b = store.get(&key("b")).await.unwrap().unwrap();
        store
            .update(&key("b"), json!({"metadata": {"name": "b"}, "x": 1}), b.revision)
            .await
            .unwrap();
        store.delete(&key("a"), None).await.unwrap();
        store
            .create(&key("d"), json!({"metadata": {"name": "d"}}))
            .await
            .unwrap();
        store
            .create("/registry/pods/other/e", json!({"metadata": {"name": "e"}}))
            .await
            .unwrap();
        store.delete(&key("c"), None).await.unwrap();
        store
            .create(&key("c"), json!({"metadata": {"name": "c"}, "again": true}))
            .await
            .unwrap();

        let now = store.current_revision();
        let scanned = scan(&store.shared.db, "/registry/pods/ns/").unwrap();
        let rewound = rewind(&store.shared, "/registry/pods/ns/", scanned, before.revision, now)
            .unwrap()
            .unwrap();
        let expected: Vec<_> = before.items.iter().map(|o| (o.key.clone(), o.raw.clone())).collect();
        assert_eq!(rewound, expected);
    }
}
