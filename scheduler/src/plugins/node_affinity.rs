//! NodeAffinity: `requiredDuringSchedulingIgnoredDuringExecution` node selector terms.
//!
//! ```yaml
//! affinity:
//!   nodeAffinity:
//!     requiredDuringSchedulingIgnoredDuringExecution:
//!       nodeSelectorTerms:                 # ORed: one matching term is enough
//!       - matchExpressions:                # ANDed within a term
//!         - {key: zone, operator: In, values: [a, b]}
//!         - {key: cores, operator: Gt, values: ["4"]}
//!         matchFields:
//!         - {key: metadata.name, operator: NotIn, values: [node-3]}
//! ```
//!
//! "IgnoredDuringExecution": the rule is checked when the pod is placed; changing a node's labels
//! later does not move pods already running there. Kubernetes' edge cases, kept here: a term with
//! no requirements matches nothing, and so does an empty list of terms; `Gt`/`Lt` compare integers
//! and fail on anything else; `matchFields` knows only `metadata.name`, with `In` and `NotIn`.

use std::collections::BTreeMap;

use kubelab_api::core::{NodeSelectorRequirement, NodeSelectorTerm};

use crate::framework::{FilterPlugin, Unfit};
use crate::node_info::{NodeInfo, PodInfo};
use crate::plugins::reasons;

pub struct NodeAffinity;

/// Whether a node with these labels and name passes the pod's required node affinity.
pub fn required_node_affinity_fits(
    terms: Option<&[NodeSelectorTerm]>,
    labels: &BTreeMap<String, String>,
    node_name: &str,
) -> Result<(), Unfit> {
    let Some(terms) = terms else { return Ok(()) };
    if terms
        .iter()
        .any(|term| node_matches_selector_term(term, labels, node_name))
    {
        Ok(())
    } else {
        Err(Unfit::new(reasons::NODE_AFFINITY))
    }
}

/// One term: every expression on the labels and every field requirement must hold.
pub fn node_matches_selector_term(term: &NodeSelectorTerm, labels: &BTreeMap<String, String>, node_name: &str) -> bool {
    if term.match_expressions.is_empty() && term.match_fields.is_empty() {
        return false;
    }
    term.match_expressions
        .iter()
        .all(|r| label_requirement_holds(r, labels))
        && term.match_fields.iter().all(|r| field_requirement_holds(r, node_name))
}

fn label_requirement_holds(r: &NodeSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let value = labels.get(&r.key);
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| r.values.contains(v)),
        "NotIn" => value.is_none_or(|v| !r.values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(value), [bound]) = (value, r.values.as_slice()) else {
                return false;
            };
            match (value.parse::<i64>(), bound.parse::<i64>()) {
                (Ok(value), Ok(bound)) if r.operator == "Gt" => value > bound,
                (Ok(value), Ok(bound)) => value < bound,
                _ => false,
            }
        }
        _ => false,
    }
}

fn field_requirement_holds(r: &NodeSelectorRequirement, node_name: &str) -> bool {
    if r.key != "metadata.name" {
        return false;
    }
    let listed = r.values.iter().any(|v| v == node_name);
    match r.operator.as_str() {
        "In" => listed,
        "NotIn" => !listed,
        _ => false,
    }
}

impl FilterPlugin for NodeAffinity {
    fn name(&self) -> &'static str {
        "NodeAffinity"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
        let terms = pod
            .pod
            .spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|na| na.required_during_scheduling_ignored_during_execution.as_ref())
            .map(|selector| selector.node_selector_terms.as_slice());
        required_node_affinity_fits(terms, &node.node.metadata.labels, node.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(key: &str, operator: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn term(expressions: Vec<NodeSelectorRequirement>, fields: Vec<NodeSelectorRequirement>) -> NodeSelectorTerm {
        NodeSelectorTerm {
            match_expressions: expressions,
            match_fields: fields,
        }
    }

    fn labels() -> BTreeMap<String, String> {
        [("zone", "a"), ("cores", "8")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn holds(r: NodeSelectorRequirement) -> bool {
        node_matches_selector_term(&term(vec![r], vec![]), &labels(), "n1")
    }

    #[test]
    fn operators() {
        assert!(holds(req("zone", "In", &["a", "b"])));
        assert!(!holds(req("zone", "In", &["b"])));
        assert!(holds(req("zone", "NotIn", &["b"])));
        assert!(holds(req("missing", "NotIn", &["b"])));
        assert!(!holds(req("zone", "NotIn", &["a"])));
        assert!(holds(req("zone", "Exists", &[])));
        assert!(!holds(req("missing", "Exists", &[])));
        assert!(holds(req("missing", "DoesNotExist", &[])));
        assert!(!holds(req("zone", "DoesNotExist", &[])));
        assert!(holds(req("cores", "Gt", &["4"])));
        assert!(!holds(req("cores", "Gt", &["8"])));
        assert!(holds(req("cores", "Lt", &["16"])));
        assert!(!holds(req("zone", "Gt", &["1"])), "not an integer");
        assert!(!holds(req("cores", "Bogus", &["1"])));
    }

    #[test]
    fn match_fields_know_only_the_node_name() {
        let by_name = |op: &str, name: &str| term(vec![], vec![req("metadata.name", op, &[name])]);
        assert!(node_matches_selector_term(&by_name("In", "n1"), &labels(), "n1"));
        assert!(!node_matches_selector_term(&by_name("In", "n2"), &labels(), "n1"));
        assert!(node_matches_selector_term(&by_name("NotIn", "n2"), &labels(), "n1"));
        let other = term(vec![], vec![req("metadata.uid", "In", &["n1"])]);
        assert!(!node_matches_selector_term(&other, &labels(), "n1"));
    }

    #[test]
    fn terms_are_ored_and_requirements_anded() {
        let miss = term(vec![req("zone", "In", &["b"])], vec![]);
        let hit = term(vec![req("zone", "In", &["a"]), req("cores", "Gt", &["2"])], vec![]);
        let half = term(vec![req("zone", "In", &["a"]), req("cores", "Gt", &["20"])], vec![]);
        let labels = labels();
        assert_eq!(
            required_node_affinity_fits(Some(&[miss.clone(), hit]), &labels, "n1"),
            Ok(())
        );
        assert_eq!(
            required_node_affinity_fits(Some(&[miss, half]), &labels, "n1")
                .unwrap_err()
                .reason(),
            "node(s) didn't match Pod's node affinity/selector"
        );
        assert_eq!(required_node_affinity_fits(None, &labels, "n1"), Ok(()));
        assert!(required_node_affinity_fits(Some(&[]), &labels, "n1").is_err());
        assert!(required_node_affinity_fits(Some(&[term(vec![], vec![])]), &labels, "n1").is_err());
    }
}
