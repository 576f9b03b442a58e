//! The scheduler's view of the cluster: every node, with the pods counted on it.
//!
//! It is fed by two informers, nodes and *assigned* pods (`spec.nodeName` set), and kept as
//! running sums per node ([`NodeInfo`]), so a decision does not re-add thousands of pods.
//!
//! **Assume.** After choosing node-1 for a pod, the scheduler must not wait for the binding to
//! come back through the API server and the watch before deciding the next pod: that would make
//! it one round trip per pod, and a decision taken meanwhile would not see the pod, and could
//! overfill node-1. So the pod is *assumed* on node-1 at once, here, before the binding is even
//! sent. When the assigned-pods informer later reports the pod, the assumption is confirmed
//! (replaced by the real thing). If the binding fails, the assumption is *forgotten*. If neither
//! happens (the pod was deleted in between and the informer never saw it bound), the assumption
//! expires `assume_ttl` after the binding finished.
//!
//! Pods that finished (`Succeeded`, `Failed`) free their node's resources and are not counted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kubelab_api::core::{Node, Pod};
use kubelab_client::object_key;
use tokio::time::Instant;

use crate::node_info::{NodeInfo, PodInfo};

struct PodEntry {
    node: String,
    info: PodInfo,
    /// Assumed and not yet confirmed; `Some(deadline)` once its binding finished.
    assumed: Option<Option<Instant>>,
}

#[derive(Default)]
struct State {
    nodes: BTreeMap<String, NodeInfo>,
    pods: HashMap<String, PodEntry>,
    /// Pods counted against a node the node informer has not reported (yet, or any more).
    orphans: HashMap<String, HashSet<String>>,
    assumed: HashSet<String>,
}

/// Nodes and the pods on them. Cheap to clone; clones share the data.
#[derive(Clone)]
pub struct Cache {
    state: Arc<Mutex<State>>,
    assume_ttl: Duration,
}

/// Whether a pod no longer uses its node's resources.
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

impl Cache {
    pub fn new(assume_ttl: Duration) -> Self {
        Cache {
            state: Arc::default(),
            assume_ttl,
        }
    }

    /// A node was added or changed.
    pub fn upsert_node(&self, node: Arc<Node>) {
        let mut state = self.lock();
        let name = node.metadata.name().to_string();
        if let Some(info) = state.nodes.get_mut(&name) {
            info.set_node(node);
            return;
        }
        let mut info = NodeInfo::new(node);
        for key in state.orphans.remove(&name).unwrap_or_default() {
            if let Some(entry) = state.pods.get(&key) {
                info.add_pod(&entry.info);
            }
        }
        state.nodes.insert(name, info);
    }

    /// A node was deleted. Its pods stay counted against its name, in case it comes back.
    pub fn remove_node(&self, name: &str) {
        let mut state = self.lock();
        if state.nodes.remove(name).is_none() {
            return;
        }
        let on_it: HashSet<String> = state
            .pods
            .iter()
            .filter(|(_, e)| e.node == name)
            .map(|(k, _)| k.clone())
            .collect();
        if !on_it.is_empty() {
            state.orphans.insert(name.to_string(), on_it);
        }
    }

    /// The informer reports an assigned pod: count it (confirming an assumption), or stop counting
    /// it once it has finished.
    pub fn upsert_pod(&self, pod: &Arc<Pod>) {
        let key = object_key(&pod.metadata);
        let node = pod.spec.node_name.clone().unwrap_or_default();
        let mut state = self.lock();
        Self::remove_locked(&mut state, &key);
        if node.is_empty() || is_terminal(pod) {
            return;
        }
        Self::add_locked(&mut state, key, node, PodInfo::new(pod.clone()), None);
    }

    /// The informer reports an assigned pod deleted.
    pub fn remove_pod(&self, key: &str) {
        Self::remove_locked(&mut self.lock(), key);
    }

    /// Counts `pod` on `node` now, before the binding is sent.
    pub fn assume(&self, pod: PodInfo, node: &str) {
        let key = pod.key();
        let mut state = self.lock();
        Self::remove_locked(&mut state, &key);
        state.assumed.insert(key.clone());
        Self::add_locked(&mut state, key, node.to_string(), pod, Some(None));
    }

    /// The binding succeeded; the assumption now expires after `assume_ttl` unless confirmed.
    pub fn finish_binding(&self, key: &str) {
        let deadline = Instant::now() + self.assume_ttl;
        let mut state = self.lock();
        if let Some(entry) = state.pods.get_mut(key) {
            if entry.assumed.is_some() {
                entry.assumed = Some(Some(deadline));
            }
        }
    }

    /// The binding failed: stop counting the assumed pod.
    pub fn forget(&self, key: &str) {
        let mut state = self.lock();
        if state.assumed.contains(key) {
            Self::remove_locked(&mut state, key);
        }
    }

    /// Whether `key` is assumed and not yet confirmed (being bound, or just bound).
    pub fn is_assumed(&self, key: &str) -> bool {
        self.lock().assumed.contains(key)
    }

    /// The node a pod is counted on, if any.
    pub fn node_of(&self, key: &str) -> Option<String> {
        self.lock().pods.get(key).map(|e| e.node.clone())
    }

    pub fn node_count(&self) -> usize {
        self.lock().nodes.len()
    }

