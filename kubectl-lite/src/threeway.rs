//! The patch `kubectl apply` sends: a three-way diff between what was applied last time, what
//! is applied now, and what is live.
//!
//! Client-side apply keeps the manifest it applied in the annotation
//! `kubectl.kubernetes.io/last-applied-configuration`. On the next apply it compares three
//! things:
//!
//! - **original**, the last-applied manifest: a field there but gone from the new manifest was
//!   removed by the user, so the patch sets it to `null` (deleted);
//! - **modified**, the new manifest: a field whose value is not already live is sent;
//! - **live**, the object on the server: what controllers and the server added (defaults such
//!   as `imagePullPolicy` or `protocol: TCP`, `status`, the replicas an autoscaler chose) is
//!   left alone, because it is in neither manifest.
//!
//! "Already live" means *contained in* the live value: a container `{name, image}` is live
//! inside `{name, image, imagePullPolicy, ...}`, so the server's defaults do not make every
//! apply a change. Lists are compared item by item that way, and sent whole when they differ
//! (a JSON merge patch replaces lists; the server fills the defaults in again). An empty patch
//! means "unchanged", and no request is sent at all.

use serde_json::{Map, Value};

/// The annotation that remembers the last applied manifest.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The merge patch that takes `live` to `modified`, deleting what `original` had and
/// `modified` no longer has. Empty: nothing to do.
pub fn three_way(original: Option<&Value>, modified: &Value, live: &Value) -> Map<String, Value> {
    match modified.as_object() {
        Some(m) => diff(original.and_then(Value::as_object), m, live.as_object()),
        None => Map::new(),
    }
}

fn diff(
    original: Option<&Map<String, Value>>,
    modified: &Map<String, Value>,
    live: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut patch = Map::new();
    for (key, want) in modified {
        let have = live.and_then(|l| l.get(key));
        let before = original.and_then(|o| o.get(key));
        match (want, have) {
            (Value::Object(w), Some(Value::Object(h))) => {
                let sub = diff(before.and_then(Value::as_object), w, Some(h));
                if !sub.is_empty() {
                    patch.insert(key.clone(), Value::Object(sub));
                }
            }
            (_, Some(h)) if contains(h, want) && before.is_none_or(|b| b == want) => {}
            _ => {
                patch.insert(key.clone(), want.clone());
            }
        }
    }
    if let Some(original) = original {
        for key in original.keys() {
            if !modified.contains_key(key) && live.is_some_and(|l| l.contains_key(key)) {
                patch.insert(key.clone(), Value::Null);
            }
        }
    }
    patch
}

/// Whether `want` is part of `have`: every key of a map, recursively; lists of the same length
/// item by item; anything else equal.
pub fn contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w.iter().all(|(k, wv)| h.get(k).is_some_and(|hv| contains(hv, wv))),
        (Value::Array(h), Value::Array(w)) => h.len() == w.len() && h.iter().zip(w).all(|(hv, wv)| contains(hv, wv)),
        (Value::Number(h), Value::Number(w)) => h.as_f64() == w.as_f64(),
        _ => have == want,
    }
}

/// The manifest as kubectl records it in the annotation: itself without the annotation, as
/// one line of JSON and a newline.
pub fn last_applied_text(manifest: &Value) -> String {
    let mut copy = manifest.clone();
    if let Some(Value::Object(annotations)) = copy.pointer_mut("/metadata/annotations") {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty() {
            if let Some(Value::Object(meta)) = copy.get_mut("metadata") {
                meta.remove("annotations");
            }
        }
    }
    format!("{}\n", serde_json::to_string(&copy).unwrap_or_default())
}

/// `manifest` with the annotation set to `text`.
pub fn with_last_applied(manifest: &Value, text: &str) -> Value {
    let mut out = manifest.clone();
    if let Some(meta) = out
        .as_object_mut()
        .map(|o| o.entry("metadata").or_insert_with(|| Value::Object(Map::new())))
    {
        if let Some(meta) = meta.as_object_mut() {
            let annotations = meta.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
            if let Some(a) = annotations.as_object_mut() {
                a.insert(LAST_APPLIED.to_string(), Value::String(text.to_string()));
            }
        }
    }
    out
}

/// The last-applied manifest recorded on a live object, if any.
pub fn recorded(live: &Value) -> Option<Value> {
    live.pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str(text).ok())
}

