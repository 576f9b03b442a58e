//! Field errors, and the checks every kind shares (names, labels, ports).
//!
//! Kubernetes reports an invalid object with one error per bad field, each naming the field's
//! path: `spec.template.spec.containers[0].image: Required value`. [`FieldError`] is that error;
//! the API server turns a list of them into a `422 Invalid` Status with one cause each.

use std::collections::BTreeMap;
use std::fmt;

use crate::meta::{LabelSelector, ObjectMeta};
use crate::names;
use crate::quantity::Quantity;

/// What is wrong with a field (Kubernetes' `field.ErrorType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// The field must be set and is not.
    Required,
    /// The value is malformed or out of range.
    Invalid,
    /// The value is not one of the allowed ones.
    NotSupported,
    /// The value repeats one that must be unique (two containers named `web`).
    Duplicate,
    /// The field may not be set or changed (an immutable field on update).
    Forbidden,
    /// The value is longer than allowed.
    TooLong,
}

impl FieldErrorKind {
    /// The `reason` of the Status cause (`FieldValueRequired`, ...).
    pub fn reason(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::TooLong => "FieldValueTooLong",
        }
    }
}

/// One bad field: its path, what is wrong, the bad value (if any) and why.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    pub kind: FieldErrorKind,
    /// The field's path, `spec.containers[0].name`.
    pub field: String,
    /// The offending value, as Kubernetes quotes it (strings in quotes, numbers bare).
    pub value: Option<String>,
    pub detail: String,
}

impl FieldError {
    pub fn required(field: impl Into<String>) -> Self {
        FieldError {
            kind: FieldErrorKind::Required,
            field: field.into(),
            value: None,
            detail: String::new(),
        }
    }

    pub fn invalid(field: impl Into<String>, value: impl fmt::Debug, detail: impl Into<String>) -> Self {
        FieldError {
            kind: FieldErrorKind::Invalid,
            field: field.into(),
            value: Some(format!("{value:?}")),
            detail: detail.into(),
        }
    }