    /// Runs `f` on the nodes, sorted by name, after dropping expired assumptions. The lock is
    /// held throughout, so `f` sees one consistent state; keep `f` short and synchronous.
    pub fn with_nodes<R>(&self, f: impl FnOnce(&BTreeMap<String, NodeInfo>) -> R) -> R {
        let now = Instant::now();
        let mut state = self.lock();
        if !state.assumed.is_empty() {
            let expired: Vec<String> = state
                .assumed
                .iter()
                .filter(|k| {
                    state
                        .pods
                        .get(*k)
                        .is_some_and(|e| matches!(e.assumed, Some(Some(deadline)) if deadline <= now))
                })
                .cloned()
                .collect();
            for key in expired {
                tracing::debug!(pod = %key, "assumed pod expired without being confirmed");
                Self::remove_locked(&mut state, &key);
            }
        }
        f(&state.nodes)
    }

    fn add_locked(state: &mut State, key: String, node: String, info: PodInfo, assumed: Option<Option<Instant>>) {
        match state.nodes.get_mut(&node) {
            Some(node_info) => node_info.add_pod(&info),
            None => {
                state.orphans.entry(node.clone()).or_default().insert(key.clone());
            }
        }
        state.pods.insert(key, PodEntry { node, info, assumed });
    }

    fn remove_locked(state: &mut State, key: &str) {
        state.assumed.remove(key);
        let Some(entry) = state.pods.remove(key) else { return };
        match state.nodes.get_mut(&entry.node) {
            Some(node_info) => node_info.remove_pod(&entry.info),
            None => {
                if let Some(keys) = state.orphans.get_mut(&entry.node) {
                    keys.remove(key);
                    if keys.is_empty() {
                        state.orphans.remove(&entry.node);
                    }
                }
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing in the critical sections panics; if something did, the sums are still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node_info::testing::*;
    use serde_json::json;

    fn bound(name: &str, node: &str, cpu: &str) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "d"},
                "spec": {"nodeName": node, "containers": [
                    {"name": "c", "image": "x", "resources": {"requests": {"cpu": cpu}}}
                ]},
            }))
            .unwrap(),
        )
    }

    fn cpu_on(cache: &Cache, node: &str) -> i64 {
        cache.with_nodes(|nodes| nodes.get(node).map(|n| n.requested.milli_cpu).unwrap_or(-1))
    }

    #[test]
    fn assigned_pods_count_against_their_node_even_if_seen_first() {
        let cache = Cache::new(Duration::from_secs(30));
        cache.upsert_pod(&bound("a", "n1", "500m"));
        cache.upsert_node(Arc::new(node("n1", "2", "1Gi", 110)));
        assert_eq!(cpu_on(&cache, "n1"), 500);
        cache.upsert_pod(&bound("a", "n1", "700m"));
        assert_eq!(cpu_on(&cache, "n1"), 700, "an update replaces, not adds");
        cache.remove_pod("d/a");
        assert_eq!(cpu_on(&cache, "n1"), 0);
    }

    #[test]
    fn terminal_pods_free_their_resources() {
        let cache = Cache::new(Duration::from_secs(30));
        cache.upsert_node(Arc::new(node("n1", "2", "1Gi", 110)));
        cache.upsert_pod(&bound("a", "n1", "500m"));
        let mut done = (*bound("a", "n1", "500m")).clone();
        done.status = Some(serde_json::from_value(json!({"phase": "Succeeded"})).unwrap());
        cache.upsert_pod(&Arc::new(done));
        assert_eq!(cpu_on(&cache, "n1"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn assumed_pods_count_until_confirmed_forgotten_or_expired() {
        let cache = Cache::new(Duration::from_secs(30));
        cache.upsert_node(Arc::new(node("n1", "2", "1Gi", 110)));
        let pod = PodInfo::new(bound("a", "", "1"));
        cache.assume(pod.clone(), "n1");
        assert!(cache.is_assumed("d/a"));
        assert_eq!(cpu_on(&cache, "n1"), 1000);

        cache.forget("d/a");
        assert!(!cache.is_assumed("d/a"));
        assert_eq!(cpu_on(&cache, "n1"), 0);

        cache.assume(pod.clone(), "n1");
        cache.finish_binding("d/a");
        cache.upsert_pod(&bound("a", "n1", "1"));
        assert!(!cache.is_assumed("d/a"), "the informer confirmed it");
        assert_eq!(cpu_on(&cache, "n1"), 1000, "counted once");
        cache.remove_pod("d/a");

        cache.assume(pod, "n1");
        cache.finish_binding("d/a");
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(cpu_on(&cache, "n1"), 1000);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(cpu_on(&cache, "n1"), 0, "never confirmed: expired");
    }

    #[test]
    fn deleted_nodes_keep_their_pods_for_when_they_return() {
        let cache = Cache::new(Duration::from_secs(30));
        cache.upsert_node(Arc::new(node("n1", "2", "1Gi", 110)));
        cache.upsert_pod(&bound("a", "n1", "500m"));
        cache.remove_node("n1");
        assert_eq!(cache.node_count(), 0);
        cache.upsert_node(Arc::new(node("n1", "2", "1Gi", 110)));
        assert_eq!(cpu_on(&cache, "n1"), 500);
    }
}
