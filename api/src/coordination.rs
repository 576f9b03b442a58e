//! Placeholder types (being replaced by the full definitions).
use serde::{Deserialize, Serialize};
use crate::meta::ObjectMeta; use crate::object::Object; use crate::object_identity;
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    #[serde(default, skip_serializing_if = "Option::is_none")] pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub kind: Option<String>,
    #[serde(default)] pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub spec: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")] pub status: Option<serde_json::Value>,
}
impl Object for Lease { object_identity!("coordination.k8s.io", "v1", "Lease", "leases", namespaced); }
