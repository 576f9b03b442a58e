//! Placeholder types (being replaced by the full definitions).
use serde::{Deserialize, Serialize};
use crate::meta::ObjectMeta; use crate::object::Object; use crate::object_identity;
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    #[serde(default, skip_serializing_if = "Option::is_none")] pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub kind: Option<String>,
    #[serde(default)] pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub spec: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub status: Option<serde_json::Value>,
}
impl Object for Namespace { object_identity!("", "v1", "Namespace", "namespaces", cluster); }
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    #[serde(default, skip_serializing_if = "Option::is_none")] pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub kind: Option<String>,
    #[serde(default)] pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub spec: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub status: Option<serde_json::Value>,
}
impl Object for Node { object_identity!("", "v1", "Node", "nodes", cluster); }
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    #[serde(default, skip_serializing_if = "Option::is_none")] pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub kind: Option<String>,
    #[serde(default)] pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub spec: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub status: Option<serde_json::Value>,
}
impl Object for Pod { object_identity!("", "v1", "Pod", "pods", namespaced); }
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    #[serde(default, skip_serializing_if = "Option::is_none")] pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub kind: Option<String>,
    #[serde(default)] pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub spec: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub status: Option<serde_json::Value>,
}
impl Object for Service { object_identity!("", "v1", "Service", "services", namespaced); }
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    #[serde(default, skip_serializing_if = "Option::is_none")] pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub kind: Option<String>,
    #[serde(default)] pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub spec: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub status: Option<serde_json::Value>,
}
impl Object for Endpoints { object_identity!("", "v1", "Endpoints", "endpoints", namespaced); }
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMap {
    #[serde(default, skip_serializing_if = "Option::is_none")] pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub kind: Option<String>,
    #[serde(default)] pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub spec: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub status: Option<serde_json::Value>,
}
impl Object for ConfigMap { object_identity!("", "v1", "ConfigMap", "configmaps", namespaced); }
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    #[serde(default, skip_serializing_if = "Option::is_none")] pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub kind: Option<String>,
    #[serde(default)] pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub spec: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub status: Option<serde_json::Value>,
}
impl Object for Secret { object_identity!("", "v1", "Secret", "secrets", namespaced); }
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")] pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub kind: Option<String>,
    #[serde(default)] pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub spec: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub status: Option<serde_json::Value>,
}
impl Object for Event { object_identity!("", "v1", "Event", "events", namespaced); }
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeClaim {
    #[serde(default, skip_serializing_if = "Option::is_none")] pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub kind: Option<String>,
    #[serde(default)] pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub spec: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub status: Option<serde_json::Value>,
}
impl Object for PersistentVolumeClaim { object_identity!("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", namespaced); }
