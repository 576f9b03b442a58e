//! Event: a note that something happened to an object ("Scheduled pod web-1 to node-2",
//! "Back-off restarting failed container").
//!
//! Components write events as they act; `kubectl describe` shows the ones whose `involvedObject`
//! is the object described. Repeats of the same event bump `count` and `lastTimestamp` instead of
//! adding new objects. Unlike other kinds, an Event's fields sit at the top level, with no `spec`.

use serde::{Deserialize, Serialize};

use crate::core::reference::ObjectReference;
use crate::meta::{ObjectMeta, Time};
use crate::microtime::MicroTime;
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{validate_object_meta, validate_object_meta_update, FieldError};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The object this event is about. Required by Kubernetes' schema, so always written.
    #[serde(default)]
    pub involved_object: ObjectReference,
    /// A short CamelCase word: `Scheduled`, `Pulled`, `BackOff`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<EventSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_timestamp: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_timestamp: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// `Normal` or `Warning`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<MicroTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<EventSeries>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<ObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_instance: Option<String>,
}

/// Who reported the event: `{component: "kubelet", host: "node-1"}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct EventSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct EventSeries {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_observed_time: Option<MicroTime>,
}

impl Object for Event {
    object_identity!("", "v1", "Event", "events", namespaced);

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, names::dns1123_subdomain);
        let involved = &self.involved_object;
        if involved.kind.as_deref().is_none_or(str::is_empty) && involved.name.as_deref().is_none_or(str::is_empty) {
            errs.push(FieldError::required("involvedObject"));
        }
        // An event lives in the namespace of the object it is about.
        let event_ns = self.metadata.namespace();
        if let Some(ns) = involved.namespace.as_deref().filter(|ns| !ns.is_empty()) {
            if !event_ns.is_empty() && ns != event_ns {
                errs.push(FieldError::invalid(
                    "involvedObject.namespace",
                    ns,
                    "does not match event.namespace",
                ));
            }
        }
        if let Some(kind) = self.type_.as_deref().filter(|t| !t.is_empty()) {
            errs.extend(crate::validation::validate_enum("type", kind, &["Normal", "Warning"]));
        }
        if let Some(count) = self.count {
            errs.extend(crate::validation::validate_nonnegative("count", count.into()));
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        errs
    }
}
