//! `get`: list or fetch objects and print them as the server's Table, YAML, JSON or names;
//! `-w` keeps printing changes.
//!
//! In table form every request carries kubectl's Table `Accept` header, so the columns (and
//! the `-o wide` ones) are the server's; kubectl-lite only adds NAMESPACE, LABELS and kind
//! prefixes. The other forms ask for plain JSON objects.

use kubelab_client::accept::TABLE_ACCEPT;
use serde_json::Value;

use super::{follow_watch, get_object, get_table, list_objects, targets, Target};
use crate::cli::GetArgs;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::output::table::{self, Printed, TableOptions};
use crate::output::{self, Format};
use crate::resolve::enc;

pub async fn run(ctx: &mut Ctx<'_>, args: GetArgs) -> Result<()> {
    let format = Format::parse(args.output.as_deref())?;
    let (targets, several) = targets(ctx, &args.args).await?;
    let namespace = ctx.namespace()?;
    if args.watch {
        if targets.len() != 1 {
            return Err(CliError::msg("you may only specify a single resource type"));
        }
        return watch(ctx, &args, &targets[0], &namespace, format).await;
    }
    if format.is_table() {
        print_tables(ctx, &args, &targets, several, &namespace, format).await
    } else {
        print_objects(ctx, &args, &targets, &namespace, format).await
    }
}

fn table_options(args: &GetArgs, target: &Target, several: bool, format: Format) -> TableOptions {
    TableOptions {
        wide: format == Format::Wide,
        show_labels: args.show_labels,
        namespace_column: args.all_namespaces && target.resource.namespaced,
        kind_prefix: several.then(|| target.resource.kind_group()),
        no_headers: args.no_headers,
    }
}

/// The Table of a target: one LIST, or one GET per name (rows put together).
async fn fetch_table(ctx: &mut Ctx<'_>, args: &GetArgs, target: &Target, namespace: &str) -> Result<Option<Value>> {
    let res = &target.resource;
    if target.names.is_empty() {
        let ns = (!args.all_namespaces).then_some(namespace);
        let mut path = format!("{}?limit=500", res.collection_path(ns));
        if let Some(sel) = args.selector.as_deref().filter(|s| !s.is_empty()) {
            path.push_str(&format!("&labelSelector={}", enc(sel)));
        }
        return get_table(ctx, &path).await.map(Some);
    }
    let mut merged: Option<Value> = None;
    for name in &target.names {
        match get_table(ctx, &res.item_path(namespace, name)).await {
            Ok(mut one) => match &mut merged {
                None => merged = Some(one),
                Some(all) => {
                    let rows = one.get_mut("rows").map(Value::take).unwrap_or(Value::Null);
                    if let (Some(Value::Array(into)), Value::Array(more)) = (all.get_mut("rows"), rows) {
                        into.extend(more);
                    }
                }
            },
            Err(e) => ctx.report(e),
        }
    }
    Ok(merged)
}

async fn print_tables(
    ctx: &mut Ctx<'_>,
    args: &GetArgs,
    targets: &[Target],
    several: bool,
    namespace: &str,
    format: Format,
) -> Result<()> {
    let mut printed_any = false;
    let mut asked_names = false;
    for target in targets {
        asked_names |= !target.names.is_empty();
        let Some(table) = fetch_table(ctx, args, target, namespace).await? else {
            continue;
        };
        let printed = table::prepare(&table, &table_options(args, target, several, format));
        if printed.rows.is_empty() {
            continue;
        }
        if printed_any {
            writeln!(ctx.out)?;
        }
        ctx.out.write_all(table::render(&printed).as_bytes())?;
        printed_any = true;
    }
    if !printed_any && !asked_names {
        no_resources(ctx, args, targets, namespace)?;
    }
    Ok(())
}

/// `No resources found in default namespace.` (on stderr, as kubectl).
fn no_resources(ctx: &mut Ctx<'_>, args: &GetArgs, targets: &[Target], namespace: &str) -> Result<()> {
    let namespaced = targets.iter().any(|t| t.resource.namespaced);
    if namespaced && !args.all_namespaces {
        writeln!(ctx.err, "No resources found in {namespace} namespace.")?;
    } else {
        writeln!(ctx.err, "No resources found")?;
    }
    Ok(())
}

