//! # Namespaces: the built-in ones, and deleting everything in one
//!
//! A namespace is a folder for names: `default/web` and `shop/web` are different pods. Three
//! namespaces exist from the start (`default`, `kube-system`, `kube-node-lease`) and cannot be
//! deleted.
//!
//! Deleting a namespace is a small controller of its own (kube-controller-manager's namespace
//! controller, here a task in the API server): the namespace is first marked `Terminating`, so
//! nothing new can be created in it (403), then everything in it is deleted through the normal
//! delete logic, so pods on nodes still terminate gracefully. When nothing is left, the namespace
//! itself is removed. The sweep repeats until then, and starts again if the server restarts in
//! the middle.

use kubelab_api::RESOURCES;
use serde_json::json;

use super::delete::{delete, DeleteOptions};
use super::meta::{finalizers, is_deleting, meta_str};
use super::Target;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{guaranteed_update, Store, StoreError, Update};

/// Namespaces that always exist.
pub const BUILT_IN: [&str; 3] = ["default", "kube-system", "kube-node-lease"];

fn namespace_key(name: &str) -> String {
    format!("/registry/namespaces/{name}")
}

/// Creates the built-in namespaces that are missing.
pub async fn ensure_built_in(store: &dyn Store) -> Result<(), StoreError> {
    for name in BUILT_IN {
        let object = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "uid": uuid::Uuid::new_v4().to_string(),
                "creationTimestamp": super::meta::now_plus(0),
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {},
            "status": {"phase": "Active"},
        });
        match store.create(&namespace_key(name), object).await {
            Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// 404 if the namespace does not exist, 403 if it is being deleted.
pub async fn check_accepts_new_objects(state: &AppState, namespace: &str) -> Result<(), ApiError> {
    let found = state
        .store
        .get(&namespace_key(namespace))
        .await
        .map_err(|e| ApiError::from_store(e, "namespaces", namespace))?;
    match found {
        None => Err(ApiError::not_found("namespaces", namespace)),
        Some(ns) if is_deleting(ns.value()) => Err(ApiError::Forbidden(format!(
            "unable to create new content in namespace {namespace} because it is being terminated"
        ))),
        Some(_) => Ok(()),
    }
}

/// Starts the task that empties and then removes a terminating namespace (unless one runs).
pub fn spawn_sweep(state: AppState, namespace: String) {
    if !state.start_sweep(&namespace) {
        return;
    }
    tokio::spawn(async move {
        let interval = state
            .options
            .namespace_sweep_interval
            .max(std::time::Duration::from_millis(1));
        let stop = state.shutdown_signal();
        tokio::pin!(stop);
        loop {
            match sweep_once(&state, &namespace).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(err) => tracing::warn!(%namespace, error = %err, "namespace sweep failed; will retry"),
            }
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(interval) => {}
            }
        }
        state.end_sweep(&namespace);
    });
}

/// Restarts the sweeps of namespaces that were terminating when the server stopped.
pub async fn resume_sweeps(state: &AppState) -> Result<(), StoreError> {
    for ns in state.store.list("/registry/namespaces/").await?.items {
        if is_deleting(ns.value()) {
            if let Some(name) = meta_str(ns.value(), "name") {
                spawn_sweep(state.clone(), name.to_string());
            }
        }
    }
    Ok(())
}

/// Deletes what is left in the namespace; removes the namespace once it is empty.
/// Returns true when the sweep is finished.
async fn sweep_once(state: &AppState, namespace: &str) -> Result<bool, ApiError> {
    let mut remaining = 0usize;
    for info in RESOURCES.iter().filter(|r| r.namespaced) {
        let target = Target::new(info, Some(namespace.to_string()));
        let items = state.store.list(&target.prefix()).await?.items;
        remaining += items.len();
        for item in items {
            if is_deleting(item.value()) {
                continue; // waiting for its finalizers or its node
            }
            let Some(name) = meta_str(item.value(), "name") else {
                continue;
            };
            match delete(state, &target, name, &DeleteOptions::default()).await {
                Ok(_) | Err(ApiError::NotFound { .. }) => {}
                Err(err) => return Err(err),
            }
        }
    }
    if remaining > 0 {
        return Ok(false);
    }
    let key = namespace_key(namespace);
    let mut removed = false;
    let outcome = guaranteed_update(state.store.as_ref(), &key, |current| {
        // A namespace with finalizers of its own waits for them, like any object.
        removed = finalizers(current.value()).is_empty();
        Ok::<_, ApiError>(if removed { Update::Delete } else { Update::Keep })
    })
    .await;
    match outcome {
        Ok(_) if !removed => Ok(false),
        Ok(_) | Err(ApiError::NotFound { .. }) => {
            tracing::info!(%namespace, "namespace deleted");
            Ok(true)
        }
        Err(err) => Err(err),
    }
}
