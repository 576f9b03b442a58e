//! The scheduling framework: **filter**, then **score**, then pick.
//!
//! kube-scheduler is a small engine with its policy in plugins (the "scheduling framework"). For
//! each pod it:
//!
//! 1. runs every [`FilterPlugin`] on every node. A filter answers "can this pod run here at all?"
//!    (enough CPU left? taints tolerated? labels matching?). A node that fails one filter is out,
//!    and the filter's reason is remembered for the error message;
//! 2. runs every [`ScorePlugin`] on the nodes that passed. A score (0 to 100) answers "how good
//!    is this node?" (least loaded? balanced?), and each plugin's score is multiplied by its weight
//!    and summed;
//! 3. picks the node with the highest total. Kubernetes picks at random among equal totals, which
//!    spreads them; here ties go to the node with the fewest pods, then to the name that sorts
//!    first ([`select_host`]): spread as evenly, and a lab run twice gives the same answer.
//!
//! When no node passes, the pod is *unschedulable*, and the reasons are counted per node into
//! Kubernetes' famous message, `0/3 nodes are available: 1 node(s) had untolerated taint
//! {node-role: x}, 2 Insufficient cpu.` (see [`FitError`]).
//!
//! In a big cluster, checking every node for every pod is wasted work: any of the first few
//! hundred feasible nodes is good enough. Kubernetes stops filtering once it has found
//! `percentageOfNodesToScore` of the nodes feasible (adaptive: 50% minus 1% per 125 nodes, at
//! least 5% and 100 nodes), and starts the next search where the last one stopped, so every node
//! gets its turn. [`Framework::schedule`] does the same.

use std::collections::BTreeMap;
use std::fmt;

use crate::node_info::{NodeInfo, PodInfo};
use crate::plugins;

/// Why a node cannot take a pod: Kubernetes' wording, as shown in `kubectl describe pod`. Most
/// filters give one reason; NodeResourcesFit may give several (`Insufficient cpu` and
/// `Insufficient memory`), and each is counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unfit {
    pub reasons: Vec<String>,
}

impl Unfit {
    pub fn new(reason: impl Into<String>) -> Self {
        Unfit {
            reasons: vec![reason.into()],
        }
    }

    /// The first reason (the only one, for most filters).
    pub fn reason(&self) -> &str {
        self.reasons.first().map(String::as_str).unwrap_or("")
    }
}

/// "Can this pod run on this node at all?" Pure: looks only at its arguments.
pub trait FilterPlugin: Send + Sync {
    fn name(&self) -> &'static str;
    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit>;
}

/// "How good is this node for this pod?", from 0 (worst) to [`MAX_NODE_SCORE`].
pub trait ScorePlugin: Send + Sync {
    fn name(&self) -> &'static str;
    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64;
    /// What the score is multiplied by before the plugins' scores are summed.
    fn weight(&self) -> i64 {
        1
    }
}

/// The highest score a plugin gives (Kubernetes' `MaxNodeScore`).
pub const MAX_NODE_SCORE: i64 = 100;

/// Kubernetes' message when there is no node at all.
pub const NO_NODES_AVAILABLE: &str = "no nodes available to schedule pods";

/// No node can take the pod. `Display` is the message Kubernetes puts in the `PodScheduled`
/// condition and the `FailedScheduling` event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct FitError {
    /// How many nodes were considered.
    pub num_nodes: usize,
    /// How many nodes failed for each reason.
    pub reasons: BTreeMap<String, usize>,
}

