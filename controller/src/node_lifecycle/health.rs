//! Is the node alive? Pure decisions from heartbeats to conditions and taints.
//!
//! A node proves it is alive in two ways: its agent renews the Lease `kube-node-lease/<node>`
//! every few seconds (a tiny write), and it rewrites the node's status now and then, moving the
//! `Ready` condition's `lastHeartbeatTime`. The newer of the two is the node's last heartbeat.
//! When that is older than the grace period, nobody is reporting for the node any more, so the
//! controller reports for it: `Ready` (and the pressure conditions) become `Unknown`, because
//! the controller cannot know whether the machine is down or only cut off from the API server.
//!
//! Taints then follow the `Ready` condition, whoever set it, so the scheduler and the eviction
//! logic have one thing to look at:
//!
//! | Ready | taints added (both `NoSchedule` and `NoExecute`) |
//! | --- | --- |
//! | `Unknown` (no heartbeat) | `node.kubernetes.io/unreachable` |
//! | `False` (the agent says so) | `node.kubernetes.io/not-ready` |
//! | `True` | none: both are removed |
//!
//! Kubernetes remembers *when it saw* each renewal, to be immune to clocks that disagree
//! between machines; kubelab compares the timestamps in the objects with its own clock, which
//! is simpler and survives a controller failover (a new leader does not have to wait a whole
//! grace period to notice a node that died before it took over). The cost: machines' clocks must
//! agree to within a fraction of the grace period.

use std::time::Duration;

use chrono::{DateTime, Utc};
use kubelab_api::coordination::Lease;
use kubelab_api::core::{Node, NodeCondition, Taint};
use kubelab_api::Time;

/// The taint of a node that stopped reporting.
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// The taint of a node whose agent reports `Ready=False`.
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// The condition reason written when heartbeats stop.
pub const REASON_STATUS_UNKNOWN: &str = "NodeStatusUnknown";
pub const MESSAGE_STATUS_UNKNOWN: &str = "Kubelet stopped posting node status.";
/// The condition reason written for a condition the agent never reported.
pub const REASON_NEVER_UPDATED: &str = "NodeStatusNeverUpdated";
pub const MESSAGE_NEVER_UPDATED: &str = "Kubelet never posted node status.";

/// The conditions the controller sets to `Unknown` for a silent node (Kubernetes' list).
pub const WATCHED_CONDITIONS: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// What the node's `Ready` condition says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    NotReady,
    Unknown,
    /// No `Ready` condition yet: the agent has not reported once.
    NotReported,
}

pub fn readiness(node: &Node) -> Readiness {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"));
    match ready.map(|c| c.status.as_str()) {
        Some("True") => Readiness::Ready,
        Some("False") => Readiness::NotReady,
        Some(_) => Readiness::Unknown,
        None => Readiness::NotReported,
    }
}

/// The node's last sign of life: the newer of its Lease's `renewTime` and its `Ready`
/// heartbeat; its creation time if it never sent either (a node gets one grace period to start).
pub fn last_heartbeat(node: &Node, lease: Option<&Lease>) -> Option<DateTime<Utc>> {
    let renewed = lease.and_then(|l| l.spec.renew_time).map(|t| t.0);
    let reported = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.last_heartbeat_time)
        .map(|t| t.0);
    renewed
        .max(reported)
        .or_else(|| node.metadata.creation_timestamp.map(|t| t.0))
}

/// Whether the last heartbeat is older than the grace period at `now`.
pub fn is_stale(last_heartbeat: Option<DateTime<Utc>>, now: DateTime<Utc>, grace: Duration) -> bool {
    time_left(last_heartbeat, now, grace).is_none()
}

/// How long until the node goes stale, if it has not already (`None`: stale now). A node with
/// no timestamp at all is stale: there is nothing to wait for.
pub fn time_left(last_heartbeat: Option<DateTime<Utc>>, now: DateTime<Utc>, grace: Duration) -> Option<Duration> {
    let last = last_heartbeat?;
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let deadline = last.checked_add_signed(grace)?;
    if now > deadline {
        return None;
    }
    // Exactly at the deadline is still fresh; the requeue lands just after it.
    Some((deadline - now).to_std().unwrap_or_default())
}

