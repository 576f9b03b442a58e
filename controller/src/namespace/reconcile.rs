//! One terminating namespace: delete what is left in it, through the API, and report progress.

use std::time::Duration;

use chrono::Utc;
use kubelab_api::core::Namespace;
use kubelab_api::{ObjectMeta, RESOURCES};
use kubelab_client::{Api, Client, DeleteParams, DynamicApi, ListParams, Store};

use super::conditions::{deletion_conditions, resource_name, ContentReport};
use super::{NamespaceConfig, NamespaceError};

/// What a reconcile asks of the work queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    RequeueAfter(Duration),
}

pub struct Context {
    pub client: Client,
    pub namespaces: Store<Namespace>,
    pub config: NamespaceConfig,
}

/// Reconciles the namespace named `name`.
pub async fn reconcile(ctx: &Context, name: &str) -> Result<Outcome, NamespaceError> {
    let Some(cached) = ctx.namespaces.get(name) else {
        return Ok(Outcome::Done); // removed: finished
    };
    if cached.metadata.deletion_timestamp.is_none() {
        return Ok(Outcome::Done);
    }
    let report = empty(ctx, name).await;

    let previous = cached.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default();
    let conditions = deletion_conditions(&report, &previous, Utc::now());
    if conditions != previous {
        let mut ns = (*cached).clone();
        let status = ns.status.get_or_insert_with(Default::default);
        status.conditions = conditions;
        status.phase = Some("Terminating".into());
        let api: Api<Namespace> = Api::all(ctx.client.clone());
        match api.replace_status(name, &ns).await {
            Ok(_) => {}
            // Removed meanwhile: the namespace is done.
            Err(e) if e.is_not_found() => return Ok(Outcome::Done),
            Err(source) => {
                return Err(NamespaceError::Status {
                    namespace: name.into(),
                    source,
                })
            }
        }
    }
    if report.is_empty() {
        tracing::info!(namespace = name, "namespace is empty; waiting for it to be removed");
    }
    Ok(Outcome::RequeueAfter(ctx.config.recheck_interval))
}

/// One pass over every namespaced resource: delete each object not already being deleted
/// (gracefully, with the default propagation, exactly as `kubectl delete` would), and count what
/// is left and which finalizers hold it.
async fn empty(ctx: &Context, namespace: &str) -> ContentReport {
    let mut report = ContentReport::default();
    for info in RESOURCES.iter().filter(|r| r.namespaced) {
        let what = resource_name(info.plural, info.group);
        let api = DynamicApi::new(ctx.client.clone(), info, Some(namespace));
        let items = match api.list(&ListParams::default()).await {
            Ok(list) => list.items,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                report.failures.push(format!("{what}: {e}"));
                continue;
            }
        };
        if items.is_empty() {
            continue;
        }
        report.remaining.insert(what.clone(), items.len());
        for item in items {
            let meta: ObjectMeta = item
                .get("metadata")
                .cloned()
                .and_then(|m| serde_json::from_value(m).ok())
                .unwrap_or_default();
            if meta.deletion_timestamp.is_some() {
                for f in &meta.finalizers {
                    *report.finalizers.entry(f.clone()).or_default() += 1;
                }
                continue;
            }
            match api.delete(meta.name(), &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => report.failures.push(format!("{what} {}: {e}", meta.name())),
            }
        }
    }
    report
}

/// Whether an informer event concerns this controller: a namespace being deleted.
pub fn is_terminating(ns: &Namespace) -> bool {
    ns.metadata.deletion_timestamp.is_some() || ns.is_terminating()
}
