//! `edit`: the object in `$KUBE_EDITOR` (else `$EDITOR`, else `vi`) as YAML (or JSON with
//! `-o json`), then the difference sent as a merge patch.
//!
//! As in kubectl: lines starting with `#` are ignored; saving the file unchanged cancels
//! ("Edit cancelled, no changes made."); if the server refuses the change, the file is opened
//! again with the error written at the top, and saving that unchanged gives up with an error.

use std::io::Write;
use std::process::Command;

use serde_json::Value;

use super::{display_name, get_object, named_targets, patch_object};
use crate::cli::EditArgs;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::output::{self, Format};
use crate::threeway::merge_diff;

const HEADER: &str = "\
# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving this file will be
# reopened with the relevant failures.
#
";

pub async fn run(ctx: &mut Ctx<'_>, args: EditArgs) -> Result<()> {
    let format = match args.output.as_str() {
        "yaml" => Format::Yaml,
        "json" => Format::Json,
        other => {
            return Err(CliError::msg(format!(
                "the edit format {other:?} is not supported; use yaml or json"
            )))
        }
    };
    let namespace = ctx.namespace()?;
    for (resource, name) in named_targets(ctx, &args.args, "edit").await? {
        let object = get_object(ctx, &resource, &namespace, &name).await?;
        let mut body = output::document(&object, format);
        let mut failure: Option<String> = None;
        loop {
            let written = match &failure {
                None => format!("{HEADER}{body}"),
                Some(message) => format!(
                    "{HEADER}# {} \"{name}\" was not valid:\n# * {}\n#\n{body}",
                    resource.group_resource(),
                    message.replace('\n', "\n# ")
                ),
            };
            let edited = open_in_editor(&written, format)?;
            let kept = strip_comments(&edited);
            if kept.trim().is_empty() {
                writeln!(ctx.err, "Edit cancelled, saved file was empty.")?;
                return Ok(());
            }
            if kept == strip_comments(&written) {
                if failure.is_some() {
                    return Err(CliError::msg("Edit cancelled, no valid changes were saved."));
                }
                writeln!(ctx.err, "Edit cancelled, no changes made.")?;
                break;
            }
            let value: Value = match parse(&kept, format) {
                Ok(v) => v,
                Err(message) => {
                    failure = Some(message);
                    body = kept;
                    continue;
                }
            };
            let patch = merge_diff(&object, &value);
            if patch.as_object().is_some_and(|p| p.is_empty()) {
                writeln!(ctx.err, "Edit cancelled, no changes made.")?;
                break;
            }
            match patch_object(
                ctx,
                &resource,
                &namespace,
                &name,
                "application/merge-patch+json",
                &patch,
                None,
            )
            .await
            {
                Ok(_) => {
                    writeln!(ctx.out, "{} edited", display_name(&resource, &name))?;
                    break;
                }
                Err(CliError::Server { message, .. }) => {
                    failure = Some(message);
                    body = kept;
                }
                Err(other) => return Err(other),
            }
        }
    }
    Ok(())
}

fn parse(text: &str, format: Format) -> std::result::Result<Value, String> {
    match format {
        Format::Json => serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}")),
        _ => serde_saphyr::from_str(text).map_err(|e| format!("invalid YAML: {e}")),
    }
}

/// The text without its `#` comment lines.
fn strip_comments(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Writes `text` to a temporary file, runs the editor on it, and returns what was saved.
fn open_in_editor(text: &str, format: Format) -> Result<String> {
    let suffix = if format == Format::Json { ".json" } else { ".yaml" };
    let mut file = tempfile::Builder::new()
        .prefix("kubectl-lite-edit-")
        .suffix(suffix)
        .tempfile()?;
    file.write_all(text.as_bytes())?;
    file.flush()?;
    let editor = ["KUBE_EDITOR", "EDITOR"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()))
        .unwrap_or_else(|| "vi".to_string());
    // Through the shell, so an editor with arguments (`code --wait`) works as in kubectl.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("kubectl-lite-edit")
        .arg(file.path())
        .status()
        .map_err(|e| CliError::msg(format!("cannot run the editor {editor:?}: {e}")))?;
    if !status.success() {
        return Err(CliError::msg(format!(
            "there was a problem with the editor \"{editor}\""
        )));
    }
    std::fs::read_to_string(file.path()).map_err(|e| CliError::msg(format!("cannot read the edited file back: {e}")))
}
