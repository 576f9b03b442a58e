//! Finding and editing the kubeconfig file, for `config view|use-context|get-contexts`.
//!
//! The client library resolves a kubeconfig into a server and a namespace. The `config`
//! commands need the file itself: every context, the users and clusters, and a way to change
//! `current-context` without losing anything else. So here the file is read as an untyped
//! YAML tree, changed, and written back.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{CliError, Result};

/// The kubeconfig kubectl would use: `--kubeconfig`, else `KUBECONFIG`'s first entry, else
/// `$HOME/.kube/config`.
pub fn path(flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = flag {
        return Some(p.to_path_buf());
    }
    if let Some(list) = std::env::var_os("KUBECONFIG") {
        if let Some(first) = std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty()) {
            return Some(first);
        }
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".kube").join("config"))
}

/// The file as a YAML tree.
pub fn load(flag: Option<&Path>) -> Result<(PathBuf, Value)> {
    let path = path(flag).ok_or_else(|| CliError::msg("no kubeconfig: neither KUBECONFIG nor HOME is set"))?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CliError::msg(format!("cannot read kubeconfig {}: {e}", path.display())))?;
    let value: Value = if text.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_saphyr::from_str(&text)
            .map_err(|e| CliError::msg(format!("cannot parse kubeconfig {}: {e}", path.display())))?
    };
    Ok((path, value))
}

/// Writes the tree back.
pub fn save(path: &Path, value: &Value) -> Result<()> {
    std::fs::write(path, crate::output::yaml::to_yaml(value))
        .map_err(|e| CliError::msg(format!("cannot write kubeconfig {}: {e}", path.display())))
}

/// The entries of one of the three lists (`contexts`, `clusters`, `users`).
pub fn entries<'v>(config: &'v Value, list: &str) -> Vec<&'v Value> {
    config
        .get(list)
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// `current-context`, or `""`.
pub fn current_context(config: &Value) -> &str {
    config.get("current-context").and_then(Value::as_str).unwrap_or("")
}

/// A copy with only the current (or given) context, its cluster and its user: `--minify`.
pub fn minify(config: &Value, context: Option<&str>) -> Result<Value> {
    let name = context.unwrap_or(current_context(config));
    if name.is_empty() {
        return Err(CliError::msg("current-context must exist in order to minify"));
    }
    let ctx = entries(config, "contexts")
        .into_iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
        .ok_or_else(|| CliError::msg(format!("cannot locate context {name}")))?;
    let field = |f: &str| {
        ctx.pointer(&format!("/context/{f}"))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let pick = |list: &str, want: &str| -> Value {
        Value::Array(
            entries(config, list)
                .into_iter()
                .filter(|e| e.get("name").and_then(Value::as_str) == Some(want))
                .cloned()
                .collect(),
        )
    };
    let mut out = config.clone();
    if let Value::Object(map) = &mut out {
        map.insert("clusters".into(), pick("clusters", field("cluster")));
        map.insert("users".into(), pick("users", field("user")));
        map.insert("contexts".into(), Value::Array(vec![ctx.clone()]));
        map.insert("current-context".into(), Value::String(name.to_string()));
    }
    Ok(out)
}

/// Hides credentials as kubectl does without `--raw`.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match key.as_str() {
                    "client-certificate-data" | "client-key-data" | "certificate-authority-data" => {
                        *v = Value::String("DATA+OMITTED".into())
                    }
                    "token" | "password" => *v = Value::String("REDACTED".into()),
                    _ => redact(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn minify_keeps_one_context_and_redact_hides_secrets() {
        let config = json!({
            "clusters": [{"name": "a", "cluster": {"server": "http://a"}}, {"name": "b", "cluster": {}}],
            "contexts": [{"name": "a", "context": {"cluster": "a", "user": "u"}},
                         {"name": "b", "context": {"cluster": "b", "user": "v"}}],
            "users": [{"name": "u", "user": {"token": "secret"}}, {"name": "v", "user": {}}],
            "current-context": "a"
        });
        let mut small = minify(&config, None).unwrap();
        assert_eq!(small["clusters"].as_array().unwrap().len(), 1);
        assert_eq!(small["contexts"][0]["name"], "a");
        redact(&mut small);
        assert_eq!(small["users"][0]["user"]["token"], "REDACTED");
        assert!(minify(&config, Some("zz")).is_err());
    }
}
