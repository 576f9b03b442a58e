//! `config view | use-context | current-context | get-contexts`: reading and changing the
//! kubeconfig file itself (see [`crate::kubeconfig`]).

use serde_json::Value;

use crate::cli::ConfigCommand;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::kubeconfig::{self, current_context, entries};
use crate::output::table::{render, Printed};
use crate::output::{self, Format};

pub fn run(ctx: &mut Ctx<'_>, command: ConfigCommand) -> Result<()> {
    let flag = ctx.global.kubeconfig.clone();
    match command {
        ConfigCommand::View { minify, raw, output } => {
            let (_, mut config) = kubeconfig::load(flag.as_deref())?;
            if minify {
                config = kubeconfig::minify(&config, ctx.global.context.as_deref())?;
            }
            if !raw {
                kubeconfig::redact(&mut config);
            }
            let format = match output.as_deref() {
                None | Some("yaml") => Format::Yaml,
                Some("json") => Format::Json,
                Some(other) => {
                    return Err(CliError::msg(format!(
                        "--output {other:?} is not supported; use yaml or json"
                    )))
                }
            };
            ctx.out.write_all(output::document(&config, format).as_bytes())?;
        }
        ConfigCommand::CurrentContext => {
            let (_, config) = kubeconfig::load(flag.as_deref())?;
            let current = current_context(&config);
            if current.is_empty() {
                return Err(CliError::msg("current-context is not set"));
            }
            writeln!(ctx.out, "{current}")?;
        }
        ConfigCommand::UseContext { name } => {
            let (path, mut config) = kubeconfig::load(flag.as_deref())?;
            let exists = entries(&config, "contexts")
                .iter()
                .any(|c| c.get("name").and_then(Value::as_str) == Some(name.as_str()));
            if !exists {
                return Err(CliError::msg(format!("no context exists with the name: \"{name}\"")));
            }
            if let Value::Object(map) = &mut config {
                map.insert("current-context".into(), Value::String(name.clone()));
            }
            kubeconfig::save(&path, &config)?;
            writeln!(ctx.out, "Switched to context \"{name}\".")?;
        }
        ConfigCommand::GetContexts {
            name,
            no_headers,
            output,
        } => {
            let (_, config) = kubeconfig::load(flag.as_deref())?;
            let current = current_context(&config).to_string();
            let contexts: Vec<&Value> = entries(&config, "contexts")
                .into_iter()
                .filter(|c| {
                    name.as_deref()
                        .is_none_or(|n| c.get("name").and_then(Value::as_str) == Some(n))
                })
                .collect();
            if let Some(n) = &name {
                if contexts.is_empty() {
                    return Err(CliError::msg(format!("context {n} not found")));
                }
            }
            let field = |c: &Value, path: &str| c.pointer(path).and_then(Value::as_str).unwrap_or("").to_string();
            if output.as_deref() == Some("name") {
                for c in contexts {
                    writeln!(ctx.out, "{}", field(c, "/name"))?;
                }
                return Ok(());
            }
            let rows = contexts
                .iter()
                .map(|c| {
                    let n = field(c, "/name");
                    vec![
                        if n == current { "*".into() } else { String::new() },
                        n,
                        field(c, "/context/cluster"),
                        field(c, "/context/user"),
                        field(c, "/context/namespace"),
                    ]
                })
                .collect();
            let header = ["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]
                .map(String::from)
                .to_vec();
            let printed = Printed {
                header: if no_headers { Vec::new() } else { header },
                rows,
            };
            ctx.out.write_all(render(&printed).as_bytes())?;
        }
    }
    Ok(())
}
