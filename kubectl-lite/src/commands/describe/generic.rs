//! The page of any other kind: its metadata, then every other field as nested `Key: value`
//! lines (kubectl's generic describer for kinds it has no page for).

use serde_json::Value;

use super::doc::{map_lines, s, Doc};
use crate::resolve::ApiResource;

pub fn describe(doc: &mut Doc, res: &ApiResource, object: &Value) {
    doc.kv(0, "Name", s(object, "/metadata/name"));
    if res.namespaced {
        doc.kv(0, "Namespace", s(object, "/metadata/namespace"));
    }
    doc.kv(0, "Labels", map_lines(object.pointer("/metadata/labels"), "="));
    doc.kv(
        0,
        "Annotations",
        map_lines(object.pointer("/metadata/annotations"), ": "),
    );
    doc.kv(0, "API Version", res.api_version());
    doc.kv(0, "Kind", res.kind.clone());
    if let Some(map) = object.as_object() {
        for (key, value) in map {
            if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            field(doc, 0, key, value);
        }
    }
}

fn title(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn field(doc: &mut Doc, level: usize, key: &str, value: &Value) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            doc.line(level, format!("{}:", title(key)));
            for (k, v) in map {
                field(doc, level + 1, k, v);
            }
        }
        Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
            doc.line(level, format!("{}:", title(key)));
            for item in items {
                match item.as_object() {
                    Some(map) => {
                        for (k, v) in map {
                            field(doc, level + 1, k, v);
                        }
                    }
                    None => doc.line(level + 1, item.to_string()),
                }
            }
        }
        Value::Array(items) => {
            let text: Vec<String> = items
                .iter()
                .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
                .collect();
            doc.kv(level, &title(key), text.join("\n"));
        }
        Value::String(t) => doc.kv(level, &title(key), t.clone()),
        other => doc.kv(level, &title(key), other.to_string()),
    }
}
