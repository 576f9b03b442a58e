//! One node's reconcile: read it (and its Lease, and its pods) from the caches, decide with the
//! pure functions of [`health`](super::health) and [`eviction`](super::eviction), write what
//! changed, and say when to look again.
//!
//! It is idempotent: a second run right after the first finds the conditions already `Unknown`,
//! the taints already in place, the evicted pods already gone, and writes nothing. Nothing is
//! remembered between runs except when a taint without `timeAdded` was first seen.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kubelab_api::coordination::Lease;
use kubelab_api::core::{Node, Pod, Taint};
use kubelab_client::{Api, Client, DeleteParams, Preconditions, Store};

use super::clock::Clock;
use super::eviction::{eviction_time, is_on_node};
use super::health::{desired_taints, last_heartbeat, readiness, time_left, transition, unknown_conditions, Transition};
use super::{events, NodeLifecycleConfig, NodeLifecycleError, LEASE_NAMESPACE};

/// What a reconcile asks of the work queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to wait for; the next change will bring the node back.
    Done,
    /// Look again after this long (a grace period or an eviction deadline runs out then).
    RequeueAfter(Duration),
}

/// What every reconcile reads and writes through.
pub struct Context {
    pub client: Client,
    pub nodes: Store<Node>,
    pub leases: Store<Lease>,
    pub pods: Store<Pod>,
    pub config: NodeLifecycleConfig,
    pub clock: Clock,
    /// When a `NoExecute` taint with no `timeAdded` (an administrator's) was first seen, by
    /// (node, key, effect): eviction deadlines need a start.
    first_seen: Mutex<HashMap<(String, String, String), DateTime<Utc>>>,
}

/// Past a deadline by this much before looking again, so a timestamp rounded to the second is
/// surely past it.
const MARGIN: Duration = Duration::from_millis(5);

impl Context {
    pub fn new(
        client: Client,
        nodes: Store<Node>,
        leases: Store<Lease>,
        pods: Store<Pod>,
        config: NodeLifecycleConfig,
        clock: Clock,
    ) -> Self {
        Context {
            client,
            nodes,
            leases,
            pods,
            config,
            clock,
            first_seen: Mutex::new(HashMap::new()),
        }
    }

    /// The taints with `timeAdded` filled in (from memory for those that lack it).
    fn dated(&self, node: &str, taints: &[Taint], now: DateTime<Utc>) -> Vec<Taint> {
        let mut seen = self.first_seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|(n, key, effect), _| n != node || taints.iter().any(|t| &t.key == key && &t.effect == effect));
        taints
            .iter()
            .map(|t| {
                let mut t = t.clone();
                if t.time_added.is_none() {
                    let first = *seen
                        .entry((node.to_string(), t.key.clone(), t.effect.clone()))
                        .or_insert(now);
                    t.time_added = Some(kubelab_api::Time(first));
                }
                t
            })
            .collect()
    }

    fn forget(&self, node: &str) {
        let mut seen = self.first_seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|(n, _, _), _| n != node);
    }
}

/// Reconciles the node named `name`.
pub async fn reconcile(ctx: &Context, name: &str) -> Result<Outcome, NodeLifecycleError> {
    let Some(cached) = ctx.nodes.get(name) else {
        ctx.forget(name);
        return Ok(Outcome::Done);
    };
    let now = ctx.clock.now();
    let api: Api<Node> = Api::all(ctx.client.clone());
    let mut node = (*cached).clone();
    let mut next: Option<Duration> = None;

    // 1. Heartbeats: a silent node gets Unknown conditions.
    let lease = ctx.leases.get(&format!("{LEASE_NAMESPACE}/{name}"));
    let heartbeat = last_heartbeat(&node, lease.as_deref());
    match time_left(heartbeat, now, ctx.config.node_monitor_grace_period) {
        Some(left) => next = Some(left + MARGIN),
        None => {
            let current = node.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default();
            if let Some(conditions) = unknown_conditions(&current, node.metadata.creation_timestamp, now) {
                tracing::info!(node = name, last_heartbeat = ?heartbeat, "node stopped posting status; marking it Unknown");
                node.status.get_or_insert_with(Default::default).conditions = conditions;
                node = api
                    .replace_status(name, &node)
                    .await
                    .map_err(|source| NodeLifecycleError::WriteNode {
                        node: name.into(),
                        what: "status",
                        source,
                    })?;
            }
        }
    }

    // 2. Taints follow the Ready condition.
    let taints = desired_taints(&node.spec.taints, readiness(&node), now);
    if taints != node.spec.taints {
        let change = transition(&node.spec.taints, &taints);
        node.spec.taints = taints;
        node = api
            .replace(name, &node)
            .await
            .map_err(|source| NodeLifecycleError::WriteNode {
                node: name.into(),
                what: "taints",
                source,
            })?;
        let status = match change {
            Transition::BecameNotReady => Some(events::REASON_NOT_READY),
            Transition::BecameReady => Some(events::REASON_READY),
            Transition::None => None,
        };
        if let Some(status) = status {
            tracing::info!(node = name, status, "node readiness changed");
            let event = events::event(
                "default",
                events::node_ref(&node),
                status,
                events::node_status_message(name, status),
                events::NODE_CONTROLLER,
                now,
            );
            events::post(&ctx.client, event).await;
        }
    }

    // 3. Taint-based eviction of the pods that no longer tolerate the node.
    let no_execute: Vec<Taint> = node
        .spec
        .taints
        .iter()
        .filter(|t| t.effect == "NoExecute")
        .cloned()
        .collect();
    if no_execute.is_empty() {
        ctx.forget(name);
    } else {
        let taints = ctx.dated(name, &no_execute, now);
        let default = Duration::from_secs(ctx.config.default_eviction_seconds);
        for pod in ctx.pods.list().into_iter().filter(|p| is_on_node(p, name)) {
            let when = eviction_time(&pod, &taints, default, |t| t.time_added.map(|t| t.0).unwrap_or(now));
            match when {
                None => {}
                Some(at) if at <= now => evict(ctx, &pod, now).await?,
                Some(at) => {
                    let wait = (at - now).to_std().unwrap_or_default() + MARGIN;
                    next = Some(next.map_or(wait, |n| n.min(wait)));
                }
            }
        }
    }

    Ok(next.map_or(Outcome::Done, Outcome::RequeueAfter))
}

/// Deletes a pod at once (grace 0): its node's agent is gone and cannot finish a graceful
/// delete, and its controller replaces it elsewhere only once it is gone. The uid
/// precondition keeps a new pod of the same name safe.
async fn evict(ctx: &Context, pod: &Pod, now: DateTime<Utc>) -> Result<(), NodeLifecycleError> {
    let namespace = pod.metadata.namespace();
    let name = pod.metadata.name();
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: pod.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match pods.delete(name, &params).await {
        Ok(_) => {}
        // Gone already, or replaced by a namesake: nothing of ours to evict.
        Err(e) if e.is_not_found() || e.code() == Some(409) => return Ok(()),
        Err(source) => {
            return Err(NodeLifecycleError::Evict {
                pod: format!("{namespace}/{name}"),
                source,
            })
        }
    }
    tracing::info!(pod = %format!("{namespace}/{name}"), node = ?pod.spec.node_name, "evicted pod from tainted node");
    let event = events::event(
        namespace,
        events::pod_ref(pod),
        events::REASON_EVICTION,
        events::eviction_message(pod),
        events::EVICTION_CONTROLLER,
        now,
    );
    events::post(&ctx.client, event).await;
    Ok(())
}
