//! # The watch cache: one shared ring of recent events, fanned out to every watcher
//!
//! Kubernetes does not let each watcher read storage on its own: the API server keeps one
//! "watch cache" of recent events and fans it out. Here that is two things kept under one lock:
//!
//! - a **ring** of the most recent events (bounded), from which a new watcher is served the
//!   events after its starting revision without touching the disk;
//! - **broadcast channels** (`tokio::sync::broadcast`), one per resource, that hand every new
//!   event, as one shared `Arc`, to all the watchers of that resource.
//!
//! One channel per resource, not one for everything, for the same reason kube-apiserver keeps one
//! watch cache per resource: every node agent watches Services, and with a thousand nodes a
//! single channel would wake a thousand Service watchers for each of the tens of thousands of pod
//! and lease events a rollout makes, only for each to find the event is not for it. The channel
//! is named by the first segment of the key (`/registry/pods/`, `/registry/apps/`: a group's
//! resources share one), and a watch of a shorter prefix gets a channel that carries everything.
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

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::stream::{self, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::mpsc;

use super::super::trigger::{pod_node_name, POD_PREFIX};
use super::super::{Revision, StoreError, StoreEvent, Trigger, WatchStream};

/// The shared watch cache.
pub struct Hub {
    ring: Mutex<Ring>,
}

struct Ring {
    events: VecDeque<Arc<StoreEvent>>,
    capacity: usize,
    /// The revision of the last event published (or the store's revision when opened).
    last: Revision,
    /// Watchers narrowed by a [`Trigger`], by the node name they pin (see `store::trigger`).
    by_node: HashMap<String, Vec<IndexedWatcher>>,
    /// The shared channels of untriggered watchers, by [`channel_of`] their prefix; made by the
    /// first watcher of each.
    channels: HashMap<String, broadcast::Sender<Arc<StoreEvent>>>,
}

/// One triggered watcher's own channel. It is bounded like the shared one: a watcher that falls
/// that far behind is dropped, its flag telling its stream to end with `WatcherTooSlow`.
struct IndexedWatcher {
    sender: mpsc::Sender<Arc<StoreEvent>>,
    too_slow: Arc<AtomicBool>,
}

/// Where a watcher's live events come from.
pub enum Live {
    /// The channel every untriggered watcher of one resource shares.
    Shared(broadcast::Receiver<Arc<StoreEvent>>),
    /// A triggered watcher's own channel.
    Own(mpsc::Receiver<Arc<StoreEvent>>, Arc<AtomicBool>),
}

impl Live {
    /// The next event; `None` once the store is closed.
    async fn next(&mut self) -> Option<Result<Arc<StoreEvent>, StoreError>> {
        match self {
            Live::Shared(receiver) => match receiver.recv().await {
                Ok(event) => Some(Ok(event)),
                // Fell more than the channel's capacity behind: end this watcher, alone.
                Err(RecvError::Lagged(_)) => Some(Err(StoreError::WatcherTooSlow)),
                Err(RecvError::Closed) => None,
            },
            Live::Own(receiver, too_slow) => match receiver.recv().await {
                Some(event) => Some(Ok(event)),
                None if too_slow.load(Ordering::Acquire) => Some(Err(StoreError::WatcherTooSlow)),
                None => None,
            },
        }
    }
}

/// What a new watcher takes from the hub.
pub struct Subscription {
    /// The ring's events after the requested revision.
    pub backlog: Vec<Arc<StoreEvent>>,
    /// The oldest revision the ring still holds (`last + 1` if it is empty): anything older must
    /// come from the event log on disk.
    pub first_in_memory: Revision,
    /// Every event published after the backlog (for a triggered watcher: every one it concerns).
    pub receiver: Live,
}

impl Hub {
    /// A hub holding up to `capacity` events in its ring (and its channel), starting with the
    /// tail of the log read on open; `last` is the store's revision.
    pub fn new(capacity: usize, last: Revision, initial: Vec<Arc<StoreEvent>>) -> Hub {
        let capacity = capacity.max(1);
        let mut events: VecDeque<Arc<StoreEvent>> = initial.into();
        while events.len() > capacity {
            events.pop_front();
        }
        Hub {
            ring: Mutex::new(Ring {
                events,
                capacity,
                last,
                by_node: HashMap::new(),
                channels: HashMap::new(),
            }),
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
            if !ring.by_node.is_empty() && event.object.key.starts_with(POD_PREFIX) {
                let (after, before) = node_names(&event);
                deliver(&mut ring.by_node, &after, &event);
                if let Some(before) = before.filter(|b| *b != after) {
                    deliver(&mut ring.by_node, &before, &event);
                }
            }
            // An error only means nobody is watching right now.
            if let Some(sender) = ring.channels.get(channel_of(&event.object.key)) {
                let _ = sender.send(event.clone());
            }
            if let Some(everything) = ring.channels.get(EVERYTHING) {
                let _ = everything.send(event);
            }
        }
    }

    /// The ring's events after `after`, and a subscription to every event published later whose
    /// key is in `prefix`'s channel (the handler still filters by the whole prefix).
    pub fn subscribe(&self, after: Revision, prefix: &str) -> Subscription {
        let mut ring = self.ring.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let start = ring.events.partition_point(|e| e.revision <= after);
        let backlog = ring.events.range(start..).cloned().collect();
        let first_in_memory = ring.first_in_memory();
        let capacity = ring.capacity;
        let sender = ring
            .channels
            .entry(channel_of(prefix).to_string())
            .or_insert_with(|| broadcast::channel(capacity).0);
        Subscription {
            backlog,
            first_in_memory,
            receiver: Live::Shared(sender.subscribe()),
        }
    }

    /// As [`Hub::subscribe`], but only for the pod events that concern `trigger`'s node.
    pub fn subscribe_triggered(&self, after: Revision, trigger: &Trigger) -> Subscription {
        let mut ring = self.ring.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let start = ring.events.partition_point(|e| e.revision <= after);
        let backlog = ring
            .events
            .range(start..)
            .filter(|e| e.object.key.starts_with(POD_PREFIX) && concerns(e, &trigger.node_name))
            .cloned()
            .collect();
        let (sender, receiver) = mpsc::channel(ring.capacity);
        let too_slow = Arc::new(AtomicBool::new(false));
        let first_in_memory = ring.first_in_memory();
        let watchers = ring.by_node.entry(trigger.node_name.clone()).or_default();
        watchers.retain(|w| !w.sender.is_closed());
        watchers.push(IndexedWatcher {
            sender,
            too_slow: too_slow.clone(),
        });
        Subscription {
            backlog,
            first_in_memory,
            receiver: Live::Own(receiver, too_slow),
        }
    }
}

impl Ring {
    fn first_in_memory(&self) -> Revision {
        self.events.front().map(|e| e.revision).unwrap_or(self.last + 1)
    }
}

/// The name of the channel that carries every event.
const EVERYTHING: &str = "";

/// The channel of a key or a watch prefix: `/registry/<first segment>/` (`/registry/pods/`,
/// `/registry/apps/`), or [`EVERYTHING`] for a prefix that does not name a whole first segment.
fn channel_of(path: &str) -> &str {
    const ROOT: &str = "/registry/";
    let Some(rest) = path.strip_prefix(ROOT) else {
        return EVERYTHING;
    };
    match rest.find('/') {
        Some(end) => &path[..ROOT.len() + end + 1],
        None => EVERYTHING,
    }
}

/// The node a pod event's object is on after the change, and before it (if there was a before).
fn node_names(event: &StoreEvent) -> (String, Option<String>) {
    (
        pod_node_name(&event.object.raw),
        event.prev.as_ref().map(|prev| pod_node_name(&prev.raw)),
    )
}

fn concerns(event: &StoreEvent, node: &str) -> bool {
    let (after, before) = node_names(event);
    after == node || before.as_deref() == Some(node)
}

/// Hands `event` to the watchers of `node`, dropping those that are gone or too far behind.
fn deliver(by_node: &mut HashMap<String, Vec<IndexedWatcher>>, node: &str, event: &Arc<StoreEvent>) {
    let Some(watchers) = by_node.get_mut(node) else {
        return;
    };
    watchers.retain(|watcher| match watcher.sender.try_send(event.clone()) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            watcher.too_slow.store(true, Ordering::Release);
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    });
    if watchers.is_empty() {
        by_node.remove(node);
    }
}