impl fmt::Display for FitError {
    /// `0/3 nodes are available: 1 node(s) had untolerated taint {node-role: x}, 2 Insufficient cpu.`
    ///
    /// As in Kubernetes' `FitError.Error()`, each entry is written `"<count> <reason>"` and the
    /// *entries* are sorted as strings, so the count leads the order; the message ends with a
    /// period.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.num_nodes == 0 {
            return f.write_str(NO_NODES_AVAILABLE);
        }
        let mut entries: Vec<String> = self
            .reasons
            .iter()
            .map(|(reason, count)| format!("{count} {reason}"))
            .collect();
        entries.sort();
        write!(f, "0/{} nodes are available", self.num_nodes)?;
        if !entries.is_empty() {
            write!(f, ": {}", entries.join(", "))?;
        }
        f.write_str(".")
    }
}

/// The weights of the score plugins (Kubernetes' defaults: 1 each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoreWeights {
    pub least_allocated: i64,
    pub balanced_allocation: i64,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        ScoreWeights {
            least_allocated: 1,
            balanced_allocation: 1,
        }
    }
}

/// The plugins of one scheduler profile, and where the last node search stopped.
pub struct Framework {
    filters: Vec<Box<dyn FilterPlugin>>,
    scores: Vec<Box<dyn ScorePlugin>>,
    /// Percentage of the nodes to find feasible before scoring (1-100); 0 means Kubernetes'
    /// adaptive default.
    pub percentage_of_nodes_to_score: u32,
    next_start_node_index: usize,
}

impl Framework {
    pub fn new(filters: Vec<Box<dyn FilterPlugin>>, scores: Vec<Box<dyn ScorePlugin>>) -> Self {
        Framework {
            filters,
            scores,
            percentage_of_nodes_to_score: 0,
            next_start_node_index: 0,
        }
    }

    /// kubelab's default profile, filters in the order Kubernetes runs them (cheap, common
    /// rejections first; NodeReady sits where Kubernetes' not-ready taint would be checked).
    pub fn with_default_plugins(weights: ScoreWeights) -> Self {
        Framework::new(
            vec![
                Box::new(plugins::NodeUnschedulable),
                Box::new(plugins::NodeName),
                Box::new(plugins::TaintToleration),
                Box::new(plugins::NodeReady),
                Box::new(plugins::NodeSelector),
                Box::new(plugins::NodeAffinity),
                Box::new(plugins::NodePorts),
                Box::new(plugins::NodeResourcesFit),
            ],
            vec![
                Box::new(plugins::LeastAllocated::new(weights.least_allocated)),
                Box::new(plugins::BalancedAllocation::new(weights.balanced_allocation)),
            ],
        )
    }

    pub fn filter_names(&self) -> Vec<&'static str> {
        self.filters.iter().map(|p| p.name()).collect()
    }

    /// Runs the filters in order and stops at the first that rejects the node, as Kubernetes does.
    pub fn run_filters(&self, pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
        self.filters.iter().try_for_each(|plugin| plugin.filter(pod, node))
    }

    /// The weighted sum of every score plugin's score.
    pub fn run_scores(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        self.scores
            .iter()
            .map(|plugin| plugin.score(pod, node).clamp(0, MAX_NODE_SCORE) * plugin.weight())
            .sum()
    }

    /// Picks a node for `pod` among `nodes` (sorted by name, as the cache keeps them).
    pub fn schedule(&mut self, pod: &PodInfo, nodes: &BTreeMap<String, NodeInfo>) -> Result<String, FitError> {
        let all: Vec<&NodeInfo> = nodes.values().collect();
        let wanted = num_feasible_nodes_to_find(self.percentage_of_nodes_to_score, all.len());
        let start = if all.is_empty() {
            0
        } else {
            self.next_start_node_index % all.len()
        };
        let mut feasible = Vec::new();
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        let mut processed = 0;
        for i in 0..all.len() {
            let node = all[(start + i) % all.len()];
            processed += 1;
            match self.run_filters(pod, node) {
                Ok(()) => {
                    feasible.push(node);
                    if feasible.len() >= wanted {
                        break;
                    }
                }
                Err(unfit) => {
                    for reason in unfit.reasons {
                        *reasons.entry(reason).or_default() += 1;
                    }
                }
            }
        }
        if !all.is_empty() {
            self.next_start_node_index = (start + processed) % all.len();
        }
        if feasible.is_empty() {
            return Err(FitError {
                num_nodes: all.len(),
                reasons,
            });
        }
        // One feasible node needs no scoring (Kubernetes skips it too).
        let scored = feasible
            .into_iter()
            .map(|node| ScoredNode {
                name: node.name().to_string(),
                score: if wanted == 1 { 0 } else { self.run_scores(pod, node) },
                pods: node.requested.pods,
            })
            .collect::<Vec<_>>();
        select_host(&scored).ok_or(FitError {
            num_nodes: all.len(),
            reasons: BTreeMap::new(),
        })
    }
}