/// The JSON merge patch (RFC 7386) that turns `from` into `to`: changed keys with their new
/// value, removed keys as `null`, lists replaced whole. `kubectl edit` sends this.
pub fn merge_diff(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(f), Value::Object(t)) => {
            let mut patch = Map::new();
            for (k, tv) in t {
                match f.get(k) {
                    Some(fv) if fv == tv => {}
                    Some(fv) if fv.is_object() && tv.is_object() => {
                        patch.insert(k.clone(), merge_diff(fv, tv));
                    }
                    _ => {
                        patch.insert(k.clone(), tv.clone());
                    }
                }
            }
            for k in f.keys() {
                if !t.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            Value::Object(patch)
        }
        _ => to.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
               "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 80}]}]}}}})
    }

    /// What the server keeps: the manifest with its annotation, plus defaults and status.
    fn live_of(applied: &Value) -> Value {
        let mut live = with_last_applied(applied, &last_applied_text(applied));
        live["metadata"]["uid"] = json!("u1");
        live["metadata"]["resourceVersion"] = json!("7");
        let c = &mut live["spec"]["template"]["spec"]["containers"][0];
        c["imagePullPolicy"] = json!("Always");
        c["ports"][0]["protocol"] = json!("TCP");
        live["status"] = json!({"replicas": 3});
        live
    }

    fn apply(previous: &Value, now: &Value) -> Map<String, Value> {
        let live = live_of(previous);
        let modified = with_last_applied(now, &last_applied_text(now));
        three_way(recorded(&live).as_ref(), &modified, &live)
    }

    #[test]
    fn the_same_manifest_again_is_unchanged_despite_server_defaults() {
        assert!(apply(&manifest("a:1"), &manifest("a:1")).is_empty());
    }

    #[test]
    fn a_changed_field_is_sent_with_the_new_annotation() {
        let patch = apply(&manifest("a:1"), &manifest("a:2"));
        assert_eq!(patch["spec"]["template"]["spec"]["containers"][0]["image"], "a:2");
        assert!(patch["metadata"]["annotations"][LAST_APPLIED]
            .as_str()
            .unwrap()
            .contains("a:2"));
        assert!(patch.get("status").is_none());
    }

    #[test]
    fn a_removed_field_is_deleted_but_server_fields_are_kept() {
        let mut before = manifest("a:1");
        before["metadata"]["labels"] = json!({"tier": "front", "app": "web"});
        let mut now = manifest("a:1");
        now["metadata"]["labels"] = json!({"app": "web"});
        now["spec"].as_object_mut().unwrap().remove("replicas");
        let patch = apply(&before, &now);
        assert_eq!(patch["metadata"]["labels"], json!({"tier": null}));
        assert_eq!(patch["spec"], json!({"replicas": null}));
    }

    #[test]
    fn a_field_removed_inside_a_list_item_resends_the_list() {
        let mut before = manifest("a:1");
        before["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["-v"]);
        let patch = apply(&before, &manifest("a:1"));
        let containers = &patch["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0].get("args"), None);
        assert_eq!(containers[0]["image"], "a:1");
    }

    #[test]
    fn live_changes_to_applied_fields_are_reverted() {
        let applied = manifest("a:1");
        let mut live = live_of(&applied);
        live["spec"]["replicas"] = json!(5);
        let modified = with_last_applied(&applied, &last_applied_text(&applied));
        let patch = three_way(recorded(&live).as_ref(), &modified, &live);
        assert_eq!(Value::Object(patch), json!({"spec": {"replicas": 3}}));
    }

    #[test]
    fn merge_diff_of_an_edit() {
        let from = json!({"a": 1, "b": {"c": 1, "d": 2}, "l": [1, 2], "gone": true});
        let to = json!({"a": 1, "b": {"c": 3, "d": 2}, "l": [1], "new": "x"});
        assert_eq!(
            merge_diff(&from, &to),
            json!({"b": {"c": 3}, "l": [1], "new": "x", "gone": null})
        );
        assert_eq!(merge_diff(&from, &from), json!({}));
    }

    #[test]
    fn containment() {
        assert!(contains(
            &json!({"a": 1, "b": [1, {"c": 2, "d": 3}]}),
            &json!({"b": [1, {"c": 2}]})
        ));
        assert!(!contains(&json!([1, 2]), &json!([1])));
        assert!(contains(&json!(1.0), &json!(1)));
        assert!(!contains(&json!({"a": 1}), &json!({"a": 2})));
    }
}
