//! Events the scheduler leaves on pods, and the `PodScheduled` condition of a pod that fits nowhere.
//!
//! What `kubectl describe pod web` shows under "Events" is written here:
//!
//! ```text
//!   Normal   Scheduled         default-scheduler  Successfully assigned default/web to node-1
//!   Warning  FailedScheduling  default-scheduler  0/3 nodes are available: 3 Insufficient cpu.
//! ```
//!
//! The same message goes into the pod's status, as condition `PodScheduled=False` with reason
//! `Unschedulable`, which is what `kubectl get pods` and controllers read. The status is only
//! written when the message changes, so a pod retried every 10 s does not write every 10 s.
//!
//! Events are a diagnostic aid, not state, so they never hold scheduling up: [`Recorder::event`]
//! puts the event on a queue of [`QUEUE`] and one background task writes them, one at a time.
//! When the API server is slower than the scheduler (a burst of thousands of pods), the queue
//! fills and further events are dropped, as client-go's event broadcaster does (it queues 1,000
//! and drops when full). The bindings, the state that matters, get the API server's attention.

use std::sync::atomic::{AtomicU64, Ordering};

use kubelab_api::core::{Event, EventSource, ObjectReference, Pod};
use kubelab_api::microtime::MicroTime;
use kubelab_api::{ObjectMeta, Time};
use kubelab_client::{Api, Client, ClientError, Patch};
use serde_json::json;
use tokio::sync::mpsc;

/// Events waiting to be written before new ones are dropped (client-go's `maxQueuedEvents`).
pub const QUEUE: usize = 1000;

/// The `PodScheduled` condition's reason for a pod no node can take.
pub const REASON_UNSCHEDULABLE: &str = "Unschedulable";

/// Why writing an event or a status failed.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The API server refused the event or the status patch, or could not be reached.
    #[error("writing {what} for pod {pod}: {source}")]
    Api {
        what: &'static str,
        pod: String,
        #[source]
        source: ClientError,
    },
}

/// `Successfully assigned default/web to node-1`.
pub fn scheduled_message(pod: &Pod, node: &str) -> String {
    format!(
        "Successfully assigned {}/{} to {node}",
        pod.metadata.namespace(),
        pod.metadata.name()
    )
}

/// An Event about `pod`, reported by `component` (the scheduler's name) from `instance` (this
/// replica's identity). Named like Kubernetes' (`<pod>.<hex timestamp>`), plus a counter, so two
/// events in the same nanosecond do not collide.
pub fn pod_event(pod: &Pod, type_: &str, reason: &str, message: &str, component: &str, instance: &str) -> Event {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let now = chrono::Utc::now();
    let nanos = now.timestamp_nanos_opt().unwrap_or_default();
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{}.{nanos:x}{sequence:x}", pod.metadata.name())),
            namespace: Some(pod.metadata.namespace().to_string()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            namespace: Some(pod.metadata.namespace().to_string()),
            name: Some(pod.metadata.name().to_string()),
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
            field_path: None,
        },
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
        action: Some(if reason == "Scheduled" { "Binding" } else { "Scheduling" }.into()),
        reporting_component: Some(component.into()),
        reporting_instance: Some(instance.into()),
        ..Event::default()
    }
}

/// Whether the pod already carries `PodScheduled=False/Unschedulable` with this message.
pub fn has_unschedulable_message(pod: &Pod, message: &str) -> bool {
    pod.status.as_ref().is_some_and(|status| {
        status.conditions.iter().any(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some(REASON_UNSCHEDULABLE)
                && c.message.as_deref() == Some(message)
        })
    })
}

/// Writes events and conditions for one scheduler replica.
#[derive(Clone)]
pub struct Recorder {
    client: Client,
    component: String,
    instance: String,
    events: mpsc::Sender<Event>,
}

