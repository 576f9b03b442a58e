//! # The watch cache: one shared ring of recent events, fanned out to every watcher
//!
//! Kubernetes does not let each watcher read storage on its own: the API server keeps one
//! "watch cache" of recent events and fans it out. Here that is two things kept under one lock:
//!
//! - a **ring** of the most recent events (bounded), from which a new watcher is served the
//!   events after its starting revision without touching the disk;
//! - a **broadcast channel** (`tokio::sync::broadcast`) that hands every new event, as one shared
//!   `Arc`, to all watchers.
//!
//! The writer publishes a batch (push to the ring, send on the channel) while holding the lock,
//! and a new watcher copies the ring's tail and subscribes while holding the same lock. So every
//! event is either in the copy or comes through the subscription: none is missed, none is sent
//! twice.
//!
//! The broadcast channel has a fixed capacity. A watcher that falls more than that many events
//! behind gets `Lagged` from it; we end that watcher's stream with
//! [`StoreError::WatcherTooSlow`] instead of buffering for it, so one slow client can neither slow
//! the others nor make memory grow. (It may watch again from the last revision it saw.)
//!
//! Only durable events are ever published: the writer publishes after its flush.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures_util::stream::{self, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError};

use super::super::{Revision, StoreError, StoreEvent, WatchStream};

/// The shared watch cache.
pub struct Hub {
    ring: Mutex<Ring>,
    sender: broadcast::Sender<Arc<StoreEvent>>,
}

struct Ring {
    events: VecDeque<Arc<StoreEvent>>,
    capacity: usize,
    /// The revision of the last event published (or the store's revision when opened).
    last: Revision,
}

/// What a new watcher takes from the hub.
pub struct Subscription {
    /// The ring's events after the requested revision.
    pub backlog: Vec<Arc<StoreEvent>>,
    /// The oldest revision the ring still holds (`last + 1` if it is empty): anything older must
    /// come from the event log on disk.
    pub first_in_memory: Revision,
    /// Every event published after the backlog.
    pub receiver: broadcast::Receiver<Arc<StoreEvent>>,
}

impl Hub {
    /// A hub holding up to `capacity` events in its ring (and its channel), starting with the
    /// tail of the log read on open; `last` is the store's revision.
    pub fn new(capacity: usize, last: Revision, initial: Vec<Arc<StoreEvent>>) -> Hub {
        let capacity = capacity.max(1);
        let (sender, _) = broadcast::channel(capacity);
        let mut events: VecDeque<Arc<StoreEvent>> = initial.into();
        while events.len() > capacity {
            events.pop_front();
        }
        Hub {
            ring: Mutex::new(Ring { events, capacity, last }),
            sender,
        }
    }

    /// Hands durable events (in revision order) to the ring and to every watcher.
    pub fn publish(&self, events: Vec<Arc<StoreEvent>>) {
        // A poisoned lock only means some thread panicked while holding it; the ring itself is
        // always left consistent (each step is a push or a pop), so keep serving.
        let mut ring = self.ring.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for event in events {
            if ring.events.len() == ring.capacity {
                ring.events.pop_front();
            }
            ring.last = event.revision;
            ring.events.push_back(event.clone());
            // An error only means nobody is watching right now.
            let _ = self.sender.send(event);
        }
    }

    /// The ring's events after `after`, and a subscription to everything published later.
    pub fn subscribe(&self, after: Revision) -> Subscription {
        let ring = self.ring.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let start = ring.events.partition_point(|e| e.revision <= after);
        let backlog = ring.events.range(start..).cloned().collect();
        let first_in_memory = ring.events.front().map(|e| e.revision).unwrap_or(ring.last + 1);
        Subscription {
            backlog,
            first_in_memory,
            receiver: self.sender.subscribe(),
        }
    }
}

/// The watch stream: `older` (read from disk), then the subscription's backlog, then live
/// events; only keys under `prefix` and revisions after `after`.
pub fn watch_stream(older: Vec<Arc<StoreEvent>>, sub: Subscription, prefix: String, after: Revision) -> WatchStream {
    let wanted = {
        let prefix = prefix.clone();
        move |e: &Arc<StoreEvent>| e.revision > after && e.object.key.starts_with(&prefix)
    };
    let replay = stream::iter(older.into_iter().chain(sub.backlog).filter(wanted.clone()).map(Ok));
    let live = stream::unfold(Some(sub.receiver), move |receiver| {
        let wanted = wanted.clone();
        async move {
            let mut receiver = receiver?;
            loop {
                match receiver.recv().await {
                    Ok(event) if wanted(&event) => return Some((Ok(event), Some(receiver))),
                    Ok(_) => continue,
                    // Fell more than the channel's capacity behind: end this watcher, alone.
                    Err(RecvError::Lagged(_)) => return Some((Err(StoreError::WatcherTooSlow), None)),
                    // The store was closed.
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    });
    replay.chain(live).boxed()
}
