//! One object's reconcile: as an owner being deleted, then as a dependent.
//!
//! Reads come from the caches and the graph, with one exception: before an owner is declared
//! gone, it is read from the API server. The caches of two kinds are filled by two watches that
//! may be a moment apart, so a pod can reach the cache before the ReplicaSet that just created
//! it; trusting the cache there would delete a brand-new pod. Every write carries a precondition
//! (the uid for deletes, the resourceVersion for patches), so a decision made on stale data
//! fails with a conflict and is retried, instead of hitting the wrong object.

use std::sync::{Arc, Mutex, MutexGuard};

use kubelab_api::{ObjectMeta, OwnerReference};
use kubelab_client::{
    Client, ClientError, DeleteParams, DynamicApi, Patch, PatchParams, Preconditions, PropagationPolicy,
};
use serde_json::{json, Value};

use super::caches::{Caches, Kind};
use super::decide::{
    decide_dependent, decide_owner, without_finalizer, without_owners, Dependent, DependentAction, OwnerState,
};
use super::graph::{has_gc_finalizer, Graph, ItemKey, FOREGROUND};
use super::GcError;

/// What every reconcile reads and writes through.
pub struct Context {
    pub client: Client,
    pub caches: Caches,
    pub graph: Arc<Mutex<Graph>>,
}

impl Context {
    fn graph(&self) -> MutexGuard<'_, Graph> {
        self.graph.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn api(&self, kind: &Kind, namespace: &str) -> DynamicApi {
        let ns = (kind.info.namespaced && !namespace.is_empty()).then_some(namespace);
        DynamicApi::new(self.client.clone(), kind.info, ns)
    }
}

/// Reconciles the object `key`.
pub async fn reconcile(ctx: &Context, key: &ItemKey) -> Result<(), GcError> {
    let Some(kind) = ctx.caches.kind(key.kind).cloned() else {
        return Ok(());
    };
    let Some(meta) = kind.cache.get(&key.namespace, &key.name) else {
        return Ok(()); // gone: its removal already woke its dependents
    };
    if has_gc_finalizer(&meta) {
        reconcile_owner(ctx, key, &kind, &meta).await?;
    }
    if !meta.owner_references.is_empty() {
        reconcile_dependent(ctx, key, &kind, &meta).await?;
    }
    Ok(())
}

async fn reconcile_owner(ctx: &Context, key: &ItemKey, kind: &Kind, meta: &ObjectMeta) -> Result<(), GcError> {
    let uid = meta.uid.clone().unwrap_or_default();
    let keys = ctx.graph().dependents(&uid);
    let mut dependents: Vec<(Dependent, ObjectMeta)> = Vec::new();
    for dep_key in keys {
        // A namespaced owner only has dependents in its own namespace.
        if kind.info.namespaced && dep_key.namespace != key.namespace {
            continue;
        }
        let Some(dep) = ctx.caches.meta(&dep_key) else {
            continue;
        };
        let Some(reference) = dep.owner_references.iter().find(|r| r.uid == uid) else {
            continue;
        };
        let has_dependents = dep
            .uid
            .as_deref()
            .is_some_and(|u| !ctx.graph().dependents(u).is_empty());
        let d = Dependent {
            key: dep_key,
            blocks: reference.block_owner_deletion == Some(true),
            deleting: dep.deletion_timestamp.is_some(),
            has_dependents,
        };
        dependents.push((d, dep));
    }
    let summary: Vec<Dependent> = dependents.iter().map(|(d, _)| d.clone()).collect();
    let plan = decide_owner(meta, &summary);
    let find = |k: &ItemKey| dependents.iter().find(|(d, _)| &d.key == k).map(|(_, m)| m);

    for dep_key in &plan.orphan {
        if let Some(dep) = find(dep_key) {
            let remaining = without_owners(dep, std::slice::from_ref(&uid));
            patch_metadata(ctx, dep_key, dep, "ownerReferences", json!(remaining)).await?;
            tracing::info!(owner = %key, dependent = %dep_key, "orphaned dependent");
        }
    }
    for (dep_key, policy) in &plan.delete {
        if let Some(dep) = find(dep_key) {
            delete(ctx, dep_key, dep, *policy).await?;
            tracing::info!(owner = %key, dependent = %dep_key, ?policy, "deleting dependent of an owner deleted in the foreground");
        }
    }
    if let Some(finalizer) = plan.remove_finalizer {
        let rest = without_finalizer(meta, finalizer);
        patch_metadata(ctx, key, meta, "finalizers", json!(rest)).await?;
        tracing::info!(object = %key, finalizer, "dependents handled; finalizer removed");
    }
    Ok(())
}

