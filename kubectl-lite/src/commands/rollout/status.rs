//! `rollout status`: kubectl's rules for "is this rollout done?", applied to every change of
//! the object until it is.
//!
//! A Deployment is rolled out when the controller has seen its latest spec
//! (`observedGeneration >= generation`), every replica runs the new template
//! (`updatedReplicas >= spec.replicas`), no old replica is left (`replicas <= updatedReplicas`)
//! and every new one is available; a `Progressing` condition with reason
//! `ProgressDeadlineExceeded` is a failure. The messages are kubectl's, word for word.

use std::time::Duration;

use serde_json::Value;

use super::super::{follow_watch, get_object};
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::resolve::{enc, ApiResource};

/// Where a rollout stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Still going: what it waits for.
    Waiting(String),
    /// Finished.
    Done(String),
}

fn int(v: &Value, path: &str) -> i64 {
    v.pointer(path).and_then(Value::as_i64).unwrap_or(0)
}

/// kubectl's `DeploymentStatusViewer`.
pub fn deployment_progress(d: &Value) -> Result<Progress> {
    let name = crate::output::object_name(d);
    if int(d, "/metadata/generation") > int(d, "/status/observedGeneration") {
        return Ok(Progress::Waiting(
            "Waiting for deployment spec update to be observed...".into(),
        ));
    }
    let timed_out = d
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded");
    if timed_out {
        return Err(CliError::msg(format!(
            "deployment \"{name}\" exceeded its progress deadline"
        )));
    }
    let desired = d.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let (replicas, updated, available) = (
        int(d, "/status/replicas"),
        int(d, "/status/updatedReplicas"),
        int(d, "/status/availableReplicas"),
    );
    let wait = |m: String| {
        Ok(Progress::Waiting(format!(
            "Waiting for deployment \"{name}\" rollout to finish: {m}"
        )))
    };
    if updated < desired {
        return wait(format!("{updated} out of {desired} new replicas have been updated..."));
    }
    if replicas > updated {
        return wait(format!(
            "{} old replicas are pending termination...",
            replicas - updated
        ));
    }
    if available < updated {
        return wait(format!("{available} of {updated} updated replicas are available..."));
    }
    Ok(Progress::Done(format!("deployment \"{name}\" successfully rolled out")))
}

/// kubectl's `StatefulSetStatusViewer`.
pub fn statefulset_progress(s: &Value) -> Result<Progress> {
    let strategy = s
        .pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if strategy != "RollingUpdate" {
        return Err(CliError::msg(
            "rollout status is only available for RollingUpdate strategy type",
        ));
    }
    let observed = int(s, "/status/observedGeneration");
    if observed == 0 || int(s, "/metadata/generation") > observed {
        return Ok(Progress::Waiting(
            "Waiting for statefulset spec update to be observed...".into(),
        ));
    }
    let desired = s.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let ready = int(s, "/status/readyReplicas");
    if ready < desired {
        return Ok(Progress::Waiting(format!(
            "Waiting for {} pods to be ready...",
            desired - ready
        )));
    }
    let updated = int(s, "/status/updatedReplicas");
    if let Some(partition) = s
        .pointer("/spec/updateStrategy/rollingUpdate/partition")
        .and_then(Value::as_i64)
    {
        if updated < desired - partition {
            return Ok(Progress::Waiting(format!(
                "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...",
                desired - partition
            )));
        }
        return Ok(Progress::Done(format!(
            "partitioned roll out complete: {updated} new pods have been updated..."
        )));
    }
    let (update_rev, current_rev) = (
        s.pointer("/status/updateRevision")
            .and_then(Value::as_str)
            .unwrap_or(""),
        s.pointer("/status/currentRevision")
            .and_then(Value::as_str)
            .unwrap_or(""),
    );
    if update_rev != current_rev {
        return Ok(Progress::Waiting(format!(
            "waiting for statefulset rolling update to complete {updated} pods at revision {update_rev}..."
        )));
    }
    Ok(Progress::Done(format!(
        "statefulset rolling update complete {} pods at revision {current_rev}...",
        int(s, "/status/currentReplicas")
    )))
}

fn progress_of(resource: &ApiResource, object: &Value) -> Result<Progress> {
    match resource.kind.as_str() {
        "Deployment" => deployment_progress(object),
        "StatefulSet" => statefulset_progress(object),
        other => Err(CliError::msg(format!(
            "no status viewer has been implemented for {other}"
        ))),
    }
}

/// `30s`, `5m`, `1h`, `0` (none).
fn parse_timeout(text: &str) -> Result<Option<Duration>> {
    let text = text.trim();
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| CliError::msg(format!("invalid --timeout {text:?}: use a duration such as 30s or 5m")))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => {
            return Err(CliError::msg(format!(
                "invalid --timeout {text:?}: use a duration such as 30s or 5m"
            )))
        }
    };
    Ok((seconds > 0).then(|| Duration::from_secs(seconds)))
}

