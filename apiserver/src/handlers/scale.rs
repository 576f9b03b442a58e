//! # `/scale`: one shape for "how many replicas" across kinds
//!
//! Deployments, ReplicaSets and StatefulSets keep their replica count in different objects,
//! but anything that only wants to scale (`kubectl scale`, an autoscaler) should not need to
//! know each kind. The `scale` subresource shows every one of them as the same small
//! `autoscaling/v1` `Scale`:
//!
//! ```json
//! {"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"web",...},
//!  "spec":{"replicas":3},"status":{"replicas":2,"selector":"app=web"}}
//! ```
//!
//! Writing it changes only `spec.replicas` of the real object (which bumps its generation,
//! like any spec change), through the same update path as a PUT.

use axum::http::StatusCode;
use axum::response::Response;
use kubelab_api::selector::Selector;
use kubelab_api::LabelSelector;
use serde_json::{json, Map, Value};

use super::objects::parse_body;
use super::patch::patch_error;
use super::{object_response, Call};
use crate::error::ApiError;
use crate::patch::{apply_patch, PatchType};
use crate::registry::meta::{meta_str, set_meta};
use crate::registry::update::{update as registry_update, Part};
use crate::registry::WriteOptions;

/// The Scale view of an object.
pub fn scale_of(object: &Value) -> Value {
    let mut metadata = Map::new();
    for field in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(v) = object.pointer(&format!("/metadata/{field}")) {
            metadata.insert(field.to_string(), v.clone());
        }
    }
    let replicas = object.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let observed = object.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0);
    let selector = object
        .pointer("/spec/selector")
        .and_then(|s| serde_json::from_value::<LabelSelector>(s.clone()).ok())
        .and_then(|s| Selector::from_label_selector(&s).ok())
        .map(|s| s.to_string())
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": replicas},
        "status": {"replicas": observed, "selector": selector},
    })
}

/// GET `.../scale`.
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
    respond(stored.value())
}

/// PUT `.../scale` with a Scale body.
pub async fn update(call: &Call) -> Result<Response, ApiError> {
    let options = call.write_options()?;
    let name = call.name()?;
    let scale = parse_body(call)?;
    write(call, name, options, |_current| Ok(scale.clone())).await
}

/// PATCH `.../scale`: the patch applies to the Scale view.
pub async fn patch(
    call: &Call,
    patch_type: PatchType,
    body: &Value,
    options: WriteOptions,
) -> Result<Response, ApiError> {
    let name = call.name()?;
    write(call, name, options, |current| {
        apply_patch(patch_type, "Scale", &scale_of(current), body).map_err(patch_error)
    })
    .await
}

/// Writes `spec.replicas` from the Scale that `scale` computes from the stored object.
async fn write<F>(call: &Call, name: &str, options: WriteOptions, mut scale: F) -> Result<Response, ApiError>
where
    F: FnMut(&Value) -> Result<Value, ApiError> + Send,
{
    let updated = registry_update(&call.state, &call.target, name, Part::Main, options, |current| {
        let scale = scale(current)?;
        let replicas = replicas_of(&scale, name)?;
        if let Some(scale_name) = meta_str(&scale, "name") {
            if scale_name != name {
                return Err(ApiError::BadRequest(format!(
                    "the name of the object ({scale_name}) does not match the name on the URL ({name})"
                )));
            }
        }
        let mut next = current.clone();
        match next.get_mut("spec").and_then(Value::as_object_mut) {
            Some(spec) => {
                spec.insert("replicas".into(), json!(replicas));
            }
            None => crate::registry::meta::set_top(&mut next, "spec", Some(json!({"replicas": replicas}))),
        }
        // The Scale's resourceVersion, if any, is the precondition; none means unconditional.
        set_meta(
            &mut next,
            "resourceVersion",
            meta_str(&scale, "resourceVersion").map(|rv| json!(rv)),
        );
        set_meta(&mut next, "uid", meta_str(&scale, "uid").map(|uid| json!(uid)));
        Ok(next)
    })
    .await?;
    respond(&updated.written.value())
}

/// `spec.replicas` of a Scale: a non-negative integer.
fn replicas_of(scale: &Value, name: &str) -> Result<i64, ApiError> {
    let invalid = |detail: &str| ApiError::Invalid {
        kind: "Scale".into(),
        group: "autoscaling".into(),
        name: name.to_string(),
        errors: vec![kubelab_api::validation::FieldError::invalid(
            "spec.replicas",
            scale
                .pointer("/spec/replicas")
                .cloned()
                .unwrap_or(Value::Null)
                .to_string(),
            detail,
        )],
    };
    match scale.pointer("/spec/replicas") {
        Some(v) => match v.as_i64() {
            Some(n) if (0..=i32::MAX as i64).contains(&n) => Ok(n),
            Some(_) => Err(invalid("must be greater than or equal to 0")),
            None => Err(ApiError::BadRequest(format!(
                "Scale.spec.replicas: expected an integer, got {v}"
            ))),
        },
        None => Ok(0),
    }
}

fn respond(object: &Value) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(&scale_of(object)).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(object_response(StatusCode::OK, body, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_view_carries_replicas_and_selector_string() {
        let deploy = json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "u", "resourceVersion": "5", "labels": {"x": "y"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
            "status": {"replicas": 2},
        });
        let scale = scale_of(&deploy);
        assert_eq!(scale["spec"]["replicas"], 3);
        assert_eq!(scale["status"], json!({"replicas": 2, "selector": "app=web"}));
        assert_eq!(scale["metadata"]["resourceVersion"], "5");
        assert!(scale["metadata"].get("labels").is_none());
    }
}
