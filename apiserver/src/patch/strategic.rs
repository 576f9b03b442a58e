//! # Strategic merge patch, `application/strategic-merge-patch+json`
//!
//! ## Why it exists
//!
//! `kubectl apply -f web.yaml` must change a live object to match a file, without clobbering
//! what others wrote (the scheduler's `spec.nodeName`, a controller's `status`, a label added by
//! hand). So kubectl computes a *three-way diff* between the file, the configuration it applied
//! last time (kept in the `kubectl.kubernetes.io/last-applied-configuration` annotation) and the
//! live object, and sends only the difference as a patch.
//!
//! A plain JSON merge patch (see [`super::merge`]) cannot express that difference for lists:
//! it can only replace a list whole. Changing the image of one container would mean resending
//! every container, and any field kubectl does not know about (a port defaulted by the server)
//! would be lost. The strategic merge patch fixes this by knowing, per field, how a list is
//! identified: containers by `name`, container ports by `containerPort`, and so on (the table
//! in [`super::merge_keys`]). Lists with such a *merge key* are merged element by element:
//!
//! ```text
//! live:   containers: [{name: nginx, image: nginx:1.25, ports: [{containerPort: 80}]}]
//! patch:  containers: [{name: nginx, image: nginx:1.26}]
//! result: containers: [{name: nginx, image: nginx:1.26, ports: [{containerPort: 80}]}]
//! ```
//!
//! ## The rules
//!
//! - Maps merge recursively; `null` deletes a field.
//! - A list with a merge key merges by that key: a patch element updates the live element with
//!   the same key (recursively) or is appended. Live elements the patch does not mention stay.
//! - A list of primitives with the merge strategy (`metadata.finalizers`) is merged as a set.
//! - Any other list is replaced wholesale, as in a JSON merge patch.
//!
//! ## Directives
//!
//! A patch can also carry instructions, in keys that start with `$`. They steer the merge and
//! never appear in the result.
//!
//! - `{"$patch": "replace", ...}` in a map: the map becomes exactly the rest of this map.
//! - `{"$patch": "delete"}` in a map: the field holding this map is deleted.
//! - `{"$patch": "merge"}`: the default; allowed and ignored.
//! - `[{"$patch": "replace"}, a, b]` in a list: the list becomes exactly `[a, b]`.
//! - `[{"name": "sidecar", "$patch": "delete"}]` in a list merged by `name`: remove that element.
//! - `"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]`: the final order of the merged
//!   list. kubectl sends it because merging alone cannot move elements; elements the order does
//!   not mention go after, in their previous relative order.
//! - `"$retainKeys": ["type", "rollingUpdate"]`: before merging, drop every field of the live map
//!   not in the list. kubectl uses it for unions like a Deployment's `strategy`, where switching
//!   to `type: Recreate` must also remove `rollingUpdate`.
//! - `"$deleteFromPrimitiveList/finalizers": ["a"]`: remove these values from a set-like list,
//!   which merging by itself can only grow.
//!
//! ## Server-side apply, simplified
//!
//! Real server-side apply (`application/apply-patch+yaml`) records which *field manager* owns
//! every field (`metadata.managedFields`), removes fields a manager stops applying, and reports
//! conflicts between managers. kubelab tracks no field managers. It treats the applied body as
//! the desired object and merges it into the live object with the rules above: maps merge,
//! lists with merge keys merge by key, other lists are replaced, and fields the applied
//! configuration leaves out are kept. So removing a container from the manifest and applying
//! again does not remove it here; client-side `kubectl apply` (which sends `$patch: delete`)
//! does. Directives are refused in an applied body, as they are not part of an object.

use std::fmt;

use serde_json::{Map, Value};

use super::merge_keys::{list_strategy, ListStrategy};
use super::{PatchError, PatchType};

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Applies a strategic merge patch to `original`, an object of `kind` (`"Pod"`...).
///
/// `original` may be `null`, meaning there is no object yet: the patch is applied to `{}`.
pub fn strategic_merge(kind: &str, original: &Value, patch: &Value) -> Result<Value, PatchError> {
    merge_object(kind, original, patch, PatchType::StrategicMerge)
}

