//! `rollout status | history | undo | restart | pause | resume`.
//!
//! All of it is client-side, as in kubectl: the Deployment controller does the rolling, and
//! these commands only read what it reports (`status`), read the ReplicaSets it keeps as
//! history (`history`), or change the Deployment's spec so the controller acts (`undo` copies an
//! old ReplicaSet's pod template back, `restart` stamps the template with an annotation,
//! `pause` and `resume` flip `spec.paused`).

mod history;
mod status;

pub use history::{history, revision_of, undo};
pub use status::{deployment_progress, statefulset_progress, Progress};

use serde_json::{json, Value};

use super::{display_name, get_object, named_targets, patch_object};
use crate::cli::RolloutCommand;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::resolve::ApiResource;

pub async fn run(ctx: &mut Ctx<'_>, command: RolloutCommand) -> Result<()> {
    match command {
        RolloutCommand::Status { args, watch, timeout } => {
            for (resource, name) in named_targets(ctx, &args, "rollout status").await? {
                status::run(ctx, &resource, &name, watch, &timeout).await?;
            }
            Ok(())
        }
        RolloutCommand::History { args, revision } => {
            for (resource, name) in deployments(ctx, &args, "history").await? {
                history(ctx, &resource, &name, revision).await?;
            }
            Ok(())
        }
        RolloutCommand::Undo { args, to_revision } => {
            for (resource, name) in deployments(ctx, &args, "undo").await? {
                if let Err(e) = undo(ctx, &resource, &name, to_revision).await {
                    ctx.report(e);
                }
            }
            Ok(())
        }
        RolloutCommand::Restart { args } => each(ctx, &args, "restart", Change::Restart).await,
        RolloutCommand::Pause { args } => each(ctx, &args, "pause", Change::Pause).await,
        RolloutCommand::Resume { args } => each(ctx, &args, "resume", Change::Resume).await,
    }
}

/// The named objects, which must be Deployments.
async fn deployments(ctx: &mut Ctx<'_>, args: &[String], verb: &str) -> Result<Vec<(ApiResource, String)>> {
    let pairs = named_targets(ctx, args, &format!("rollout {verb}")).await?;
    for (resource, _) in &pairs {
        if resource.kind != "Deployment" {
            return Err(CliError::msg(format!(
                "rollout {verb} is built for deployments only in kubectl-lite, not {}",
                resource.group_resource()
            )));
        }
    }
    Ok(pairs)
}

#[derive(Clone, Copy)]
enum Change {
    Restart,
    Pause,
    Resume,
}

async fn each(ctx: &mut Ctx<'_>, args: &[String], verb: &str, change: Change) -> Result<()> {
    let namespace = ctx.namespace()?;
    for (resource, name) in deployments(ctx, args, verb).await? {
        let result = async {
            let deployment = get_object(ctx, &resource, &namespace, &name).await?;
            let paused = deployment.pointer("/spec/paused").and_then(Value::as_bool).unwrap_or(false);
            let what = format!("{} \"{name}\"", resource.group_resource());
            let (patch, done) = match change {
                Change::Pause if paused => return Err(CliError::msg(format!("{what} is already paused"))),
                Change::Resume if !paused => return Err(CliError::msg(format!("{what} is not paused"))),
                Change::Restart if paused => {
                    return Err(CliError::msg(format!(
                        "{what} can't restart paused deployment (run rollout resume first)"
                    )))
                }
                Change::Pause => (json!({"spec": {"paused": true}}), "paused"),
                Change::Resume => (json!({"spec": {"paused": null}}), "resumed"),
                Change::Restart => {
                    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    (
                        json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}}}}),
                        "restarted",
                    )
                }
            };
            patch_object(ctx, &resource, &namespace, &name, "application/merge-patch+json", &patch, None).await?;
            Ok(format!("{} {done}", display_name(&resource, &name)))
        }
        .await;
        match result {
            Ok(line) => writeln!(ctx.out, "{line}")?,
            Err(e) => ctx.report(e),
        }
    }
    Ok(())
}