/// The conditions of a node that stopped reporting: each watched condition becomes `Unknown`
/// (keeping its last heartbeat, so the staleness stays visible), and a missing one is added.
/// Returns `None` when they already say so, so an idempotent reconcile writes nothing.
pub fn unknown_conditions(
    current: &[NodeCondition],
    created: Option<Time>,
    now: DateTime<Utc>,
) -> Option<Vec<NodeCondition>> {
    let mut next = current.to_vec();
    let mut changed = false;
    for type_ in WATCHED_CONDITIONS {
        match next.iter_mut().find(|c| c.type_ == type_) {
            Some(c) if c.status == "Unknown" => {}
            Some(c) => {
                c.status = "Unknown".into();
                c.reason = Some(REASON_STATUS_UNKNOWN.into());
                c.message = Some(MESSAGE_STATUS_UNKNOWN.into());
                c.last_transition_time = Some(Time(now));
                changed = true;
            }
            None => {
                next.push(NodeCondition {
                    type_: type_.into(),
                    status: "Unknown".into(),
                    last_heartbeat_time: created,
                    last_transition_time: Some(Time(now)),
                    reason: Some(REASON_NEVER_UPDATED.into()),
                    message: Some(MESSAGE_NEVER_UPDATED.into()),
                });
                changed = true;
            }
        }
    }
    changed.then_some(next)
}

/// Whether the controller manages this taint (it adds and removes it from the `Ready`
/// condition; an administrator's taints are never touched).
pub fn is_managed(taint: &Taint) -> bool {
    taint.key == TAINT_UNREACHABLE || taint.key == TAINT_NOT_READY
}

/// The managed taint keys a node with this readiness should carry. `None` for a node that has
/// not reported yet: nothing is known, so nothing changes.
fn wanted_key(readiness: Readiness) -> Option<Option<&'static str>> {
    match readiness {
        Readiness::Ready => Some(None),
        Readiness::NotReady => Some(Some(TAINT_NOT_READY)),
        Readiness::Unknown => Some(Some(TAINT_UNREACHABLE)),
        Readiness::NotReported => None,
    }
}

/// The node's taints as they should be: the administrator's untouched, the managed ones matching
/// the readiness. A taint that stays keeps its `timeAdded`, which is where eviction counts from.
pub fn desired_taints(current: &[Taint], readiness: Readiness, now: DateTime<Utc>) -> Vec<Taint> {
    let Some(wanted) = wanted_key(readiness) else {
        return current.to_vec();
    };
    let mut next: Vec<Taint> = current
        .iter()
        .filter(|t| !is_managed(t) || Some(t.key.as_str()) == wanted)
        .cloned()
        .collect();
    if let Some(key) = wanted {
        for effect in ["NoSchedule", "NoExecute"] {
            if !next.iter().any(|t| t.key == key && t.effect == effect) {
                next.push(Taint {
                    key: key.into(),
                    value: None,
                    effect: effect.into(),
                    time_added: Some(Time(now)),
                });
            }
        }
    }
    next
}

/// What a change of taints means, for the events: `NodeNotReady` when the node gained a
/// managed taint it did not have, `NodeReady` when it lost its last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    BecameNotReady,
    BecameReady,
    None,
}

