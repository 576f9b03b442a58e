//! # JSON patch (RFC 6902), `application/json-patch+json`
//!
//! Where a merge patch *looks like* the object, a JSON patch is a small program: a list of
//! operations applied in order, each naming a place in the document with a JSON pointer
//! (RFC 6901: `/spec/containers/0/image`; `~1` stands for `/` and `~0` for `~` inside a name,
//! so the annotation `kubectl.kubernetes.io/last-applied-configuration` is
//! `/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration`).
//!
//! ```json
//! [{"op": "test",    "path": "/spec/replicas", "value": 1},
//!  {"op": "replace", "path": "/spec/replicas", "value": 3},
//!  {"op": "add",     "path": "/spec/template/spec/containers/-", "value": {"name": "sidecar"}}]
//! ```
//!
//! Operations are `add` (`-` as the last index appends to a list), `remove`, `replace`,
//! `move`, `copy` and `test` (fail the whole patch unless the value there is equal: a cheap
//! compare-and-swap). It is the only patch format that can address one list element by
//! position, and the one the Python client sends when given a list.
//!
//! The operations themselves come from the `json-patch` crate; this module only decodes the
//! body and turns failures into [`PatchError`]s that say which operation failed and where.
//! The patch is applied to a copy, so a failure half-way leaves nothing changed, as the RFC
//! requires (the patch applies completely or not at all).

use serde_json::Value;

use super::{PatchError, PatchType};

/// Kubernetes refuses JSON patches longer than this (with 413), so one request cannot make
/// the server run millions of operations.
pub const MAX_OPERATIONS: usize = 10_000;

/// Applies the JSON patch `patch` (which must be a JSON array of operations) to `original`.
pub fn apply(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    let Value::Array(ops) = patch else {
        return Err(PatchError::Malformed {
            patch_type: PatchType::Json,
            message: "a JSON patch must be a list of operations".into(),
        });
    };
    if ops.len() > MAX_OPERATIONS {
        return Err(PatchError::TooManyOperations {
            max: MAX_OPERATIONS,
            got: ops.len(),
        });
    }
    // Decode each operation separately so a bad one is reported with its position.
    let mut operations = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        let op =
            serde_json::from_value::<::json_patch::PatchOperation>(op.clone()).map_err(|e| PatchError::Malformed {
                patch_type: PatchType::Json,
                message: format!("operation {index}: {e}"),
            })?;
        operations.push(op);
    }
    let mut doc = original.clone();
    // `patch_unsafe` skips the crate's undo log: we work on a copy, and throwing the copy
    // away is the simplest possible rollback.
    ::json_patch::patch_unsafe(&mut doc, &operations).map_err(|e| translate(&operations, e))?;
    Ok(doc)
}

/// The name of an operation, for error messages.
fn op_name(op: &::json_patch::PatchOperation) -> &'static str {
    use ::json_patch::PatchOperation::*;
    match op {
        Add(_) => "add",
        Remove(_) => "remove",
        Replace(_) => "replace",
        Move(_) => "move",
        Copy(_) => "copy",
        Test(_) => "test",
    }
}

fn from_of(op: &::json_patch::PatchOperation) -> String {
    match op {
        ::json_patch::PatchOperation::Move(m) => m.from.to_string(),
        ::json_patch::PatchOperation::Copy(c) => c.from.to_string(),
        _ => String::new(),
    }
}

