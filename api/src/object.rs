//! What every top-level object has in common.
//!
//! Kubernetes objects all carry `apiVersion`, `kind` and `metadata`; most add a `spec` (what the
//! user wants) and a `status` (what a controller or node agent observed). The [`Object`] trait
//! names the first three and gives each kind a place for its defaults and validation, so generic
//! code (the API server's registry, the typed client, informers) can handle any kind.

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::meta::{ListMeta, ObjectMeta};
use crate::validation::FieldError;

/// A top-level Kubernetes object (Pod, Deployment, ...).
pub trait Object: Serialize + DeserializeOwned + Clone + Default + Send + Sync + 'static {
    /// API group, empty for the core group (`""` for Pod, `"apps"` for Deployment).
    const GROUP: &'static str;
    /// API version within the group (`"v1"`).
    const VERSION: &'static str;
    /// `apiVersion` as written in manifests: `"v1"` or `"apps/v1"`.
    const API_VERSION: &'static str;
    /// `kind`, as written in manifests: `"Pod"`.
    const KIND: &'static str;
    /// The lower-case plural used in URLs: `"pods"`.
    const PLURAL: &'static str;
    /// Whether objects of this kind live in a namespace.
    const NAMESPACED: bool;

    fn metadata(&self) -> &ObjectMeta;
    fn metadata_mut(&mut self) -> &mut ObjectMeta;

    /// Fills in the fields Kubernetes fills in when they are left out (protocol TCP,
    /// restartPolicy Always, ...). Called on create and on every update, like the defaulting
    /// that kube-apiserver runs when it decodes a request.
    fn set_defaults(&mut self) {}

    /// Checks the object on its own: names, required fields, ranges. Returns one error per bad
    /// field, with the field's path.
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }

    /// Checks an update against the object it replaces (immutable fields, for example).
    /// The default is the same as [`Object::validate`].
    fn validate_update(&self, _old: &Self) -> Vec<FieldError> {
        self.validate()
    }
}

/// A list of objects, as `GET /api/v1/namespaces/default/pods` returns it.
/// `items` is always present (an empty list is `[]`, never `null`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct List<T> {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ListMeta,
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
}

/// Writes the constant part of an [`Object`] impl: the identity constants and the `metadata`
/// accessors (the struct must have a `metadata: ObjectMeta` field).
///
/// ```ignore
/// impl Object for Pod {
///     object_identity!("", "v1", "Pod", "pods", namespaced);
///     fn set_defaults(&mut self) { ... }
/// }
/// ```
#[macro_export]
macro_rules! object_identity {
    ($group:literal, $version:literal, $kind:literal, $plural:literal, namespaced) => {
        $crate::object_identity!(@ $group, $version, $kind, $plural, true);
    };
    ($group:literal, $version:literal, $kind:literal, $plural:literal, cluster) => {
        $crate::object_identity!(@ $group, $version, $kind, $plural, false);
    };
    (@ $group:literal, $version:literal, $kind:literal, $plural:literal, $namespaced:literal) => {
        const GROUP: &'static str = $group;
        const VERSION: &'static str = $version;
        const API_VERSION: &'static str =
            if $group.is_empty() { $version } else { concat!($group, "/", $version) };
        const KIND: &'static str = $kind;
        const PLURAL: &'static str = $plural;
        const NAMESPACED: bool = $namespaced;
        fn metadata(&self) -> &$crate::meta::ObjectMeta {
            &self.metadata
        }
        fn metadata_mut(&mut self) -> &mut $crate::meta::ObjectMeta {
            &mut self.metadata
        }
    };
}
