//! # Creating an object
//!
//! A create is where the server takes ownership of an object's identity: it checks the
//! namespace, finishes `generateName`, runs admission (decode strictly, default, validate), and
//! then stamps what only it may set: `uid`, `creationTimestamp`, `generation: 1`. The client's
//! `resourceVersion` must be empty, because the store chooses it: it is the revision of the
//! write itself.

use serde_json::{json, Value};

use super::meta::{meta_str, set_meta, set_top};
use super::{generate_name, namespace, Target, WriteOptions, Written};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::StoreError;

/// How many fresh names to try before giving up on a `generateName` collision.
const GENERATE_ATTEMPTS: usize = 5;

/// Creates `body` in `target`. The namespace comes from the URL.
pub async fn create(
    state: &AppState,
    target: &Target,
    body: Value,
    options: WriteOptions,
) -> Result<Written, ApiError> {
    let info = target.info;
    let mut object = body;
    if !object.is_object() {
        return Err(ApiError::BadRequest("the body must be an object".into()));
    }
    if info.namespaced {
        let Some(ns) = target.namespace.as_deref() else {
            return Err(ApiError::MethodNotAllowed(format!(
                "{} can only be created in a namespace: POST to .../namespaces/{{namespace}}/{}",
                info.plural, info.plural
            )));
        };
        match meta_str(&object, "namespace") {
            Some(body_ns) if body_ns != ns => {
                return Err(ApiError::BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request".into(),
                ))
            }
            _ => set_meta(&mut object, "namespace", Some(json!(ns))),
        }
    } else {
        set_meta(&mut object, "namespace", None);
    }
    if meta_str(&object, "resourceVersion").is_some() {
        return Err(ApiError::BadRequest(
            "resourceVersion should not be set on objects to be created".into(),
        ));
    }
    // A name that is there but not a string is left for admission to refuse as a type error.
    let name_given = object
        .pointer("/metadata/name")
        .is_some_and(|n| !matches!(n, Value::String(s) if s.is_empty()));
    let generate = (!name_given).then(|| meta_str(&object, "generateName").map(str::to_string));
    let generate = match generate {
        Some(None) => {
            return Err(ApiError::Invalid {
                kind: info.kind.into(),
                group: info.group.into(),
                name: String::new(),
                errors: vec![kubelab_api::validation::FieldError {
                    kind: kubelab_api::validation::FieldErrorKind::Required,
                    field: "metadata.name".into(),
                    value: None,
                    detail: "name or generateName is required".into(),
                }],
            })
        }
        Some(Some(prefix)) => Some(prefix),
        None => None,
    };
    if let Some(ns) = target.namespace.as_deref() {
        namespace::check_accepts_new_objects(state, ns).await?;
    }
    let attempts = if generate.is_some() { GENERATE_ATTEMPTS } else { 1 };
    let mut last_err = None;
    for _ in 0..attempts {
        if let Some(prefix) = &generate {
            set_meta(&mut object, "name", Some(json!(generate_name::generate(prefix))));
        }
        let (prepared, warnings) = prepare(target, object.clone(), options)?;
        // Services: ClusterIP and NodePorts, under a lock held until the write is done.
        let (prepared, _allocation) = crate::allocator::on_create(state, info, prepared).await?;
        let name = meta_str(&prepared, "name").unwrap_or_default().to_string();
        let key = target.key(&name)?;
        if options.dry_run {
            return Ok(Written::unstored(prepared, warnings));
        }
        match state.store.create(&key, prepared).await {
            Ok(stored) => return Ok(Written::stored(stored, warnings)),
            Err(StoreError::AlreadyExists(_)) if generate.is_some() => {
                last_err = Some(ApiError::AlreadyExists {
                    resource: target.qualified(),
                    name,
                });
            }
            Err(err) => return Err(ApiError::from_store(err, &target.qualified(), &name)),
        }
    }
    Err(last_err.unwrap_or_else(|| ApiError::Internal("could not generate a free name".into())))
}

/// Admits the body and stamps the server-owned metadata.
fn prepare(target: &Target, object: Value, options: WriteOptions) -> Result<(Value, Vec<String>), ApiError> {
    let info = target.info;
    let admitted = (info.admit)(&object, None, options.validation).map_err(|e| ApiError::from_admit(e, info.group))?;
    let mut object = admitted.object;
    set_meta(&mut object, "uid", Some(json!(uuid::Uuid::new_v4().to_string())));
    set_meta(&mut object, "creationTimestamp", Some(super::meta::now_plus(0)));
    set_meta(&mut object, "deletionTimestamp", None);
    set_meta(&mut object, "deletionGracePeriodSeconds", None);
    set_meta(&mut object, "resourceVersion", None);
    if object.get("spec").is_some() {
        set_meta(&mut object, "generation", Some(json!(1)));
    } else {
        set_meta(&mut object, "generation", None);
    }
    if info.kind == "Namespace" && object.pointer("/status/phase").is_none() {
        set_top(&mut object, "status", Some(json!({"phase": "Active"})));
    }
    Ok((object, admitted.warnings))
}
