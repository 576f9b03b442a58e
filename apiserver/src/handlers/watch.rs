//! # WATCH: a stream of changes, resumable from any kept revision
//!
//! Polling a list every second would cost the server a full read per client per second and
//! still be late. Instead, every Kubernetes component lists once and then *watches*: one long
//! HTTP response that stays open and carries one JSON line per change:
//!
//! ```text
//! {"type":"ADDED","object":{...the pod...}}
//! {"type":"MODIFIED","object":{...}}
//! {"type":"DELETED","object":{...}}
//! ```
//!
//! Each event carries the object's `resourceVersion`, so a client whose connection drops
//! watches again from the last revision it saw and misses nothing: the store keeps an ordered
//! log of recent changes for exactly this. When the revision asked for is older than that log
//! (the client was gone too long), it gets an `ERROR` event with a 410 `Expired` Status and
//! must list again. `resourceVersion` unset or `0` means "what exists now, then changes": the
//! stream begins with a synthetic ADDED per existing object.
//!
//! Selectors apply to events too, with a subtlety: when a pod's labels change so that it no
//! longer matches `app=web`, a watcher of `app=web` gets DELETED (it left the set it watches),
//! and one that starts matching arrives as ADDED. The store keeps each event's previous object
//! so this can be decided.
//!
//! `BOOKMARK` events (when asked for) carry only a revision: they let a watcher with a narrow
//! selector, which may see no events for hours, resume from a recent revision instead of a
//! compacted one.
//!
//! **One chunk per wake-up, not one per event.** Each event line is spliced from the object's
//! stored bytes, never re-encoded. When a watcher wakes up and finds several events already
//! waiting (a burst of writes, or a watcher that fell a little behind), all of them go out as one
//! HTTP chunk: one write to the socket instead of one per event. With 100 watchers, a socket
//! write per event per watcher is what the CPU would otherwise spend its time on, and the events
//! queue up while it does. The order and the lines are the same; only the packaging changes.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use super::Call;
use crate::error::{json_bytes, ApiError};
use crate::filter::Filter;
use crate::registry::meta::meta_str;
use crate::store::{EventType, StoreError, StoreEvent, StoredObject, WatchStream};

/// Chunks buffered per watcher between the task and the connection.
const BUFFER: usize = 128;

/// A chunk is sent once it holds this many bytes, even if more events are waiting, so one
/// watcher's backlog goes out as several moderate writes rather than one huge buffer.
const CHUNK_BYTES: usize = 64 * 1024;

/// The longest `timeoutSeconds` honoured (a day).
const MAX_TIMEOUT_SECONDS: i64 = 24 * 3600;

/// What a watch sends: which objects, how long, with bookmarks or not.
struct Selection {
    filter: Filter,
    /// The legacy `/watch/.../pods/{name}` form watches one object.
    name: Option<String>,
}

impl Selection {
    fn matches(&self, object: &StoredObject) -> bool {
        if self.name.is_none() && self.filter.is_everything() {
            return true;
        }
        let selectable = self.filter.selectable(object);
        if let Some(name) = &self.name {
            if meta_str(selectable, "name") != Some(name.as_str()) {
                return false;
            }
        }
        self.filter.is_everything() || self.filter.matches(selectable)
    }
}

