//! Events: the agent's diary, what `kubectl describe pod` shows at the bottom.
//!
//! The kubelet reports what it does to a pod as core/v1 Events: `Pulled`, `Created`, `Started`,
//! `Killing`, `BackOff`, `Unhealthy`, `Failed`... each pointing at the pod (and, for a
//! container, `fieldPath: spec.containers{name}`), with `source: {component: kubelet, host:
//! <node>}`.
//!
//! Events are **best effort**. A pod must start even when the API server is too busy to take a
//! note about it, so recording never blocks or fails the caller: events go into a bounded channel
//! and one background task writes them; if the channel is full, the event is dropped with a log
//! line. As in client-go's event recorder, a repeat of the same event (same object, reason and
//! message) is **aggregated**: the existing Event gets `count + 1` and a new `lastTimestamp`
//! instead of a new object, so a crash loop adds one Event, not thousands.

use std::collections::HashMap;

use kubelab_api::core::{Event, EventSource, ObjectReference, Pod};
use kubelab_api::{ObjectMeta, Time};
use kubelab_client::{Api, Client, Patch};
use serde_json::json;
use tokio::sync::mpsc;

/// How many events may wait to be written before new ones are dropped.
const QUEUE: usize = 1024;
/// How many distinct events are remembered for aggregation.
const REMEMBERED: usize = 4096;

/// `Normal` or `Warning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

struct Pending {
    involved: ObjectReference,
    type_: EventType,
    reason: String,
    message: String,
}

/// Records events about pods. Cheap to clone; recording never waits.
#[derive(Clone)]
pub struct EventRecorder {
    tx: Option<mpsc::Sender<Pending>>,
}

impl EventRecorder {
    /// A recorder whose writer runs on a task of its own until every clone is dropped.
    pub fn spawn(client: Client, node_name: &str) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_events(client, node_name.to_string(), rx));
        EventRecorder { tx: Some(tx) }
    }

    /// A recorder that records nothing (unit tests).
    pub fn disabled() -> Self {
        EventRecorder { tx: None }
    }

    /// Records an event about `pod`, or one of its containers when `container` is given.
    pub fn pod(&self, pod: &Pod, container: Option<&str>, type_: EventType, reason: &str, message: impl Into<String>) {
        let Some(tx) = &self.tx else { return };
        let field_path = container.map(|name| {
            let init = pod.spec.init_containers.iter().any(|c| c.name == name);
            let list = if init { "initContainers" } else { "containers" };
            format!("spec.{list}{{{name}}}")
        });
        let involved = ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            namespace: pod.metadata.namespace.clone(),
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
            field_path,
        };
        let pending = Pending {
            involved,
            type_,
            reason: reason.to_string(),
            message: message.into(),
        };
        if tx.try_send(pending).is_err() {
            tracing::debug!(reason, "event queue full or closed; event dropped");
        }
    }
}

/// Aggregation key: the same note about the same object.
type Key = (String, String, String, String, String);

async fn write_events(client: Client, node: String, mut rx: mpsc::Receiver<Pending>) {
    // Key → (event name, count so far).
    let mut seen: HashMap<Key, (String, i32)> = HashMap::new();
    while let Some(event) = rx.recv().await {
        let namespace = event.involved.namespace.clone().unwrap_or_else(|| "default".into());
        let key = (
            namespace.clone(),
            event.involved.uid.clone().unwrap_or_default(),
            event.involved.field_path.clone().unwrap_or_default(),
            event.reason.clone(),
            event.message.clone(),
        );
        let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
        let now = Time::now();
        if let Some((name, count)) = seen.get(&key).cloned() {
            let patch = Patch::Merge(json!({"count": count + 1, "lastTimestamp": now}));
            match api.patch(&name, &patch).await {
                Ok(_) => {
                    seen.insert(key, (name, count + 1));
                    continue;
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    tracing::debug!(error = %e, "could not update event");
                    continue;
                }
            }
        }
        let name = format!(
            "{}.{:x}",
            event.involved.name.as_deref().unwrap_or("pod"),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        let object = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace),
                ..Default::default()
            },
            involved_object: event.involved,
            reason: Some(event.reason),
            message: Some(event.message),
            source: Some(EventSource {
                component: Some("kubelet".into()),
                host: Some(node.clone()),
            }),
            first_timestamp: Some(now),
            last_timestamp: Some(now),
            count: Some(1),
            type_: Some(event.type_.as_str().into()),
            reporting_component: Some("kubelet".into()),
            reporting_instance: Some(node.clone()),
            ..Default::default()
        };
        match api.create(&object).await {
            Ok(_) => {
                if seen.len() >= REMEMBERED {
                    seen.clear();
                }
                seen.insert(key, (name, 1));
            }
            Err(e) => tracing::debug!(error = %e, "could not record event"),
        }
    }
}