/// The watch stream: `older` (read from disk), then the subscription's backlog, then live
/// events; only keys under `prefix` and revisions after `after`.
pub fn watch_stream(older: Vec<Arc<StoreEvent>>, sub: Subscription, prefix: String, after: Revision) -> WatchStream {
    let wanted = move |e: &Arc<StoreEvent>| e.revision > after && e.object.key.starts_with(&prefix);
    let replay = stream::iter(older.into_iter().chain(sub.backlog).filter(wanted.clone()).map(Ok));
    let live = stream::unfold(Some(sub.receiver), move |receiver| {
        let wanted = wanted.clone();
        async move {
            let mut receiver = receiver?;
            loop {
                match receiver.next().await? {
                    Ok(event) if wanted(&event) => return Some((Ok(event), Some(receiver))),
                    Ok(_) => continue,
                    Err(error) => return Some((Err(error), None)),
                }
            }
        }
    });
    replay.chain(live).boxed()
}

#[cfg(test)]
mod tests {
    use super::channel_of;

    #[test]
    fn channels_are_named_by_the_first_segment_of_the_key() {
        assert_eq!(channel_of("/registry/pods/default/web"), "/registry/pods/");
        assert_eq!(channel_of("/registry/pods/default/"), "/registry/pods/");
        assert_eq!(channel_of("/registry/pods/"), "/registry/pods/");
        assert_eq!(channel_of("/registry/apps/deployments/default/web"), "/registry/apps/");
        assert_eq!(channel_of("/registry/nodes/n1"), "/registry/nodes/");
        assert_eq!(channel_of("/registry/pods"), "");
        assert_eq!(channel_of("/registry/"), "");
        assert_eq!(channel_of(""), "");
    }
}
