//! `logs POD` or `logs deploy/NAME`: a container's log through the API server
//! (`GET .../pods/NAME/log`), which proxies it from the node's agent; `-f` streams it.
//!
//! For a workload (`deploy/web`, `rs/...`, `sts/...`) kubectl picks one of its pods through the
//! workload's selector, preferring a running one, and says which when there were several.

use futures_util::StreamExt;
use kubelab_client::Method;
use serde_json::Value;

use super::{get_object, list_objects};
use crate::cli::LogsArgs;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::resolve::{enc, ApiResource};

pub async fn run(ctx: &mut Ctx<'_>, args: LogsArgs) -> Result<()> {
    let namespace = ctx.namespace()?;
    let pods = ctx.resolve("pods").await?;
    let pod = target_pod(ctx, &pods, &namespace, &args.target).await?;
    let pod_name = crate::output::object_name(&pod).to_string();
    let container = match args.container {
        Some(c) => c,
        None => default_container(ctx, &pod)?,
    };
    let mut query = vec![format!("container={}", enc(&container))];
    if args.follow {
        query.push("follow=true".into());
    }
    if args.tail >= 0 {
        query.push(format!("tailLines={}", args.tail));
    }
    if args.previous {
        query.push("previous=true".into());
    }
    let path = format!("{}/log?{}", pods.item_path(&namespace, &pod_name), query.join("&"));
    let client = ctx.client()?;
    if args.follow {
        let mut stream = client.request_stream(&path).await?;
        while let Some(chunk) = stream.next().await {
            ctx.out.write_all(&chunk?)?;
            ctx.out.flush()?;
        }
    } else {
        let bytes = client.request_bytes(Method::GET, &path, None).await?;
        ctx.out.write_all(&bytes)?;
    }
    Ok(())
}

/// The pod `target` names: `POD`, `pod/POD`, or a workload (`deploy/web`), whose running pod
/// is picked through its selector (said on stderr when there were several). `exec` shares it.
pub(crate) async fn target_pod(ctx: &mut Ctx<'_>, pods: &ApiResource, namespace: &str, target: &str) -> Result<Value> {
    let pod = match target.split_once('/') {
        None => get_object(ctx, pods, namespace, target).await?,
        Some((word, name)) => {
            let resource = ctx.resolve(word).await?;
            if resource.plural == "pods" {
                get_object(ctx, pods, namespace, name).await?
            } else {
                let owner = get_object(ctx, &resource, namespace, name).await?;
                let selector = selector_text(&owner).ok_or_else(|| {
                    CliError::msg(format!(
                        "cannot get the logs of a {}: it has no pod selector",
                        resource.kind
                    ))
                })?;
                let (mut candidates, _) = list_objects(ctx, pods, Some(namespace), Some(&selector), None).await?;
                if candidates.is_empty() {
                    return Err(CliError::msg(format!(
                        "no pods found for {}/{name}",
                        resource.kind_group()
                    )));
                }
                candidates.sort_by_key(pod_rank);
                if candidates.len() > 1 {
                    writeln!(
                        ctx.err,
                        "Found {} pods, using pod/{}",
                        candidates.len(),
                        crate::output::object_name(&candidates[0])
                    )?;
                }
                candidates.swap_remove(0)
            }
        }
    };
    Ok(pod)
}

/// The only container, else the `kubectl.kubernetes.io/default-container`, else the first
/// (said on stderr, as kubectl does).
pub(crate) fn default_container(ctx: &mut Ctx<'_>, pod: &Value) -> Result<String> {
    let names: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let annotated = pod
        .pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container")
        .and_then(Value::as_str);
    match (names.as_slice(), annotated) {
        ([], _) => Err(CliError::msg(format!(
            "pod {} has no containers",
            crate::output::object_name(pod)
        ))),
        ([one], _) => Ok(one.to_string()),
        (_, Some(a)) if names.contains(&a) => Ok(a.to_string()),
        ([first, ..], _) => {
            writeln!(ctx.err, "Defaulted container \"{first}\" out of: {}", names.join(", "))?;
            Ok(first.to_string())
        }
    }
}

/// `app=web,tier=front` from a workload's `spec.selector.matchLabels`.
pub fn selector_text(workload: &Value) -> Option<String> {
    let labels = workload
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)?;
    let mut pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    (!pairs.is_empty()).then(|| pairs.join(","))
}

/// Running pods first, then pending ones, then the rest; newest first among equals.
fn pod_rank(pod: &Value) -> (u8, std::cmp::Reverse<String>) {
    let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("");
    let rank = match phase {
        "Running" => 0,
        "Pending" => 1,
        _ => 2,
    };
    let created = pod
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .unwrap_or("");
    (rank, std::cmp::Reverse(created.to_string()))
}
