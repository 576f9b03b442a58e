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
use crate::runtime::{ObjectState, ObjectSummary};

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// Relists the runtime every `period` and enqueues the pods whose objects changed.
///
/// The relist is the runtime's cheap summary (id, owner, one-word state): finding out *what*
/// changed is the pod sync's job, for that one pod.
pub async fn pleg(shared: Arc<Shared>, period: Duration) {
    // Object id → (pod key, its state at the last relist).
    let mut last: HashMap<String, (String, ObjectState)> = HashMap::new();
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let objects = match shared.runtime.relist().await {
            Ok(objects) => objects,
            Err(e) => {
                tracing::warn!(error = %e, "relist failed");
                continue;
            }
        };
        let mut now: HashMap<String, (String, ObjectState)> = HashMap::with_capacity(objects.len());
        for object in objects {
            now.insert(object.id, (key(&object.namespace, &object.pod_name), object.state));
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
        let objects = match shared.runtime.relist().await {
            Ok(objects) => objects,
            Err(e) => {
                tracing::warn!(error = %e, "housekeeping: listing the runtime failed");
                continue;
            }
        };
        for ObjectSummary {
            namespace,
            pod_name,
            pod_uid,
            ..
        } in objects
        {
            let key = key(&namespace, &pod_name);
            let claimed = shared
                .pods
                .get(&key)
                .is_some_and(|pod| pod.metadata.uid.as_deref() == Some(pod_uid.as_str()));
            if !claimed {
                shared.queue.add(key);
            }
        }
    }
}
