//! Validation of the scheduling parts of a pod spec: tolerations, node affinity and pod
//! (anti-)affinity. Operators and weights are checked here so the scheduler can trust them.

use super::scheduling::{Affinity, NodeSelectorTerm, PodAffinityTerm, Toleration};
use crate::names;
use crate::validation::{invalid_each, validate_enum, validate_label_selector, FieldError};

pub(super) fn validate_toleration(t: &Toleration, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let key = t.key.as_deref().unwrap_or("");
    if !key.is_empty() {
        errs.extend(invalid_each(&format!("{path}.key"), key, names::qualified_name(key)));
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Equal" | "" => {
            if key.is_empty() {
                errs.push(FieldError::invalid(
                    format!("{path}.operator"),
                    "Equal",
                    "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
                ));
            }
            if let Some(value) = &t.value {
                errs.extend(invalid_each(&format!("{path}.value"), value, names::label_value(value)));
            }
        }
        "Exists" => {
            if t.value.as_deref().is_some_and(|v| !v.is_empty()) {
                errs.push(FieldError::invalid(
                    format!("{path}.operator"),
                    t.value.as_deref().unwrap_or(""),
                    "value must be empty when `operator` is 'Exists'",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            format!("{path}.operator"),
            other,
            &["Equal", "Exists"],
        )),
    }
    if let Some(effect) = t.effect.as_deref().filter(|e| !e.is_empty()) {
        errs.extend(validate_enum(
            &format!("{path}.effect"),
            effect,
            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
        ));
        if t.toleration_seconds.is_some() && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                format!("{path}.effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
    }
    errs
}

fn validate_node_selector_term(term: &NodeSelectorTerm, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, req) in term.match_expressions.iter().enumerate() {
        let rpath = format!("{path}.matchExpressions[{i}]");
        errs.extend(invalid_each(
            &format!("{rpath}.key"),
            &req.key,
            names::qualified_name(&req.key),
        ));
        match req.operator.as_str() {
            "In" | "NotIn" if req.values.is_empty() => errs.push(FieldError::required(format!("{rpath}.values"))),
            "Exists" | "DoesNotExist" if !req.values.is_empty() => errs.push(FieldError::forbidden(
                format!("{rpath}.values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "Gt" | "Lt" if req.values.len() != 1 || req.values[0].parse::<i64>().is_err() => errs.push(FieldError {
                detail: "must be specified single value when `operator` is 'Lt' or 'Gt'".into(),
                ..FieldError::required(format!("{rpath}.values"))
            }),
            "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" => {}
            other => errs.push(FieldError::not_supported(
                format!("{rpath}.operator"),
                other,
                &["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"],
            )),
        }
    }
    for (i, req) in term.match_fields.iter().enumerate() {
        if req.key != "metadata.name" {
            errs.push(FieldError::not_supported(
                format!("{path}.matchFields[{i}].key"),
                &req.key,
                &["metadata.name"],
            ));
        }
    }
    errs
}

fn validate_affinity_term(term: &PodAffinityTerm, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if term.topology_key.is_empty() {
        errs.push(FieldError {
            detail: "can not be empty".into(),
            ..FieldError::required(format!("{path}.topologyKey"))
        });
    } else {
        errs.extend(invalid_each(
            &format!("{path}.topologyKey"),
            &term.topology_key,
            names::qualified_name(&term.topology_key),
        ));
    }
    if let Some(selector) = &term.label_selector {
        errs.extend(validate_label_selector(&format!("{path}.labelSelector"), selector));
    }
    if let Some(selector) = &term.namespace_selector {
        errs.extend(validate_label_selector(&format!("{path}.namespaceSelector"), selector));
    }
    errs
}

fn validate_weight(weight: i32, path: &str) -> Vec<FieldError> {
    if (1..=100).contains(&weight) {
        Vec::new()
    } else {
        vec![FieldError::invalid(path, weight, "must be in the range 1-100")]
    }
}

pub(super) fn validate_affinity(affinity: &Affinity, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(node) = &affinity.node_affinity {
        let npath = format!("{path}.nodeAffinity");
        if let Some(required) = &node.required_during_scheduling_ignored_during_execution {
            let rpath = format!("{npath}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms");
            if required.node_selector_terms.is_empty() {
                errs.push(FieldError {
                    detail: "must have at least one node selector term".into(),
                    ..FieldError::required(&rpath)
                });
            }
            for (i, term) in required.node_selector_terms.iter().enumerate() {
                errs.extend(validate_node_selector_term(term, &format!("{rpath}[{i}]")));
            }
        }
        for (i, pref) in node
            .preferred_during_scheduling_ignored_during_execution
            .iter()
            .enumerate()
        {
            let ppath = format!("{npath}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
            errs.extend(validate_weight(pref.weight, &format!("{ppath}.weight")));
            errs.extend(validate_node_selector_term(
                &pref.preference,
                &format!("{ppath}.preference"),
            ));
        }
    }
    for (field, pod) in [
        ("podAffinity", &affinity.pod_affinity),
        ("podAntiAffinity", &affinity.pod_anti_affinity),
    ] {
        if let Some(pod) = pod {
            let ppath = format!("{path}.{field}");
            for (i, term) in pod
                .required_during_scheduling_ignored_during_execution
                .iter()
                .enumerate()
            {
                errs.extend(validate_affinity_term(
                    term,
                    &format!("{ppath}.requiredDuringSchedulingIgnoredDuringExecution[{i}]"),
                ));
            }
            for (i, w) in pod
                .preferred_during_scheduling_ignored_during_execution
                .iter()
                .enumerate()
            {
                let wpath = format!("{ppath}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
                errs.extend(validate_weight(w.weight, &format!("{wpath}.weight")));
                errs.extend(validate_affinity_term(
                    &w.pod_affinity_term,
                    &format!("{wpath}.podAffinityTerm"),
                ));
            }
        }
    }
    errs
}
