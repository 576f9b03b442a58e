//! How objects are printed: server Tables (`table`), YAML (`yaml`), JSON and names, plus ages
//! for `describe` (`age`).

pub mod age;
pub mod table;
pub mod yaml;

use serde_json::Value;

use crate::error::{CliError, Result};
use crate::resolve::ApiResource;

/// The `-o` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The server's Table (the default).
    Table,
    /// The Table with its priority-1 columns.
    Wide,
    Yaml,
    Json,
    /// `deployment.apps/web`.
    Name,
}

impl Format {
    /// Parses `-o`; `None` is the default table.
    pub fn parse(flag: Option<&str>) -> Result<Format> {
        Ok(match flag {
            None | Some("") => Format::Table,
            Some("wide") => Format::Wide,
            Some("yaml") => Format::Yaml,
            Some("json") => Format::Json,
            Some("name") => Format::Name,
            Some(other) => {
                return Err(CliError::msg(format!(
                    "unable to match a printer suitable for the output format \"{other}\", allowed formats are: json,name,wide,yaml"
                )))
            }
        })
    }

    pub fn is_table(self) -> bool {
        matches!(self, Format::Table | Format::Wide)
    }
}

/// JSON as kubectl prints it: four-space indent, a final newline.
pub fn to_json(value: &Value) -> String {
    use serde::Serialize;
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    let _ = value.serialize(&mut ser);
    buf.push(b'\n');
    String::from_utf8(buf).unwrap_or_default()
}

/// `value` in the YAML or JSON format.
pub fn document(value: &Value, format: Format) -> String {
    match format {
        Format::Json => to_json(value),
        _ => yaml::to_yaml(value),
    }
}

/// `deployment.apps/web`.
pub fn name_of(resource: &ApiResource, object: &Value) -> String {
    format!("{}/{}", resource.kind_group(), object_name(object))
}

/// `metadata.name`, or `""`.
pub fn object_name(object: &Value) -> &str {
    object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
}

/// A list of objects as kubectl wraps it for `-o yaml|json`.
pub fn list_document(items: Vec<Value>) -> Value {
    serde_json::json!({
        "apiVersion": "v1",
        "items": items,
        "kind": "List",
        "metadata": {"resourceVersion": ""}
    })
}

/// Fills `apiVersion` and `kind` in, which list items may leave out.
pub fn with_type(resource: &ApiResource, mut object: Value) -> Value {
    if let Value::Object(map) = &mut object {
        if !map.contains_key("apiVersion") || !map.contains_key("kind") {
            let mut typed = serde_json::Map::new();
            typed.insert("apiVersion".into(), Value::String(resource.api_version()));
            typed.insert("kind".into(), Value::String(resource.kind.clone()));
            for (k, v) in std::mem::take(map) {
                if k != "apiVersion" && k != "kind" {
                    typed.insert(k, v);
                }
            }
            *map = typed;
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_json() {
        assert_eq!(Format::parse(Some("wide")).unwrap(), Format::Wide);
        let err = Format::parse(Some("xml")).unwrap_err().to_string();
        assert!(err.contains("\"xml\""), "{err}");
        assert_eq!(
            to_json(&serde_json::json!({"a": [1]})),
            "{\n    \"a\": [\n        1\n    ]\n}\n"
        );
    }
}
