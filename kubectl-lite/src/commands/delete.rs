//! `delete`: by name, `-l`, `--all` or `-f`; then, unless `--wait=false`, wait until every
//! deleted object is really gone (a pod with a grace period, an object with finalizers, stays
//! for a while with a `deletionTimestamp`).
//!
//! The wait is a watch, not a poll: GET the object, and if it is still there, watch its name
//! from that revision until the DELETED event, so nothing happens in between unseen.

use kubelab_client::{Method, RequestBody};
use serde_json::{json, Value};

use super::apply::locate;
use super::{follow_watch, list_objects, targets};
use crate::cli::DeleteArgs;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::manifest;
use crate::resolve::{enc, ApiResource};

pub async fn run(ctx: &mut Ctx<'_>, args: DeleteArgs) -> Result<()> {
    let namespace = ctx.namespace()?;
    let mut victims: Vec<(ApiResource, String, String)> = Vec::new();
    if !args.files.is_empty() {
        for doc in manifest::read_all(&args.files, args.recursive)? {
            match locate(ctx, &doc).await {
                Ok(found) => victims.push(found),
                Err(e) => ctx.report(e),
            }
        }
    } else {
        if args.args.is_empty() {
            return Err(CliError::msg(
                "You must provide one or more resources by argument or filename.",
            ));
        }
        let (targets, _) = targets(ctx, &args.args).await?;
        for target in targets {
            if !target.names.is_empty() {
                victims.extend(
                    target
                        .names
                        .iter()
                        .map(|n| (target.resource.clone(), namespace.clone(), n.clone())),
                );
            } else if args.all || args.selector.is_some() {
                let (items, _) =
                    list_objects(ctx, &target.resource, Some(&namespace), args.selector.as_deref(), None).await?;
                for item in items {
                    let name = item
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    let ns = item
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or(&namespace)
                        .to_string();
                    victims.push((target.resource.clone(), ns, name));
                }
            } else {
                return Err(CliError::msg("resource(s) were provided, but no name was specified"));
            }
        }
        if victims.is_empty() {
            writeln!(ctx.err, "No resources found")?;
            return Ok(());
        }
    }
    let mut body = json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"});
    let grace = if args.now { 1 } else { args.grace_period };
    if grace >= 0 {
        body["gracePeriodSeconds"] = json!(grace);
    }
    let client = ctx.client()?;
    let mut deleted = Vec::new();
    for (resource, ns, name) in victims {
        let path = resource.item_path(&ns, &name);
        match client
            .request::<Value>(Method::DELETE, &path, Some(RequestBody::json(&body)?))
            .await
        {
            Ok(answer) => {
                writeln!(ctx.out, "{} \"{name}\" deleted", resource.kind_group())?;
                ctx.out.flush()?;
                let uid = answer
                    .pointer("/metadata/uid")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                deleted.push((resource, ns, name, uid));
            }
            Err(e) if e.is_not_found() && args.ignore_not_found => {}
            Err(e) => ctx.report(e.into()),
        }
    }
    if args.wait {
        for (resource, ns, name, uid) in deleted {
            wait_gone(ctx, &resource, &ns, &name, &uid).await?;
        }
    }
    Ok(())
}

/// Returns once the object `name` (with this uid, when known) no longer exists.
pub async fn wait_gone(ctx: &mut Ctx<'_>, resource: &ApiResource, ns: &str, name: &str, uid: &str) -> Result<()> {
    let client = ctx.client()?;
    let current: Value = match client.request(Method::GET, &resource.item_path(ns, name), None).await {
        Ok(v) => v,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let same = |object: &Value| uid.is_empty() || object.pointer("/metadata/uid").and_then(Value::as_str) == Some(uid);
    if !same(&current) {
        return Ok(());
    }
    let rv = current
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let path = format!(
        "{}?watch=true&resourceVersion={}&fieldSelector={}",
        resource.collection_path(Some(ns)),
        enc(rv),
        enc(&format!("metadata.name={name}"))
    );
    follow_watch(ctx, &path, "application/json", |_, kind, object| {
        Ok(kind != "DELETED" && same(&object))
    })
    .await
}
