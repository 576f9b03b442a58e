//! # Deleting an object: remove now, or mark and remove later
//!
//! A DELETE does not always remove the object at once. Kubernetes has two reasons to wait, and
//! both work by *marking* the object with `metadata.deletionTimestamp` and keeping it:
//!
//! - **Finalizers** (`metadata.finalizers`) are promises some controller made to clean up
//!   first (release a volume, delete dependents). The object stays, marked, until every
//!   finalizer has been removed by an update; the update that removes the last one removes the
//!   object (see [`super::update`]). `propagationPolicy=Foreground` and `Orphan` work by adding
//!   the `foregroundDeletion` and `orphan` finalizers, which the garbage collector honours.
//! - **Graceful termination** of a pod that runs on a node: the node's agent must stop the
//!   containers first (SIGTERM, then SIGKILL after the grace period). So the pod is marked with
//!   `deletionTimestamp = now + grace` and `deletionGracePeriodSeconds`, the agent sees the
//!   change through its watch, stops the containers, and finishes with a DELETE whose
//!   `gracePeriodSeconds` is 0.
//!
//! Everything else is removed at once. Either way the answer is 200 with the object (Kubernetes
//! returns the object, and kubectl then waits for it to be gone).

use serde::Deserialize;
use serde_json::{json, Value};

use super::meta::{deletion_grace, finalizers, is_deleting, meta_str, set_meta};
use super::{namespace, Target, Written};
use crate::error::ApiError;
use crate::request::Query;
use crate::state::AppState;
use crate::store::{guaranteed_update, StoredObject, Update};

/// A pod's grace period when neither the request nor the pod names one.
const DEFAULT_POD_GRACE_SECONDS: i64 = 30;

/// Grace periods are capped (at about ten years) so that no input can overflow a timestamp.
const MAX_GRACE_SECONDS: i64 = 10 * 365 * 24 * 3600;

/// The body of a DELETE (Kubernetes' `DeleteOptions`); every field may also be a query
/// parameter.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteOptions {
    #[serde(default)]
    pub grace_period_seconds: Option<i64>,
    #[serde(default)]
    pub propagation_policy: Option<String>,
    #[serde(default)]
    pub orphan_dependents: Option<bool>,
    #[serde(default)]
    pub preconditions: Option<Preconditions>,
    #[serde(default)]
    pub dry_run: Vec<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
}

/// Conditions the object must meet to be deleted.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preconditions {
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub resource_version: Option<String>,
}

impl DeleteOptions {
    /// Reads the optional JSON body, then lets query parameters fill what it left out.
    pub fn parse(body: &[u8], query: &Query) -> Result<Self, ApiError> {
        let mut options = if body.iter().all(u8::is_ascii_whitespace) {
            DeleteOptions::default()
        } else {
            let value = kubelab_api::codec::parse_object_body(body)
                .map_err(|e| ApiError::BadRequest(format!("invalid DeleteOptions: {e}")))?;
            serde_json::from_value::<DeleteOptions>(value)
                .map_err(|e| ApiError::BadRequest(format!("invalid DeleteOptions: {e}")))?
        };
        if options.grace_period_seconds.is_none() {
            options.grace_period_seconds = query.number("gracePeriodSeconds")?;
        }
        if options.propagation_policy.is_none() {
            options.propagation_policy = query.get("propagationPolicy").map(str::to_string);
        }
        if options.orphan_dependents.is_none() && query.get("orphanDependents").is_some() {
            options.orphan_dependents = Some(query.flag("orphanDependents")?);
        }
        if query.get("dryRun").is_some() {
            options
                .dry_run
                .push(query.get("dryRun").unwrap_or_default().to_string());
        }
        match options.propagation_policy.as_deref() {
            None | Some("Background") | Some("Foreground") | Some("Orphan") => {}
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "invalid propagationPolicy {other:?}: supported values: \"Background\", \"Foreground\", \"Orphan\""
                )))
            }
        }
        if matches!(options.grace_period_seconds, Some(g) if g < 0) {
            options.grace_period_seconds = Some(0);
        }
        Ok(options)
    }

    pub fn is_dry_run(&self) -> bool {
        self.dry_run.iter().any(|d| d == "All")
    }

    /// The finalizer the propagation policy asks for, if any.
    fn propagation_finalizer(&self) -> Option<&'static str> {
        match self.propagation_policy.as_deref() {
            Some("Foreground") => Some("foregroundDeletion"),
            Some("Orphan") => Some("orphan"),
            _ if self.orphan_dependents == Some(true) => Some("orphan"),
            _ => None,
        }
    }
}

/// What a delete did.
#[derive(Debug)]
pub struct Deleted {
    pub written: Written,
    /// True if the object is gone; false if it was only marked (or already was).
    pub removed: bool,
}

