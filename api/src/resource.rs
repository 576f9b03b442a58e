//! The table of every kind the API server serves, and the one generic step that turns a request
//! body into a stored object: decode strictly, fill in defaults, validate.
//!
//! The API server works on JSON values so one set of handlers serves every kind; this table is
//! where it finds, for a URL like `/apis/apps/v1/namespaces/default/deployments`, which Rust type
//! checks the body ([`ResourceInfo::admit`]) and what discovery should say about it.

use serde_json::{Map, Value};

use crate::codec::{decode, DecodeError, FieldValidation};
use crate::object::Object;
use crate::validation::FieldError;
use crate::{apps, coordination, core, networking, storage};

/// What the API knows about one resource (a kind at a URL).
pub struct ResourceInfo {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// URL name: `pods`.
    pub plural: &'static str,
    /// `pod`.
    pub singular: &'static str,
    /// `po`, as `kubectl get po` uses them.
    pub short_names: &'static [&'static str],
    pub namespaced: bool,
    /// Subresources served under `{plural}/{name}/...`: `status`, `scale`, `binding`, `log`.
    pub subresources: &'static [&'static str],
    /// Discovery categories: `all` makes `kubectl get all` include the kind.
    pub categories: &'static [&'static str],
    /// Decodes, defaults and validates a body. `old` is the stored object on update.
    pub admit: fn(&Value, Option<&Value>, FieldValidation) -> Result<Admitted, AdmitError>,
}

impl ResourceInfo {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether writes to the main resource leave `status` alone (it has a `status` subresource).
    pub fn has_status(&self) -> bool {
        self.subresources.contains(&"status")
    }

    pub fn has_subresource(&self, name: &str) -> bool {
        self.subresources.contains(&name)
    }
}

impl std::fmt::Debug for ResourceInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResourceInfo({}/{} {})", self.group, self.version, self.plural)
    }
}

/// A body that passed admission: the object with defaults and `apiVersion`/`kind` filled in.
#[derive(Debug)]
pub struct Admitted {
    pub object: Value,
    /// `unknown field "..."` warnings when validation is Warn.
    pub warnings: Vec<String>,
}

/// Why a body was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdmitError {
    /// The body does not decode as this kind (400 BadRequest).
    #[error("{kind} in version \"{version}\" cannot be handled as a {kind}: {source}")]
    Decode {
        kind: &'static str,
        version: &'static str,
        source: DecodeError,
    },
    /// The body names another kind or apiVersion than the URL (400 BadRequest).
    #[error("{0}")]
    WrongKind(String),
    /// It decodes but breaks the rules (422 Invalid), one error per field.
    #[error("{kind} \"{name}\" is invalid: {}", join_errors(.errors))]
    Invalid {
        kind: &'static str,
        name: String,
        errors: Vec<FieldError>,
    },
}

