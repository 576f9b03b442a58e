//! References from one object to another, and the Binding that assigns a Pod to a Node.
//!
//! An Event points at the object it is about with an [`ObjectReference`]; a Pod names the
//! ConfigMap it reads with a [`LocalObjectReference`] (same namespace, so only a name). A
//! [`Binding`] is what the scheduler posts to `pods/{name}/binding`: "this pod goes to that
//! node". It is never stored; the API server turns it into the pod's `spec.nodeName`.

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;

/// A full reference to another object, possibly in another namespace.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectReference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// A path inside the object, e.g. `spec.containers{web}` for one container of a pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_path: Option<String>,
}

/// A reference to an object in the same namespace, by name only.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct LocalObjectReference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A reference to an object of any kind in the same namespace (a PVC's `dataSource`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct TypedLocalObjectReference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    pub kind: String,
    pub name: String,
}

/// Like [`TypedLocalObjectReference`], but may name another namespace (a PVC's `dataSourceRef`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct TypedObjectReference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `POST /api/v1/namespaces/{ns}/pods/{name}/binding`: binds a pod to a node.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The node: `{"kind": "Node", "name": "node-1"}`.
    #[serde(default)]
    pub target: ObjectReference,
}

impl Binding {
    /// A binding of pod `namespace/name` to `node`, as the scheduler sends it.
    pub fn new(namespace: &str, name: &str, node: &str) -> Self {
        Binding {
            api_version: Some("v1".into()),
            kind: Some("Binding".into()),
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                ..Default::default()
            },
            target: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Node".into()),
                name: Some(node.into()),
                ..Default::default()
            },
        }
    }
}