/// Server-side apply as kubelab simplifies it (see the module documentation): the applied
/// object merged into `original` (or into `{}` when `original` is `null`, for a create).
pub fn server_side_apply(kind: &str, original: &Value, applied: &Value) -> Result<Value, PatchError> {
    if let Some(key) = find_directive(applied) {
        return Err(PatchError::Malformed {
            patch_type: PatchType::Apply,
            message: format!("{key} is a strategic merge patch directive; an applied configuration is a plain object"),
        });
    }
    merge_object(kind, original, applied, PatchType::Apply)
}

fn merge_object(kind: &str, original: &Value, patch: &Value, patch_type: PatchType) -> Result<Value, PatchError> {
    let Value::Object(patch) = patch else {
        return Err(PatchError::Malformed {
            patch_type,
            message: "the patch must be a JSON object".into(),
        });
    };
    let base = match original {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        _ => {
            return Err(PatchError::Invalid(
                "the object being patched is not a JSON object".into(),
            ))
        }
    };
    let merger = Merger { kind };
    match merger.merge_map(base, patch, &Path::default())? {
        Some(merged) => Ok(Value::Object(merged)),
        None => Err(PatchError::BadDirective {
            path: Path::default().to_string(),
            directive: PATCH.into(),
            message: "a patch cannot delete the whole object; use DELETE".into(),
        }),
    }
}

/// The first directive key anywhere in `value`, if any.
fn find_directive(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => map
            .keys()
            .find(|k| is_directive(k))
            .cloned()
            .or_else(|| map.values().find_map(find_directive)),
        Value::Array(items) => items.iter().find_map(find_directive),
        _ => None,
    }
}

fn is_directive(key: &str) -> bool {
    key == PATCH
        || key == RETAIN_KEYS
        || key.starts_with(SET_ELEMENT_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

/// Where we are in the object, for choosing a list strategy (field names only) and for error
/// messages (`spec.containers[1]`).
#[derive(Clone, Debug, Default)]
struct Path {
    segments: Vec<Segment>,
}

#[derive(Clone, Debug)]
enum Segment {
    Field(String),
    Index(usize),
}

impl Path {
    fn field(&self, name: &str) -> Path {
        let mut segments = self.segments.clone();
        segments.push(Segment::Field(name.to_string()));
        Path { segments }
    }

    fn index(&self, i: usize) -> Path {
        let mut segments = self.segments.clone();
        segments.push(Segment::Index(i));
        Path { segments }
    }

    /// The field names, skipping list positions: what the merge key table is indexed by.
    fn fields(&self) -> Vec<&str> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Field(f) => Some(f.as_str()),
                Segment::Index(_) => None,
            })
            .collect()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("<object>");
        }
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Field(name) if i == 0 => f.write_str(name)?,
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

fn bad_directive(path: &Path, directive: &str, message: impl Into<String>) -> PatchError {
    PatchError::BadDirective {
        path: path.to_string(),
        directive: directive.to_string(),
        message: message.into(),
    }
}

/// The merge, for one kind of object.
struct Merger<'a> {
    kind: &'a str,
}

