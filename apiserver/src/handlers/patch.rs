//! # PATCH: change part of an object without sending all of it
//!
//! A PATCH names its format in `Content-Type`, and each format answers a different need:
//!
//! - `application/merge-patch+json` (RFC 7386): a partial object; `null` deletes a field, lists
//!   are replaced whole. What `kubectl label` and `kubectl scale` send.
//! - `application/strategic-merge-patch+json`: like a merge patch, but lists of containers,
//!   ports, env... merge by their key (`name`, `containerPort`), so a patch touching one
//!   container leaves the others alone. What `kubectl apply` sends.
//! - `application/json-patch+json` (RFC 6902): a list of operations (`add`, `replace`, `test`...).
//! - `application/apply-patch+yaml`: server-side apply; the body is the whole manifest, and a
//!   missing object is created (201), an existing one updated (200).
//!
//! The patch is applied to the object as stored *inside* the update's read-decide-write
//! cycle, so two concurrent patches of different fields both land. The result then goes through
//! exactly the same checks as a PUT. A patch to `/status` keeps only the status part; a patch
//! to `/scale` applies to the Scale view of the object.

use axum::http::{header, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::{object_response, Call};
use crate::error::ApiError;
use crate::patch::{apply_patch, PatchError, PatchType};
use crate::registry::meta::set_meta;
use crate::registry::update::{update, Part};
use crate::registry::{create, WriteOptions};

/// The patch format named by a Content-Type; anything else is 415.
pub fn patch_type(call: &Call) -> Result<PatchType, ApiError> {
    let content_type = call
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    PatchType::from_content_type(content_type).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!(
            "the body of the request was in an unknown format ({content_type:?}) - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json"
        ))
    })
}

/// Reads a patch body: a list for JSON patch, an object otherwise (JSON or YAML).
pub fn patch_body(call: &Call, patch_type: PatchType) -> Result<Value, ApiError> {
    let parsed = match patch_type {
        PatchType::Json => kubelab_api::codec::parse_body(&call.body),
        _ => kubelab_api::codec::parse_object_body(&call.body),
    };
    parsed.map_err(|e| ApiError::BadRequest(format!("error decoding the patch body: {e}")))
}

/// Maps a patch failure to its Status (400 for malformed patches, 422 for ones that do not apply).
pub fn patch_error(err: PatchError) -> ApiError {
    match err.code() {
        400 => ApiError::BadRequest(err.to_string()),
        413 => ApiError::RequestEntityTooLarge(err.to_string()),
        _ => ApiError::Unprocessable(err.to_string()),
    }
}

/// PATCH an object, its `/status` or its `/scale`.
pub async fn patch(call: &Call) -> Result<Response, ApiError> {
    let patch_type = patch_type(call)?;
    let options = call.write_options()?;
    let name = call.name()?;
    let body = patch_body(call, patch_type)?;
    if call.request.subresource.as_deref() == Some("scale") {
        return super::scale::patch(call, patch_type, &body, options).await;
    }
    let part = if call.request.subresource.as_deref() == Some("status") {
        Part::Status
    } else {
        Part::Main
    };
    let kind = call.target.info.kind;
    let result = update(&call.state, &call.target, name, part, options, |current| {
        apply_patch(patch_type, kind, current, &body).map_err(patch_error)
    })
    .await;
    match result {
        Ok(updated) => Ok(object_response(
            StatusCode::OK,
            updated.written.raw,
            &updated.written.warnings,
        )),
        Err(ApiError::NotFound { .. }) if patch_type == PatchType::Apply && part == Part::Main => {
            apply_create(call, name, &body, options).await
        }
        Err(err) => Err(err),
    }
}

/// Server-side apply of an object that does not exist yet: create it.
async fn apply_create(call: &Call, name: &str, body: &Value, options: WriteOptions) -> Result<Response, ApiError> {
    let mut object = apply_patch(PatchType::Apply, call.target.info.kind, &Value::Null, body).map_err(patch_error)?;
    match object.pointer("/metadata/name").and_then(Value::as_str) {
        Some(body_name) if body_name != name => {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )))
        }
        _ => set_meta(&mut object, "name", Some(json!(name))),
    }
    let written = create::create(&call.state, &call.target, object, options).await?;
    Ok(object_response(StatusCode::CREATED, written.raw, &written.warnings))
}