/// A feasible node, its weighted total score, and how many pods it already has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoredNode {
    pub name: String,
    pub score: i64,
    pub pods: i64,
}

/// The best node: the highest score; among equal scores the one with the fewest pods; among
/// those the first name in sort order.
///
/// Small pods barely move the 0-100 scores (ten pods of 10m CPU on a 32-CPU node are 0.3% of it),
/// so many nodes tie. Breaking ties by name alone would pile pods onto the first nodes by name
/// until their score dropped a point; fewest pods first fills the tied nodes one pod each in
/// turn, as Kubernetes' random pick does on average, yet the same pods on the same nodes always
/// land in the same places.
pub fn select_host(scored: &[ScoredNode]) -> Option<String> {
    scored
        .iter()
        .max_by(|a, b| {
            a.score
                .cmp(&b.score)
                .then_with(|| b.pods.cmp(&a.pods))
                .then_with(|| b.name.cmp(&a.name))
        })
        .map(|best| best.name.clone())
}

/// How many feasible nodes are enough (Kubernetes' `numFeasibleNodesToFind`): every node in a
/// cluster of up to 100; beyond that a percentage, adaptive by default (50% minus one point per
/// 125 nodes, never under 5%), and never under 100 nodes.
pub fn num_feasible_nodes_to_find(percentage: u32, num_nodes: usize) -> usize {
    const MIN_FEASIBLE_NODES: usize = 100;
    const MIN_PERCENTAGE: usize = 5;
    if num_nodes < MIN_FEASIBLE_NODES || percentage >= 100 {
        return num_nodes.max(1);
    }
    let percentage = match percentage as usize {
        0 => (50usize.saturating_sub(num_nodes / 125)).max(MIN_PERCENTAGE),
        p => p,
    };
    (num_nodes * percentage / 100).max(MIN_FEASIBLE_NODES)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::node_info::testing::*;
    use serde_json::json;

    fn nodes(list: Vec<NodeInfo>) -> BTreeMap<String, NodeInfo> {
        list.into_iter().map(|n| (n.name().to_string(), n)).collect()
    }

    #[test]
    fn message_counts_reasons_per_node_like_kubernetes() {
        let error = FitError {
            num_nodes: 3,
            reasons: BTreeMap::from([
                ("Insufficient cpu".to_string(), 2),
                ("node(s) had untolerated taint {node-role: x}".to_string(), 1),
            ]),
        };
        assert_eq!(
            error.to_string(),
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role: x}, 2 Insufficient cpu."
        );
        let none = FitError {
            num_nodes: 0,
            reasons: BTreeMap::new(),
        };
        assert_eq!(none.to_string(), "no nodes available to schedule pods");
    }

    #[test]
    fn unschedulable_pod_gets_every_nodes_reason() {
        let mut framework = Framework::with_default_plugins(ScoreWeights::default());
        let tainted = node_from(json!({
            "metadata": {"name": "c"},
            "spec": {"taints": [{"key": "node-role", "value": "x", "effect": "NoSchedule"}]},
            "status": {"allocatable": {"cpu": "8", "memory": "8Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]},
        }));
        let all = nodes(vec![
            info(node("a", "1", "8Gi", 110)),
            info(node("b", "1", "8Gi", 110)),
            info(tainted),
        ]);
        let error = framework.schedule(&pod_requesting("2", "1Gi"), &all).unwrap_err();
        assert_eq!(
            error.to_string(),
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role: x}, 2 Insufficient cpu."
        );
    }

    #[test]
    fn the_least_loaded_node_wins_and_ties_go_to_the_fewest_pods_then_the_first_name() {
        let mut framework = Framework::with_default_plugins(ScoreWeights::default());
        let busy = pod_requesting("600m", "600Mi");
        let light = pod_requesting("300m", "300Mi");
        let all = nodes(vec![
            NodeInfo::with_pods(Arc::new(node("a", "1", "1000Mi", 110)), [&busy]),
            NodeInfo::with_pods(Arc::new(node("b", "1", "1000Mi", 110)), [&light]),
        ]);
        let pod = pod_requesting("100m", "100Mi");
        assert_eq!(framework.schedule(&pod, &all).unwrap(), "b");

        let equal = nodes(vec![
            info(node("n3", "1", "1Gi", 110)),
            info(node("n1", "1", "1Gi", 110)),
            info(node("n2", "1", "1Gi", 110)),
        ]);
        for _ in 0..3 {
            assert_eq!(framework.schedule(&pod, &equal).unwrap(), "n1");
        }
    }

    #[test]
    fn tiny_pods_spread_over_tied_nodes_instead_of_piling_up() {
        let mut framework = Framework::with_default_plugins(ScoreWeights::default());
        let mut all = nodes(
            (0..10)
                .map(|i| info(node(&format!("n{i}"), "32", "128Gi", 110)))
                .collect(),
        );
        let tiny = pod_requesting("10m", "16Mi");
        let mut placed = Vec::new();
        for _ in 0..30 {
            let name = framework.schedule(&tiny, &all).unwrap();
            all.get_mut(&name).unwrap().add_pod(&tiny);
            placed.push(name);
        }
        let first: Vec<String> = (0..10).map(|i| format!("n{i}")).collect();
        assert_eq!(placed[..10], first[..], "one pod per node, in name order");
        for node in all.values() {
            assert_eq!(
                node.requested.pods,
                3,
                "{} has {} pods",
                node.name(),
                node.requested.pods
            );
        }
    }

    fn scored(name: &str, score: i64, pods: i64) -> ScoredNode {
        ScoredNode {
            name: name.into(),
            score,
            pods,
        }
    }

    #[test]
    fn select_host_is_deterministic() {
        let all = vec![scored("b", 150, 0), scored("a", 150, 0), scored("c", 90, 0)];
        assert_eq!(select_host(&all).as_deref(), Some("a"));
        assert_eq!(select_host(&[]), None);
    }

    #[test]
    fn select_host_breaks_ties_by_fewest_pods_then_name() {
        let all = vec![
            scored("a", 150, 4),
            scored("b", 150, 2),
            scored("c", 150, 2),
            scored("d", 90, 0),
        ];
        assert_eq!(select_host(&all).as_deref(), Some("b"));
        // The score still comes first: an emptier node with a lower score loses.
        let all = vec![scored("a", 151, 9), scored("b", 150, 0)];
        assert_eq!(select_host(&all).as_deref(), Some("a"));
    }

    #[test]
    fn adaptive_percentage_of_nodes_to_score() {
        assert_eq!(num_feasible_nodes_to_find(0, 3), 3);
        assert_eq!(num_feasible_nodes_to_find(0, 99), 99);
        assert_eq!(num_feasible_nodes_to_find(0, 1000), 420);
        assert_eq!(num_feasible_nodes_to_find(0, 5000), 500);
        assert_eq!(num_feasible_nodes_to_find(0, 50_000), 2500);
        assert_eq!(num_feasible_nodes_to_find(100, 5000), 5000);
        assert_eq!(num_feasible_nodes_to_find(1, 5000), 100);
    }
}