async fn reconcile_dependent(ctx: &Context, key: &ItemKey, _kind: &Kind, meta: &ObjectMeta) -> Result<(), GcError> {
    if meta.deletion_timestamp.is_some() {
        return Ok(());
    }
    let mut owners = Vec::with_capacity(meta.owner_references.len());
    for reference in &meta.owner_references {
        let state = owner_state(ctx, key, reference).await?;
        owners.push((reference.clone(), state));
    }
    match decide_dependent(meta, &owners) {
        DependentAction::Nothing => {}
        DependentAction::Delete(policy) => {
            delete(ctx, key, meta, policy).await?;
            tracing::info!(object = %key, ?policy, "garbage collected: every owner is gone");
        }
        DependentAction::RemoveOwnerRefs(uids) => {
            let remaining = without_owners(meta, &uids);
            patch_metadata(ctx, key, meta, "ownerReferences", json!(remaining)).await?;
            tracing::info!(object = %key, removed = ?uids, "removed references to owners that are gone");
        }
    }
    Ok(())
}

/// Whether the owner a reference names exists, with the reference's uid.
async fn owner_state(ctx: &Context, dependent: &ItemKey, reference: &OwnerReference) -> Result<OwnerState, GcError> {
    let Some(kind) = ctx.caches.resolve(&reference.api_version, &reference.kind) else {
        return Ok(OwnerState::Unresolvable);
    };
    let namespace = if kind.info.namespaced {
        if dependent.namespace.is_empty() {
            // A cluster-scoped object cannot be owned by a namespaced one: treat it as gone.
            return Ok(OwnerState::Absent);
        }
        dependent.namespace.as_str()
    } else {
        ""
    };
    if let Some(owner) = kind.cache.get(namespace, &reference.name) {
        if owner.uid.as_deref() == Some(reference.uid.as_str()) {
            return Ok(present(&owner));
        }
    }
    // Not in the cache (or a namesake is): the cache may be behind, so ask the API server.
    let live = ctx
        .api(kind, namespace)
        .get_opt(&reference.name)
        .await
        .map_err(|source| GcError::Lookup {
            owner: format!("{} {}", reference.kind, reference.name),
            source,
        })?;
    let meta = live
        .and_then(|v| v.get("metadata").cloned())
        .and_then(|m| serde_json::from_value::<ObjectMeta>(m).ok());
    Ok(match meta {
        Some(owner) if owner.uid.as_deref() == Some(reference.uid.as_str()) => present(&owner),
        _ => OwnerState::Absent,
    })
}

fn present(owner: &ObjectMeta) -> OwnerState {
    OwnerState::Present {
        foreground: owner.deletion_timestamp.is_some() && owner.finalizers.iter().any(|f| f == FOREGROUND),
    }
}

/// Deletes `key` if it is still the object with `meta`'s uid.
async fn delete(ctx: &Context, key: &ItemKey, meta: &ObjectMeta, policy: PropagationPolicy) -> Result<(), GcError> {
    let Some(kind) = ctx.caches.kind(key.kind) else {
        return Ok(());
    };
    let params = DeleteParams {
        propagation_policy: Some(policy),
        preconditions: Some(Preconditions {
            uid: meta.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match ctx.api(kind, &key.namespace).delete(&key.name, &params).await {
        Ok(_) => Ok(()),
        Err(e) if gone_or_replaced(&e) => Ok(()),
        Err(source) => Err(GcError::Delete {
            object: key.to_string(),
            source,
        }),
    }
}

/// Sets one `metadata` field with a merge patch that carries the resourceVersion read, so the
/// change applies only to the object as it was seen.
async fn patch_metadata(
    ctx: &Context,
    key: &ItemKey,
    meta: &ObjectMeta,
    field: &str,
    value: Value,
) -> Result<(), GcError> {
    let Some(kind) = ctx.caches.kind(key.kind) else {
        return Ok(());
    };
    let mut metadata = serde_json::Map::new();
    metadata.insert(field.to_string(), value);
    if let Some(rv) = &meta.resource_version {
        metadata.insert("resourceVersion".into(), json!(rv));
    }
    let patch = Patch::Merge(json!({ "metadata": metadata }));
    match ctx
        .api(kind, &key.namespace)
        .patch(&key.name, &patch, &PatchParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(source) => Err(GcError::Patch {
            object: key.to_string(),
            field: field.to_string(),
            source,
        }),
    }
}

/// 404: already gone. 409 on a delete: the uid precondition failed, a namesake lives there now.
fn gone_or_replaced(e: &ClientError) -> bool {
    e.is_not_found() || e.code() == Some(409)
}
