//! # PATCH: changing part of an object
//!
//! A PUT sends a whole object; a PATCH sends only a change, and the server works out the new
//! object from the one it has. The `Content-Type` header says which of four languages the
//! change is written in, and each exists for a reason:
//!
//! | Content-Type | module | who sends it |
//! |---|---|---|
//! | `application/merge-patch+json` | [`merge`] (RFC 7386) | `kubectl label/annotate/scale` |
//! | `application/json-patch+json` | [`json_patch`] (RFC 6902) | `kubectl patch --type=json`, the Python client given a list |
//! | `application/strategic-merge-patch+json` | [`strategic`] | `kubectl apply` (client-side), `kubectl patch`, the Python client given a dict |
//! | `application/apply-patch+yaml` | [`strategic::server_side_apply`] | `kubectl apply --server-side` |
//!
//! Patching here is a pure function: JSON in, JSON out. The HTTP layer reads the live object,
//! calls [`apply_patch`], and then decodes, defaults and validates the result exactly as if it
//! had been PUT, so a patch can never produce an object a PUT could not.
//!
//! Errors carry the HTTP status Kubernetes uses ([`PatchError::code`]): 400 Bad Request when
//! the body is not a well-formed patch of its type, 422 Unprocessable Entity when a well-formed
//! patch cannot be applied to this object (a failed `test`, a missing path, a list element
//! without its merge key), and 413 for JSON patches with too many operations.

pub mod json_patch;
pub mod merge;
pub mod merge_keys;
pub mod strategic;

use std::fmt;

use serde_json::Value;

/// The patch formats of `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    StrategicMerge,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchType {
    /// Recognises a `Content-Type` header value (parameters such as `; charset=utf-8` and case
    /// are ignored). `None` means the server should answer 415 Unsupported Media Type.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match media_type.as_str() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::StrategicMerge),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Some(PatchType::Apply),
            _ => None,
        }
    }

    /// The `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => "application/json-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::StrategicMerge => "application/strategic-merge-patch+json",
            PatchType::Apply => "application/apply-patch+yaml",
        }
    }
}

impl fmt::Display for PatchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PatchType::Json => "JSON",
            PatchType::Merge => "merge",
            PatchType::StrategicMerge => "strategic merge",
            PatchType::Apply => "apply",
        })
    }
}

/// Why a patch could not be applied. [`PatchError::code`] gives the HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The patch cannot be applied to this object, for a reason without a variant of its own
    /// (422).
    #[error("{0}")]
    Invalid(String),
    /// The body is not a patch of its declared type: a merge/strategic/apply patch that is not
    /// a JSON object, a JSON patch that is not a list of valid operations (400).
    #[error("invalid {patch_type} patch: {message}")]
    Malformed { patch_type: PatchType, message: String },
    /// A JSON patch `test` operation found a different value (422).
    #[error("JSON patch operation {index} (test) failed at {path}: the value there is not the expected one")]
    TestFailed { index: usize, path: String },
    /// A JSON patch operation names a path that does not exist (422).
    #[error("JSON patch operation {index} ({op}) failed: the path {path} does not exist")]
    PathNotFound {
        index: usize,
        op: &'static str,
        path: String,
    },
    /// A JSON patch with more operations than the server accepts (413).
    #[error("the JSON patch has {got} operations; at most {max} are allowed")]
    TooManyOperations { max: usize, got: usize },
    /// An element of a list merged by key lacks the key (`spec.containers[1]` without
    /// `name`) (422).
    #[error("{path}: list element does not contain its merge key {key:?}")]
    MissingMergeKey { path: String, key: &'static str },
    /// An element of a list merged by key is not an object (422).
    #[error("{path}: list element must be an object with the merge key {key:?}")]
    ElementNotObject { path: String, key: &'static str },
    /// A strategic merge directive (`$patch`, `$setElementOrder/...`, `$retainKeys`,
    /// `$deleteFromPrimitiveList/...`) is malformed or misplaced (400).
    #[error("{path}: invalid {directive} directive: {message}")]
    BadDirective {
        path: String,
        directive: String,
        message: String,
    },
    /// A patch sets a field that its own `$retainKeys` list drops (422).
    #[error("{path}: the patch sets {field:?}, which is not in its $retainKeys list")]
    RetainKeysMismatch { path: String, field: String },
}

impl PatchError {
    /// The HTTP status code Kubernetes answers this error with.
    pub fn code(&self) -> u16 {
        match self {
            PatchError::Malformed { .. } | PatchError::BadDirective { .. } => 400,
            PatchError::TooManyOperations { .. } => 413,
            PatchError::Invalid(_)
            | PatchError::TestFailed { .. }
            | PatchError::PathNotFound { .. }
            | PatchError::MissingMergeKey { .. }
            | PatchError::ElementNotObject { .. }
            | PatchError::RetainKeysMismatch { .. } => 422,
        }
    }

    /// The `reason` of the `Status` for this error.
    pub fn reason(&self) -> &'static str {
        match self.code() {
            400 => "BadRequest",
            413 => "RequestEntityTooLarge",
            _ => "Invalid",
        }
    }
}