impl Merger<'_> {
    fn strategy(&self, path: &Path) -> ListStrategy {
        list_strategy(self.kind, &path.fields())
    }

    /// Merges a patch map into a live map. `None` means the patch asked for the map to be
    /// deleted (`$patch: delete`).
    fn merge_map(
        &self,
        mut original: Map<String, Value>,
        patch: &Map<String, Value>,
        path: &Path,
    ) -> Result<Option<Map<String, Value>>, PatchError> {
        match patch.get(PATCH) {
            None => {}
            Some(Value::String(s)) if s == "merge" => {}
            // Replacing is merging into nothing: that still strips directives and nulls from
            // the new content.
            Some(Value::String(s)) if s == "replace" => original = Map::new(),
            Some(Value::String(s)) if s == "delete" => return Ok(None),
            Some(other) => {
                return Err(bad_directive(
                    path,
                    PATCH,
                    format!("unknown value {other}; expected replace, delete or merge"),
                ));
            }
        }

        if let Some(retain) = patch.get(RETAIN_KEYS) {
            let keep =
                string_list(retain).ok_or_else(|| bad_directive(path, RETAIN_KEYS, "must be a list of field names"))?;
            // A patch that sets a field it also asks to drop contradicts itself.
            if let Some(field) = patch
                .iter()
                .find(|(k, v)| !is_directive(k) && !v.is_null() && !keep.contains(&k.as_str()))
            {
                return Err(PatchError::RetainKeysMismatch {
                    path: path.to_string(),
                    field: field.0.clone(),
                });
            }
            original.retain(|k, _| keep.contains(&k.as_str()));
        }

        for (key, value) in patch {
            let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) else {
                continue;
            };
            let Value::Array(remove) = value else {
                return Err(bad_directive(path, key, "must be a list of values"));
            };
            if let Some(Value::Array(list)) = original.get_mut(field) {
                list.retain(|item| !remove.contains(item));
            }
        }

        for (key, value) in patch {
            if is_directive(key) {
                continue;
            }
            if value.is_null() {
                // `shift_remove` keeps the remaining fields in order (the wire order is what
                // students see in `-o yaml`).
                original.shift_remove(key);
                continue;
            }
            // Take the live value out without moving its key, so the field keeps its place.
            let current = original.get_mut(key).map(Value::take);
            match self.merge_value(current, value, &path.field(key))? {
                Some(merged) => {
                    original.insert(key.clone(), merged);
                }
                None => {
                    original.shift_remove(key);
                }
            }
        }

        // Ordering comes last: it applies to the list as merged.
        for (key, value) in patch {
            let Some(field) = key.strip_prefix(SET_ELEMENT_ORDER) else {
                continue;
            };
            let Value::Array(order) = value else {
                return Err(bad_directive(path, key, "must be a list"));
            };
            let list_path = path.field(field);
            let strategy = self.strategy(&list_path);
            if let ListStrategy::MergeByKey(merge_key) = strategy {
                if let Some(i) = order.iter().position(|o| o.get(merge_key).is_none()) {
                    return Err(bad_directive(
                        &list_path.index(i),
                        key,
                        format!("each entry must be an object with the merge key {merge_key:?}"),
                    ));
                }
            }
            if let Some(Value::Array(list)) = original.get_mut(field) {
                reorder(list, order, strategy);
            }
        }

        Ok(Some(original))
    }

    /// Merges one patch value into the live value (if any). `None` means delete the field.
    fn merge_value(&self, current: Option<Value>, patch: &Value, path: &Path) -> Result<Option<Value>, PatchError> {
        match patch {
            Value::Object(patch) => {
                // A map in the patch where the object has something else (or nothing) is
                // merged into an empty map, which handles directives in new content too.
                let base = match current {
                    Some(Value::Object(map)) => map,
                    _ => Map::new(),
                };
                Ok(self.merge_map(base, patch, path)?.map(Value::Object))
            }
            Value::Array(patch) => {
                let base = match current {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                };
                Ok(Some(Value::Array(self.merge_list(base, patch, path)?)))
            }
            scalar => Ok(Some(scalar.clone())),
        }
    }

    /// Merges a patch list into a live list according to the list's strategy.
    fn merge_list(&self, original: Vec<Value>, patch: &[Value], path: &Path) -> Result<Vec<Value>, PatchError> {
        let strategy = self.strategy(path);

        // First sort out the directive elements: `{"$patch": "replace"}` and
        // `{"<key>": ..., "$patch": "delete"}`.
        let mut replace = false;
        let mut deleted_keys: Vec<&Value> = Vec::new();
        let mut elements: Vec<(usize, &Value)> = Vec::new();
        for (i, element) in patch.iter().enumerate() {
            match element.get(PATCH) {
                None => elements.push((i, element)),
                Some(Value::String(s)) if s == "merge" => elements.push((i, element)),
                Some(Value::String(s)) if s == "replace" => replace = true,
                Some(Value::String(s)) if s == "delete" => {
                    let ListStrategy::MergeByKey(merge_key) = strategy else {
                        return Err(bad_directive(
                            &path.index(i),
                            PATCH,
                            "deleting a list element needs a list merged by key; this list is replaced whole",
                        ));
                    };
                    match element.get(merge_key) {
                        Some(key) => deleted_keys.push(key),
                        None => {
                            return Err(PatchError::MissingMergeKey {
                                path: path.index(i).to_string(),
                                key: merge_key,
                            });
                        }
                    }
                }
                Some(other) => {
                    return Err(bad_directive(
                        &path.index(i),
                        PATCH,
                        format!("unknown value {other}; expected replace, delete or merge"),
                    ));
                }
            }
        }

        if replace || strategy == ListStrategy::Atomic {
            // The patch's elements are the new list (still passed through the merge, so
            // nested directives are honoured and stripped).
            let mut out = Vec::with_capacity(elements.len());
            for (i, element) in elements {
                if let Some(v) = self.merge_value(None, element, &path.index(i))? {
                    out.push(v);
                }
            }
            return Ok(out);
        }

        match strategy {
            ListStrategy::MergeSet => {
                let mut out = original;
                for (_, element) in elements {
                    if !out.contains(element) {
                        out.push(element.clone());
                    }
                }
                Ok(out)
            }
            ListStrategy::MergeByKey(merge_key) => {
                let mut out: Vec<Value> = original
                    .into_iter()
                    .filter(|live| !live.get(merge_key).is_some_and(|k| deleted_keys.contains(&k)))
                    .collect();
                for (i, element) in elements {
                    let element_path = path.index(i);
                    let Value::Object(element) = element else {
                        return Err(PatchError::ElementNotObject {
                            path: element_path.to_string(),
                            key: merge_key,
                        });
                    };
                    let Some(key) = element.get(merge_key) else {
                        return Err(PatchError::MissingMergeKey {
                            path: element_path.to_string(),
                            key: merge_key,
                        });
                    };
                    match out.iter().position(|live| live.get(merge_key) == Some(key)) {
                        Some(j) => {
                            let base = match out[j].take() {
                                Value::Object(map) => map,
                                _ => Map::new(),
                            };
                            match self.merge_map(base, element, &element_path)? {
                                Some(merged) => out[j] = Value::Object(merged),
                                // `$patch: delete` on the element itself was handled above;
                                // this is a nested `{"$patch":"delete"}` of the whole element.
                                None => {
                                    out.remove(j);
                                }
                            }
                        }
                        None => {
                            if let Some(new) = self.merge_map(Map::new(), element, &element_path)? {
                                out.push(Value::Object(new));
                            }
                        }
                    }
                }
                Ok(out)
            }
            // Handled by the early return above.
            ListStrategy::Atomic => Ok(Vec::new()),
        }
    }
}