impl Recorder {
    /// A recorder whose events a background task writes; it must be made inside a Tokio runtime,
    /// and the task ends when the last clone is dropped.
    pub fn new(client: Client, component: &str, instance: &str) -> Self {
        let (events, mut queued) = mpsc::channel::<Event>(QUEUE);
        let writer = client.clone();
        tokio::spawn(async move {
            while let Some(event) = queued.recv().await {
                if let Err(e) = write(&writer, &event).await {
                    tracing::debug!(error = %e, "event not written");
                }
            }
        });
        Recorder {
            client,
            component: component.into(),
            instance: instance.into(),
            events,
        }
    }

    /// Queues an event about `pod`; never waits. Returns false if the queue was full and the
    /// event was dropped.
    pub fn event(&self, pod: &Pod, type_: &str, reason: &str, message: &str) -> bool {
        let event = pod_event(pod, type_, reason, message, &self.component, &self.instance);
        let queued = self.events.try_send(event).is_ok();
        if !queued {
            tracing::debug!(pod = %pod.metadata.name(), reason, "event queue full: event dropped");
        }
        queued
    }

    /// Sets `PodScheduled=False, reason Unschedulable` with `message`, unless it is already so.
    /// A strategic merge patch merges conditions by `type`, leaving the others alone.
    pub async fn mark_unschedulable(&self, pod: &Pod, message: &str) -> Result<(), EventError> {
        if has_unschedulable_message(pod, message) {
            return Ok(());
        }
        let patch = json!({"status": {"conditions": [{
            "type": "PodScheduled",
            "status": "False",
            "reason": REASON_UNSCHEDULABLE,
            "message": message,
            "lastTransitionTime": Time::now().to_string(),
        }]}});
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), pod.metadata.namespace());
        match pods.patch_status(pod.metadata.name(), &Patch::Strategic(patch)).await {
            Ok(_) => Ok(()),
            // Deleted meanwhile: nothing to report on.
            Err(e) if e.is_not_found() => Ok(()),
            Err(source) => Err(EventError::Api {
                what: "the PodScheduled condition",
                pod: pod.metadata.name().to_string(),
                source,
            }),
        }
    }
}

async fn write(client: &Client, event: &Event) -> Result<(), EventError> {
    let events: Api<Event> = Api::namespaced(client.clone(), event.metadata.namespace());
    events
        .create(event)
        .await
        .map(|_| ())
        .map_err(|source| EventError::Api {
            what: "an event",
            pod: event.involved_object.name.clone().unwrap_or_default(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
            "spec": {"containers": [{"name": "c", "image": "x"}]},
        }))
        .unwrap()
    }

    #[test]
    fn events_name_the_pod_and_the_reporter() {
        let pod = pod();
        assert_eq!(
            scheduled_message(&pod, "node-1"),
            "Successfully assigned default/web to node-1"
        );
        let a = pod_event(&pod, "Normal", "Scheduled", "m", "default-scheduler", "host-1");
        let b = pod_event(&pod, "Normal", "Scheduled", "m", "default-scheduler", "host-1");
        assert_ne!(a.metadata.name, b.metadata.name);
        assert!(a.metadata.name().starts_with("web."));
        assert_eq!(a.involved_object.uid.as_deref(), Some("u1"));
        assert_eq!(a.reporting_instance.as_deref(), Some("host-1"));
        assert_eq!(a.source.and_then(|s| s.component).as_deref(), Some("default-scheduler"));
    }

    #[test]
    fn the_condition_is_rewritten_only_when_the_message_changes() {
        let mut pod = pod();
        assert!(!has_unschedulable_message(
            &pod,
            "0/1 nodes are available: 1 Too many pods."
        ));
        pod.status = Some(
            serde_json::from_value(json!({"conditions": [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/1 nodes are available: 1 Too many pods.",
            }]}))
            .unwrap(),
        );
        assert!(has_unschedulable_message(
            &pod,
            "0/1 nodes are available: 1 Too many pods."
        ));
        assert!(!has_unschedulable_message(
            &pod,
            "0/2 nodes are available: 2 Too many pods."
        ));
    }
}