fn join_errors(errors: &[FieldError]) -> String {
    match errors {
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The generic admission step behind every [`ResourceInfo::admit`].
///
/// Decoding has a quick way and a careful way. The careful way ([`decode`]) tracks the path of
/// every field it visits, so it can name a misspelt or mistyped one, and that costs an allocation
/// per field. Almost every body is fine, so the quick way goes first: a plain decode, and, once
/// the object is encoded again, a check that every key of the body is still there
/// ([`keys_kept`]). Only when the plain decode fails, or some key went missing (an unknown
/// field, or a value the type does not write back), does the careful way run, and its verdict
/// is the one given.
pub fn admit<T: Object>(body: &Value, old: Option<&Value>, mode: FieldValidation) -> Result<Admitted, AdmitError> {
    check_type_meta::<T>(body)?;
    let decode_error = |source| AdmitError::Decode {
        kind: T::KIND,
        version: T::VERSION,
        source,
    };
    let (mut object, mut warnings, checked) = match T::deserialize(body) {
        Ok(object) => (object, Vec::new(), false),
        Err(_) => {
            let (object, warnings) = decode::<T>(body, mode).map_err(decode_error)?;
            (object, warnings, true)
        }
    };
    object.set_defaults();
    let encoded = to_value_with_type_meta(&object);
    if !checked && mode != FieldValidation::Ignore && !keys_kept(body, &encoded) {
        let (_, careful_warnings) = decode::<T>(body, mode).map_err(decode_error)?;
        warnings = careful_warnings;
    }
    let errors = match old.map(T::deserialize) {
        Some(Ok(old)) => object.validate_update(&old),
        // A stored object always decodes; if one ever did not, check the new one on its own.
        Some(Err(_)) | None => object.validate(),
    };
    if !errors.is_empty() {
        let name = object.metadata().name().to_string();
        return Err(AdmitError::Invalid {
            kind: T::KIND,
            name,
            errors,
        });
    }
    Ok(Admitted {
        object: encoded,
        warnings,
    })
}

/// Whether every key of `body`, at every depth, is also in `encoded` (the decoded object written
/// back). If so, decoding skipped no field. If not, either it did, or the type simply does not
/// write that value back (an empty list, a default), and the careful decode must tell which.
fn keys_kept(body: &Value, encoded: &Value) -> bool {
    match (body, encoded) {
        (Value::Object(given), Value::Object(kept)) => given
            .iter()
            .all(|(key, value)| kept.get(key).is_some_and(|kept| keys_kept(value, kept))),
        (Value::Array(given), Value::Array(kept)) => {
            given.len() == kept.len() && given.iter().zip(kept).all(|(g, k)| keys_kept(g, k))
        }
        (Value::Object(_) | Value::Array(_), _) => false,
        _ => true,
    }
}

/// Refuses a body whose `kind` or `apiVersion`, when given, is not the URL's.
fn check_type_meta<T: Object>(body: &Value) -> Result<(), AdmitError> {
    if let Some(kind) = body.get("kind").and_then(Value::as_str) {
        if kind != T::KIND {
            return Err(AdmitError::WrongKind(format!(
                "the kind in the body ({kind}) does not match the kind of the URL ({})",
                T::KIND
            )));
        }
    }
    if let Some(api_version) = body.get("apiVersion").and_then(Value::as_str) {
        if api_version != T::API_VERSION {
            return Err(AdmitError::WrongKind(format!(
                "the API version in the data ({api_version}) does not match the expected API version ({})",
                T::API_VERSION
            )));
        }
    }
    Ok(())
}

/// Serializes an object with `apiVersion` and `kind` first, as Kubernetes prints them.
pub fn to_value_with_type_meta<T: Object>(object: &T) -> Value {
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String(T::API_VERSION.into()));
    out.insert("kind".into(), Value::String(T::KIND.into()));
    if let Ok(Value::Object(fields)) = serde_json::to_value(object) {
        for (key, value) in fields {
            if key != "apiVersion" && key != "kind" {
                out.insert(key, value);
            }
        }
    }
    Value::Object(out)
}

macro_rules! resource {
    ($ty:ty, $singular:literal, [$($short:literal),*], [$($sub:literal),*], [$($cat:literal),*]) => {
        ResourceInfo {
            group: <$ty as Object>::GROUP,
            version: <$ty as Object>::VERSION,
            kind: <$ty as Object>::KIND,
            plural: <$ty as Object>::PLURAL,
            singular: $singular,
            short_names: &[$($short),*],
            namespaced: <$ty as Object>::NAMESPACED,
            subresources: &[$($sub),*],
            categories: &[$($cat),*],
            admit: admit::<$ty>,
        }
    };
}

/// Every resource kubelab serves, in discovery order.
pub static RESOURCES: &[ResourceInfo] = &[
    resource!(core::Namespace, "namespace", ["ns"], ["status"], []),
    resource!(core::Node, "node", ["no"], ["status"], []),
    resource!(core::Pod, "pod", ["po"], ["status", "binding", "log", "exec"], ["all"]),
    resource!(core::Service, "service", ["svc"], ["status"], ["all"]),
    resource!(core::Endpoints, "endpoints", ["ep"], [], []),
    resource!(core::ConfigMap, "configmap", ["cm"], [], []),
    resource!(core::Secret, "secret", [], [], []),
    resource!(core::Event, "event", ["ev"], [], []),
    resource!(
        core::PersistentVolumeClaim,
        "persistentvolumeclaim",
        ["pvc"],
        ["status"],
        []
    ),
    resource!(core::PersistentVolume, "persistentvolume", ["pv"], ["status"], []),
    resource!(apps::Deployment, "deployment", ["deploy"], ["status", "scale"], ["all"]),
    resource!(apps::ReplicaSet, "replicaset", ["rs"], ["status", "scale"], ["all"]),
    resource!(apps::StatefulSet, "statefulset", ["sts"], ["status", "scale"], ["all"]),
    resource!(coordination::Lease, "lease", [], [], []),
    resource!(storage::StorageClass, "storageclass", ["sc"], [], []),
    resource!(networking::Ingress, "ingress", ["ing"], ["status"], []),
    resource!(networking::IngressClass, "ingressclass", [], [], []),
];

/// Finds a resource by group, version and URL plural.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Finds a resource by kind (`Deployment`), for clients that start from a manifest.
pub fn find_by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.kind == kind && r.api_version() == api_version)
}

