//! `label` and `annotate`: `KEY=VALUE` sets, `KEY-` removes, and a key that already has a
//! different value is only replaced with `--overwrite` (kubectl's rule, so a typo does not
//! silently relabel a pod). The change is a merge patch of `metadata.labels` or
//! `metadata.annotations`; nothing is sent when nothing would change (`pod/web not labeled`).

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use super::{display_name, get_object, list_objects, named_targets, patch_object, targets};
use crate::cli::MetaArgs;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::resolve::ApiResource;

/// Which map of `metadata` is changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Labels,
    Annotations,
}

impl Field {
    fn key(self) -> &'static str {
        match self {
            Field::Labels => "labels",
            Field::Annotations => "annotations",
        }
    }
    fn done(self) -> &'static str {
        match self {
            Field::Labels => "labeled",
            Field::Annotations => "annotated",
        }
    }
    fn noun(self) -> &'static str {
        match self {
            Field::Labels => "label",
            Field::Annotations => "annotation",
        }
    }
}

/// What to set and what to remove.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    pub set: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

/// Splits the arguments into the resource part and the `KEY=VALUE` / `KEY-` part (the trailing
/// arguments that look like changes).
pub fn split_args(args: &[String]) -> (Vec<String>, Changes) {
    let is_change = |a: &String| a.contains('=') || (a.ends_with('-') && a.len() > 1);
    let split = args.iter().rposition(|a| !is_change(a)).map_or(0, |i| i + 1);
    let mut changes = Changes::default();
    for arg in &args[split..] {
        match arg.split_once('=') {
            Some((k, v)) => {
                changes.set.insert(k.to_string(), v.to_string());
            }
            None => changes.remove.push(arg.trim_end_matches('-').to_string()),
        }
    }
    (args[..split].to_vec(), changes)
}

/// The merge patch for one object's current map, or `None` when nothing changes; an error when
/// a key would be overwritten without `--overwrite`.
pub fn patch_for(
    current: Option<&Map<String, Value>>,
    changes: &Changes,
    overwrite: bool,
    field: Field,
) -> Result<Option<Value>> {
    let mut patch = Map::new();
    for (k, v) in &changes.set {
        match current.and_then(|c| c.get(k)).and_then(Value::as_str) {
            Some(old) if old == v => {}
            Some(old) if !overwrite => {
                return Err(CliError::msg(format!(
                    "'{k}' already has a value ({old}), and --overwrite is false"
                )))
            }
            _ => {
                patch.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    for k in &changes.remove {
        if current.is_some_and(|c| c.contains_key(k)) {
            patch.insert(k.clone(), Value::Null);
        }
    }
    Ok((!patch.is_empty()).then(|| json!({"metadata": {field.key(): patch}})))
}

pub async fn run(ctx: &mut Ctx<'_>, args: MetaArgs, field: Field) -> Result<()> {
    let (resource_args, changes) = split_args(&args.args);
    if changes.set.is_empty() && changes.remove.is_empty() {
        return Err(CliError::msg(format!(
            "at least one {} update is required",
            field.noun()
        )));
    }
    let namespace = ctx.namespace()?;
    let mut objects: Vec<(ApiResource, String)> = Vec::new();
    if args.all || args.selector.is_some() {
        let (ts, _) = targets(ctx, &resource_args).await?;
        for t in ts {
            let (items, _) = list_objects(ctx, &t.resource, Some(&namespace), args.selector.as_deref(), None).await?;
            objects.extend(
                items
                    .iter()
                    .map(|o| (t.resource.clone(), crate::output::object_name(o).to_string())),
            );
        }
    } else {
        objects = named_targets(ctx, &resource_args, field.noun()).await?;
    }
    for (resource, name) in objects {
        let result = async {
            let object = get_object(ctx, &resource, &namespace, &name).await?;
            let current = object
                .pointer(&format!("/metadata/{}", field.key()))
                .and_then(Value::as_object);
            match patch_for(current, &changes, args.overwrite, field)? {
                None => Ok(format!("{} not {}", display_name(&resource, &name), field.done())),
                Some(patch) => {
                    patch_object(
                        ctx,
                        &resource,
                        &namespace,
                        &name,
                        "application/merge-patch+json",
                        &patch,
                        None,
                    )
                    .await?;
                    Ok(format!("{} {}", display_name(&resource, &name), field.done()))
                }
            }
        }
        .await;
        match result {
            Ok(line) => writeln!(ctx.out, "{line}")?,
            Err(e) => ctx.report(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn arguments_split_into_resources_and_changes() {
        let (res, ch) = split_args(&s(&["pods", "web", "db", "tier=front", "old-", "a.io/x=1"]));
        assert_eq!(res, s(&["pods", "web", "db"]));
        assert_eq!(ch.set.get("tier").map(String::as_str), Some("front"));
        assert_eq!(ch.set.get("a.io/x").map(String::as_str), Some("1"));
        assert_eq!(ch.remove, s(&["old"]));
        let (res, _) = split_args(&s(&["pod/web", "a=b"]));
        assert_eq!(res, s(&["pod/web"]));
    }

    #[test]
    fn overwrite_rule_and_empty_patches() {
        let current: Map<String, Value> = serde_json::from_str(r#"{"app":"web","tier":"db"}"#).unwrap();
        let (_, ch) = split_args(&s(&["x", "app=api"]));
        let err = patch_for(Some(&current), &ch, false, Field::Labels)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "error: 'app' already has a value (web), and --overwrite is false");
        let patch = patch_for(Some(&current), &ch, true, Field::Labels).unwrap().unwrap();
        assert_eq!(patch, json!({"metadata": {"labels": {"app": "api"}}}));
        let (_, same) = split_args(&s(&["x", "app=web", "nothere-"]));
        assert_eq!(patch_for(Some(&current), &same, false, Field::Labels).unwrap(), None);
        let (_, rm) = split_args(&s(&["x", "tier-"]));
        assert_eq!(
            patch_for(Some(&current), &rm, false, Field::Annotations)
                .unwrap()
                .unwrap(),
            json!({"metadata": {"annotations": {"tier": null}}})
        );
    }
}