    pub fn not_supported(field: impl Into<String>, value: impl fmt::Debug, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("\"{s}\"")).collect();
        FieldError {
            kind: FieldErrorKind::NotSupported,
            field: field.into(),
            value: Some(format!("{value:?}")),
            detail: format!("supported values: {}", list.join(", ")),
        }
    }

    pub fn duplicate(field: impl Into<String>, value: impl fmt::Debug) -> Self {
        FieldError {
            kind: FieldErrorKind::Duplicate,
            field: field.into(),
            value: Some(format!("{value:?}")),
            detail: String::new(),
        }
    }

    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        FieldError {
            kind: FieldErrorKind::Forbidden,
            field: field.into(),
            value: None,
            detail: detail.into(),
        }
    }

    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        FieldError {
            kind: FieldErrorKind::TooLong,
            field: field.into(),
            value: None,
            detail: format!("must have at most {max} bytes"),
        }
    }

    /// The message without the field path: `Invalid value: "Web": a lowercase RFC 1123 ...`.
    pub fn message(&self) -> String {
        let head = match self.kind {
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Invalid => "Invalid value",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::Duplicate => "Duplicate value",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::TooLong => "Too long",
        };
        let mut text = head.to_string();
        if let Some(value) = &self.value {
            text.push_str(": ");
            text.push_str(value);
        }
        if !self.detail.is_empty() {
            text.push_str(": ");
            text.push_str(&self.detail);
        }
        text
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

// ---------------------------------------------------------------------------------------------
// Checks shared by every kind. The string rules themselves live in [`crate::names`]; these
// helpers turn their messages into [`FieldError`]s at a path.
// ---------------------------------------------------------------------------------------------

/// The most bytes all annotations of one object may take together (256 KiB), as in Kubernetes.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// A value shown exactly as written, for values Kubernetes prints in Go syntax rather than
/// quoted (`map[string]string{"app":"web"}`).
pub struct Verbatim(pub String);

impl fmt::Debug for Verbatim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A label map as Go prints it: `map[string]string{"app":"web"}`.
pub fn go_map(map: &BTreeMap<String, String>) -> Verbatim {
    let entries: Vec<String> = map.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
    Verbatim(format!("map[string]string{{{}}}", entries.join(", ")))
}

/// One `Invalid value` error per problem a [`names`] rule found.
pub fn invalid_each(field: &str, value: &str, problems: Vec<String>) -> Vec<FieldError> {
    problems
        .into_iter()
        .map(|p| FieldError::invalid(field, value, p))
        .collect()
}

/// A required string: `Required value` when empty, otherwise the rule's problems.
pub fn required_name(field: &str, value: &str, rule: fn(&str) -> Vec<String>) -> Vec<FieldError> {
    if value.is_empty() {
        vec![FieldError::required(field)]
    } else {
        invalid_each(field, value, rule(value))
    }
}

/// Checks a port number (1-65535).
pub fn validate_port(field: &str, port: i32) -> Vec<FieldError> {
    names::port_number(port)
        .into_iter()
        .map(|p| FieldError::invalid(field, port, p))
        .collect()
}

/// Checks a protocol (TCP, UDP or SCTP); an unset protocol is defaulted before validation.
pub fn validate_protocol(field: &str, protocol: Option<&str>) -> Vec<FieldError> {
    match protocol {
        None => vec![FieldError::required(field)],
        Some("TCP" | "UDP" | "SCTP") => Vec::new(),
        Some(other) => vec![FieldError::not_supported(field, other, &["SCTP", "TCP", "UDP"])],
    }
}

/// Checks a count that may not be negative (`replicas`, `minReadySeconds`).
pub fn validate_nonnegative(field: &str, value: i64) -> Vec<FieldError> {
    if value < 0 {
        vec![FieldError::invalid(field, value, "must be greater than or equal to 0")]
    } else {
        Vec::new()
    }
}

/// Checks that a string is one of the allowed values.
pub fn validate_enum(field: &str, value: &str, allowed: &[&str]) -> Vec<FieldError> {
    if allowed.contains(&value) {
        Vec::new()
    } else {
        vec![FieldError::not_supported(field, value, allowed)]
    }
}

/// Checks that a quantity parses and is not negative.
pub fn validate_quantity(field: &str, quantity: &Quantity) -> Vec<FieldError> {
    match quantity.parse() {
        Err(e) => vec![FieldError::invalid(field, quantity.as_str(), e.to_string())],
        Ok(q) if q.is_negative() => {
            vec![FieldError::invalid(
                field,
                quantity.as_str(),
                "must be greater than or equal to 0",
            )]
        }
        Ok(_) => Vec::new(),
    }
}

/// `field is immutable` when an update changed a field that may not change.
pub fn validate_immutable<T: PartialEq + fmt::Debug>(field: &str, new: &T, old: &T) -> Vec<FieldError> {
    if new == old {
        Vec::new()
    } else {
        vec![FieldError::invalid(field, new, "field is immutable")]
    }
}

/// Checks label keys and values (`metadata.labels`, `nodeSelector`, a selector's `matchLabels`).
pub fn validate_labels(field: &str, labels: &BTreeMap<String, String>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (key, value) in labels {
        errs.extend(invalid_each(field, key, names::qualified_name(key)));
        errs.extend(invalid_each(
            &format!("{field}[{key}]"),
            value,
            names::label_value(value),
        ));
    }
    errs
}

/// Checks annotation keys and the total size; values are free text (kubectl stores whole
/// manifests in `kubectl.kubernetes.io/last-applied-configuration`).
pub fn validate_annotations(field: &str, annotations: &BTreeMap<String, String>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut total = 0;
    for (key, value) in annotations {
        errs.extend(invalid_each(
            field,
            &key.to_ascii_lowercase(),
            names::qualified_name(&key.to_ascii_lowercase()),
        ));
        total += key.len() + value.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(field, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errs
}

/// Checks a label selector's keys, values and operators.
pub fn validate_label_selector(field: &str, selector: &LabelSelector) -> Vec<FieldError> {
    let mut errs = validate_labels(&format!("{field}.matchLabels"), &selector.match_labels);
    for (i, req) in selector.match_expressions.iter().enumerate() {
        let path = format!("{field}.matchExpressions[{i}]");
        match req.operator.as_str() {
            "In" | "NotIn" if req.values.is_empty() => errs.push(FieldError::required(format!("{path}.values"))),
            "Exists" | "DoesNotExist" if !req.values.is_empty() => errs.push(FieldError::forbidden(
                format!("{path}.values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errs.push(FieldError::not_supported(
                format!("{path}.operator"),
                other,
                &["In", "NotIn", "Exists", "DoesNotExist"],
            )),
        }
        errs.extend(invalid_each(
            &format!("{path}.key"),
            &req.key,
            names::qualified_name(&req.key),
        ));
        for value in &req.values {
            errs.extend(invalid_each(
                &format!("{path}.values"),
                value,
                names::label_value(value),
            ));
        }
    }
    errs
}

/// Checks `metadata` of a new object: the name (with the kind's naming rule), the namespace,
/// labels, annotations and owner references. `uid`, `resourceVersion` and `creationTimestamp`
/// belong to the server and are not checked here.
pub fn validate_object_meta(
    meta: &ObjectMeta,
    namespaced: bool,
    name_rule: fn(&str) -> Vec<String>,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    // The server turns generateName into a name before admission, so a name must be present.
    match meta.name.as_deref() {
        None | Some("") => errs.push(FieldError {
            detail: "name or generateName is required".into(),
            ..FieldError::required("metadata.name")
        }),
        Some(name) => errs.extend(invalid_each("metadata.name", name, name_rule(name))),
    }
    let namespace = meta.namespace();
    if namespaced {
        if !namespace.is_empty() {
            errs.extend(invalid_each(
                "metadata.namespace",
                namespace,
                names::dns1123_label(namespace),
            ));
        }
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden("metadata.namespace", "not allowed on this type"));
    }
    errs.extend(validate_labels("metadata.labels", &meta.labels));
    errs.extend(validate_annotations("metadata.annotations", &meta.annotations));
    for (i, owner) in meta.owner_references.iter().enumerate() {
        let path = format!("metadata.ownerReferences[{i}]");
        for (field, value) in [
            ("apiVersion", &owner.api_version),
            ("kind", &owner.kind),
            ("name", &owner.name),
            ("uid", &owner.uid),
        ] {
            if value.is_empty() {
                errs.push(FieldError::required(format!("{path}.{field}")));
            }
        }
    }
    if meta
        .owner_references
        .iter()
        .filter(|r| r.controller == Some(true))
        .count()
        > 1
    {
        errs.push(FieldError::invalid(
            "metadata.ownerReferences",
            Verbatim(String::from("[...]")),
            "Only one reference can have Controller set to true",
        ));
    }
    for (i, finalizer) in meta.finalizers.iter().enumerate() {
        errs.extend(invalid_each(
            &format!("metadata.finalizers[{i}]"),
            finalizer,
            names::qualified_name(finalizer),
        ));
    }
    errs
}

/// Checks `metadata` on update: the name and namespace never change.
pub fn validate_object_meta_update(new: &ObjectMeta, old: &ObjectMeta) -> Vec<FieldError> {
    let mut errs = validate_immutable("metadata.name", &new.name(), &old.name());
    errs.extend(validate_immutable(
        "metadata.namespace",
        &new.namespace(),
        &old.namespace(),
    ));
    errs
}
