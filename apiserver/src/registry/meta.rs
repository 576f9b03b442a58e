//! # Reading and writing `metadata` on JSON objects
//!
//! The registry works on `serde_json::Value` so that one code path serves every kind; these
//! helpers keep the JSON poking in one place.

use serde_json::{Map, Value};

/// `metadata`, created if missing (or if it is not an object).
pub fn meta_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.is_object() {
        *object = Value::Object(Map::new());
    }
    let Value::Object(fields) = object else {
        unreachable!("made an object above")
    };
    let meta = fields.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    match meta {
        Value::Object(m) => m,
        _ => unreachable!("made an object above"),
    }
}

/// A string field of `metadata`, if present and a non-empty string.
pub fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str().filter(|s| !s.is_empty())
}

/// Sets or removes a field of `metadata`.
pub fn set_meta(object: &mut Value, field: &str, value: Option<Value>) {
    let meta = meta_mut(object);
    match value {
        Some(v) => {
            meta.insert(field.to_string(), v);
        }
        None => {
            meta.remove(field);
        }
    }
}

/// Copies a `metadata` field from `from` to `to` (removing it from `to` if `from` lacks it).
pub fn copy_meta(from: &Value, to: &mut Value, field: &str) {
    let value = from.get("metadata").and_then(|m| m.get(field)).cloned();
    set_meta(to, field, value);
}

/// Sets or removes a top-level field (`status`).
pub fn set_top(object: &mut Value, field: &str, value: Option<Value>) {
    if let Value::Object(fields) = object {
        match value {
            Some(v) => {
                fields.insert(field.to_string(), v);
            }
            None => {
                fields.remove(field);
            }
        }
    }
}

/// `metadata.finalizers` as strings.
pub fn finalizers(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Whether deletion has been asked for (`metadata.deletionTimestamp` is set).
pub fn is_deleting(object: &Value) -> bool {
    meta_str(object, "deletionTimestamp").is_some()
}

/// `metadata.deletionGracePeriodSeconds`, 0 when absent.
pub fn deletion_grace(object: &Value) -> i64 {
    object
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// `metadata.generation`, 0 when absent.
pub fn generation(object: &Value) -> i64 {
    object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// Now plus `seconds`, as Kubernetes writes timestamps (RFC 3339, whole seconds, UTC).
pub fn now_plus(seconds: i64) -> Value {
    let now = chrono::Utc::now();
    // Checked arithmetic: a grace period of i64::MAX seconds must not panic the server.
    let at = chrono::TimeDelta::try_seconds(seconds)
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(now);
    Value::String(kubelab_api::Time(at).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn meta_helpers() {
        let mut obj = json!({"kind": "Pod"});
        set_meta(&mut obj, "name", Some(json!("web")));
        assert_eq!(meta_str(&obj, "name"), Some("web"));
        copy_meta(&json!({}), &mut obj, "name");
        assert_eq!(meta_str(&obj, "name"), None);
        let mut not_object = json!([1]);
        meta_mut(&mut not_object);
        assert!(not_object.get("metadata").is_some());
        assert!(now_plus(0).as_str().unwrap().ends_with('Z'));
    }
}
