//! `apply -f`: create what is missing, patch what differs, leave the rest alone, and say which
//! (`deployment.apps/web created | configured | unchanged`).
//!
//! Each document is handled on its own, in file order, as kubectl does: GET the object; if it
//! is not there, POST it with the `last-applied-configuration` annotation; if it is, compute
//! the three-way patch ([`crate::threeway`]) and send it only if it is not empty. A document
//! the server refuses is reported (`Error from server (BadRequest): error when creating
//! "web.yaml": ...`) and the others still go; the exit code is 1 at the end.

use kubelab_client::{Method, RequestBody};
use serde_json::Value;

use super::display_name;
use crate::cli::ApplyArgs;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::manifest::{self, Document};
use crate::resolve::ApiResource;
use crate::threeway::{last_applied_text, recorded, three_way, with_last_applied};

/// The query kubectl's client-side apply sends with its writes.
const APPLY_QUERY: &str = "fieldManager=kubectl-client-side-apply&fieldValidation=Strict";

pub async fn run(ctx: &mut Ctx<'_>, args: ApplyArgs) -> Result<()> {
    let only_names = match args.output.as_deref() {
        None | Some("") => false,
        Some("name") => true,
        Some(other) => {
            return Err(CliError::msg(format!(
                "--output {other:?} is not supported by apply; use name"
            )))
        }
    };
    let docs = manifest::read_all(&args.files, args.recursive)?;
    if docs.is_empty() {
        return Err(CliError::msg("no objects passed to apply"));
    }
    for doc in docs {
        match apply_one(ctx, &doc).await {
            Ok((name, _)) if only_names => writeln!(ctx.out, "{name}")?,
            Ok((name, outcome)) => writeln!(ctx.out, "{name} {outcome}")?,
            Err(e) => ctx.report(e),
        }
    }
    Ok(())
}

/// A document's resource, namespace and name, checked against `-n`.
pub async fn locate(ctx: &mut Ctx<'_>, doc: &Document) -> Result<(ApiResource, String, String)> {
    let (api_version, kind, name) = manifest::identity(doc)?;
    let resource = ctx
        .discovery()
        .await?
        .for_kind(api_version, kind)
        .cloned()
        .ok_or_else(|| {
            CliError::msg(format!(
                "resource mapping not found for name: \"{name}\" namespace: \"\" from \"{}\": no matches for kind \"{kind}\" in version \"{api_version}\"\nensure CRDs are installed first",
                doc.source
            ))
        })?;
    let name = name.to_string();
    let own = doc
        .object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let flag = ctx.namespace()?;
    if !own.is_empty() && resource.namespaced && ctx.namespace_explicit() && own != flag {
        return Err(CliError::msg(format!(
            "the namespace from the provided object \"{own}\" does not match the namespace \"{flag}\". You must pass '--namespace={own}' to perform this operation."
        )));
    }
    let namespace = if own.is_empty() { flag } else { own.to_string() };
    Ok((resource, namespace, name))
}

/// The manifest with its namespace filled in (for a namespaced kind).
pub fn with_namespace(resource: &ApiResource, object: &Value, namespace: &str) -> Value {
    let mut object = object.clone();
    if resource.namespaced {
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("namespace".into(), Value::String(namespace.to_string()));
        }
    }
    object
}

async fn apply_one(ctx: &mut Ctx<'_>, doc: &Document) -> Result<(String, &'static str)> {
    let (resource, namespace, name) = locate(ctx, doc).await?;
    let shown = display_name(&resource, &name);
    let manifest = with_namespace(&resource, &doc.object, &namespace);
    let modified = with_last_applied(&manifest, &last_applied_text(&manifest));
    let client = ctx.client()?;
    let live: Option<Value> = match client
        .request(Method::GET, &resource.item_path(&namespace, &name), None)
        .await
    {
        Ok(v) => Some(v),
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            return Err(CliError::doing(
                e,
                format!("error when retrieving current configuration of \"{}\": ", doc.source),
            ))
        }
    };
    let Some(live) = live else {
        let path = format!("{}?{APPLY_QUERY}", resource.collection_path(Some(&namespace)));
        client
            .request::<Value>(Method::POST, &path, Some(RequestBody::json(&modified)?))
            .await
            .map_err(|e| CliError::doing(e, format!("error when creating \"{}\": ", doc.source)))?;
        return Ok((shown, "created"));
    };
    let patch = Value::Object(three_way(recorded(&live).as_ref(), &modified, &live));
    if patch.as_object().is_some_and(|p| p.is_empty()) {
        return Ok((shown, "unchanged"));
    }
    let path = format!("{}?{APPLY_QUERY}", resource.item_path(&namespace, &name));
    let body = RequestBody::json_as("application/merge-patch+json", &patch)?;
    client
        .request::<Value>(Method::PATCH, &path, Some(body))
        .await
        .map_err(|e| {
            CliError::doing(
                e,
                format!(
                    "error when applying patch:\n{patch}\nto:\nResource: \"{}, Resource={}\", GroupVersionKind: \"{}, Kind={}\"\nName: \"{name}\", Namespace: \"{namespace}\"\nfor: \"{src}\": error when patching \"{src}\": ",
                    resource.api_version(),
                    resource.plural,
                    resource.api_version(),
                    resource.kind,
                    src = doc.source
                ),
            )
        })?;
    Ok((shown, "configured"))
}
