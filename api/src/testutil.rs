//! Helpers for the unit tests: admit a YAML manifest exactly as the API server would.

use serde_json::Value;

use crate::codec::{parse_object_body, FieldValidation};
use crate::object::Object;
use crate::resource::{admit, AdmitError};
use crate::validation::FieldError;

/// Decodes (strictly), defaults and validates a manifest; returns the stored form.
pub fn admit_yaml<T: Object>(yaml: &str) -> Result<Value, AdmitError> {
    let body = parse_object_body(yaml.as_bytes()).expect("test manifest parses");
    admit::<T>(&body, None, FieldValidation::Strict).map(|a| a.object)
}

/// Like [`admit_yaml`], as an update of `old` (a stored object).
pub fn admit_update<T: Object>(new: &Value, old: &Value) -> Result<Value, AdmitError> {
    admit::<T>(new, Some(old), FieldValidation::Strict).map(|a| a.object)
}

/// The field errors of an Invalid result, as `path: message` lines.
pub fn invalid_fields(result: Result<Value, AdmitError>) -> Vec<String> {
    match result {
        Err(AdmitError::Invalid { errors, .. }) => errors.iter().map(FieldError::to_string).collect(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// Panics if a `null` appears anywhere: Kubernetes clients choke on nulls in required fields.
pub fn assert_no_nulls(value: &Value, path: &str) {
    match value {
        Value::Null => panic!("null at {path}"),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| assert_no_nulls(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().for_each(|(k, v)| assert_no_nulls(v, &format!("{path}.{k}"))),
        _ => {}
    }
}

/// Admitting the stored form again changes nothing: defaults are idempotent.
pub fn assert_idempotent<T: Object>(stored: &Value) {
    let again = admit::<T>(stored, None, FieldValidation::Strict)
        .expect("stored form admits again")
        .object;
    assert_eq!(&again, stored, "defaults are not idempotent");
}