pub fn transition(before: &[Taint], after: &[Taint]) -> Transition {
    let had = before.iter().any(is_managed);
    let has = after.iter().any(is_managed);
    let gained = after
        .iter()
        .filter(|t| is_managed(t))
        .any(|t| !before.iter().any(|b| b.key == t.key && b.effect == t.effect));
    match (had, has) {
        (true, false) => Transition::BecameReady,
        (_, true) if gained => Transition::BecameNotReady,
        _ => Transition::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubelab_api::coordination::LeaseSpec;
    use kubelab_api::core::NodeStatus;
    use kubelab_api::microtime::MicroTime;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_900_000_000 + seconds, 0).unwrap_or_default()
    }

    fn condition(type_: &str, status: &str, heartbeat: i64) -> NodeCondition {
        NodeCondition {
            type_: type_.into(),
            status: status.into(),
            last_heartbeat_time: Some(Time(at(heartbeat))),
            last_transition_time: Some(Time(at(0))),
            reason: Some("KubeletReady".into()),
            message: None,
        }
    }

    fn node(conditions: Vec<NodeCondition>) -> Node {
        let mut node = Node::default();
        node.metadata.name = Some("node-1".into());
        node.metadata.creation_timestamp = Some(Time(at(-100)));
        node.status = Some(NodeStatus {
            conditions,
            ..NodeStatus::default()
        });
        node
    }

    fn lease(renewed: i64) -> Lease {
        Lease {
            spec: LeaseSpec {
                renew_time: Some(MicroTime(at(renewed))),
                ..LeaseSpec::default()
            },
            ..Lease::default()
        }
    }

    const GRACE: Duration = Duration::from_secs(40);

    #[test]
    fn the_newer_of_lease_and_ready_heartbeat_counts() {
        let n = node(vec![condition("Ready", "True", 5)]);
        assert_eq!(last_heartbeat(&n, Some(&lease(30))), Some(at(30)));
        assert_eq!(last_heartbeat(&n, Some(&lease(1))), Some(at(5)));
        assert_eq!(last_heartbeat(&n, None), Some(at(5)));
        // Never reported anything: the creation time starts the first grace period.
        assert_eq!(last_heartbeat(&node(vec![]), None), Some(at(-100)));
    }

    #[test]
    fn lease_age_against_the_grace_period() {
        let renewed = Some(at(0));
        assert_eq!(time_left(renewed, at(10), GRACE), Some(Duration::from_secs(30)));
        assert_eq!(time_left(renewed, at(40), GRACE), Some(Duration::ZERO));
        assert!(!is_stale(renewed, at(40), GRACE));
        assert!(is_stale(renewed, at(41), GRACE));
        assert!(is_stale(None, at(0), GRACE));
    }

    #[test]
    fn a_silent_node_gets_unknown_conditions_once() {
        let current = vec![condition("Ready", "True", 0), condition("MemoryPressure", "False", 0)];
        let next = unknown_conditions(&current, Some(Time(at(-100))), at(41)).unwrap_or_default();
        let ready = next.iter().find(|c| c.type_ == "Ready").cloned().unwrap_or_default();
        assert_eq!(ready.status, "Unknown");
        assert_eq!(ready.reason.as_deref(), Some("NodeStatusUnknown"));
        assert_eq!(ready.message.as_deref(), Some("Kubelet stopped posting node status."));
        assert_eq!(ready.last_heartbeat_time, Some(Time(at(0))), "the old heartbeat stays");
        assert_eq!(ready.last_transition_time, Some(Time(at(41))));
        let disk = next
            .iter()
            .find(|c| c.type_ == "DiskPressure")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            (disk.status.as_str(), disk.reason.as_deref()),
            ("Unknown", Some("NodeStatusNeverUpdated"))
        );
        assert_eq!(next.len(), 4);
        // Second pass: nothing to write.
        assert_eq!(unknown_conditions(&next, None, at(50)), None);
    }

    fn keys(taints: &[Taint]) -> Vec<String> {
        taints.iter().map(|t| format!("{}:{}", t.key, t.effect)).collect()
    }

    #[test]
    fn taints_follow_readiness() {
        let admin = Taint {
            key: "dedicated".into(),
            value: Some("db".into()),
            effect: "NoSchedule".into(),
            time_added: None,
        };
        let unknown = desired_taints(std::slice::from_ref(&admin), Readiness::Unknown, at(41));
        assert_eq!(
            keys(&unknown),
            [
                "dedicated:NoSchedule",
                "node.kubernetes.io/unreachable:NoSchedule",
                "node.kubernetes.io/unreachable:NoExecute"
            ]
        );
        assert_eq!(
            transition(std::slice::from_ref(&admin), &unknown),
            Transition::BecameNotReady
        );
        // Idempotent: the same taints, with their first timeAdded.
        let again = desired_taints(&unknown, Readiness::Unknown, at(90));
        assert_eq!(again, unknown);
        assert_eq!(transition(&unknown, &again), Transition::None);
        // The agent reports Ready=False: unreachable swaps for not-ready.
        let not_ready = desired_taints(&unknown, Readiness::NotReady, at(95));
        assert_eq!(
            keys(&not_ready),
            [
                "dedicated:NoSchedule",
                "node.kubernetes.io/not-ready:NoSchedule",
                "node.kubernetes.io/not-ready:NoExecute"
            ]
        );
        assert_eq!(transition(&unknown, &not_ready), Transition::BecameNotReady);
        // Ready again: only the administrator's taint is left.
        let ready = desired_taints(&not_ready, Readiness::Ready, at(100));
        assert_eq!(keys(&ready), ["dedicated:NoSchedule"]);
        assert_eq!(transition(&not_ready, &ready), Transition::BecameReady);
        // Not reported yet: nothing changes.
        assert_eq!(desired_taints(&unknown, Readiness::NotReported, at(100)), unknown);
    }

    #[test]
    fn readiness_reads_the_ready_condition() {
        assert_eq!(readiness(&node(vec![condition("Ready", "True", 0)])), Readiness::Ready);
        assert_eq!(
            readiness(&node(vec![condition("Ready", "False", 0)])),
            Readiness::NotReady
        );
        assert_eq!(
            readiness(&node(vec![condition("Ready", "Unknown", 0)])),
            Readiness::Unknown
        );
        assert_eq!(readiness(&node(vec![])), Readiness::NotReported);
    }
}
