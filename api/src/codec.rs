//! Decoding request bodies: JSON or YAML in, typed objects out, with every misspelt field named.
//!
//! Clients differ in what they send: kubectl sends JSON, the Python client sometimes sends no
//! `Content-Type` at all, and people post YAML with curl. So a body is read as JSON when it looks
//! like JSON and as YAML otherwise, whatever the header says.
//!
//! Decoding into a typed struct then finds two kinds of mistakes, as kube-apiserver does with
//! `fieldValidation=Strict`:
//! - a field the type does not have (`spec.selector.matchLables`), found with `serde_ignored`,
//!   which reports every key the struct skipped, with its path;
//! - a field of the wrong type (`spec.replicas: "three"`), found with `serde_path_to_error`,
//!   which says where serde stopped.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// What to do with fields the type does not know (the `fieldValidation` query parameter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    /// Reject the request, naming each unknown field. kubelab's default, and what kubectl asks for.
    #[default]
    Strict,
    /// Accept it, drop the fields, and say so in a `Warning` header.
    Warn,
    /// Accept it and drop the fields silently.
    Ignore,
}

impl FieldValidation {
    /// Parses the query parameter, ignoring case. `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "strict" => Some(FieldValidation::Strict),
            "warn" => Some(FieldValidation::Warn),
            "ignore" => Some(FieldValidation::Ignore),
            _ => None,
        }
    }
}

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    /// Neither valid JSON nor valid YAML (with the parser's line and column).
    #[error("{0}")]
    Syntax(String),
    /// A field has the wrong type or form: `spec.replicas: invalid type: string "three", expected i32`.
    #[error("{path}: {message}")]
    Type { path: String, message: String },
    /// Fields the type does not have, rejected because validation is Strict.
    #[error("strict decoding error: {}", .0.iter().map(|f| format!("unknown field \"{f}\"")).collect::<Vec<_>>().join(", "))]
    UnknownFields(Vec<String>),
    /// The body is not an object (a list, a string, `null`).
    #[error("the body must be a JSON or YAML object, got {0}")]
    NotAnObject(&'static str),
}

/// Deserializes a list with no spare room, for lists of big elements that are kept for long.
///
/// Read from a `Value`, serde knows a list's length up front and allocates exactly; read straight
/// from JSON text it does not, and the vector grows by doubling, to a capacity of at least four. A
/// pod's one `Container` is over a kilobyte, so an informer holding ten thousand pods decoded from
/// watch lines would carry tens of megabytes of empty slots without this.
pub fn exact_vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    let mut items = Vec::<T>::deserialize(deserializer)?;
    items.shrink_to_fit();
    Ok(items)
}

/// Reads a request body as one JSON value, trying JSON first and YAML second.
pub fn parse_body(body: &[u8]) -> Result<Value, DecodeError> {
    let text = std::str::from_utf8(body).map_err(|e| DecodeError::Syntax(format!("the body is not UTF-8: {e}")))?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(DecodeError::Syntax("the body is empty".into()));
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return serde_json::from_str(text).map_err(|e| DecodeError::Syntax(format!("invalid JSON: {e}")));
    }
    serde_saphyr::from_str::<Value>(text).map_err(|e| DecodeError::Syntax(format!("invalid YAML: {e}")))
}

/// Like [`parse_body`], but insists on an object (`{...}`).
pub fn parse_object_body(body: &[u8]) -> Result<Value, DecodeError> {
    let value = parse_body(body)?;
    match value {
        Value::Object(_) => Ok(value),
        other => Err(DecodeError::NotAnObject(json_type_name(&other))),
    }
}

