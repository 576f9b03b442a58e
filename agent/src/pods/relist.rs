//! Noticing what changed without being told: the PLEG and housekeeping.
//!
//! The API server tells the agent when a *pod* changes, but nobody tells it when a *container*
//! exits on its own. The kubelet's answer is the PLEG (Pod Lifecycle Event Generator): list the
//! runtime every second, compare with the previous list, and enqueue every pod whose containers
//! or sandbox changed state. The pod sync then plans a restart, reports the exit, and so on.
//! The first relist after a start sees everything as new, which is how an agent that restarted
//! adopts what its predecessor left running: each of those pods gets synced.
//!
//! **Housekeeping** looks the other way: runtime objects whose pod is not (or no longer, or not
//! with that uid) in the API. Their keys are enqueued too, and `sync_pod` stops and removes
//! what no pod claims.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use super::Shared;
use crate::runtime::ContainerState;

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// A coarse state: enough to tell that something happened.
fn tag(state: &ContainerState) -> u8 {
    match state {
        ContainerState::Created => 0,
        ContainerState::Running { .. } => 1,
        ContainerState::Exited { .. } => 2,
        ContainerState::Unknown => 3,
    }
}

/// Relists the runtime every `period` and enqueues the pods whose objects changed.
pub async fn pleg(shared: Arc<Shared>, period: Duration) {
    let mut last: HashMap<String, (String, u8)> = HashMap::new();
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let (sandboxes, containers) = match (
            shared.runtime.list_sandboxes().await,
            shared.runtime.list_containers().await,
        ) {
            (Ok(s), Ok(c)) => (s, c),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "relist failed");
                continue;
            }
        };
        let mut now: HashMap<String, (String, u8)> = HashMap::with_capacity(sandboxes.len() + containers.len());
        for s in sandboxes {
            now.insert(s.id, (key(&s.namespace, &s.pod_name), u8::from(s.ready)));
        }
        for c in containers {
            now.insert(c.id, (key(&c.namespace, &c.pod_name), 10 + tag(&c.state)));
        }
        for (id, entry) in &now {
            if last.get(id) != Some(entry) {
                shared.queue.add(entry.0.clone());
            }
        }
        for (id, (pod, _)) in &last {
            if !now.contains_key(id) {
                shared.queue.add(pod.clone());
            }
        }
        last = now;
    }
}

/// Every `period`, enqueues the pods of runtime objects that no pod in the API claims.
pub async fn housekeeping(shared: Arc<Shared>, period: Duration) {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let (sandboxes, containers) = match (
            shared.runtime.list_sandboxes().await,
            shared.runtime.list_containers().await,
        ) {
            (Ok(s), Ok(c)) => (s, c),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "housekeeping: listing the runtime failed");
                continue;
            }
        };
        let objects = sandboxes
            .iter()
            .map(|s| (&s.namespace, &s.pod_name, &s.pod_uid))
            .chain(containers.iter().map(|c| (&c.namespace, &c.pod_name, &c.pod_uid)));
        for (namespace, name, uid) in objects {
            let key = key(namespace, name);
            let claimed = shared
                .pods
                .get(&key)
                .is_some_and(|pod| pod.metadata.uid.as_deref() == Some(uid.as_str()));
            if !claimed {
                shared.queue.add(key);
            }
        }
    }
}