/// Deletes object `name` of `target`.
pub async fn delete(
    state: &AppState,
    target: &Target,
    name: &str,
    options: &DeleteOptions,
) -> Result<Deleted, ApiError> {
    let key = target.key(name)?;
    let is_namespace = target.info.kind == "Namespace";
    if is_namespace && namespace::BUILT_IN.contains(&name) {
        return Err(ApiError::Forbidden(format!(
            "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
        )));
    }
    if options.is_dry_run() {
        let current = state
            .store
            .get(&key)
            .await
            .map_err(|e| ApiError::from_store(e, &target.qualified(), name))?;
        let current = current.ok_or_else(|| target.not_found(name))?;
        decide(target, name, current.value(), options)?;
        return Ok(Deleted {
            written: Written::stored(current, Vec::new()),
            removed: false,
        });
    }
    let mut removed = false;
    let result = guaranteed_update(state.store.as_ref(), &key, |current: &StoredObject| {
        let decision = decide(target, name, current.value(), options)?;
        removed = matches!(decision, Update::Delete);
        Ok::<_, ApiError>(decision)
    })
    .await;
    let stored = match result {
        Ok(stored) => stored,
        Err(ApiError::NotFound { .. }) => return Err(target.not_found(name)),
        Err(err) => return Err(err),
    };
    if is_namespace && !removed {
        namespace::spawn_sweep(state.clone(), name.to_string());
    }
    Ok(Deleted {
        written: Written::stored(stored, Vec::new()),
        removed,
    })
}

/// Decides between removing the object, marking it, and leaving it as it is.
fn decide(target: &Target, name: &str, current: &Value, options: &DeleteOptions) -> Result<Update, ApiError> {
    check_preconditions(target, name, current, options)?;
    if target.info.kind == "Namespace" {
        // A namespace is emptied first (by the sweep), then removed.
        if is_deleting(current) {
            return Ok(Update::Keep);
        }
        let mut next = current.clone();
        set_meta(&mut next, "deletionTimestamp", Some(super::meta::now_plus(0)));
        set_meta(&mut next, "deletionGracePeriodSeconds", Some(json!(0)));
        super::meta::set_top(&mut next, "status", Some(json!({"phase": "Terminating"})));
        return Ok(Update::Write(next));
    }
    let mut wanted = finalizers(current);
    if let Some(extra) = options.propagation_finalizer() {
        if !wanted.iter().any(|f| f == extra) && !is_deleting(current) {
            wanted.push(extra.to_string());
        }
    }
    let grace = graceful_period(target, current, options);
    if is_deleting(current) {
        // Already marked. A second delete can only shorten a graceful termination to "now".
        let shortened = grace == 0 && deletion_grace(current) > 0;
        if !shortened {
            return Ok(if wanted.is_empty() && deletion_grace(current) == 0 {
                Update::Delete
            } else {
                Update::Keep
            });
        }
        if wanted.is_empty() {
            return Ok(Update::Delete);
        }
        let mut next = current.clone();
        set_meta(&mut next, "deletionGracePeriodSeconds", Some(json!(0)));
        return Ok(Update::Write(next));
    }
    if wanted.is_empty() && grace == 0 {
        return Ok(Update::Delete);
    }
    let mut next = current.clone();
    set_meta(&mut next, "deletionTimestamp", Some(super::meta::now_plus(grace)));
    set_meta(&mut next, "deletionGracePeriodSeconds", Some(json!(grace)));
    if !wanted.is_empty() {
        set_meta(&mut next, "finalizers", Some(json!(wanted)));
    }
    Ok(Update::Write(next))
}

/// The grace period that applies: non-zero only for a pod that runs on a node and has not
/// finished (there is nobody to stop the containers of an unbound pod, and nothing to stop in
/// a finished one).
fn graceful_period(target: &Target, current: &Value, options: &DeleteOptions) -> i64 {
    if target.info.kind != "Pod" {
        return 0;
    }
    let bound = current
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let finished = matches!(
        current.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    );
    if !bound || finished {
        return 0;
    }
    options
        .grace_period_seconds
        .or_else(|| {
            current
                .pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
        })
        .unwrap_or(DEFAULT_POD_GRACE_SECONDS)
        .clamp(0, MAX_GRACE_SECONDS)
}

fn check_preconditions(target: &Target, name: &str, current: &Value, options: &DeleteOptions) -> Result<(), ApiError> {
    let Some(pre) = &options.preconditions else {
        return Ok(());
    };
    let conflict = |what: &str, wanted: &str, actual: &str| {
        ApiError::Conflict {
        resource: target.qualified(),
        name: name.to_string(),
        message: format!(
            "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: {what} in precondition: {wanted}, {what} in object meta: {actual}",
            target.qualified()
        ),
    }
    };
    if let Some(uid) = pre.uid.as_deref().filter(|u| !u.is_empty()) {
        let actual = meta_str(current, "uid").unwrap_or("");
        if uid != actual {
            return Err(conflict("UID", uid, actual));
        }
    }
    if let Some(rv) = pre.resource_version.as_deref().filter(|r| !r.is_empty()) {
        let actual = meta_str(current, "resourceVersion").unwrap_or("");
        if rv != actual {
            return Err(conflict("ResourceVersion", rv, actual));
        }
    }
    Ok(())
}