/// GET with `watch=true` (or under `/watch/`).
pub async fn watch(call: &Call) -> Result<Response, ApiError> {
    let info = call.target.info;
    let selection = Selection {
        filter: Filter::parse(info, call.query.get("labelSelector"), call.query.get("fieldSelector"))?,
        name: call.request.name.clone(),
    };
    let timeout = call
        .query
        .number("timeoutSeconds")?
        .filter(|t| *t > 0)
        // Capped so the deadline arithmetic cannot overflow; clients reconnect anyway.
        .map(|t| Duration::from_secs(t.min(MAX_TIMEOUT_SECONDS) as u64));
    let bookmarks = call.query.flag("allowWatchBookmarks")?;
    let table = crate::table::negotiate(&call.headers, &call.query)?;
    let store = call.state.store.clone();
    let prefix = call.target.prefix();
    let (initial, from) = match call.query.get("resourceVersion") {
        None | Some("0") => {
            let listed = store
                .list(&prefix)
                .await
                .map_err(|e| ApiError::from_store(e, &call.target.qualified(), ""))?;
            let initial: Vec<StoredObject> = listed.items.into_iter().filter(|o| selection.matches(o)).collect();
            (initial, listed.revision)
        }
        Some(text) => {
            let rv = text
                .parse::<u64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid resourceVersion {text:?}: must be a number")))?;
            (Vec::new(), rv)
        }
    };
    // A pod watch pinned to one node (every agent's, and the scheduler's `spec.nodeName=`) is
    // woken only by that node's pods: see `store::trigger`.
    let watched = match selection.filter.pod_node_trigger() {
        Some(trigger) => store.watch_triggered(&prefix, from, trigger).await,
        None => store.watch(&prefix, from).await,
    };
    let stream = match watched {
        Ok(stream) => Ok(stream),
        Err(err @ (StoreError::Gone { .. } | StoreError::WatcherTooSlow)) => Err(err),
        Err(err) => return Err(ApiError::from_store(err, &call.target.qualified(), "")),
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(BUFFER);
    let task = WatchTask {
        tx,
        stop: call.state.shutdown_receiver(),
        selection,
        kind: info.kind,
        api_version: info.api_version(),
        info,
        table,
        last_revision: from,
        bookmark_every: bookmarks.then_some(call.state.options.bookmark_interval),
        timeout,
    };
    let gauge = call.state.metrics.watcher_guard(&call.target.qualified());
    tokio::spawn(async move {
        let _gauge = gauge;
        task.run(initial, stream).await;
    });
    Ok(json_bytes(StatusCode::OK, Body::from_stream(ReceiverStream::new(rx))))
}

/// The task that feeds one watch response.
struct WatchTask {
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
    stop: watch::Receiver<bool>,
    selection: Selection,
    kind: &'static str,
    api_version: String,
    info: &'static kubelab_api::ResourceInfo,
    /// Set when the client asked for Tables: each event's object is then a one-row Table.
    table: Option<crate::table::TableRequest>,
    /// The newest revision this watcher has been told about (events or the starting point).
    last_revision: u64,
    bookmark_every: Option<Duration>,
    timeout: Option<Duration>,
}

impl WatchTask {
    async fn run(mut self, initial: Vec<StoredObject>, stream: Result<WatchStream, StoreError>) {
        let mut chunk = Vec::new();
        for object in &initial {
            self.push(&mut chunk, "ADDED", object);
            if chunk.len() >= CHUNK_BYTES && !self.send(take(&mut chunk)).await {
                return;
            }
        }
        if !chunk.is_empty() && !self.send(take(&mut chunk)).await {
            return;
        }
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(err) => {
                self.send_error(err).await;
                return;
            }
        };
        let deadline = self.timeout.map(|t| tokio::time::Instant::now() + t);
        let far_future = Duration::from_secs(365 * 24 * 3600);
        let period = self.bookmark_every.unwrap_or(far_future).max(Duration::from_millis(1));
        let mut bookmarks = tokio::time::interval(period);
        bookmarks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        bookmarks.reset(); // the first tick of an interval is immediate; we want one period first
        let mut stop = self.stop.clone();
        loop {
            let timed_out = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stopped(&mut stop) => return,
                _ = timed_out => return,
                _ = self.tx.closed() => return,
                _ = bookmarks.tick(), if self.bookmark_every.is_some() => {
                    let line = self.bookmark_line();
                    if !self.send(line).await {
                        return;
                    }
                }
                next = stream.next() => match next {
                    None => return,
                    Some(Err(err)) => {
                        self.send_error(err).await;
                        return;
                    }
                    Some(Ok(event)) => {
                        self.add(&mut chunk, &event);
                        // Whatever else is already waiting joins the same chunk.
                        let mut ended = None;
                        while chunk.len() < CHUNK_BYTES {
                            match stream.next().now_or_never() {
                                Some(Some(Ok(event))) => self.add(&mut chunk, &event),
                                Some(Some(Err(err))) => {
                                    ended = Some(Some(err));
                                    break;
                                }
                                Some(None) => {
                                    ended = Some(None);
                                    break;
                                }
                                None => break,
                            }
                        }
                        if !chunk.is_empty() && !self.send(take(&mut chunk)).await {
                            return;
                        }
                        if let Some(err) = ended {
                            if let Some(err) = err {
                                self.send_error(err).await;
                            }
                            return;
                        }
                    }
                },
            }
        }
    }

    /// Notes `event`'s revision and appends its line to `chunk`, if this watcher sees it.
    fn add(&mut self, chunk: &mut Vec<u8>, event: &StoreEvent) {
        self.last_revision = self.last_revision.max(event.revision);
        if let Some(kind) = self.translate(event) {
            self.push(chunk, kind, &event.object);
        }
    }

    /// Appends the event line of `object`: its stored bytes, or a one-row Table of it.
    fn push(&self, chunk: &mut Vec<u8>, kind: &str, object: &StoredObject) {
        match &self.table {
            None => push_event_line(chunk, kind, &object.raw),
            Some(table) => push_event_line(chunk, kind, &table.one_bytes(self.info, object.value())),
        }
    }

    /// The event this watcher sees for a store event, given its selection (see module docs).
    fn translate(&self, event: &StoreEvent) -> Option<&'static str> {
        let now = self.selection.matches(&event.object);
        let before = event.prev.as_ref().is_some_and(|p| self.selection.matches(p));
        let kind = match event.event_type {
            EventType::Added if now => "ADDED",
            EventType::Modified if now && before => "MODIFIED",
            EventType::Modified if now => "ADDED",
            EventType::Modified if before => "DELETED",
            EventType::Deleted if now || before => "DELETED",
            _ => return None,
        };
        Some(kind)
    }

    fn bookmark_line(&self) -> Bytes {
        let object = json!({
            "kind": self.kind,
            "apiVersion": self.api_version,
            "metadata": {"resourceVersion": self.last_revision.to_string()},
        });
        event_line(
            "BOOKMARK",
            &Bytes::from(serde_json::to_vec(&object).unwrap_or_default()),
        )
    }

    async fn send_error(&self, err: StoreError) {
        let status = match err {
            StoreError::Gone { requested, oldest } => ApiError::gone(requested, oldest).to_status(),
            StoreError::WatcherTooSlow => {
                ApiError::Gone(format!("{err}; too old resource version: {}", self.last_revision)).to_status()
            }
            other => ApiError::from_store(other, "", "").to_status(),
        };
        let object = Bytes::from(serde_json::to_vec(&status).unwrap_or_default());
        self.send(event_line("ERROR", &object)).await;
    }

    /// Sends one line; false if the client went away or the server is stopping.
    async fn send(&self, line: Bytes) -> bool {
        let mut stop = self.stop.clone();
        tokio::select! {
            sent = self.tx.send(Ok(line)) => sent.is_ok(),
            _ = stopped(&mut stop) => false,
        }
    }
}

/// Resolves once the server is shutting down.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not Send; drop it here, inside.
    let _ = stop.wait_for(|s| *s).await;
}

/// `{"type":"ADDED","object":<raw>}\n`: the object's stored bytes are spliced in as they are.
fn event_line(kind: &str, object: &[u8]) -> Bytes {
    let mut line = Vec::with_capacity(object.len() + 32);
    push_event_line(&mut line, kind, object);
    Bytes::from(line)
}

/// Appends one event line to `out`.
fn push_event_line(out: &mut Vec<u8>, kind: &str, object: &[u8]) {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    out.extend_from_slice(object);
    out.extend_from_slice(b"}\n");
}

/// The chunk built so far, leaving `chunk` empty for the next one.
fn take(chunk: &mut Vec<u8>) -> Bytes {
    Bytes::from(std::mem::take(chunk))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn event_lines_are_newline_terminated_json() {
        let line = event_line("ADDED", &Bytes::from_static(br#"{"kind":"Pod"}"#));
        assert!(line.ends_with(b"\n"));
        let value: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value, json!({"type": "ADDED", "object": {"kind": "Pod"}}));
    }
}