/// The JSON type of a value, for messages.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Decodes a value into `T`. Unknown fields are rejected (Strict) or returned as warnings
/// (Warn: `unknown field "spec.foo"`; Ignore: nothing).
pub fn decode<T: DeserializeOwned>(value: &Value, mode: FieldValidation) -> Result<(T, Vec<String>), DecodeError> {
    let mut unknown = Vec::new();
    let mut note_unknown = |path: serde_ignored::Path<'_>| unknown.push(path_text(&path));
    let ignoring = serde_ignored::Deserializer::new(value, &mut note_unknown);
    let decoded: Result<T, _> = serde_path_to_error::deserialize(ignoring);
    let object = decoded.map_err(|e| DecodeError::Type {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    match mode {
        FieldValidation::Strict if !unknown.is_empty() => Err(DecodeError::UnknownFields(unknown)),
        FieldValidation::Ignore => Ok((object, Vec::new())),
        _ => Ok((
            object,
            unknown.into_iter().map(|f| format!("unknown field \"{f}\"")).collect(),
        )),
    }
}

/// Writes a `serde_ignored` path as Kubernetes does: `spec.containers[0].imagePullPolicyy`.
fn path_text(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", path_text(parent)),
        Path::Map { parent, key } => {
            let parent = path_text(parent);
            if parent.is_empty() {
                key.to_string()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => path_text(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Spec {
        #[serde(default)]
        replicas: i32,
        #[serde(default)]
        items: Vec<Item>,
    }
    #[derive(Deserialize, Debug)]
    struct Item {
        #[allow(dead_code)]
        name: String,
    }
    #[derive(Deserialize, Debug)]
    struct Top {
        #[allow(dead_code)]
        spec: Spec,
    }

    #[test]
    fn unknown_fields_are_named_with_their_path() {
        let value = serde_json::json!({"spec": {"replicaz": 1, "items": [{"name": "a", "extra": 2}]}});
        let err = decode::<Top>(&value, FieldValidation::Strict).unwrap_err();
        assert_eq!(
            err,
            DecodeError::UnknownFields(vec!["spec.replicaz".into(), "spec.items[0].extra".into()])
        );
        let (_, warnings) = decode::<Top>(&value, FieldValidation::Warn).unwrap();
        assert_eq!(
            warnings,
            vec![
                "unknown field \"spec.replicaz\"",
                "unknown field \"spec.items[0].extra\""
            ]
        );
        let (_, warnings) = decode::<Top>(&value, FieldValidation::Ignore).unwrap();
        assert!(warnings.is_empty());
    }

    #[test]
    fn wrong_types_are_named_with_their_path() {
        let value = serde_json::json!({"spec": {"replicas": "three"}});
        match decode::<Top>(&value, FieldValidation::Strict).unwrap_err() {
            DecodeError::Type { path, message } => {
                assert_eq!(path, "spec.replicas");
                assert!(message.contains("three"), "{message}");
            }
            other => panic!("expected a type error, got {other:?}"),
        }
    }

    #[test]
    fn yaml_and_json_bodies_both_parse() {
        let yaml = parse_object_body(b"kind: Pod\nmetadata:\n  name: web\n").unwrap();
        let json = parse_object_body(br#"{"kind":"Pod","metadata":{"name":"web"}}"#).unwrap();
        assert_eq!(yaml, json);
        assert!(matches!(
            parse_object_body(b"[1,2]"),
            Err(DecodeError::NotAnObject("a list"))
        ));
        assert!(matches!(parse_object_body(b"{\"kind\": "), Err(DecodeError::Syntax(_))));
        assert!(matches!(
            parse_object_body(b"kind: [unclosed"),
            Err(DecodeError::Syntax(_))
        ));
    }

    #[test]
    fn field_validation_parses_any_case() {
        assert_eq!(FieldValidation::parse("strict"), Some(FieldValidation::Strict));
        assert_eq!(FieldValidation::parse("Warn"), Some(FieldValidation::Warn));
        assert_eq!(FieldValidation::parse("IGNORE"), Some(FieldValidation::Ignore));
        assert_eq!(FieldValidation::parse("loose"), None);
    }
}