/// The values of a list of strings, or `None` if it is not one.
fn string_list(value: &Value) -> Option<Vec<&str>> {
    value.as_array()?.iter().map(Value::as_str).collect()
}

/// Sorts `list` into the order given by a `$setElementOrder` list: elements named there come
/// first, in that order; the others follow in their existing relative order (the sort is stable).
fn reorder(list: &mut Vec<Value>, order: &[Value], strategy: ListStrategy) {
    let identity = |v: &Value| -> Option<Value> {
        match strategy {
            ListStrategy::MergeByKey(key) => v.get(key).cloned(),
            _ => Some(v.clone()),
        }
    };
    let wanted: Vec<Option<Value>> = order.iter().map(identity).collect();
    let mut ranked: Vec<(usize, Value)> = std::mem::take(list)
        .into_iter()
        .map(|v| {
            let id = identity(&v);
            let rank = if id.is_some() {
                wanted.iter().position(|w| *w == id)
            } else {
                None
            };
            (rank.unwrap_or(usize::MAX), v)
        })
        .collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    *list = ranked.into_iter().map(|(_, v)| v).collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn smp(kind: &str, original: Value, patch: Value) -> Value {
        match strategic_merge(kind, &original, &patch) {
            Ok(v) => v,
            Err(e) => panic!("patch failed: {e}"),
        }
    }

    fn pod(containers: Value) -> Value {
        json!({"metadata": {"name": "web"}, "spec": {"containers": containers}})
    }

    #[test]
    fn kubectl_apply_example_keeps_ports() {
        let original = json!({
            "metadata": {"name": "web", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "..."}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}
        });
        let patch = json!({
            "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "NEW"}},
            "spec": {"$setElementOrder/containers": [{"name": "nginx"}], "containers": [{"image": "nginx:1.26", "name": "nginx"}]}
        });
        let out = smp("Pod", original, patch);
        assert_eq!(
            out,
            json!({
                "metadata": {"name": "web", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "NEW"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.26", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}
            })
        );
    }

    #[test]
    fn maps_merge_and_null_deletes() {
        let original =
            json!({"metadata": {"labels": {"app": "web", "tier": "fe"}}, "spec": {"replicas": 1, "paused": true}});
        let patch =
            json!({"metadata": {"labels": {"tier": null, "env": "prod"}}, "spec": {"paused": null, "replicas": 2}});
        assert_eq!(
            smp("Deployment", original, patch),
            json!({"metadata": {"labels": {"app": "web", "env": "prod"}}, "spec": {"replicas": 2}})
        );
    }

    #[test]
    fn containers_merge_by_name_and_append() {
        let original = pod(json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]));
        let patch = json!({"spec": {"containers": [{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]}});
        assert_eq!(
            smp("Pod", original, patch)["spec"]["containers"],
            json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}])
        );
    }

    #[test]
    fn container_families_in_a_deployment_template() {
        let original = json!({"spec": {"template": {"spec": {
            "initContainers": [{"name": "init", "image": "busybox"}],
            "containers": [{
                "name": "app",
                "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}],
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "volumeMounts": [{"mountPath": "/data", "name": "data"}],
                "volumeDevices": [{"devicePath": "/dev/x", "name": "blk"}],
                "args": ["--a", "--b"]
            }],
            "volumes": [{"name": "data", "emptyDir": {}}],
            "imagePullSecrets": [{"name": "reg1"}],
            "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]}],
            "topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 1}]
        }}}});
        let patch = json!({"spec": {"template": {"spec": {
            "initContainers": [{"name": "init", "image": "busybox:2"}],
            "containers": [{
                "name": "app",
                "ports": [{"containerPort": 80, "name": "http"}],
                "env": [{"name": "B", "value": "3"}],
                "volumeMounts": [{"mountPath": "/data", "readOnly": true}],
                "volumeDevices": [{"devicePath": "/dev/y", "name": "blk2"}],
                "args": ["--c"]
            }],
            "volumes": [{"name": "cache", "emptyDir": {}}],
            "imagePullSecrets": [{"name": "reg2"}],
            "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["b"]}],
            "topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 2}]
        }}}});
        let out = smp("Deployment", original, patch);
        let spec = &out["spec"]["template"]["spec"];
        assert_eq!(spec["initContainers"], json!([{"name": "init", "image": "busybox:2"}]));
        let c = &spec["containers"][0];
        assert_eq!(
            c["ports"],
            json!([{"containerPort": 80, "protocol": "TCP", "name": "http"}, {"containerPort": 443}])
        );
        assert_eq!(
            c["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}])
        );
        assert_eq!(
            c["volumeMounts"],
            json!([{"mountPath": "/data", "name": "data", "readOnly": true}])
        );
        assert_eq!(
            c["volumeDevices"],
            json!([{"devicePath": "/dev/x", "name": "blk"}, {"devicePath": "/dev/y", "name": "blk2"}])
        );
        // No merge key: replaced.
        assert_eq!(c["args"], json!(["--c"]));
        assert_eq!(
            spec["volumes"],
            json!([{"name": "data", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}])
        );
        assert_eq!(spec["imagePullSecrets"], json!([{"name": "reg1"}, {"name": "reg2"}]));
        // hostnames inside a host alias is atomic.
        assert_eq!(spec["hostAliases"], json!([{"ip": "10.0.0.1", "hostnames": ["b"]}]));
        assert_eq!(
            spec["topologySpreadConstraints"],
            json!([{"topologyKey": "zone", "maxSkew": 2}])
        );
    }

    #[test]
    fn status_conditions_merge_by_type() {
        let original = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Scheduled", "status": "True"}],
                              "containerStatuses": [{"name": "a", "ready": false}, {"name": "b", "ready": false}]}});
        let patch = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}],
                           "containerStatuses": [{"name": "a", "ready": true}]}});
        let out = smp("Pod", original, patch);
        assert_eq!(
            out["status"]["conditions"],
            json!([{"type": "Ready", "status": "True"}, {"type": "Scheduled", "status": "True"}])
        );
        // containerStatuses has no merge key in Kubernetes: replaced.
        assert_eq!(
            out["status"]["containerStatuses"],
            json!([{"name": "a", "ready": true}])
        );
        for kind in [
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
            "Namespace",
            "PersistentVolumeClaim",
            "Node",
        ] {
            let out = smp(
                kind,
                json!({"status": {"conditions": [{"type": "A", "status": "True"}, {"type": "B", "status": "True"}]}}),
                json!({"status": {"conditions": [{"type": "B", "status": "False"}]}}),
            );
            assert_eq!(
                out["status"]["conditions"][1],
                json!({"type": "B", "status": "False"}),
                "{kind}"
            );
            assert_eq!(out["status"]["conditions"].as_array().map(Vec::len), Some(2), "{kind}");
        }
    }

    #[test]
    fn service_ports_node_lists_and_metadata() {
        let out = smp(
            "Service",
            json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}),
            json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}),
        );
        assert_eq!(
            out["spec"]["ports"],
            json!([{"port": 80, "targetPort": 9090}, {"port": 443}])
        );

        let out = smp(
            "Node",
            json!({"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]},
                   "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "n1"}]}}),
            json!({"spec": {"taints": [{"key": "b", "effect": "NoSchedule"}]},
                   "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.2"}]}}),
        );
        assert_eq!(out["spec"]["taints"], json!([{"key": "b", "effect": "NoSchedule"}]));
        assert_eq!(
            out["status"]["addresses"],
            json!([{"type": "InternalIP", "address": "10.0.0.2"}, {"type": "Hostname", "address": "n1"}])
        );

        let out = smp(
            "ConfigMap",
            json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}], "finalizers": ["x", "y"]}}),
            json!({"metadata": {"ownerReferences": [{"uid": "1", "controller": true}, {"uid": "2", "name": "b"}], "finalizers": ["y", "z"]}}),
        );
        assert_eq!(
            out["metadata"]["ownerReferences"],
            json!([{"uid": "1", "name": "a", "controller": true}, {"uid": "2", "name": "b"}])
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["x", "y", "z"]));
    }

    #[test]
    fn statefulset_volume_claim_templates_are_replaced() {
        let out = smp(
            "StatefulSet",
            json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]}}),
            json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "c"}}]}}),
        );
        assert_eq!(
            out["spec"]["volumeClaimTemplates"],
            json!([{"metadata": {"name": "c"}}])
        );
    }

    #[test]
    fn empty_list_in_patch_leaves_a_merged_list_alone() {
        let original = pod(json!([{"name": "a"}]));
        assert_eq!(
            smp("Pod", original.clone(), json!({"spec": {"containers": []}})),
            original
        );
        // ... but null removes it.
        assert_eq!(
            smp("Pod", original, json!({"spec": {"containers": null}})),
            json!({"metadata": {"name": "web"}, "spec": {}})
        );
    }

    #[test]
    fn patch_replace_on_a_map() {
        let original =
            json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}, "replicas": 1}});
        let patch = json!({"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}});
        assert_eq!(
            smp("Deployment", original, patch),
            json!({"spec": {"strategy": {"type": "Recreate"}, "replicas": 1}})
        );
    }

    #[test]
    fn patch_delete_on_a_map() {
        let original = json!({"spec": {"securityContext": {"runAsUser": 1}, "hostname": "h"}});
        let patch = json!({"spec": {"securityContext": {"$patch": "delete"}}});
        assert_eq!(smp("Pod", original, patch), json!({"spec": {"hostname": "h"}}));
    }

    #[test]
    fn patch_merge_is_the_default() {
        let original = json!({"spec": {"selector": {"a": "1"}}});
        let patch = json!({"spec": {"selector": {"$patch": "merge", "b": "2"}}});
        assert_eq!(
            smp("Service", original, patch),
            json!({"spec": {"selector": {"a": "1", "b": "2"}}})
        );
    }

    #[test]
    fn patch_replace_on_a_list() {
        let original = pod(json!([{"name": "a", "image": "a"}, {"name": "b", "image": "b"}]));
        let patch = json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "c", "image": "c"}]}});
        assert_eq!(
            smp("Pod", original, patch)["spec"]["containers"],
            json!([{"name": "c", "image": "c"}])
        );
    }

    #[test]
    fn patch_delete_of_a_list_element() {
        let original = pod(json!([{"name": "app"}, {"name": "sidecar"}]));
        let patch = json!({"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}});
        assert_eq!(
            smp("Pod", original, patch)["spec"]["containers"],
            json!([{"name": "app"}])
        );
        // Deleting an element that is not there is not an error.
        let patch = json!({"spec": {"containers": [{"name": "ghost", "$patch": "delete"}]}});
        assert_eq!(
            smp("Pod", pod(json!([{"name": "app"}])), patch)["spec"]["containers"],
            json!([{"name": "app"}])
        );
    }

    #[test]
    fn set_element_order() {
        let original = pod(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}]));
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "c"}, {"name": "e"}, {"name": "a"}],
            "containers": [{"name": "e"}]
        }});
        let out = smp("Pod", original, patch);
        // c, e, a as asked; b and d (not mentioned) after, in their old relative order.
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "c"}, {"name": "e"}, {"name": "a"}, {"name": "b"}, {"name": "d"}])
        );
        assert!(out["spec"].get("$setElementOrder/containers").is_none());

        // For primitive lists the order lists the values themselves.
        let out = smp(
            "Secret",
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"$setElementOrder/finalizers": ["c", "b", "a"], "finalizers": ["c"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["c", "b", "a"]));
    }

    #[test]
    fn retain_keys() {
        let original = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
        assert_eq!(
            smp("Deployment", original.clone(), patch),
            json!({"spec": {"strategy": {"type": "Recreate"}}})
        );

        // Setting a field that $retainKeys drops is a contradiction.
        let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}});
        let err = strategic_merge("Deployment", &original, &patch).unwrap_err();
        assert!(matches!(err, PatchError::RetainKeysMismatch { .. }), "{err:?}");
        assert_eq!(err.code(), 422);

        let patch = json!({"spec": {"strategy": {"$retainKeys": "type"}}});
        assert_eq!(
            strategic_merge("Deployment", &original, &patch).unwrap_err().code(),
            400
        );
    }

    #[test]
    fn delete_from_primitive_list() {
        let original = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
        let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"], "finalizers": ["d"]}});
        let out = smp("ConfigMap", original, patch);
        assert_eq!(out, json!({"metadata": {"finalizers": ["a", "c", "d"]}}));
    }

    #[test]
    fn directives_in_new_content_are_processed_and_stripped() {
        let patch = json!({"spec": {"containers": [{"name": "a", "env": [{"$patch": "replace"}, {"name": "X", "value": "1"}],
                                                     "resources": {"$patch": "replace", "limits": {"cpu": "1"}, "requests": null}}]}});
        let out = smp("Pod", json!({"metadata": {"name": "p"}}), patch);
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "a", "env": [{"name": "X", "value": "1"}], "resources": {"limits": {"cpu": "1"}}}])
        );
        assert_eq!(find_directive(&out), None);
    }

    #[test]
    fn missing_merge_key_names_the_element() {
        let original = pod(json!([{"name": "a"}]));
        let patch = json!({"spec": {"containers": [{"name": "a"}, {"image": "x"}]}});
        let err = strategic_merge("Pod", &original, &patch).unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.containers[1]: list element does not contain its merge key \"name\""
        );
        assert_eq!(err.code(), 422);

        let patch = json!({"spec": {"containers": ["a"]}});
        assert!(matches!(
            strategic_merge("Pod", &original, &patch),
            Err(PatchError::ElementNotObject { .. })
        ));

        let patch = json!({"spec": {"containers": [{"$patch": "delete"}]}});
        assert!(matches!(
            strategic_merge("Pod", &original, &patch),
            Err(PatchError::MissingMergeKey { .. })
        ));
    }

    #[test]
    fn bad_directives() {
        let original = pod(json!([{"name": "a"}]));
        for patch in [
            json!({"spec": {"$patch": "explode"}}),
            json!({"spec": {"containers": [{"name": "a", "$patch": 3}]}}),
            json!({"spec": {"$setElementOrder/containers": "a"}}),
            json!({"spec": {"$setElementOrder/containers": [{"image": "a"}]}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
            json!({"spec": {"tolerations": [{"key": "k", "$patch": "delete"}]}}),
            json!({"$patch": "delete"}),
        ] {
            let err = strategic_merge("Pod", &original, &patch).unwrap_err();
            assert!(matches!(err, PatchError::BadDirective { .. }), "{patch}: {err:?}");
            assert_eq!(err.code(), 400);
        }
    }

    #[test]
    fn patch_must_be_an_object() {
        let err = strategic_merge("Pod", &json!({}), &json!([1])).unwrap_err();
        assert_eq!(err.code(), 400);
    }

    #[test]
    fn whole_object_replace_and_null_original() {
        let out = smp("Pod", json!({"a": 1, "b": 2}), json!({"$patch": "replace", "c": 3}));
        assert_eq!(out, json!({"c": 3}));
        let out = smp("Pod", Value::Null, json!({"metadata": {"name": "x"}}));
        assert_eq!(out, json!({"metadata": {"name": "x"}}));
    }

    #[test]
    fn field_order_is_kept() {
        let out = smp(
            "Pod",
            json!({"a": 1, "b": {"x": 1}, "c": 3}),
            json!({"b": {"y": 2}, "a": 5}),
        );
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"a":5,"b":{"x":1,"y":2},"c":3}"#
        );
    }

    #[test]
    fn server_side_apply_merges_by_key_and_keeps_the_rest() {
        let live = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"added-by-hand": "yes"}},
            "spec": {"replicas": 1, "template": {"spec": {
                "nodeSelector": {"disk": "ssd"},
                "containers": [{"name": "nginx", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent",
                                "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                               {"name": "sidecar", "image": "envoy"}]}}}
        });
        let applied = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"replicas": 3, "template": {"spec": {
                "containers": [{"name": "nginx", "image": "nginx:1.26", "ports": [{"containerPort": 80}]}]}}}
        });
        let out = server_side_apply("Deployment", &live, &applied).unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"added-by-hand": "yes"}));
        assert_eq!(out["spec"]["replicas"], 3);
        let spec = &out["spec"]["template"]["spec"];
        assert_eq!(spec["nodeSelector"], json!({"disk": "ssd"}));
        assert_eq!(
            spec["containers"],
            json!([{"name": "nginx", "image": "nginx:1.26", "imagePullPolicy": "IfNotPresent",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                   {"name": "sidecar", "image": "envoy"}])
        );

        // Creating: there is no live object yet.
        assert_eq!(
            server_side_apply("Deployment", &Value::Null, &applied).unwrap(),
            applied
        );

        // Directives are not part of an applied configuration.
        let err = server_side_apply(
            "Deployment",
            &live,
            &json!({"spec": {"containers": [{"$patch": "replace"}]}}),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                PatchError::Malformed {
                    patch_type: PatchType::Apply,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.code(), 400);
    }
}