pub async fn run(ctx: &mut Ctx<'_>, resource: &ApiResource, name: &str, watch: bool, timeout: &str) -> Result<()> {
    let limit = parse_timeout(timeout)?;
    let namespace = ctx.namespace()?;
    let follow = follow_until_done(ctx, resource, &namespace, name, watch);
    match limit {
        None => follow.await,
        Some(limit) => tokio::time::timeout(limit, follow)
            .await
            .map_err(|_| CliError::msg("timed out waiting for the condition"))?,
    }
}

async fn follow_until_done(
    ctx: &mut Ctx<'_>,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
    watch: bool,
) -> Result<()> {
    let mut last = String::new();
    loop {
        let object = get_object(ctx, resource, namespace, name).await?;
        let mut say = |ctx: &mut Ctx<'_>, object: &Value| -> Result<bool> {
            let (text, done) = match progress_of(resource, object)? {
                Progress::Waiting(t) => (t, false),
                Progress::Done(t) => (t, true),
            };
            if text != last {
                writeln!(ctx.out, "{text}")?;
                ctx.out.flush()?;
                last = text;
            }
            Ok(done)
        };
        if say(ctx, &object)? || !watch {
            return Ok(());
        }
        let rv = object
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let path = format!(
            "{}?watch=true&resourceVersion={}&fieldSelector={}",
            resource.collection_path(Some(namespace)),
            enc(rv),
            enc(&format!("metadata.name={name}"))
        );
        let mut finished = false;
        follow_watch(ctx, &path, "application/json", |ctx, kind, object| {
            if kind == "DELETED" {
                return Err(CliError::msg(format!("object has been deleted: {name}")));
            }
            finished = say(ctx, &object)?;
            Ok(!finished)
        })
        .await?;
        if finished {
            return Ok(());
        }
        // The server ended the watch: read the object again and watch on.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy(gen: i64, observed: i64, replicas: i64, status: (i64, i64, i64)) -> Value {
        json!({"metadata": {"name": "web", "generation": gen},
               "spec": {"replicas": replicas},
               "status": {"observedGeneration": observed, "replicas": status.0, "updatedReplicas": status.1, "availableReplicas": status.2}})
    }

    #[test]
    fn deployment_messages_are_kubectls() {
        let waiting = |d: Value| match deployment_progress(&d).unwrap() {
            Progress::Waiting(t) => t,
            Progress::Done(t) => panic!("done: {t}"),
        };
        assert_eq!(
            waiting(deploy(2, 1, 3, (3, 3, 3))),
            "Waiting for deployment spec update to be observed..."
        );
        assert_eq!(
            waiting(deploy(1, 1, 3, (3, 1, 1))),
            "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated..."
        );
        assert_eq!(
            waiting(deploy(1, 1, 3, (4, 3, 3))),
            "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination..."
        );
        assert_eq!(
            waiting(deploy(1, 1, 3, (3, 3, 1))),
            "Waiting for deployment \"web\" rollout to finish: 1 of 3 updated replicas are available..."
        );
        assert_eq!(
            deployment_progress(&deploy(1, 1, 3, (3, 3, 3))).unwrap(),
            Progress::Done("deployment \"web\" successfully rolled out".into())
        );
        let mut stuck = deploy(1, 1, 3, (3, 1, 1));
        stuck["status"]["conditions"] = json!([{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]);
        assert_eq!(
            deployment_progress(&stuck).unwrap_err().to_string(),
            "error: deployment \"web\" exceeded its progress deadline"
        );
    }

    #[test]
    fn statefulset_rules() {
        let mut s = json!({"metadata": {"generation": 1}, "spec": {"replicas": 2, "updateStrategy": {"type": "OnDelete"}}, "status": {}});
        assert!(statefulset_progress(&s).is_err());
        s["spec"]["updateStrategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}});
        s["status"] = json!({"observedGeneration": 1, "readyReplicas": 1});
        assert_eq!(
            statefulset_progress(&s).unwrap(),
            Progress::Waiting("Waiting for 1 pods to be ready...".into())
        );
        s["status"] = json!({"observedGeneration": 1, "readyReplicas": 2, "updatedReplicas": 2});
        assert_eq!(
            statefulset_progress(&s).unwrap(),
            Progress::Done("partitioned roll out complete: 2 new pods have been updated...".into())
        );
        assert_eq!(parse_timeout("0s").unwrap(), None);
        assert_eq!(parse_timeout("2m").unwrap(), Some(Duration::from_secs(120)));
        assert!(parse_timeout("soon").is_err());
    }
}
