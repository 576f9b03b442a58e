//! One file per kubectl command, and what they share: turning `TYPE NAME` / `TYPE/NAME`
//! arguments into resources, and the plain GET/LIST/PATCH requests on them.

pub mod api_resources;
pub mod apply;
pub mod config;
pub mod create;
pub mod delete;
pub mod describe;
pub mod edit;
pub mod exec;
pub mod get;
pub mod info;
pub mod label;
pub mod logs;
pub mod rollout;
pub mod scale;

use futures_util::StreamExt;
use kubelab_client::accept::TABLE_ACCEPT;
use kubelab_client::watch::LineDecoder;
use kubelab_client::{Method, RequestBody};
use serde_json::Value;

use crate::cli::Command;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::resolve::{enc, ApiResource};

/// Runs one command.
pub async fn dispatch(ctx: &mut Ctx<'_>, command: Command) -> Result<()> {
    match command {
        Command::Get(args) => get::run(ctx, args).await,
        Command::Apply(args) => apply::run(ctx, args).await,
        Command::Create(args) => create::run(ctx, args).await,
        Command::Describe(args) => describe::run(ctx, args).await,
        Command::Delete(args) => delete::run(ctx, args).await,
        Command::Logs(args) => logs::run(ctx, args).await,
        Command::Exec(args) => exec::run(ctx, args).await,
        Command::Scale(args) => scale::run(ctx, args).await,
        Command::Rollout(cmd) => rollout::run(ctx, cmd).await,
        Command::Label(args) => label::run(ctx, args, label::Field::Labels).await,
        Command::Annotate(args) => label::run(ctx, args, label::Field::Annotations).await,
        Command::Edit(args) => edit::run(ctx, args).await,
        Command::ClusterInfo => info::cluster_info(ctx).await,
        Command::Version(args) => info::version(ctx, args).await,
        Command::ApiResources(args) => api_resources::run(ctx, args).await,
        Command::Config(cmd) => config::run(ctx, cmd),
    }
}

/// A resource and the names asked for (none: all of them, or those a selector picks).
#[derive(Clone, Debug)]
pub struct Target {
    pub resource: ApiResource,
    pub names: Vec<String>,
}

/// `TYPE[,TYPE] [NAME...]` or `TYPE/NAME...` as resources and names; `all` is the resources of
/// the category `all`. The second value says whether several kinds were asked for (names are
/// then printed with their kind).
pub async fn targets(ctx: &mut Ctx<'_>, args: &[String]) -> Result<(Vec<Target>, bool)> {
    let Some(first) = args.first() else {
        return Err(CliError::msg(
            "You must specify the type of resource to get. Use \"kubectl-lite api-resources\" for a complete list of supported resources.",
        ));
    };
    let mut targets: Vec<Target> = Vec::new();
    if first.contains('/') {
        for arg in args {
            let (word, name) = arg.split_once('/').ok_or_else(|| {
                CliError::msg(format!(
                    "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl-lite get resource/<resource_name>' instead of 'kubectl-lite get resource resource/<resource_name>'): {arg}"
                ))
            })?;
            if name.is_empty() {
                return Err(CliError::msg(format!(
                    "arguments in resource/name form must have a single resource and name: {arg}"
                )));
            }
            let resource = ctx.resolve(word).await?;
            match targets.last_mut() {
                Some(t) if t.resource == resource => t.names.push(name.to_string()),
                _ => targets.push(Target {
                    resource,
                    names: vec![name.to_string()],
                }),
            }
        }
        let several = targets.len() > 1;
        return Ok((targets, several));
    }
    let names: Vec<String> = args[1..].to_vec();
    let mut several = false;
    for word in first.split(',').filter(|w| !w.is_empty()) {
        if word == "all" {
            several = true;
            let all: Vec<ApiResource> = ctx.discovery().await?.category("all").into_iter().cloned().collect();
            targets.extend(all.into_iter().map(|resource| Target {
                resource,
                names: names.clone(),
            }));
        } else {
            let resource = ctx.resolve(word).await?;
            targets.push(Target {
                resource,
                names: names.clone(),
            });
        }
    }
    several |= targets.len() > 1;
    Ok((targets, several))
}

/// The single `TYPE NAME` or `TYPE/NAME` a command such as `edit` or `scale` acts on, several
/// allowed.
pub async fn named_targets(ctx: &mut Ctx<'_>, args: &[String], verb: &str) -> Result<Vec<(ApiResource, String)>> {
    let (targets, _) = targets(ctx, args).await?;
    let pairs: Vec<(ApiResource, String)> = targets
        .into_iter()
        .flat_map(|t| t.names.into_iter().map(move |n| (t.resource.clone(), n)))
        .collect();
    if pairs.is_empty() {
        return Err(CliError::msg(format!(
            "resource(s) were provided, but no name was specified; {verb} needs TYPE NAME or TYPE/NAME"
        )));
    }
    Ok(pairs)
}

