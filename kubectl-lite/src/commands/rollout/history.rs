//! `rollout history` and `rollout undo`: a Deployment's history is its ReplicaSets.
//!
//! The Deployment controller keeps one ReplicaSet per pod template it has rolled out, owned by
//! the Deployment and annotated `deployment.kubernetes.io/revision: "N"`. `history` lists them
//! by revision; `undo` is done by the client, as in kubectl: it finds the ReplicaSet of the
//! wanted revision (by default the one before the current) and writes its pod template back
//! into the Deployment (without the `pod-template-hash` label the controller added), which the
//! controller then rolls out as a new revision.

use serde_json::{json, Value};

use super::super::{display_name, get_object, list_objects, patch_object};
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::output::yaml::to_yaml;
use crate::resolve::ApiResource;

const REVISION: &str = "deployment.kubernetes.io/revision";

/// The revision annotation of an object, or 0.
pub fn revision_of(object: &Value) -> i64 {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// The ReplicaSets the Deployment owns, oldest revision first.
async fn owned_replicasets(ctx: &mut Ctx<'_>, namespace: &str, deployment: &Value) -> Result<Vec<Value>> {
    let uid = deployment
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let replicasets = ctx.resolve("replicasets").await?;
    let (items, _) = list_objects(ctx, &replicasets, Some(namespace), None, None).await?;
    let mut owned: Vec<Value> = items
        .into_iter()
        .filter(|rs| {
            rs.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid.as_str()))
        })
        .collect();
    owned.sort_by_key(revision_of);
    Ok(owned)
}

pub async fn history(ctx: &mut Ctx<'_>, resource: &ApiResource, name: &str, revision: i64) -> Result<()> {
    let namespace = ctx.namespace()?;
    let deployment = get_object(ctx, resource, &namespace, name).await?;
    let owned = owned_replicasets(ctx, &namespace, &deployment).await?;
    if revision > 0 {
        let rs = owned
            .iter()
            .find(|rs| revision_of(rs) == revision)
            .ok_or_else(|| CliError::msg(format!("unable to find the specified revision {revision}")))?;
        writeln!(ctx.out, "{} with revision #{revision}", display_name(resource, name))?;
        writeln!(ctx.out, "Pod Template:")?;
        let template = without_hash(rs.pointer("/spec/template").cloned().unwrap_or(Value::Null));
        for line in to_yaml(&template).lines() {
            writeln!(ctx.out, "  {line}")?;
        }
        return Ok(());
    }
    writeln!(ctx.out, "{}", display_name(resource, name))?;
    let rows: Vec<(String, String)> = owned
        .iter()
        .filter(|rs| revision_of(rs) > 0)
        .map(|rs| {
            let cause = rs
                .pointer("/metadata/annotations")
                .and_then(|a| a.get("kubernetes.io/change-cause"))
                .and_then(Value::as_str)
                .unwrap_or("<none>");
            (revision_of(rs).to_string(), cause.to_string())
        })
        .collect();
    if rows.is_empty() {
        writeln!(ctx.out, "No rollout history found.")?;
        return Ok(());
    }
    let width = rows
        .iter()
        .map(|(r, _)| r.len())
        .max()
        .unwrap_or(0)
        .max("REVISION".len())
        + 2;
    writeln!(ctx.out, "{:<width$}CHANGE-CAUSE", "REVISION")?;
    for (rev, cause) in rows {
        writeln!(ctx.out, "{rev:<width$}{cause}")?;
    }
    writeln!(ctx.out)?;
    Ok(())
}

/// A pod template without the label the controller adds to its ReplicaSet's copy.
fn without_hash(mut template: Value) -> Value {
    if let Some(Value::Object(labels)) = template.pointer_mut("/metadata/labels") {
        labels.remove("pod-template-hash");
    }
    template
}

pub async fn undo(ctx: &mut Ctx<'_>, resource: &ApiResource, name: &str, to_revision: i64) -> Result<()> {
    let namespace = ctx.namespace()?;
    let deployment = get_object(ctx, resource, &namespace, name).await?;
    if deployment
        .pointer("/spec/paused")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return Err(CliError::msg(
            "you cannot rollback a paused deployment; resume it first with 'kubectl-lite rollout resume' and try again",
        ));
    }
    let owned = owned_replicasets(ctx, &namespace, &deployment).await?;
    let current = revision_of(&deployment).max(owned.last().map(revision_of).unwrap_or(0));
    let target = if to_revision == 0 {
        owned
            .iter()
            .rev()
            .find(|rs| revision_of(rs) > 0 && revision_of(rs) < current)
            .ok_or_else(|| CliError::msg(format!("no rollout history found for deployment \"{name}\"")))?
    } else {
        owned
            .iter()
            .find(|rs| revision_of(rs) == to_revision)
            .ok_or_else(|| CliError::msg(format!("unable to find specified revision {to_revision} in history")))?
    };
    let revision = revision_of(target);
    let template = without_hash(target.pointer("/spec/template").cloned().unwrap_or(Value::Null));
    let live = deployment.pointer("/spec/template").cloned().unwrap_or(Value::Null);
    if crate::threeway::contains(&live, &template) && crate::threeway::contains(&template, &live) {
        writeln!(
            ctx.out,
            "{} skipped rollback (current template already matches revision {revision})",
            display_name(resource, name)
        )?;
        return Ok(());
    }
    let patch = json!([{"op": "replace", "path": "/spec/template", "value": template}]);
    patch_object(
        ctx,
        resource,
        &namespace,
        name,
        "application/json-patch+json",
        &patch,
        None,
    )
    .await?;
    writeln!(ctx.out, "{} rolled back", display_name(resource, name))?;
    Ok(())
}