/// The API groups served, with their versions: `("", "v1")`, `("apps", "v1")`, ...
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for r in RESOURCES {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(container: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
               "spec": {"containers": [container]}})
    }

    #[test]
    fn a_body_of_known_fields_is_admitted_without_warnings() {
        let admitted = admit::<core::Pod>(
            &pod(json!({"name": "app", "image": "nginx"})),
            None,
            FieldValidation::Warn,
        )
        .unwrap();
        assert!(admitted.warnings.is_empty(), "{:?}", admitted.warnings);
        assert_eq!(admitted.object["spec"]["containers"][0]["image"], "nginx");
    }

    #[test]
    fn a_known_value_the_type_does_not_write_back_is_not_called_unknown() {
        // `command: []` decodes, but an empty command is not written back: the quick check fails
        // and the careful decode must find nothing wrong.
        let body = pod(json!({"name": "app", "image": "nginx", "command": []}));
        let admitted = admit::<core::Pod>(&body, None, FieldValidation::Strict).unwrap();
        assert!(admitted.warnings.is_empty());
    }

    #[test]
    fn unknown_fields_are_named_whichever_way_the_body_decodes() {
        let body = pod(json!({"name": "app", "image": "nginx", "imagePullPolicyy": "Always"}));
        let strict = admit::<core::Pod>(&body, None, FieldValidation::Strict).unwrap_err();
        assert!(
            strict
                .to_string()
                .contains("unknown field \"spec.containers[0].imagePullPolicyy\""),
            "{strict}"
        );
        let warned = admit::<core::Pod>(&body, None, FieldValidation::Warn).unwrap();
        assert_eq!(
            warned.warnings,
            vec!["unknown field \"spec.containers[0].imagePullPolicyy\"".to_string()]
        );
        let ignored = admit::<core::Pod>(&body, None, FieldValidation::Ignore).unwrap();
        assert!(ignored.warnings.is_empty());
        assert!(ignored.object["spec"]["containers"][0]
            .get("imagePullPolicyy")
            .is_none());
    }

    #[test]
    fn a_mistyped_field_is_named_with_its_path() {
        let body = pod(json!({"name": "app", "image": 7}));
        let err = admit::<core::Pod>(&body, None, FieldValidation::Strict).unwrap_err();
        assert!(err.to_string().contains("spec.containers[0].image"), "{err}");
    }

    #[test]
    fn keys_kept_looks_at_every_depth() {
        let encoded = json!({"a": {"b": [{"c": 1}, {"d": 2}]}, "e": 3});
        assert!(keys_kept(&json!({"a": {"b": [{"c": 5}, {}]}}), &encoded));
        assert!(!keys_kept(&json!({"a": {"b": [{"x": 1}, {}]}}), &encoded));
        assert!(!keys_kept(&json!({"a": {"b": [{}]}}), &encoded));
        assert!(!keys_kept(&json!({"f": 1}), &encoded));
        assert!(!keys_kept(&json!({"e": {"g": 1}}), &encoded));
    }
}
