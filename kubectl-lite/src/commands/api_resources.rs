//! `api-resources`: the discovery documents as a table (NAME, SHORTNAMES, APIVERSION,
//! NAMESPACED, KIND; `-o wide` adds VERBS and CATEGORIES; `-o name` prints `deployments.apps`).

use crate::cli::ApiResourcesArgs;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::output::table::{render, Printed};

pub async fn run(ctx: &mut Ctx<'_>, args: ApiResourcesArgs) -> Result<()> {
    let wide = match args.output.as_deref() {
        None => false,
        Some("wide") => true,
        Some("name") => {
            for r in filtered(ctx, &args).await? {
                writeln!(ctx.out, "{}", r.group_resource())?;
            }
            return Ok(());
        }
        Some(other) => {
            return Err(CliError::msg(format!(
                "--output {other:?} is not available; use wide or name"
            )))
        }
    };
    let resources = filtered(ctx, &args).await?;
    let mut header: Vec<String> = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
        .map(String::from)
        .to_vec();
    if wide {
        header.extend(["VERBS".to_string(), "CATEGORIES".to_string()]);
    }
    let rows = resources
        .iter()
        .map(|r| {
            let mut row = vec![
                r.plural.clone(),
                r.short_names.join(","),
                r.api_version(),
                r.namespaced.to_string(),
                r.kind.clone(),
            ];
            if wide {
                row.push(format!("[{}]", r.verbs.join(" ")));
                row.push(r.categories.join(","));
            }
            row
        })
        .collect();
    let printed = Printed {
        header: if args.no_headers { Vec::new() } else { header },
        rows,
    };
    ctx.out.write_all(render(&printed).as_bytes())?;
    Ok(())
}

async fn filtered(ctx: &mut Ctx<'_>, args: &ApiResourcesArgs) -> Result<Vec<crate::resolve::ApiResource>> {
    let mut list: Vec<_> = ctx
        .discovery()
        .await?
        .resources
        .iter()
        .filter(|r| args.namespaced.is_none_or(|n| r.namespaced == n))
        .filter(|r| args.api_group.as_deref().is_none_or(|g| r.group == g))
        .cloned()
        .collect();
    // kubectl: by group, then by name.
    list.sort_by(|a, b| (a.group.as_str(), a.plural.as_str()).cmp(&(b.group.as_str(), b.plural.as_str())));
    Ok(list)
}
