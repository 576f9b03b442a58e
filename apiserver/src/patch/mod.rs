//! PATCH bodies (being written).
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

/// Why a patch could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error("{0}")]
    Invalid(String),
}

/// Applies `patch` to `original` (an object of `kind`, `Pod`, `Deployment`...).
pub fn apply_patch(_patch_type: PatchType, _kind: &str, _original: &Value, _patch: &Value) -> Result<Value, PatchError> {
    Err(PatchError::Invalid("patching is not built yet".into()))
}
