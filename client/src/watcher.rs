//! A watch that never ends: list, then watch, then watch again from where it stopped.
//!
//! A single watch ([`Api::watch`]) is not enough to follow a resource for hours: the server
//! closes it after `timeoutSeconds`, connections drop, API servers restart. client-go's
//! *Reflector* (with its *ListWatch*) turns the plain watch into something dependable, and
//! [`watcher`] does the same:
//!
//! 1. **List** everything and hand it over whole as [`WatcherEvent::Restarted`]. The list's
//!    `metadata.resourceVersion` says which revision that snapshot is.
//! 2. **Watch from that revision**: every change after the snapshot, none missed, none twice.
//!    Each event's object carries its `resourceVersion`; the watcher remembers the last one seen.
//!    BOOKMARK events advance it too, without any change to report.
//! 3. When the watch **ends or breaks**, watch again from the last revision seen: the server
//!    replays whatever happened in between.
//! 4. When the server says **410 Gone** (that revision is older than the history it keeps),
//!    changes were lost for good: go back to step 1. The new `Restarted` list lets the consumer
//!    work out what it missed (the informer diffs it against its cache).
//!
//! Failures are yielded as `Err` items so the caller can log them, but the stream goes on: it
//! waits with exponential [`Backoff`] and tries again. It never ends by itself; drop it to stop.

use std::time::Duration;

use futures_util::stream::{self, BoxStream, StreamExt};
use kubelab_api::Object;
use tokio::time::Instant;

use crate::api::Api;
use crate::backoff::Backoff;
use crate::error::ClientError;
use crate::params::ListParams;
use crate::watch::WatchEvent;

/// What a [`watcher`] reports.
#[derive(Clone, Debug, PartialEq)]
pub enum WatcherEvent<T> {
    /// A fresh, complete list of the objects: the first event, and again after every re-list.
    /// Anything the consumer knew that is not in it was deleted meanwhile.
    Restarted(Vec<T>),
    Added(T),
    Modified(T),
    Deleted(T),
}

/// How long the server keeps a watch open before closing it, unless `ListParams` says.
/// (client-go picks 5 to 10 minutes at random; a watch that is closed and resumed now and then
/// spreads reconnects out and rebalances clients across API servers.)
pub const DEFAULT_WATCH_TIMEOUT_SECONDS: u32 = 290;

/// A stream that lists the objects matching `lp`, then follows their changes forever.
pub fn watcher<T: Object>(api: Api<T>, lp: ListParams) -> BoxStream<'static, Result<WatcherEvent<T>, ClientError>> {
    watcher_with_backoff(api, lp, Backoff::default())
}

/// [`watcher`] with another back-off policy.
pub fn watcher_with_backoff<T: Object>(
    api: Api<T>,
    lp: ListParams,
    backoff: Backoff,
) -> BoxStream<'static, Result<WatcherEvent<T>, ClientError>> {
    let mut watch_params = lp.clone().bookmarks(true);
    watch_params.limit = None;
    watch_params.continue_token = None;
    if watch_params.timeout_seconds.is_none() {
        watch_params.timeout_seconds = Some(DEFAULT_WATCH_TIMEOUT_SECONDS);
    }
    let state = State {
        api,
        list_params: lp,
        watch_params,
        phase: Phase::List,
        backoff,
        delay: None,
        progress: false,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(delay) = state.delay.take() {
                tokio::time::sleep(delay).await;
            }
            if let Some(item) = state.step().await {
                return Some((item, state));
            }
        }
    })
    .boxed()
}

/// Where the watcher is in its cycle.
enum Phase<T> {
    /// Next: list everything.
    List,
    /// Next: start a watch from `resource_version`.
    Watch { resource_version: String },
    /// Reading a watch.
    Streaming {
        resource_version: String,
        events: BoxStream<'static, Result<WatchEvent<T>, ClientError>>,
        started: Instant,
        seen_any: bool,
    },
}

struct State<T> {
    api: Api<T>,
    list_params: ListParams,
    watch_params: ListParams,
    phase: Phase<T>,
    backoff: Backoff,
    /// Wait this long before the next step (set after a failure).
    delay: Option<Duration>,
    /// Whether any watch event arrived since the last list; a 410 right after a list with no
    /// progress is answered with a back-off, not an immediate re-list.
    progress: bool,
}

