//! Events: the short notes controllers leave on the objects they act on.
//!
//! `kubectl describe deployment web` ends with lines like
//!
//! ```text
//!   Normal  ScalingReplicaSet  deployment-controller  Scaled up replica set web-6d4cf56db6 from 0 to 3
//! ```
//!
//! Each is an `Event` object in the involved object's namespace. Events are a diagnostic aid, not
//! state: a controller must never wait for one to be written, nor fail because it could not be.
//! So [`Recorder::record`] only puts the event on a bounded channel and a background task writes
//! it; when the channel is full (the API server is slow) events are dropped, as client-go's
//! broadcaster drops them. Before writing, the task passes each event through a
//! [`correlator::Correlator`], which combines similar events, counts repeats on the event already
//! written and drops a source's spam about one object, exactly as client-go's recorder does.

pub mod correlator;

use std::sync::atomic::{AtomicU64, Ordering};

use kubelab_api::core::{Event, EventSource, ObjectReference};
use kubelab_api::microtime::MicroTime;
use kubelab_api::{Object, ObjectMeta, Time};
use kubelab_client::{Api, Client, ClientError, Patch};
use serde_json::json;
use tokio::sync::mpsc;

use correlator::{Correlated, Correlator};

/// How many events may wait to be written before new ones are dropped.
const QUEUE: usize = 1024;

/// `Normal` events report what a controller did; `Warning` ones what went wrong.
pub const NORMAL: &str = "Normal";
pub const WARNING: &str = "Warning";

/// Why an event could not be written (only logged: events are best-effort).
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The API server refused the event or could not be reached.
    #[error("writing event {reason} about {kind} {namespace}/{name}: {source}")]
    Write {
        reason: String,
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: ClientError,
    },
}

/// A reference to `object`, for an event's `involvedObject`.
pub fn reference_of<T: Object>(object: &T) -> ObjectReference {
    let meta = object.metadata();
    ObjectReference {
        api_version: Some(T::API_VERSION.to_string()),
        kind: Some(T::KIND.to_string()),
        namespace: meta.namespace.clone(),
        name: meta.name.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        field_path: None,
    }
}

/// An Event about `involved`, named like Kubernetes' (`<object>.<hex time>`) plus a counter so two
/// events in the same nanosecond do not collide.
pub fn new_event(involved: ObjectReference, type_: &str, reason: &str, message: &str, component: &str) -> Event {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let now = chrono::Utc::now();
    let nanos = now.timestamp_nanos_opt().unwrap_or_default();
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let name = involved.name.clone().unwrap_or_default();
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{name}.{nanos:x}{sequence:x}")),
            namespace: involved.namespace.clone(),
            ..ObjectMeta::default()
        },
        involved_object: involved,
        reason: Some(reason.into()),
        message: Some(message.into()),
        source: Some(EventSource {
            component: Some(component.into()),
            host: None,
        }),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        count: Some(1),
        type_: Some(type_.into()),
        event_time: Some(MicroTime(now)),
        reporting_component: Some(component.into()),
        ..Event::default()
    }
}

/// Records events for one controller (`component`: `replicaset-controller`, ...). Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    component: String,
    sender: mpsc::Sender<Event>,
}

impl Recorder {
    /// A recorder whose events a background task writes through `client`. Must be called inside
    /// a Tokio runtime; the task ends when the last clone of the recorder is dropped.
    pub fn new(client: Client, component: &str) -> Self {
        let (sender, mut receiver) = mpsc::channel::<Event>(QUEUE);
        tokio::spawn(async move {
            let mut correlator = Correlator::new();
            while let Some(event) = receiver.recv().await {
                let result = match correlator.correlate(event, tokio::time::Instant::now()) {
                    Correlated::Create(event) => write(&client, event).await,
                    Correlated::Patch(event) => raise_count(&client, event).await,
                    Correlated::Skip => Ok(()),
                };
                if let Err(e) = result {
                    tracing::debug!(error = %e, "event dropped");
                }
            }
        });
        Recorder {
            component: component.into(),
            sender,
        }
    }

    /// Queues an event about `object`; never waits and never fails.
    pub fn record<T: Object>(&self, object: &T, type_: &str, reason: &str, message: &str) {
        let event = new_event(reference_of(object), type_, reason, message, &self.component);
        if self.sender.try_send(event).is_err() {
            tracing::debug!(reason, "event queue full: event dropped");
        }
    }
}

async fn write(client: &Client, event: Event) -> Result<(), EventError> {
    let events: Api<Event> = Api::namespaced(client.clone(), event.metadata.namespace());
    events
        .create(&event)
        .await
        .map(|_| ())
        .map_err(|source| write_error(&event, source))
}

/// Raises the count of an event already written (a patch of `count`, `lastTimestamp` and
/// `message`, as client-go sends); if that event is gone from the server, writes it anew.
async fn raise_count(client: &Client, mut event: Event) -> Result<(), EventError> {
    let events: Api<Event> = Api::namespaced(client.clone(), event.metadata.namespace());
    let patch = Patch::Merge(json!({
        "count": event.count,
        "lastTimestamp": event.last_timestamp,
        "message": event.message,
    }));
    match events.patch(event.metadata.name(), &patch).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => {
            event.metadata.resource_version = None;
            write(client, event).await
        }
        Err(source) => Err(write_error(&event, source)),
    }
}

fn write_error(event: &Event, source: ClientError) -> EventError {
    EventError::Write {
        reason: event.reason.clone().unwrap_or_default(),
        kind: event.involved_object.kind.clone().unwrap_or_default(),
        namespace: event.metadata.namespace().to_string(),
        name: event.involved_object.name.clone().unwrap_or_default(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubelab_api::apps::ReplicaSet;

    #[test]
    fn events_point_at_the_object() {
        let mut rs = ReplicaSet::default();
        rs.metadata.name = Some("web-1".into());
        rs.metadata.namespace = Some("default".into());
        rs.metadata.uid = Some("u1".into());
        let a = new_event(
            reference_of(&rs),
            NORMAL,
            "SuccessfulCreate",
            "Created pod: web-1-x",
            "c",
        );
        let b = new_event(
            reference_of(&rs),
            NORMAL,
            "SuccessfulCreate",
            "Created pod: web-1-y",
            "c",
        );
        assert_ne!(a.metadata.name, b.metadata.name);
        assert!(a.metadata.name().starts_with("web-1."));
        assert_eq!(a.metadata.namespace(), "default");
        assert_eq!(a.involved_object.kind.as_deref(), Some("ReplicaSet"));
        assert_eq!(a.involved_object.api_version.as_deref(), Some("apps/v1"));
        assert_eq!(a.involved_object.uid.as_deref(), Some("u1"));
    }
}
