//! The events the node lifecycle controller leaves behind, as `kubectl describe` shows them:
//!
//! ```text
//!   Normal  NodeNotReady          node-controller            Node node-1 status is now: NodeNotReady
//!   Normal  NodeReady             node-controller            Node node-1 status is now: NodeReady
//!   Normal  TaintManagerEviction  taint-eviction-controller  Marking for deletion Pod default/web-x
//! ```
//!
//! Node events live in `default`, as Kubernetes files them (a Node has no namespace of its own).
//! An event is a courtesy for humans: failing to write one is logged, never retried.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use kubelab_api::core::{Event, EventSource, Node, ObjectReference, Pod};
use kubelab_api::microtime::MicroTime;
use kubelab_api::{ObjectMeta, Time};
use kubelab_client::{Api, Client};

pub const NODE_CONTROLLER: &str = "node-controller";
pub const EVICTION_CONTROLLER: &str = "taint-eviction-controller";
pub const REASON_NOT_READY: &str = "NodeNotReady";
pub const REASON_READY: &str = "NodeReady";
pub const REASON_EVICTION: &str = "TaintManagerEviction";

/// `Node node-1 status is now: NodeNotReady`.
pub fn node_status_message(node: &str, status: &str) -> String {
    format!("Node {node} status is now: {status}")
}

/// `Marking for deletion Pod default/web-x`.
pub fn eviction_message(pod: &Pod) -> String {
    format!(
        "Marking for deletion Pod {}/{}",
        pod.metadata.namespace(),
        pod.metadata.name()
    )
}

/// An Event about `involved`, in `namespace`, named like Kubernetes' (`<name>.<hex time>`) plus a
/// counter so two events in the same nanosecond do not collide.
pub fn event(
    namespace: &str,
    involved: ObjectReference,
    reason: &str,
    message: String,
    component: &str,
    now: DateTime<Utc>,
) -> Event {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let nanos = now.timestamp_nanos_opt().unwrap_or_default();
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let name = involved.name.clone().unwrap_or_default();
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{name}.{nanos:x}{sequence:x}")),
            namespace: Some(namespace.into()),
            ..ObjectMeta::default()
        },
        involved_object: involved,
        reason: Some(reason.into()),
        message: Some(message),
        source: Some(EventSource {
            component: Some(component.into()),
            host: None,
        }),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        count: Some(1),
        type_: Some("Normal".into()),
        event_time: Some(MicroTime(now)),
        reporting_component: Some(component.into()),
        reporting_instance: Some(component.into()),
        ..Event::default()
    }
}

pub fn node_ref(node: &Node) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Node".into()),
        name: node.metadata.name.clone(),
        uid: node.metadata.uid.clone(),
        ..ObjectReference::default()
    }
}

pub fn pod_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        resource_version: pod.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// Writes `event`; a failure is only logged.
pub async fn post(client: &Client, event: Event) {
    let events: Api<Event> = Api::namespaced(client.clone(), event.metadata.namespace());
    if let Err(e) = events.create(&event).await {
        tracing::debug!(reason = ?event.reason, error = %e, "could not write event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_like_kubernetes() {
        assert_eq!(
            node_status_message("node-1", REASON_NOT_READY),
            "Node node-1 status is now: NodeNotReady"
        );
        let mut pod = Pod::default();
        pod.metadata.namespace = Some("default".into());
        pod.metadata.name = Some("web-x".into());
        assert_eq!(eviction_message(&pod), "Marking for deletion Pod default/web-x");
        let e = event(
            "default",
            pod_ref(&pod),
            REASON_EVICTION,
            eviction_message(&pod),
            EVICTION_CONTROLLER,
            Utc::now(),
        );
        assert_eq!(e.involved_object.kind.as_deref(), Some("Pod"));
        assert!(e.metadata.name().starts_with("web-x."));
    }
}
