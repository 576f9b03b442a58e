//! # Updating an object: PUT, PATCH, `/status` and `/scale` all end here
//!
//! Every kind of write computes a *candidate* from the object as stored now (PUT ignores it and
//! sends a whole new object; a PATCH applies itself to it; `/scale` changes one field), and then
//! [`decide`] turns the candidate into what is written, with the same rules for all of them:
//!
//! 1. **Preconditions.** If the candidate carries a `resourceVersion`, it must be the stored
//!    one: that is optimistic concurrency. Two controllers that read revision 7 and both write
//!    cannot both win; the second gets 409 Conflict, reads revision 8 and tries again. A
//!    candidate without `resourceVersion` is an unconditional write (last writer wins).
//! 2. **Server-owned fields** (`uid`, `creationTimestamp`, `deletionTimestamp`, `generation`) are
//!    copied from the stored object; clients cannot change them.
//! 3. **spec and status apart.** For kinds with a `status` subresource, a write to the object
//!    keeps the stored `status`, and a write to `/status` keeps everything but `status`.
//! 4. **Admission** with the stored object as `old`, so validation can refuse changes to
//!    immutable fields.
//! 5. **generation** goes up by one when `spec` changed.
//! 6. **Finalizers.** An object being deleted whose last finalizer was just removed is deleted.
//! 7. **No-ops** are not written: no new revision, no watch event.
//!
//! The read-decide-write cycle runs in [`guaranteed_update`]: when the write loses a race
//! with another writer it reads again and decides again, so an unconditional update never fails
//! with Conflict, and a conditional one fails exactly when its precondition no longer holds.

use serde_json::{json, Value};

use super::meta::{copy_meta, deletion_grace, finalizers, generation, is_deleting, meta_str, set_meta, set_top};
use super::{Target, WriteOptions, Written};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{guaranteed_update, StoredObject, Update};

/// Which part of the object a write may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The object (`spec`, `metadata`...); `status` is kept if the kind has a status subresource.
    Main,
    /// `/status`: only `status` changes.
    Status,
}

/// What happened to the object.
#[derive(Debug)]
pub struct Updated {
    pub written: Written,
    /// The update removed the object (it was being deleted and lost its last finalizer).
    pub removed: bool,
}

/// Updates object `name`: `candidate` computes the new object from the stored one.
pub async fn update<F>(
    state: &AppState,
    target: &Target,
    name: &str,
    part: Part,
    options: WriteOptions,
    mut candidate: F,
) -> Result<Updated, ApiError>
where
    F: FnMut(&Value) -> Result<Value, ApiError> + Send,
{
    let key = target.key(name)?;
    let mut warnings = Vec::new();
    let mut removed = false;
    // Services: keep or allocate ClusterIP and NodePorts, under a lock held until the write.
    let services = crate::allocator::UpdateHook::start(state, target.info, &key, part).await?;
    if options.dry_run {
        let current = state.store.get(&key).await.map_err(|e| store_err(target, name, e))?;
        let current = current.ok_or_else(|| target.not_found(name))?;
        let proposed = services.prepare(current.value(), candidate(current.value())?);
        let (decision, w) = decide(target, name, part, &current, proposed, options)?;
        let decision = services.allocate(current.value(), decision)?;
        let written = match decision {
            Update::Write(value) => Written::unstored(value, w),
            Update::Keep | Update::Delete => Written::stored(current, w),
        };
        return Ok(Updated {
            written,
            removed: false,
        });
    }
    let result = guaranteed_update(state.store.as_ref(), &key, |current: &StoredObject| {
        let proposed = services.prepare(current.value(), candidate(current.value())?);
        let (decision, w) = decide(target, name, part, current, proposed, options)?;
        let decision = services.allocate(current.value(), decision)?;
        warnings = w;
        removed = matches!(decision, Update::Delete);
        Ok::<_, ApiError>(decision)
    })
    .await;
    match result {
        Ok(stored) => Ok(Updated {
            written: Written::stored(stored, warnings),
            removed,
        }),
        // guaranteed_update reports a missing key as a store NotFound, mapped without context.
        Err(ApiError::NotFound { .. }) => Err(target.not_found(name)),
        Err(ApiError::Conflict { resource, .. }) if resource.is_empty() => {
            Err(ApiError::stale(&target.qualified(), name))
        }
        Err(err) => Err(err),
    }
}

fn store_err(target: &Target, name: &str, err: crate::store::StoreError) -> ApiError {
    ApiError::from_store(err, &target.qualified(), name)
}

/// Turns a candidate into the object to write (see the module docs for the rules).
pub fn decide(
    target: &Target,
    name: &str,
    part: Part,
    current: &StoredObject,
    candidate: Value,
    options: WriteOptions,
) -> Result<(Update, Vec<String>), ApiError> {
    let info = target.info;
    let stored = current.value();
    if !candidate.is_object() {
        return Err(ApiError::BadRequest("the body must be an object".into()));
    }
    if let Some(body_name) = meta_str(&candidate, "name") {
        if body_name != name {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
    }
    if let (Some(ns), Some(body_ns)) = (target.namespace.as_deref(), meta_str(&candidate, "namespace")) {
        if body_ns != ns {
            return Err(ApiError::BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request".into(),
            ));
        }
    }
    if let Some(rv) = meta_str(&candidate, "resourceVersion") {
        if rv != current.revision.to_string() {
            return Err(ApiError::stale(&target.qualified(), name));
        }
    }
    if let (Some(uid), Some(stored_uid)) = (meta_str(&candidate, "uid"), meta_str(stored, "uid")) {
        if uid != stored_uid {
            return Err(ApiError::Conflict {
                resource: target.qualified(),
                name: name.to_string(),
                message: format!(
                    "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {stored_uid}",
                    target.qualified()
                ),
            });
        }
    }
    let mut next = match part {
        Part::Main => {
            let mut next = candidate;
            if info.has_status() {
                set_top(&mut next, "status", stored.get("status").cloned());
            }
            next
        }
        Part::Status => {
            let mut next = stored.clone();
            set_top(&mut next, "status", candidate.get("status").cloned());
            next
        }
    };
    set_meta(&mut next, "name", Some(json!(name)));
    for field in [
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ] {
        copy_meta(stored, &mut next, field);
    }
    set_meta(&mut next, "resourceVersion", None);
    let admitted =
        (info.admit)(&next, Some(stored), options.validation).map_err(|e| ApiError::from_admit(e, info.group))?;
    let mut next = admitted.object;
    if next.get("spec").is_some() && next.get("spec") != stored.get("spec") {
        set_meta(&mut next, "generation", Some(json!(generation(stored) + 1)));
    }
    // A terminating namespace is removed by its sweep once empty, never by an update.
    if info.kind != "Namespace" && is_deleting(&next) && finalizers(&next).is_empty() && deletion_grace(&next) == 0 {
        return Ok((Update::Delete, admitted.warnings));
    }
    set_meta(&mut next, "resourceVersion", Some(json!(current.revision.to_string())));
    if &next == stored {
        return Ok((Update::Keep, admitted.warnings));
    }
    Ok((Update::Write(next), admitted.warnings))
}
