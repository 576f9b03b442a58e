//! # The event correlator: why `kubectl describe rs` does not list ten thousand "Created pod" lines
//!
//! A ReplicaSet scaled to 10,000 would leave 10,000 `SuccessfulCreate` events, and a pod stuck in
//! a crash loop would leave one `BackOff` event per try, forever. Events are stored objects like
//! any other: each costs the API server a write and the store space. So client-go's event
//! recorder (`tools/record/events_cache.go`) passes every event through an *EventCorrelator*
//! before writing it, and kubelab's does the same, with the same three steps and the same numbers:
//!
//! 1. **Aggregate.** Events that differ only in their message (same source, object, type and
//!    reason: "Created pod: web-x", "Created pod: web-y", ...) are counted per group; from the
//!    10th distinct message within 10 minutes on, they are folded into one event whose message
//!    starts with `(combined from similar events): `.
//! 2. **Count duplicates.** An event identical to one already written (the same key, message
//!    included, or the same combined event) is not written again: the existing one gets a patch
//!    that raises its `count` and moves its `lastTimestamp`. That is the `x12 over 3m` in
//!    `kubectl get events`.
//! 3. **Filter spam.** Each source and object has a token bucket of 25 events that refills one
//!    token every 5 minutes; an event (or count patch) with no token left is dropped.
//!
//! The correlator is pure bookkeeping: it decides, and the recorder's writer does the HTTP. Its
//! memory is bounded: each of its three maps keeps the 4,096 most recently used keys, as
//! client-go's LRU caches do.

use std::num::NonZeroUsize;
use std::time::Duration;

use kubelab_api::core::Event;
use kubelab_api::Time;
use lru::LruCache;
use tokio::time::Instant;

/// How many keys each map remembers (client-go's `maxLruCacheEntries`).
const CACHE_ENTRIES: usize = 4096;
/// From this many distinct messages in one group on, events are combined (`defaultAggregateMaxEvents`).
const AGGREGATE_MAX_EVENTS: usize = 10;
/// A group not seen for this long starts afresh (`defaultAggregateIntervalInSeconds`).
const AGGREGATE_INTERVAL: Duration = Duration::from_secs(600);
/// Events a source may write about one object at once (`defaultSpamBurst`).
const SPAM_BURST: f64 = 25.0;
/// Then one more every this long (`defaultSpamQPS` = 1/300).
const SPAM_REFILL: Duration = Duration::from_secs(300);
/// The message prefix of a combined event (`EventAggregatorByReasonMessageFunc`).
pub const COMBINED_PREFIX: &str = "(combined from similar events): ";

/// What the writer should do with an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Correlated {
    /// Create this event (new, or combined for the first time).
    Create(Event),
    /// Raise the count of the already written event `event.metadata.name` to `event.count`;
    /// if it is gone from the server, create `event` instead.
    Patch(Event),
    /// Drop it: its source has sent too many about this object lately.
    Skip,
}

/// One aggregation group: the distinct messages seen and when the group was last used.
struct AggregateRecord {
    messages: Vec<String>,
    last_seen: Instant,
}

/// What was written for one event key: enough to patch it.
#[derive(Clone)]
struct WrittenEvent {
    name: String,
    count: i32,
    first_timestamp: Option<Time>,
}

/// A token bucket for one source and object.
struct TokenBucket {
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    fn full(now: Instant) -> Self {
        TokenBucket {
            tokens: SPAM_BURST,
            refilled_at: now,
        }
    }