async fn print_objects(
    ctx: &mut Ctx<'_>,
    args: &GetArgs,
    targets: &[Target],
    namespace: &str,
    format: Format,
) -> Result<()> {
    let mut items = Vec::new();
    let single = targets.len() == 1 && targets[0].names.len() == 1;
    for target in targets {
        let res = &target.resource;
        if target.names.is_empty() {
            let ns = (!args.all_namespaces).then_some(namespace);
            let (objects, _) = list_objects(ctx, res, ns, args.selector.as_deref(), None).await?;
            items.extend(objects.into_iter().map(|o| (res.clone(), output::with_type(res, o))));
        } else {
            for name in &target.names {
                match get_object(ctx, res, namespace, name).await {
                    Ok(o) => items.push((res.clone(), o)),
                    Err(e) => ctx.report(e),
                }
            }
        }
    }
    if format == Format::Name {
        for (res, object) in &items {
            writeln!(ctx.out, "{}", output::name_of(res, object))?;
        }
        if items.is_empty() && !ctx.failed {
            no_resources(ctx, args, targets, namespace)?;
        }
        return Ok(());
    }
    if single {
        if let Some((_, object)) = items.pop() {
            ctx.out.write_all(output::document(&object, format).as_bytes())?;
        }
        return Ok(());
    }
    let list = output::list_document(items.into_iter().map(|(_, o)| o).collect());
    ctx.out.write_all(output::document(&list, format).as_bytes())?;
    Ok(())
}

/// `get -w`: the current state, then every change as it comes.
async fn watch(ctx: &mut Ctx<'_>, args: &GetArgs, target: &Target, namespace: &str, format: Format) -> Result<()> {
    let res = &target.resource;
    if target.names.len() > 1 {
        return Err(CliError::msg("watch is only supported on individual resources and resource collections, but 2 or more resources were found"));
    }
    let ns = (!args.all_namespaces || !target.names.is_empty()).then_some(namespace);
    let field = target.names.first().map(|n| format!("metadata.name={n}"));
    let mut query = Vec::new();
    if let Some(sel) = args.selector.as_deref().filter(|s| !s.is_empty()) {
        query.push(format!("labelSelector={}", enc(sel)));
    }
    if let Some(f) = &field {
        query.push(format!("fieldSelector={}", enc(f)));
    }
    let opts = table_options(args, target, false, format);
    let (rv, mut widths, mut header_done) = if format.is_table() {
        let mut path = format!("{}?limit=500", res.collection_path(ns));
        for q in &query {
            path.push('&');
            path.push_str(q);
        }
        let table = get_table(ctx, &path).await?;
        let printed = table::prepare(&table, &opts);
        let rv = table
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if printed.rows.is_empty() {
            no_resources(ctx, args, std::slice::from_ref(target), namespace)?;
            (rv, table::widths(&printed), false)
        } else {
            ctx.out.write_all(table::render(&printed).as_bytes())?;
            (rv, table::widths(&printed), true)
        }
    } else {
        let (objects, rv) = list_objects(ctx, res, ns, args.selector.as_deref(), field.as_deref()).await?;
        for object in objects {
            print_watched(ctx, res, output::with_type(res, object), format)?;
        }
        (rv, Vec::new(), true)
    };
    ctx.out.flush()?;
    let mut path = format!("{}?watch=true&resourceVersion={}", res.collection_path(ns), enc(&rv));
    for q in &query {
        path.push('&');
        path.push_str(q);
    }
    let accept = if format.is_table() {
        TABLE_ACCEPT
    } else {
        "application/json"
    };
    let res = res.clone();
    follow_watch(ctx, &path, accept, |ctx, _kind, object| {
        if format.is_table() {
            let mut printed: Printed = table::prepare(&table::ensure_table(object), &opts);
            if !header_done && !printed.header.is_empty() {
                let row_widths = table::widths(&printed);
                widths = row_widths;
                ctx.out.write_all(table::line(&printed.header, &widths).as_bytes())?;
                header_done = true;
            }
            printed.header.clear();
            for row in &printed.rows {
                ctx.out.write_all(table::line(row, &widths).as_bytes())?;
            }
        } else {
            print_watched(ctx, &res, object, format)?;
        }
        ctx.out.flush()?;
        Ok(true)
    })
    .await
}

fn print_watched(ctx: &mut Ctx<'_>, res: &crate::resolve::ApiResource, object: Value, format: Format) -> Result<()> {
    match format {
        Format::Name => writeln!(ctx.out, "{}", output::name_of(res, &object))?,
        Format::Yaml => {
            writeln!(ctx.out, "---")?;
            ctx.out.write_all(output::yaml::to_yaml(&object).as_bytes())?;
        }
        _ => ctx.out.write_all(output::document(&object, format).as_bytes())?,
    }
    Ok(())
}
