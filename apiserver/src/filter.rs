//! # Which objects a list or watch returns: label and field selectors
//!
//! `labelSelector` filters on `metadata.labels`, which any object may carry; `fieldSelector`
//! filters on a short, fixed list of fields per kind (kube-apiserver can only filter on fields it
//! extracts for that kind, and refuses the others with `field label not supported`). The parsing
//! and matching live in `kubelab_api::selector`; this file only knows which fields each kind
//! offers and how to read them.

use std::collections::BTreeMap;

use kubelab_api::selector::{field_value, FieldSelector, Selector};
use kubelab_api::ResourceInfo;
use serde_json::Value;

use crate::error::ApiError;
use crate::store::StoredObject;

/// The fields a kind can be filtered on (besides `metadata.name` and `metadata.namespace`).
fn kind_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.schedulerName",
            "status.phase",
            "status.podIP",
            "spec.restartPolicy",
        ],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "type",
            "source",
        ],
        "Node" => &["spec.unschedulable"],
        "Secret" => &["type"],
        "Namespace" => &["status.phase"],
        _ => &[],
    }
}

/// A parsed pair of selectors for one kind.
#[derive(Clone, Debug)]
pub struct Filter {
    kind: &'static str,
    labels: Option<Selector>,
    fields: Option<FieldSelector>,
    /// Every path a selector of this kind may read: what [`Filter::matches_stored`] parses.
    paths: Vec<&'static str>,
}

impl Filter {
    /// Parses the selectors of a request; errors are 400 Bad Request naming the problem.
    pub fn parse(
        info: &ResourceInfo,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
    ) -> Result<Self, ApiError> {
        let labels = match label_selector.map(str::trim).filter(|s| !s.is_empty()) {
            Some(text) => Some(Selector::parse(text).map_err(|e| ApiError::BadRequest(e.to_string()))?),
            None => None,
        };
        let fields = match field_selector.map(str::trim).filter(|s| !s.is_empty()) {
            Some(text) => {
                let selector = FieldSelector::parse(text).map_err(|e| ApiError::BadRequest(e.to_string()))?;
                let mut supported = vec!["metadata.name", "metadata.namespace"];
                supported.extend_from_slice(kind_fields(info.kind));
                selector
                    .check_supported(&supported)
                    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
                Some(selector)
            }
            None => None,
        };
        let mut paths = vec!["metadata.name", "metadata.namespace", "metadata.labels"];
        paths.extend_from_slice(kind_fields(info.kind));
        Ok(Filter {
            kind: info.kind,
            labels,
            fields,
            paths,
        })
    }

    /// Everything matches.
    pub fn is_everything(&self) -> bool {
        self.labels.is_none() && self.fields.is_none()
    }

    /// The name the field selector pins down (`metadata.name=web`), to read one key instead
    /// of scanning.
    pub fn exact_name(&self) -> Option<&str> {
        self.fields.as_ref().and_then(|f| f.exact_value("metadata.name"))
    }

    /// The watch trigger this filter allows: a pod selector that pins `spec.nodeName`.
    pub fn pod_node_trigger(&self) -> Option<crate::store::Trigger> {
        if self.kind != "Pod" {
            return None;
        }
        let node_name = self.fields.as_ref()?.exact_value("spec.nodeName")?;
        Some(crate::store::Trigger {
            node_name: node_name.to_string(),
        })
    }

    /// Whether a stored object matches, reading only the parts of it a selector of this kind
    /// can look at (`store::sparse`) unless it is parsed already.
    pub fn matches_stored(&self, object: &StoredObject) -> bool {
        self.is_everything() || self.matches(self.selectable(object))
    }

    /// The parts of `object` a selector of this kind can read (see [`Filter::matches_stored`]).
    pub fn selectable<'o>(&self, object: &'o StoredObject) -> &'o Value {
        object.selectable(&self.paths)
    }

    pub fn matches(&self, object: &Value) -> bool {
        if let Some(labels) = &self.labels {
            if !labels.matches(&labels_of(object)) {
                return false;
            }
        }
        match &self.fields {
            Some(fields) => fields.matches_fields(&field_set(self.kind, object, fields)),
            None => true,
        }
    }
}

/// `metadata.labels` as a map; non-string values are ignored.
pub fn labels_of(object: &Value) -> BTreeMap<String, String> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The values of the fields a selector uses. Event's `source` is its `source.component`, as
/// kube-apiserver exposes it.
fn field_set(kind: &str, object: &Value, selector: &FieldSelector) -> BTreeMap<String, String> {
    selector
        .fields()
        .map(|field| {
            let value = match (kind, field) {
                ("Event", "source") => field_value(object, "source.component"),
                ("Node", "spec.unschedulable") => {
                    let v = field_value(object, field);
                    if v.is_empty() {
                        "false".to_string()
                    } else {
                        v
                    }
                }
                _ => field_value(object, field),
            };
            (field.to_string(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pods() -> &'static ResourceInfo {
        kubelab_api::resource::find("", "v1", "pods").unwrap()
    }

    #[test]
    fn label_and_field_selectors_combine() {
        let pod = json!({"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"nodeName": "n1"}});
        assert!(Filter::parse(pods(), Some("app=web"), Some("spec.nodeName=n1"))
            .unwrap()
            .matches(&pod));
        assert!(!Filter::parse(pods(), Some("app!=web"), None).unwrap().matches(&pod));
        assert!(!Filter::parse(pods(), None, Some("status.phase=Running"))
            .unwrap()
            .matches(&pod));
        assert!(Filter::parse(pods(), None, Some("status.phase!=Failed"))
            .unwrap()
            .matches(&pod));
    }

    #[test]
    fn unsupported_fields_and_bad_syntax_are_bad_requests() {
        let err = Filter::parse(pods(), None, Some("spec.foo=x")).unwrap_err();
        assert_eq!(err.to_string(), "field label not supported: spec.foo");
        assert!(matches!(
            Filter::parse(pods(), Some("app in (a"), None),
            Err(ApiError::BadRequest(_))
        ));
    }
}
