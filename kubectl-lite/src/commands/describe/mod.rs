//! `describe`: one page per object, in kubectl's layout, ending with the object's Events.
//!
//! Pods, Deployments, Nodes and Services get their own pages (`pod.rs`, `workloads.rs`,
//! `node.rs`), which also read related objects as kubectl does (a Deployment's ReplicaSets, a
//! Node's pods, a Service's Endpoints); any other kind gets the generic page (`generic.rs`),
//! which prints its fields as nested `Key: value` lines. Names are prefixes when no object has
//! the exact name (`describe pods web` describes every `web-...` pod).

mod doc;
mod generic;
mod node;
mod pod;
mod workloads;

pub use doc::Doc;

use serde_json::Value;

use super::{get_object, list_objects, not_found, targets};
use crate::cli::DescribeArgs;
use crate::context::Ctx;
use crate::error::Result;
use crate::output::age;
use crate::resolve::ApiResource;

pub async fn run(ctx: &mut Ctx<'_>, args: DescribeArgs) -> Result<()> {
    let namespace = ctx.namespace()?;
    let (targets, _) = targets(ctx, &args.args).await?;
    let mut objects: Vec<(ApiResource, Value)> = Vec::new();
    for target in targets {
        let res = target.resource.clone();
        if target.names.is_empty() {
            let ns = (!args.all_namespaces).then_some(namespace.as_str());
            let (items, _) = list_objects(ctx, &res, ns, args.selector.as_deref(), None).await?;
            objects.extend(items.into_iter().map(|o| (res.clone(), o)));
            continue;
        }
        for name in &target.names {
            match get_object(ctx, &res, &namespace, name).await {
                Ok(o) => objects.push((res.clone(), o)),
                Err(e) if e.is_not_found() => {
                    let (items, _) = list_objects(ctx, &res, Some(&namespace), None, None).await?;
                    let matching: Vec<Value> = items
                        .into_iter()
                        .filter(|o| crate::output::object_name(o).starts_with(name.as_str()))
                        .collect();
                    if matching.is_empty() {
                        ctx.report(not_found(&res, name));
                    }
                    objects.extend(matching.into_iter().map(|o| (res.clone(), o)));
                }
                Err(e) => ctx.report(e),
            }
        }
    }
    if objects.is_empty() && !ctx.failed {
        writeln!(ctx.err, "No resources found in {namespace} namespace.")?;
    }
    for (i, (res, object)) in objects.iter().enumerate() {
        let page = page(ctx, res, object).await?;
        if i > 0 {
            ctx.out.write_all(b"\n\n")?;
        }
        ctx.out.write_all(page.as_bytes())?;
    }
    Ok(())
}

/// The page of one object.
async fn page(ctx: &mut Ctx<'_>, res: &ApiResource, object: &Value) -> Result<String> {
    let mut doc = Doc::default();
    let ns = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match (res.group.as_str(), res.kind.as_str()) {
        ("", "Pod") => pod::describe(&mut doc, object),
        ("apps", "Deployment") => {
            let replicasets = ctx.resolve("replicasets").await?;
            let (all, _) = list_objects(ctx, &replicasets, Some(&ns), None, None).await?;
            workloads::deployment(&mut doc, object, &all);
        }
        ("", "Node") => {
            let pods = ctx.resolve("pods").await?;
            let field = format!("spec.nodeName={}", crate::output::object_name(object));
            let (on_node, _) = list_objects(ctx, &pods, None, None, Some(&field))
                .await
                .unwrap_or_default();
            node::describe(&mut doc, object, &on_node);
        }
        ("", "Service") => {
            let endpoints = match ctx.resolve("endpoints").await {
                Ok(ep) => get_object(ctx, &ep, &ns, crate::output::object_name(object)).await.ok(),
                Err(_) => None,
            };
            workloads::service(&mut doc, object, endpoints.as_ref());
        }
        _ => generic::describe(&mut doc, res, object),
    }
    let events = events_of(ctx, res, object).await;
    events_section(&mut doc, &events);
    Ok(doc.render())
}

/// The Events about an object (none if they cannot be read: describe still works).
async fn events_of(ctx: &mut Ctx<'_>, res: &ApiResource, object: &Value) -> Vec<Value> {
    let Ok(events) = ctx.resolve("events").await else {
        return Vec::new();
    };
    let name = crate::output::object_name(object).to_string();
    let ns = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let uid = object.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("");
    let (field, in_ns) = if res.namespaced {
        (
            format!("involvedObject.name={name},involvedObject.namespace={ns},involvedObject.uid={uid}"),
            Some(ns),
        )
    } else {
        (format!("involvedObject.name={name}"), None)
    };
    let found = list_objects(ctx, &events, in_ns, None, Some(&field)).await;
    let mut list: Vec<Value> = found
        .map(|(items, _)| items)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| {
            e.pointer("/involvedObject/name").and_then(Value::as_str) == Some(name.as_str())
                && e.pointer("/involvedObject/kind")
                    .and_then(Value::as_str)
                    .is_none_or(|k| k == res.kind)
        })
        .collect();
    list.sort_by_key(|e| last_seen(e).to_string());
    list
}

fn first_seen(e: &Value) -> &str {
    ["/firstTimestamp", "/eventTime", "/metadata/creationTimestamp"]
        .iter()
        .find_map(|p| e.pointer(p).and_then(Value::as_str).filter(|t| !t.is_empty()))
        .unwrap_or("")
}

fn last_seen(e: &Value) -> &str {
    ["/lastTimestamp", "/eventTime", "/metadata/creationTimestamp"]
        .iter()
        .find_map(|p| e.pointer(p).and_then(Value::as_str).filter(|t| !t.is_empty()))
        .unwrap_or("")
}

/// `Events:` and kubectl's table of them, or `Events:  <none>`.
fn events_section(doc: &mut Doc, events: &[Value]) {
    if events.is_empty() {
        doc.kv(0, "Events", "<none>");
        return;
    }
    doc.line(0, "Events:");
    let mut rows = vec![
        ["Type", "Reason", "Age", "From", "Message"].map(String::from).to_vec(),
        ["----", "------", "----", "----", "-------"].map(String::from).to_vec(),
    ];
    for e in events {
        let count = e.get("count").and_then(Value::as_i64).unwrap_or(1);
        let last = age::since(Some(last_seen(e)));
        let age = if count > 1 {
            format!("{last} (x{count} over {})", age::since(Some(first_seen(e))))
        } else {
            last
        };
        let component = doc::s(e, "/source/component");
        let component = if component.is_empty() {
            doc::s(e, "/reportingComponent")
        } else {
            component
        };
        let host = doc::s(e, "/source/host");
        let from = if host.is_empty() {
            component.to_string()
        } else {
            format!("{component}, {host}")
        };
        rows.push(vec![
            doc::s(e, "/type").to_string(),
            doc::s(e, "/reason").to_string(),
            age,
            from,
            doc::s(e, "/message").trim().to_string(),
        ]);
    }
    doc.table(1, rows);
}