fn translate(operations: &[::json_patch::PatchOperation], e: ::json_patch::PatchError) -> PatchError {
    use ::json_patch::PatchErrorKind as Kind;
    let index = e.operation;
    let path = e.path.to_string();
    let (op, from) = operations
        .get(index)
        .map(|o| (op_name(o), from_of(o)))
        .unwrap_or(("?", String::new()));
    match e.kind {
        Kind::TestFailed => PatchError::TestFailed { index, path },
        Kind::InvalidPointer => PatchError::PathNotFound { index, op, path },
        Kind::InvalidFromPointer => PatchError::PathNotFound { index, op, path: from },
        Kind::CannotMoveInsideItself => PatchError::Invalid(format!(
            "json patch operation {index} (move): cannot move {from} inside itself ({path})"
        )),
        // The crate may grow new kinds of errors; report them as they describe themselves.
        other => PatchError::Invalid(format!("json patch operation {index} ({op}) failed at {path}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"metadata": {"name": "web", "annotations": {"a/b": "x"}},
               "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "nginx"}]}}}})
    }

    #[test]
    fn every_operation() {
        let patch = json!([
            {"op": "test", "path": "/spec/replicas", "value": 1},
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "sidecar"}},
            {"op": "add", "path": "/metadata/labels", "value": {"app": "web"}},
            {"op": "copy", "from": "/metadata/labels/app", "path": "/metadata/labels/copy"},
            {"op": "move", "from": "/metadata/labels/copy", "path": "/metadata/labels/moved"},
            {"op": "remove", "path": "/metadata/annotations/a~1b"},
        ]);
        let out = apply(&deployment(), &patch).unwrap();
        assert_eq!(out["spec"]["replicas"], 3);
        assert_eq!(out["spec"]["template"]["spec"]["containers"][1]["name"], "sidecar");
        assert_eq!(out["metadata"]["labels"], json!({"app": "web", "moved": "web"}));
        assert_eq!(out["metadata"]["annotations"], json!({}));
    }

    #[test]
    fn tilde_escapes() {
        let doc = json!({"metadata": {"annotations": {"x~y": "1"}}});
        let out = apply(
            &doc,
            &json!([{"op": "replace", "path": "/metadata/annotations/x~0y", "value": "2"}]),
        )
        .unwrap();
        assert_eq!(out["metadata"]["annotations"]["x~y"], "2");
    }

    #[test]
    fn failed_test_names_the_path_and_changes_nothing() {
        let patch = json!([
            {"op": "replace", "path": "/metadata/name", "value": "changed"},
            {"op": "test", "path": "/spec/replicas", "value": 5},
        ]);
        match apply(&deployment(), &patch) {
            Err(e @ PatchError::TestFailed { .. }) => {
                assert!(e.to_string().contains("/spec/replicas"), "{e}");
                assert_eq!(e.code(), 422);
            }
            other => panic!("expected a failed test, got {other:?}"),
        }
    }

    #[test]
    fn missing_paths() {
        let err = apply(&deployment(), &json!([{"op": "remove", "path": "/spec/nothing"}])).unwrap_err();
        assert!(
            matches!(
                err,
                PatchError::PathNotFound {
                    index: 0,
                    op: "remove",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("/spec/nothing"));
        let err = apply(
            &deployment(),
            &json!([{"op": "add", "path": "/no/such/parent", "value": 1}]),
        )
        .unwrap_err();
        assert!(matches!(err, PatchError::PathNotFound { op: "add", .. }), "{err:?}");
        let err = apply(
            &deployment(),
            &json!([{"op": "replace", "path": "/spec/template/spec/containers/7", "value": 1}]),
        )
        .unwrap_err();
        assert_eq!(err.code(), 422);
        let err = apply(&deployment(), &json!([{"op": "move", "from": "/nope", "path": "/x"}])).unwrap_err();
        assert!(err.to_string().contains("/nope"), "{err}");
        let err = apply(
            &deployment(),
            &json!([{"op": "move", "from": "/spec", "path": "/spec/x"}]),
        )
        .unwrap_err();
        assert_eq!(err.code(), 422);
    }

    #[test]
    fn malformed_bodies_are_400() {
        for patch in [
            json!({"op": "add"}),
            json!([{"op": "frobnicate", "path": "/a"}]),
            json!([{"op": "add", "path": "no-slash", "value": 1}]),
            json!([{"op": "add", "path": "/a"}]),
        ] {
            let err = apply(&deployment(), &patch).unwrap_err();
            assert_eq!(err.code(), 400, "{patch}: {err}");
        }
    }

    #[test]
    fn too_many_operations() {
        let ops = vec![json!({"op": "test", "path": "/spec/replicas", "value": 1}); MAX_OPERATIONS + 1];
        let err = apply(&deployment(), &Value::Array(ops)).unwrap_err();
        assert_eq!(err.code(), 413);
    }
}
