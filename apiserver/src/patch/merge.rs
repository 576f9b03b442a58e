//! # JSON merge patch (RFC 7386), `application/merge-patch+json`
//!
//! The simplest patch format: the patch looks like the object, and says only what changes.
//!
//! - A field set to `null` is deleted.
//! - A map is merged into the map already there, recursively.
//! - Anything else (a string, a number, and notably a **list**) replaces what was there.
//!
//! `kubectl label`, `kubectl annotate` and `kubectl scale` send merge patches, because they
//! only touch maps and scalars. The catch is lists: `{"spec":{"containers":[{"name":"web",
//! "image":"v2"}]}}` replaces the *whole* container list with one container that has no ports
//! or env. That is why `kubectl apply` uses a strategic merge patch instead (see
//! [`super::strategic`]).

use serde_json::{Map, Value};

/// Merges `patch` into `target` in place.
///
/// A non-object patch replaces the target outright, as the RFC says; [`super::apply_patch`]
/// refuses such bodies before getting here, since a Kubernetes object must stay an object.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        // Merging a map into a scalar, a list or nothing starts from an empty map; this is
        // also what drops `null`s from parts of the patch that add new maps.
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                // `shift_remove` keeps the other fields in their order.
                target.shift_remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(original: Value, patch: Value) -> Value {
        let mut doc = original;
        merge_patch(&mut doc, &patch);
        doc
    }

    #[test]
    fn maps_merge_and_null_deletes() {
        let original =
            json!({"metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}}, "spec": {"replicas": 1}});
        let patch = json!({"metadata": {"labels": {"tier": null, "env": "prod"}}, "spec": {"replicas": 3}});
        assert_eq!(
            merged(original, patch),
            json!({"metadata": {"name": "web", "labels": {"app": "web", "env": "prod"}}, "spec": {"replicas": 3}})
        );
    }

    #[test]
    fn lists_are_replaced() {
        let original = json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80}]}]}});
        let patch = json!({"spec": {"containers": [{"name": "a", "image": "v2"}]}});
        assert_eq!(
            merged(original, patch),
            json!({"spec": {"containers": [{"name": "a", "image": "v2"}]}})
        );
    }

    #[test]
    fn new_maps_drop_nulls_and_scalars_become_maps() {
        assert_eq!(
            merged(json!({"a": 1}), json!({"b": {"c": null, "d": 2}})),
            json!({"a": 1, "b": {"d": 2}})
        );
        assert_eq!(merged(json!({"a": 1}), json!({"a": {"x": 1}})), json!({"a": {"x": 1}}));
        assert_eq!(merged(json!({"a": 1}), json!({"missing": null})), json!({"a": 1}));
    }

    #[test]
    fn key_order_is_kept() {
        let doc = merged(json!({"a": 1, "b": 2, "c": 3}), json!({"a": null, "b": 5}));
        assert_eq!(serde_json::to_string(&doc).unwrap(), r#"{"b":5,"c":3}"#);
    }
}