/// Applies `patch` to `original` (an object of `kind`, `Pod`, `Deployment`...) and returns the
/// new object. Nothing is validated here beyond the patch itself; the caller decodes and
/// validates the result.
///
/// `original` may be `null` for a server-side apply that creates the object.
pub fn apply_patch(patch_type: PatchType, kind: &str, original: &Value, patch: &Value) -> Result<Value, PatchError> {
    match patch_type {
        PatchType::Json => json_patch::apply(original, patch),
        PatchType::Merge => {
            if !patch.is_object() {
                // RFC 7386 would let a non-object replace the whole document; an object must
                // stay an object, so refuse it as Kubernetes' decoding would.
                return Err(PatchError::Malformed {
                    patch_type,
                    message: "the patch must be a JSON object".into(),
                });
            }
            let mut doc = original.clone();
            merge::merge_patch(&mut doc, patch);
            Ok(doc)
        }
        PatchType::StrategicMerge => strategic::strategic_merge(kind, original, patch),
        PatchType::Apply => strategic::server_side_apply(kind, original, patch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types() {
        assert_eq!(
            PatchType::from_content_type("application/merge-patch+json"),
            Some(PatchType::Merge)
        );
        assert_eq!(
            PatchType::from_content_type("Application/Strategic-Merge-Patch+JSON; charset=utf-8"),
            Some(PatchType::StrategicMerge)
        );
        assert_eq!(
            PatchType::from_content_type("application/json-patch+json"),
            Some(PatchType::Json)
        );
        assert_eq!(
            PatchType::from_content_type("application/apply-patch+yaml"),
            Some(PatchType::Apply)
        );
        assert_eq!(PatchType::from_content_type("application/json"), None);
        for t in [
            PatchType::Json,
            PatchType::Merge,
            PatchType::StrategicMerge,
            PatchType::Apply,
        ] {
            assert_eq!(PatchType::from_content_type(t.content_type()), Some(t));
        }
    }

    #[test]
    fn dispatch_by_type() {
        let live = json!({"metadata": {"name": "web"}, "spec": {"replicas": 1,
            "template": {"spec": {"containers": [{"name": "a", "image": "a:1", "ports": [{"containerPort": 80}]}]}}}});

        let scale = apply_patch(PatchType::Merge, "Deployment", &live, &json!({"spec": {"replicas": 3}})).unwrap();
        assert_eq!(scale["spec"]["replicas"], 3);

        let smp = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a:2"}]}}}});
        let out = apply_patch(PatchType::StrategicMerge, "Deployment", &live, &smp).unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
            80
        );
        // The same body as a JSON merge patch drops the ports: the reason strategic merge exists.
        let out = apply_patch(PatchType::Merge, "Deployment", &live, &smp).unwrap();
        assert!(out["spec"]["template"]["spec"]["containers"][0].get("ports").is_none());

        let jp = json!([{"op": "replace", "path": "/spec/replicas", "value": 5}]);
        assert_eq!(
            apply_patch(PatchType::Json, "Deployment", &live, &jp).unwrap()["spec"]["replicas"],
            5
        );

        let out = apply_patch(PatchType::Apply, "Deployment", &live, &json!({"spec": {"replicas": 2}})).unwrap();
        assert_eq!(out["spec"]["replicas"], 2);
        assert_eq!(out["metadata"]["name"], "web");
    }

    #[test]
    fn non_object_patches_are_bad_requests() {
        let live = json!({"metadata": {"name": "web"}});
        for t in [PatchType::Merge, PatchType::StrategicMerge, PatchType::Apply] {
            for body in [json!("x"), json!([1]), json!(null)] {
                let err = apply_patch(t, "Pod", &live, &body).unwrap_err();
                assert_eq!((err.code(), err.reason()), (400, "BadRequest"), "{t} {body}");
            }
        }
        let err = apply_patch(PatchType::Json, "Pod", &live, &json!({"op": "add"})).unwrap_err();
        assert_eq!(err.code(), 400);
    }
}
