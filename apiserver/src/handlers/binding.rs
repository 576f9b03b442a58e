//! # `pods/{name}/binding`: the scheduler's one write
//!
//! Scheduling a pod means writing one field, `spec.nodeName`. The scheduler does not update the
//! pod for that; it POSTs a `Binding` to the pod's `binding` subresource:
//!
//! ```json
//! {"apiVersion":"v1","kind":"Binding","metadata":{"name":"web"},"target":{"kind":"Node","name":"n1"}}
//! ```
//!
//! A dedicated subresource lets the server enforce the rule that matters: a pod is bound
//! once. If two schedulers race, the second gets 409 Conflict instead of moving a pod that may
//! already be starting on another node. The node's agent, watching pods bound to it, takes over
//! from there. Like Kubernetes, we also record the `PodScheduled` condition.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::objects::parse_body;
use super::Call;
use crate::error::{status_response, ApiError};
use crate::registry::meta::{is_deleting, meta_str};
use crate::store::{guaranteed_update, Update};

/// POST `pods/{name}/binding`.
pub async fn bind(call: &Call) -> Result<Response, ApiError> {
    let name = call.name()?;
    let body = parse_body(call)?;
    if let Some(body_name) = meta_str(&body, "name") {
        if body_name != name {
            return Err(ApiError::BadRequest(format!(
                "the name of the binding ({body_name}) does not match the name on the URL ({name})"
            )));
        }
    }
    let node = body
        .pointer("/target/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty());
    let Some(node) = node else {
        return Err(ApiError::Invalid {
            kind: "Binding".into(),
            group: String::new(),
            name: name.to_string(),
            errors: vec![kubelab_api::validation::FieldError::required("target.name")],
        });
    };
    let key = call.target.key(name)?;
    let result = guaranteed_update(call.state.store.as_ref(), &key, |current| {
        let pod = current.value();
        if is_deleting(pod) {
            return Err(ApiError::Conflict {
                resource: "pods".into(),
                name: name.to_string(),
                message: format!("Operation cannot be fulfilled on pods/binding \"{name}\": pod {name} is being deleted, cannot be assigned to a host"),
            });
        }
        if let Some(bound) = pod.pointer("/spec/nodeName").and_then(Value::as_str).filter(|n| !n.is_empty()) {
            return Err(ApiError::Conflict {
                resource: "pods".into(),
                name: name.to_string(),
                message: format!("Operation cannot be fulfilled on pods/binding \"{name}\": pod {name} is already assigned to node \"{bound}\""),
            });
        }
        let mut next = pod.clone();
        if let Some(spec) = next.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert("nodeName".into(), json!(node));
        } else if let Some(fields) = next.as_object_mut() {
            fields.insert("spec".into(), json!({"nodeName": node}));
        }
        set_scheduled_condition(&mut next);
        Ok(Update::Write(next))
    })
    .await;
    match result {
        Ok(_) => {
            let mut status = kubelab_api::Status::success();
            status.code = 201;
            Ok(status_response(StatusCode::CREATED, &status))
        }
        Err(ApiError::NotFound { .. }) => Err(call.target.not_found(name)),
        Err(err) => Err(err),
    }
}

/// Sets `status.conditions[type=PodScheduled]` to True.
fn set_scheduled_condition(pod: &mut Value) {
    let Some(fields) = pod.as_object_mut() else { return };
    let status = fields.entry("status").or_insert_with(|| json!({}));
    let Some(status) = status.as_object_mut() else { return };
    let conditions = status.entry("conditions").or_insert_with(|| json!([]));
    let Some(list) = conditions.as_array_mut() else { return };
    list.retain(|c| c.get("type").and_then(Value::as_str) != Some("PodScheduled"));
    list.push(json!({
        "type": "PodScheduled",
        "status": "True",
        "lastTransitionTime": crate::registry::meta::now_plus(0),
    }));
}
