//! `version` and `cluster-info`.

use kubelab_client::Method;
use serde_json::{json, Value};

use crate::cli::VersionArgs;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::output::{self, Format};

/// The Kubernetes version kubectl-lite speaks, and its own.
pub const CLIENT_VERSION: &str = concat!("v1.32.0-kubectl-lite.", env!("CARGO_PKG_VERSION"));

pub async fn version(ctx: &mut Ctx<'_>, args: VersionArgs) -> Result<()> {
    let format = match args.output.as_deref() {
        None => None,
        Some("yaml") => Some(Format::Yaml),
        Some("json") => Some(Format::Json),
        Some(other) => {
            return Err(CliError::msg(format!(
                "--output must be 'yaml' or 'json', not {other:?}"
            )))
        }
    };
    let client_info = json!({
        "major": "1",
        "minor": "32",
        "gitVersion": CLIENT_VERSION,
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    });
    let server: Option<Value> = if args.client {
        None
    } else {
        let client = ctx.client()?;
        Some(client.request(Method::GET, "/version", None).await?)
    };
    if let Some(format) = format {
        let mut doc = json!({"clientVersion": client_info});
        if let Some(s) = server {
            doc["serverVersion"] = s;
        }
        ctx.out.write_all(output::document(&doc, format).as_bytes())?;
        return Ok(());
    }
    writeln!(ctx.out, "Client Version: {CLIENT_VERSION}")?;
    if let Some(s) = server {
        let v = s.get("gitVersion").and_then(Value::as_str).unwrap_or("unknown");
        writeln!(ctx.out, "Server Version: {v}")?;
    }
    Ok(())
}

pub async fn cluster_info(ctx: &mut Ctx<'_>) -> Result<()> {
    let client = ctx.client()?;
    // One request, so an unreachable server is reported instead of printed as running.
    let _: Value = client.request(Method::GET, "/version", None).await?;
    writeln!(ctx.out, "Kubernetes control plane is running at {}", client.server())?;
    writeln!(ctx.out)?;
    writeln!(
        ctx.out,
        "To further debug and diagnose cluster problems, use 'kubectl-lite get all -A' and 'kubectl-lite describe'."
    )?;
    Ok(())
}