    /// Takes a token if there is one, after adding those earned since the last refill.
    fn try_take(&mut self, now: Instant) -> bool {
        let earned = now.saturating_duration_since(self.refilled_at).as_secs_f64() / SPAM_REFILL.as_secs_f64();
        self.tokens = (self.tokens + earned).min(SPAM_BURST);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Filters, combines and counts events before they are written (see the module docs).
pub struct Correlator {
    groups: LruCache<String, AggregateRecord>,
    written: LruCache<String, WrittenEvent>,
    buckets: LruCache<String, TokenBucket>,
}

impl Default for Correlator {
    fn default() -> Self {
        Self::new()
    }
}

impl Correlator {
    pub fn new() -> Self {
        let size = NonZeroUsize::new(CACHE_ENTRIES).expect("non-zero cache size");
        Correlator {
            groups: LruCache::new(size),
            written: LruCache::new(size),
            buckets: LruCache::new(size),
        }
    }

    /// Decides what to do with `event`, recorded at `now`.
    pub fn correlate(&mut self, event: Event, now: Instant) -> Correlated {
        let (event, key) = self.aggregate(event, now);
        let (event, is_repeat) = self.observe(event, key);
        if !self.allow(&event, now) {
            return Correlated::Skip;
        }
        if is_repeat {
            Correlated::Patch(event)
        } else {
            Correlated::Create(event)
        }
    }

    /// Step 1: returns the event to write (the original, or a combined one) and the key it is
    /// counted under.
    fn aggregate(&mut self, event: Event, now: Instant) -> (Event, String) {
        let group_key = group_key(&event);
        let message = event.message.clone().unwrap_or_default();
        let record = self.groups.get_or_insert_mut(group_key.clone(), || AggregateRecord {
            messages: Vec::new(),
            last_seen: now,
        });
        if now.saturating_duration_since(record.last_seen) > AGGREGATE_INTERVAL {
            record.messages.clear();
        }
        record.last_seen = now;
        if !record.messages.contains(&message) {
            record.messages.push(message.clone());
        }
        if record.messages.len() < AGGREGATE_MAX_EVENTS {
            let key = event_key(&event);
            return (event, key);
        }
        // Keep the set at its bound, as client-go does (it pops one arbitrary message).
        record.messages.remove(0);
        let mut combined = event;
        combined.message = Some(format!("{COMBINED_PREFIX}{message}"));
        (combined, group_key)
    }

    /// Step 2: if an event was already written under `key`, returns it renamed to that event
    /// with its count raised.
    fn observe(&mut self, mut event: Event, key: String) -> (Event, bool) {
        let previous = self.written.get(&key).cloned();
        let is_repeat = match previous {
            Some(previous) if previous.count > 0 => {
                event.metadata.name = Some(previous.name);
                event.first_timestamp = previous.first_timestamp;
                event.count = Some(previous.count + 1);
                true
            }
            _ => false,
        };
        self.written.put(
            key,
            WrittenEvent {
                name: event.metadata.name().to_string(),
                count: event.count.unwrap_or(1),
                first_timestamp: event.first_timestamp,
            },
        );
        (event, is_repeat)
    }

    /// Step 3: whether the event's source still has a token for its object.
    fn allow(&mut self, event: &Event, now: Instant) -> bool {
        self.buckets
            .get_or_insert_mut(spam_key(event), || TokenBucket::full(now))
            .try_take(now)
    }
}

fn source_and_object(event: &Event) -> [&str; 7] {
    let source = event.source.as_ref();
    let object = &event.involved_object;
    [
        source.and_then(|s| s.component.as_deref()).unwrap_or(""),
        source.and_then(|s| s.host.as_deref()).unwrap_or(""),
        object.kind.as_deref().unwrap_or(""),
        object.namespace.as_deref().unwrap_or(""),
        object.name.as_deref().unwrap_or(""),
        object.uid.as_deref().unwrap_or(""),
        object.api_version.as_deref().unwrap_or(""),
    ]
}

/// The spam filter's key: source and object (`getSpamKey`).
fn spam_key(event: &Event) -> String {
    source_and_object(event).join("\u{1f}")
}

/// The aggregation group: source, object, type and reason (`EventAggregatorByReasonFunc`).
fn group_key(event: &Event) -> String {
    let mut parts = source_and_object(event).to_vec();
    parts.push(event.type_.as_deref().unwrap_or(""));
    parts.push(event.reason.as_deref().unwrap_or(""));
    parts.push(event.reporting_component.as_deref().unwrap_or(""));
    parts.push(event.reporting_instance.as_deref().unwrap_or(""));
    parts.join("\u{1f}")
}

/// The full key of one event, message included (`getEventKey`).
fn event_key(event: &Event) -> String {
    let mut parts = source_and_object(event).to_vec();
    parts.push(event.involved_object.field_path.as_deref().unwrap_or(""));
    parts.push(event.type_.as_deref().unwrap_or(""));
    parts.push(event.reason.as_deref().unwrap_or(""));
    parts.push(event.message.as_deref().unwrap_or(""));
    parts.join("\u{1f}")
}

#[cfg(test)]
mod tests {
    use super::super::{new_event, NORMAL, WARNING};
    use super::*;
    use kubelab_api::core::ObjectReference;

    fn rs(name: &str) -> ObjectReference {
        ObjectReference {
            api_version: Some("apps/v1".into()),
            kind: Some("ReplicaSet".into()),
            namespace: Some("default".into()),
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            ..ObjectReference::default()
        }
    }

    fn created(rs_name: &str, pod: &str) -> Event {
        new_event(
            rs(rs_name),
            NORMAL,
            "SuccessfulCreate",
            &format!("Created pod: {pod}"),
            "replicaset-controller",
        )
    }

    fn kinds(results: &[Correlated]) -> (usize, usize, usize) {
        let creates = results.iter().filter(|r| matches!(r, Correlated::Create(_))).count();
        let patches = results.iter().filter(|r| matches!(r, Correlated::Patch(_))).count();
        let skips = results.iter().filter(|r| matches!(r, Correlated::Skip)).count();
        (creates, patches, skips)
    }

    #[tokio::test(start_paused = true)]
    async fn the_tenth_similar_event_is_combined_and_later_ones_count_on_it() {
        let mut c = Correlator::new();
        let now = Instant::now();
        let results: Vec<_> = (0..20)
            .map(|i| c.correlate(created("web", &format!("p{i}")), now))
            .collect();
        // Nine events as they are, the 10th combined (created), the 11th to 20th counted on it.
        assert_eq!(kinds(&results), (10, 10, 0));
        let Correlated::Create(combined) = &results[9] else {
            panic!("10th should be created")
        };
        assert_eq!(
            combined.message.as_deref(),
            Some("(combined from similar events): Created pod: p9")
        );
        let Correlated::Patch(last) = &results[19] else {
            panic!("20th should patch")
        };
        assert_eq!(last.metadata.name, combined.metadata.name);
        assert_eq!(last.count, Some(11));
        assert_eq!(
            last.message.as_deref(),
            Some("(combined from similar events): Created pod: p19")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_gets_25_events_per_object_then_one_every_five_minutes() {
        let mut c = Correlator::new();
        let start = Instant::now();
        let results: Vec<_> = (0..100)
            .map(|i| c.correlate(created("web", &format!("p{i}")), start))
            .collect();
        assert_eq!(kinds(&results), (10, 15, 75));
        // Another object has its own bucket.
        assert!(matches!(
            c.correlate(created("api", "a0"), start),
            Correlated::Create(_)
        ));
        // Five minutes later exactly one more gets through.
        let later = start + SPAM_REFILL;
        assert!(matches!(c.correlate(created("web", "q1"), later), Correlated::Patch(_)));
        assert_eq!(c.correlate(created("web", "q2"), later), Correlated::Skip);
    }

    #[tokio::test(start_paused = true)]
    async fn an_identical_event_raises_the_count_of_the_first() {
        let mut c = Correlator::new();
        let now = Instant::now();
        let backoff = |c: &mut Correlator, at| {
            c.correlate(
                new_event(rs("web"), WARNING, "BackOff", "Back-off restarting", "kubelet"),
                at,
            )
        };
        let Correlated::Create(first) = backoff(&mut c, now) else {
            panic!("first is created")
        };
        let Correlated::Patch(second) = backoff(&mut c, now + Duration::from_secs(10)) else {
            panic!("second patches")
        };
        assert_eq!(second.metadata.name, first.metadata.name);
        assert_eq!(second.count, Some(2));
        assert_eq!(second.first_timestamp, first.first_timestamp);
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_idle_for_ten_minutes_starts_afresh() {
        let mut c = Correlator::new();
        let start = Instant::now();
        for i in 0..9 {
            c.correlate(created("web", &format!("p{i}")), start);
        }
        let later = start + AGGREGATE_INTERVAL + Duration::from_secs(1);
        let Correlated::Create(event) = c.correlate(created("web", "p9"), later) else {
            panic!("created")
        };
        assert_eq!(event.message.as_deref(), Some("Created pod: p9"));
    }
}
