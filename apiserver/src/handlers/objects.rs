//! # GET, POST, PUT and DELETE of one object (and of `/status`)
//!
//! Thin: parse the body, call the registry, answer with the object. A create answers 201, the
//! rest 200, always with the object as stored (with its new `resourceVersion`), so a client never
//! needs a second request to learn what it wrote.

use axum::http::StatusCode;
use axum::response::Response;
use kubelab_api::codec::parse_object_body;

use super::{object_response, Call};
use crate::error::ApiError;
use crate::filter::Filter;
use crate::registry::delete::DeleteOptions;
use crate::registry::update::Part;
use crate::registry::{create, delete as registry_delete, update as registry_update};

/// GET one object (also `GET .../status`, which Kubernetes answers with the whole object).
pub async fn get(call: &Call) -> Result<Response, ApiError> {
    let name = call.name()?;
    let key = call.target.key(name)?;
    let stored = call
        .state
        .store
        .get(&key)
        .await
        .map_err(|e| ApiError::from_store(e, &call.target.qualified(), name))?
        .ok_or_else(|| call.target.not_found(name))?;
    if let Some(table) = crate::table::negotiate(&call.headers, &call.query)? {
        return Ok(table.response(&table.one(call.target.info, stored.value(), chrono::Utc::now())));
    }
    Ok(object_response(StatusCode::OK, stored.raw, &[]))
}

/// Parses a body as a JSON or YAML object; anything else is 400.
pub fn parse_body(call: &Call) -> Result<serde_json::Value, ApiError> {
    parse_object_body(&call.body).map_err(|e| ApiError::BadRequest(format!("error decoding the request body: {e}")))
}

/// POST to a collection.
pub async fn create(call: &Call) -> Result<Response, ApiError> {
    let options = call.write_options()?;
    let body = parse_body(call)?;
    let written = create::create(&call.state, &call.target, body, options).await?;
    Ok(object_response(StatusCode::CREATED, written.raw, &written.warnings))
}

/// PUT an object or its `/status`.
pub async fn update(call: &Call) -> Result<Response, ApiError> {
    let options = call.write_options()?;
    let name = call.name()?;
    let body = parse_body(call)?;
    let part = if call.request.subresource.as_deref() == Some("status") {
        Part::Status
    } else {
        Part::Main
    };
    let updated = registry_update::update(&call.state, &call.target, name, part, options, |_current| {
        Ok(body.clone())
    })
    .await?;
    Ok(object_response(
        StatusCode::OK,
        updated.written.raw,
        &updated.written.warnings,
    ))
}

/// DELETE one object.
pub async fn delete(call: &Call) -> Result<Response, ApiError> {
    let name = call.name()?;
    let options = DeleteOptions::parse(&call.body, &call.query)?;
    let deleted = registry_delete::delete(&call.state, &call.target, name, &options).await?;
    Ok(object_response(StatusCode::OK, deleted.written.raw, &[]))
}

/// DELETE on a collection: deletes every object the selectors match, one by one (each with the
/// normal delete semantics), and answers with the list of what was deleted.
pub async fn delete_collection(call: &Call) -> Result<Response, ApiError> {
    let options = DeleteOptions::parse(&call.body, &call.query)?;
    let filter = Filter::parse(
        call.target.info,
        call.query.get("labelSelector"),
        call.query.get("fieldSelector"),
    )?;
    let listed = call
        .state
        .store
        .list(&call.target.prefix())
        .await
        .map_err(|e| ApiError::from_store(e, &call.target.qualified(), ""))?;
    let mut deleted = Vec::new();
    for item in listed.items.iter().filter(|i| filter.matches_stored(i)) {
        let Some(name) = crate::registry::meta::meta_str(item.value(), "name") else {
            continue;
        };
        match registry_delete::delete(&call.state, &call.target, name, &options).await {
            Ok(d) => deleted.push(d.written.raw),
            Err(ApiError::NotFound { .. }) => {}
            Err(err) => return Err(err),
        }
    }
    let revision = call.state.store.current_revision();
    Ok(object_response(
        StatusCode::OK,
        super::list::list_body(call.target.info, revision, None, &deleted),
        &[],
    ))
}
