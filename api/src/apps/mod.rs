//! Placeholder types (being replaced by the full definitions).
use serde::{Deserialize, Serialize};
use crate::meta::ObjectMeta; use crate::object::Object; use crate::object_identity;
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    #[serde(default, skip_serializing_if = "Option::is_none")] pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub kind: Option<String>,
    #[serde(default)] pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub spec: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub status: Option<serde_json::Value>,
}
impl Object for Deployment { object_identity!("apps", "v1", "Deployment", "deployments", namespaced); }
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSet {
    #[serde(default, skip_serializing_if = "Option::is_none")] pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub kind: Option<String>,
    #[serde(default)] pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub spec: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub status: Option<serde_json::Value>,
}
impl Object for ReplicaSet { object_identity!("apps", "v1", "ReplicaSet", "replicasets", namespaced); }
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatefulSet {
    #[serde(default, skip_serializing_if = "Option::is_none")] pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub kind: Option<String>,
    #[serde(default)] pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub spec: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub status: Option<serde_json::Value>,
}
impl Object for StatefulSet { object_identity!("apps", "v1", "StatefulSet", "statefulsets", namespaced); }
