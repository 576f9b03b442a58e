//! `scale deploy/web --replicas=5`: a merge patch of the object's `scale` subresource, as
//! kubectl sends it; the controllers do the rest.

use serde_json::json;

use super::{display_name, named_targets, patch_object};
use crate::cli::ScaleArgs;
use crate::context::Ctx;
use crate::error::{CliError, Result};

pub async fn run(ctx: &mut Ctx<'_>, args: ScaleArgs) -> Result<()> {
    if args.replicas < 0 {
        return Err(CliError::msg(
            "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0",
        ));
    }
    let namespace = ctx.namespace()?;
    for (resource, name) in named_targets(ctx, &args.args, "scale").await? {
        let patch = json!({"spec": {"replicas": args.replicas}});
        let result = patch_object(
            ctx,
            &resource,
            &namespace,
            &name,
            "application/merge-patch+json",
            &patch,
            Some("scale"),
        )
        .await;
        match result {
            Ok(_) => writeln!(ctx.out, "{} scaled", display_name(&resource, &name))?,
            Err(e) => ctx.report(e),
        }
    }
    Ok(())
}
