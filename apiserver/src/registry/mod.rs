//! # The registry: Kubernetes' object semantics on top of a plain key-value store
//!
//! The store only knows keys, JSON values and revisions. Everything that makes an object a
//! Kubernetes object is decided here, in one place for every kind:
//!
//! - **identity**: the server gives each object a `uid` and a `creationTimestamp`, and fills in
//!   `generateName`; clients cannot choose or change them;
//! - **desired vs observed state**: `spec` is what a user wants, `status` is what a controller or
//!   node agent has seen. Kinds with a `status` subresource keep the two apart: a write to the
//!   object never changes `status`, a write to `/status` changes nothing else. A user's
//!   `kubectl apply` therefore cannot clobber what the agent reported, and the agent cannot
//!   clobber the user's spec;
//! - **generation**: bumped when `spec` changes, so a controller can say "I have acted on
//!   generation 4" in `status.observedGeneration`, and `kubectl rollout status` can tell a
//!   finished rollout from one that has not started;
//! - **optimistic concurrency**: every write names the `resourceVersion` it read; if somebody
//!   else wrote in between, the write fails with 409 Conflict and the writer reads again. No
//!   locks are held across requests, so a slow client never blocks a fast one;
//! - **deletion**: finalizers and graceful termination turn a delete into "mark, then remove
//!   later" (see [`delete`]).
//!
//! Handlers parse HTTP; this module never sees a request.

use kubelab_api::codec::FieldValidation;
use kubelab_api::ResourceInfo;

use crate::error::ApiError;

pub mod create;
pub mod delete;
pub mod generate_name;
pub mod keys;
pub mod meta;
pub mod namespace;
pub mod update;

/// A resource, and the namespace a request is about (`None` for cluster-scoped kinds, and for
/// lists across every namespace).
#[derive(Clone, Debug)]
pub struct Target {
    pub info: &'static ResourceInfo,
    pub namespace: Option<String>,
}

impl Target {
    pub fn new(info: &'static ResourceInfo, namespace: Option<String>) -> Self {
        let namespace = if info.namespaced { namespace } else { None };
        Target { info, namespace }
    }

    /// How Kubernetes names the resource in messages: `pods`, `deployments.apps`.
    pub fn qualified(&self) -> String {
        qualified(self.info)
    }

    /// The store key of the object `name`.
    pub fn key(&self, name: &str) -> Result<String, ApiError> {
        keys::object_key(self.info, self.namespace.as_deref(), name)
    }

    /// The key prefix of the collection (one namespace, or all of them).
    pub fn prefix(&self) -> String {
        keys::collection_prefix(self.info, self.namespace.as_deref())
    }

    pub fn not_found(&self, name: &str) -> ApiError {
        ApiError::not_found(self.qualified(), name)
    }
}

/// `pods`, `deployments.apps`.
pub fn qualified(info: &ResourceInfo) -> String {
    if info.group.is_empty() {
        info.plural.to_string()
    } else {
        format!("{}.{}", info.plural, info.group)
    }
}

/// What a write request asked for besides its body.
#[derive(Clone, Copy, Debug, Default)]
pub struct WriteOptions {
    /// `fieldValidation`: what to do with unknown fields.
    pub validation: FieldValidation,
    /// `dryRun=All`: admit, but store nothing.
    pub dry_run: bool,
}

/// The result of a write: the object as stored (or as it would be, for a dry run).
#[derive(Clone, Debug)]
pub struct Written {
    /// The object's JSON, straight from the store when there is one: what the response sends.
    pub raw: bytes::Bytes,
    /// `unknown field ...` warnings from `fieldValidation=Warn`.
    pub warnings: Vec<String>,
}

impl Written {
    pub fn stored(object: crate::store::StoredObject, warnings: Vec<String>) -> Self {
        Written {
            raw: object.raw,
            warnings,
        }
    }

    pub fn unstored(value: serde_json::Value, warnings: Vec<String>) -> Self {
        let raw = bytes::Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
        Written { raw, warnings }
    }

    /// The object as a JSON value, for the few responses that are not the object itself (a
    /// Scale). Parsed on demand: a plain write only sends `raw`.
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_slice(&self.raw).unwrap_or_default()
    }
}