impl<T: Object> State<T> {
    /// Does one step; `Some` is an item for the consumer, `None` means "go on".
    async fn step(&mut self) -> Option<Result<WatcherEvent<T>, ClientError>> {
        match std::mem::replace(&mut self.phase, Phase::List) {
            Phase::List => match list_all(&self.api, &self.list_params).await {
                Ok((items, resource_version)) => {
                    self.phase = Phase::Watch { resource_version };
                    self.progress = false;
                    Some(Ok(WatcherEvent::Restarted(items)))
                }
                Err(e) => {
                    self.fail();
                    Some(Err(e))
                }
            },
            Phase::Watch { resource_version } => match self.api.watch(&self.watch_params, &resource_version).await {
                Ok(events) => {
                    self.phase = Phase::Streaming {
                        resource_version,
                        events,
                        started: Instant::now(),
                        seen_any: false,
                    };
                    None
                }
                Err(e) if e.is_gone() => {
                    self.relist_after_gone();
                    None
                }
                Err(e) => {
                    self.phase = Phase::Watch { resource_version };
                    self.fail();
                    Some(Err(e))
                }
            },
            Phase::Streaming {
                resource_version,
                mut events,
                started,
                seen_any,
            } => {
                let next = events.next().await;
                self.on_watch_item(next, resource_version, events, started, seen_any)
            }
        }
    }

    fn on_watch_item(
        &mut self,
        item: Option<Result<WatchEvent<T>, ClientError>>,
        mut resource_version: String,
        events: BoxStream<'static, Result<WatchEvent<T>, ClientError>>,
        started: Instant,
        seen_any: bool,
    ) -> Option<Result<WatcherEvent<T>, ClientError>> {
        let event = match item {
            // The server closed the watch (timeoutSeconds, or it is shutting down): resume.
            // A watch that closes at once without a single event is treated as a failure, so a
            // server that keeps doing that is not hammered.
            None => {
                if !seen_any && started.elapsed() < Duration::from_secs(1) {
                    self.fail();
                }
                self.phase = Phase::Watch { resource_version };
                return None;
            }
            Some(Err(e)) => {
                self.phase = Phase::Watch { resource_version };
                self.fail();
                return Some(Err(e));
            }
            Some(Ok(event)) => event,
        };
        let output = match event {
            WatchEvent::Bookmark { resource_version: rv } => {
                if !rv.is_empty() {
                    resource_version = rv;
                }
                None
            }
            WatchEvent::Error(status) if status.code == 410 => {
                tracing::debug!(kind = T::KIND, message = %status.message, "watch history expired, listing again");
                self.relist_after_gone();
                return None;
            }
            WatchEvent::Error(status) => {
                self.phase = Phase::Watch { resource_version };
                self.fail();
                return Some(Err(ClientError::Api(Box::new(status))));
            }
            WatchEvent::Added(o) => Some(WatcherEvent::Added(remember(&mut resource_version, o))),
            WatchEvent::Modified(o) => Some(WatcherEvent::Modified(remember(&mut resource_version, o))),
            WatchEvent::Deleted(o) => Some(WatcherEvent::Deleted(remember(&mut resource_version, o))),
        };
        self.progress = true;
        self.backoff.reset();
        self.phase = Phase::Streaming {
            resource_version,
            events,
            started,
            seen_any: true,
        };
        output.map(Ok)
    }

    fn fail(&mut self) {
        self.delay = Some(self.backoff.next_delay());
    }

    fn relist_after_gone(&mut self) {
        self.phase = Phase::List;
        if !self.progress {
            self.fail();
        }
    }
}

/// Notes the object's revision as the point to resume from, and passes the object on.
fn remember<T: Object>(resource_version: &mut String, object: T) -> T {
    match object.metadata().resource_version.as_deref() {
        Some(rv) if !rv.is_empty() => *resource_version = rv.to_string(),
        // Without a revision we could not resume after this event; keep the previous one.
        _ => tracing::warn!(
            kind = T::KIND,
            name = object.metadata().name(),
            "watch event without resourceVersion"
        ),
    }
    object
}

/// Lists every page (following `continue` tokens) and returns the items with the revision of
/// the list.
async fn list_all<T: Object>(api: &Api<T>, lp: &ListParams) -> Result<(Vec<T>, String), ClientError> {
    let mut page_params = lp.clone();
    let mut items = Vec::new();
    loop {
        let page = api.list(&page_params).await?;
        items.extend(page.items);
        let resource_version = page.metadata.resource_version.unwrap_or_default();
        match page.metadata.continue_.filter(|t| !t.is_empty()) {
            Some(token) => page_params.continue_token = Some(token),
            None => return Ok((items, resource_version)),
        }
    }
}