/// kubectl's NotFound error for `name`.
pub fn not_found(resource: &ApiResource, name: &str) -> CliError {
    CliError::Server {
        reason: "NotFound".into(),
        doing: String::new(),
        message: format!("{} \"{name}\" not found", resource.group_resource()),
    }
}

/// GET one object.
pub async fn get_object(ctx: &mut Ctx<'_>, resource: &ApiResource, namespace: &str, name: &str) -> Result<Value> {
    let client = ctx.client()?;
    Ok(client
        .request(Method::GET, &resource.item_path(namespace, name), None)
        .await?)
}

/// LIST objects (every page), in one namespace or all (`None`). Returns the items and the
/// list's resourceVersion.
pub async fn list_objects(
    ctx: &mut Ctx<'_>,
    resource: &ApiResource,
    namespace: Option<&str>,
    selector: Option<&str>,
    field_selector: Option<&str>,
) -> Result<(Vec<Value>, String)> {
    let client = ctx.client()?;
    let base = resource.collection_path(namespace);
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let mut query = vec!["limit=500".to_string()];
        if let Some(s) = selector.filter(|s| !s.is_empty()) {
            query.push(format!("labelSelector={}", enc(s)));
        }
        if let Some(s) = field_selector.filter(|s| !s.is_empty()) {
            query.push(format!("fieldSelector={}", enc(s)));
        }
        if !token.is_empty() {
            query.push(format!("continue={}", enc(&token)));
        }
        let mut list: Value = client
            .request(Method::GET, &format!("{base}?{}", query.join("&")), None)
            .await?;
        if let Some(Value::Array(page)) = list.get_mut("items").map(Value::take) {
            items.extend(page);
        }
        let rv = list
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        token = list
            .pointer("/metadata/continue")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if token.is_empty() {
            return Ok((items, rv));
        }
    }
}

/// PATCH one object with a body of the given content type.
pub async fn patch_object(
    ctx: &mut Ctx<'_>,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
    content_type: &'static str,
    patch: &Value,
    subresource: Option<&str>,
) -> Result<Value> {
    let client = ctx.client()?;
    let mut path = resource.item_path(namespace, name);
    if let Some(sub) = subresource {
        path = format!("{path}/{sub}");
    }
    let body = RequestBody::json_as(content_type, patch)?;
    Ok(client.request(Method::PATCH, &path, Some(body)).await?)
}

/// GET as a server Table.
pub async fn get_table(ctx: &mut Ctx<'_>, path: &str) -> Result<Value> {
    let client = ctx.client()?;
    let bytes = client.request_accept(Method::GET, path, TABLE_ACCEPT, None).await?;
    let answer: Value = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::msg(format!("the server's answer to GET {path} is not JSON: {e}")))?;
    Ok(crate::output::table::ensure_table(answer))
}

/// Follows a watch, calling `each` with every event (`type`, `object`) until the server ends
/// it or `each` returns `false`.
pub async fn follow_watch(
    ctx: &mut Ctx<'_>,
    path: &str,
    accept: &str,
    mut each: impl FnMut(&mut Ctx<'_>, &str, Value) -> Result<bool>,
) -> Result<()> {
    let client = ctx.client()?;
    let mut stream = client.stream_accept(path, accept).await?;
    let mut lines = LineDecoder::default();
    while let Some(chunk) = stream.next().await {
        for line in lines.push(&chunk?) {
            let mut event: Value =
                serde_json::from_slice(&line).map_err(|e| CliError::msg(format!("unreadable watch event: {e}")))?;
            let kind = event.get("type").and_then(Value::as_str).unwrap_or("").to_string();
            let object = event.get_mut("object").map(Value::take).unwrap_or(Value::Null);
            if kind == "ERROR" {
                let message = object.get("message").and_then(Value::as_str).unwrap_or("watch failed");
                return Err(CliError::Server {
                    reason: object.get("reason").and_then(Value::as_str).unwrap_or("").to_string(),
                    doing: String::new(),
                    message: message.to_string(),
                });
            }
            if kind == "BOOKMARK" {
                continue;
            }
            if !each(ctx, &kind, object)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The name of an object as `apply`, `scale` and friends print it: `deployment.apps/web`.
pub fn display_name(resource: &ApiResource, name: &str) -> String {
    format!("{}/{name}", resource.kind_group())
}
