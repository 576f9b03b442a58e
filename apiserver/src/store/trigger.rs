//! # Watch triggers: waking only the watchers an event concerns
//!
//! Every node agent watches "the pods bound to me" (`fieldSelector=spec.nodeName=node-7`), and
//! the scheduler watches "the pods bound to nobody" (`spec.nodeName=`). With a thousand nodes, a
//! watch cache that hands every pod event to every watcher wakes a thousand tasks to find the
//! one that cares, for each of the tens of thousands of events a big rollout makes. That, not
//! the disk, is what then limits the cluster.
//!
//! kube-apiserver's watch cache solves it with *triggers*: for pods it indexes watchers by the
//! `spec.nodeName` their selector pins down, and an event is handed only to the watchers of the
//! node the pod was on before the change and the node it is on after it (both: a pod that moves
//! from "nobody" to `node-7` leaves the scheduler's set and enters the agent's). Every other
//! watch still goes through the one shared channel.
//!
//! A [`Trigger`] is the value a watch pins; [`pod_node_name`] reads it from a stored pod without
//! building the whole JSON tree, since the store computes it for every pod event while
//! indexed watchers exist.

use std::borrow::Cow;

use serde::Deserialize;

/// Where pods are kept (see `registry::keys`): the only resource with a trigger.
pub const POD_PREFIX: &str = "/registry/pods/";

/// A watch narrowed to the pods whose `spec.nodeName` is `node_name` (`""`: unscheduled), before
/// or after each change. The handler still applies the full selector; the trigger only decides
/// which watchers an event wakes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    pub node_name: String,
}

#[derive(Deserialize)]
struct PodNode<'a> {
    #[serde(default, borrow)]
    spec: Option<PodNodeSpec<'a>>,
}

#[derive(Deserialize)]
struct PodNodeSpec<'a> {
    #[serde(default, borrow, rename = "nodeName")]
    node_name: Option<Cow<'a, str>>,
}

/// The `spec.nodeName` of a stored pod, `""` when unset, as a field selector sees it. Serde
/// skips every other field without allocating, which costs a fraction of a full parse.
pub fn pod_node_name(raw: &[u8]) -> String {
    match serde_json::from_slice::<PodNode>(raw) {
        Ok(pod) => pod
            .spec
            .and_then(|spec| spec.node_name)
            .map(Cow::into_owned)
            .unwrap_or_default(),
        // Stored objects are checked JSON; an odd one simply matches no node.
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_node_name_or_empty() {
        let bound = br#"{"metadata":{"name":"a","annotations":{"nodeName":"x"}},"spec":{"containers":[{"name":"c"}],"nodeName":"n-1"}}"#;
        assert_eq!(pod_node_name(bound), "n-1");
        assert_eq!(pod_node_name(br#"{"spec":{"containers":[]}}"#), "");
        assert_eq!(pod_node_name(br#"{"metadata":{"name":"a"}}"#), "");
        assert_eq!(pod_node_name(br#"{"spec":{"nodeName":"n\u002d2"}}"#), "n-2");
        assert_eq!(pod_node_name(b"not json"), "");
    }
}
