//! What Deployments, ReplicaSets and StatefulSets share: a label selector, a pod template whose
//! labels the selector must match, and a few status helpers.
//!
//! The selector is how a controller finds "its" pods after a restart, so a template whose pods
//! the selector would not match would make the controller create pods forever. That is why the
//! match is checked up front, and why the selector cannot change later.

use crate::core::pod::{validate_pod_template, PodTemplateSpec};
use crate::meta::LabelSelector;
use crate::selector::Selector;
use crate::validation::{go_map, validate_label_selector, FieldError, Verbatim};

/// Serde helper: leave out counters that are zero, as Kubernetes' `omitempty` does.
pub(crate) fn is_zero_i32(n: &i32) -> bool {
    *n == 0
}

pub(crate) fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

/// A selector shown as JSON in messages.
pub(crate) fn shown(selector: &LabelSelector) -> Verbatim {
    Verbatim(serde_json::to_string(selector).unwrap_or_default())
}

/// Checks `spec.selector` and `spec.template` of a workload: the selector is set and valid,
/// it matches the template's labels, and the template is a valid pod that restarts `Always`
/// (a workload's pods are replaced, not left finished).
pub(crate) fn validate_selector_and_template(
    selector: &LabelSelector,
    template: &PodTemplateSpec,
    kind: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if selector.match_labels.is_empty() && selector.match_expressions.is_empty() {
        errs.push(FieldError::required("spec.selector"));
    } else {
        errs.extend(validate_label_selector("spec.selector", selector));
        let matches = Selector::from_label_selector(selector).is_ok_and(|s| s.matches(&template.metadata.labels));
        if !matches {
            errs.push(FieldError::invalid(
                "spec.template.metadata.labels",
                go_map(&template.metadata.labels),
                "`selector` does not match template `labels`",
            ));
        }
    }
    errs.extend(validate_pod_template(template, "spec.template"));
    if let Some(policy) = template.spec.restart_policy.as_deref() {
        if policy != "Always" {
            errs.push(FieldError::not_supported(
                "spec.template.spec.restartPolicy",
                policy,
                &["Always"],
            ));
        }
    }
    if template.spec.active_deadline_seconds.is_some() {
        errs.push(FieldError::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
    errs
}
