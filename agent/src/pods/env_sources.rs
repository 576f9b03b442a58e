//! Env values from ConfigMaps and Secrets: `valueFrom.configMapKeyRef`, `secretKeyRef`, and
//! `envFrom`, with the kubelet's rules and words.
//!
//! - a variable from a key takes that key's value (a Secret's value base64-decoded); a missing
//!   object or key is an error that keeps the container from starting
//!   (`CreateContainerConfigError`: `configmap "app-config" not found`,
//!   `couldn't find key db_url in ConfigMap default/app-config`), unless the reference is
//!   `optional`, and then the variable is simply not set;
//! - `envFrom` turns every key of a ConfigMap's `data` (or a Secret's) into a variable, its name
//!   prefixed with `prefix`; keys that are not valid variable names are skipped, and the kubelet
//!   says so in an `InvalidEnvironmentVariableNames` event;
//! - the order of precedence is the kubelet's: `envFrom` sources in order, then `env` entries
//!   (which override them), then Service variables for names still free.

use std::collections::BTreeMap;

use kubelab_api::core::{Container, KeySelector};

use super::objects::{config_map_data, secret_data, PodObjects};

/// Why a value could not be found (the container does not start).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SourceError {
    /// The ConfigMap or Secret does not exist and the reference is not optional.
    #[error("{kind} \"{name}\" not found")]
    NotFound { kind: &'static str, name: String },
    /// The object exists but lacks the key.
    #[error("couldn't find key {key} in {kind} {namespace}/{name}")]
    MissingKey {
        kind: &'static str,
        namespace: String,
        name: String,
        key: String,
    },
    /// A reference without a name.
    #[error("env var {var}: {what} has no name")]
    NoName { var: String, what: &'static str },
}

/// A source of keys: a ConfigMap or a Secret, as fetched.
#[derive(Clone, Copy)]
enum Kind {
    ConfigMap,
    Secret,
}

impl Kind {
    /// As the kubelet names the kind in "not found" messages.
    fn lower(self) -> &'static str {
        match self {
            Kind::ConfigMap => "configmap",
            Kind::Secret => "secret",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
        }
    }

    /// The object's keys and values, `None` when it does not exist (or was not fetched).
    fn data(self, objects: &PodObjects, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        match self {
            Kind::ConfigMap => objects.config_maps.get(name)?.as_ref().map(|cm| {
                // envFrom reads `data` only, as the kubelet does; keyRefs see binaryData too.
                config_map_data(cm)
            }),
            Kind::Secret => objects.secrets.get(name)?.as_ref().map(secret_data),
        }
    }
}

/// The value of `configMapKeyRef` / `secretKeyRef`; `Ok(None)` when it is optional and absent.
pub fn key_ref_value(
    var: &str,
    selector: &KeySelector,
    secret: bool,
    objects: &PodObjects,
    namespace: &str,
) -> Result<Option<String>, SourceError> {
    let kind = if secret { Kind::Secret } else { Kind::ConfigMap };
    let optional = selector.optional.unwrap_or(false);
    let Some(name) = selector.name.as_deref().filter(|n| !n.is_empty()) else {
        return Err(SourceError::NoName {
            var: var.to_string(),
            what: if secret { "secretKeyRef" } else { "configMapKeyRef" },
        });
    };
    let Some(data) = kind.data(objects, name) else {
        return if optional {
            Ok(None)
        } else {
            Err(SourceError::NotFound {
                kind: kind.lower(),
                name: name.to_string(),
            })
        };
    };
    match data.get(&selector.key) {
        Some(value) => Ok(Some(String::from_utf8_lossy(value).into_owned())),
        None if optional => Ok(None),
        None => Err(SourceError::MissingKey {
            kind: kind.title(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            key: selector.key.clone(),
        }),
    }
}

/// What `envFrom` gives: variables in order, and warnings (one per source with skipped keys).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvFrom {
    pub vars: Vec<(String, String)>,
    /// `InvalidEnvironmentVariableNames` event messages.
    pub warnings: Vec<String>,
}

/// Every variable of the container's `envFrom` sources.
pub fn env_from(container: &Container, objects: &PodObjects, namespace: &str) -> Result<EnvFrom, SourceError> {
    let mut out = EnvFrom::default();
    for source in &container.env_from {
        let (kind, reference) = match (&source.config_map_ref, &source.secret_ref) {
            (Some(r), _) => (Kind::ConfigMap, r),
            (None, Some(r)) => (Kind::Secret, r),
            (None, None) => continue,
        };
        let Some(name) = reference.name.as_deref().filter(|n| !n.is_empty()) else {
            return Err(SourceError::NoName {
                var: "(envFrom)".into(),
                what: if matches!(kind, Kind::Secret) {
                    "secretRef"
                } else {
                    "configMapRef"
                },
            });
        };
        let data = match kind {
            Kind::ConfigMap => objects.config_maps.get(name).and_then(|cm| cm.as_ref()).map(|cm| {
                cm.data
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                    .collect()
            }),
            Kind::Secret => kind.data(objects, name),
        };
        let Some(data) = data else {
            if reference.optional.unwrap_or(false) {
                continue;
            }
            return Err(SourceError::NotFound {
                kind: kind.lower(),
                name: name.to_string(),
            });
        };
        let prefix = source.prefix.as_deref().unwrap_or_default();
        let mut invalid = Vec::new();
        for (key, value) in data {
            let var = format!("{prefix}{key}");
            if !is_env_var_name(&var) {
                invalid.push(var);
                continue;
            }
            let value = String::from_utf8_lossy(&value).into_owned();
            match out.vars.iter_mut().find(|(k, _)| *k == var) {
                Some(slot) => slot.1 = value,
                None => out.vars.push((var, value)),
            }
        }
        if !invalid.is_empty() {
            invalid.sort();
            out.warnings.push(format!(
                "Keys [{}] from the EnvFrom {} {namespace}/{name} were skipped since they are considered invalid \
                 environment variable names.",
                invalid.join(", "),
                kind.lower()
            ));
        }
    }
    Ok(out)
}

/// Kubernetes' `IsEnvVarName`: `[-._a-zA-Z][-._a-zA-Z0-9]*`.
pub fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    (first.is_ascii_alphabetic() || matches!(first, '-' | '.' | '_')) && chars.all(ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubelab_api::core::{ConfigMap, Secret};
    use serde_json::json;

    fn objects() -> PodObjects {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": "app-config"},
            "data": {"db_url": "postgres://db", "1bad": "x", "log.level": "debug", "MODE": "fast"}
        }))
        .unwrap();
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": "creds"}, "data": {"password": "aHVudGVyMg=="}
        }))
        .unwrap();
        let mut o = PodObjects::default();
        o.config_maps.insert("app-config".into(), Some(cm));
        o.config_maps.insert("absent".into(), None);
        o.secrets.insert("creds".into(), Some(secret));
        o
    }

    fn selector(name: &str, key: &str, optional: Option<bool>) -> KeySelector {
        KeySelector {
            name: Some(name.into()),
            key: key.into(),
            optional,
        }
    }

    #[test]
    fn key_refs_read_values_and_fail_in_the_kubelets_words() {
        let o = objects();
        let get = |s: &KeySelector, secret| key_ref_value("V", s, secret, &o, "default");
        assert_eq!(
            get(&selector("app-config", "db_url", None), false).unwrap().as_deref(),
            Some("postgres://db")
        );
        assert_eq!(
            get(&selector("creds", "password", None), true).unwrap().as_deref(),
            Some("hunter2")
        );
        assert_eq!(
            get(&selector("absent", "db_url", None), false).unwrap_err().to_string(),
            "configmap \"absent\" not found"
        );
        assert_eq!(
            get(&selector("nope", "k", None), true).unwrap_err().to_string(),
            "secret \"nope\" not found"
        );
        assert_eq!(
            get(&selector("app-config", "missing", None), false)
                .unwrap_err()
                .to_string(),
            "couldn't find key missing in ConfigMap default/app-config"
        );
        assert_eq!(
            get(&selector("creds", "user", None), true).unwrap_err().to_string(),
            "couldn't find key user in Secret default/creds"
        );
        assert_eq!(get(&selector("absent", "k", Some(true)), false).unwrap(), None);
        assert_eq!(
            get(&selector("app-config", "missing", Some(true)), false).unwrap(),
            None
        );
    }

    #[test]
    fn env_from_prefixes_and_skips_invalid_names() {
        let o = objects();
        let c: Container = serde_json::from_value(json!({"name": "a", "envFrom": [
            {"configMapRef": {"name": "app-config"}, "prefix": "CFG_"},
            {"secretRef": {"name": "creds"}},
            {"configMapRef": {"name": "absent", "optional": true}}
        ]}))
        .unwrap();
        let got = env_from(&c, &o, "default").unwrap();
        let m: BTreeMap<_, _> = got.vars.iter().cloned().collect();
        assert_eq!(m["CFG_db_url"], "postgres://db");
        assert_eq!(m["CFG_1bad"], "x", "the prefix makes it a valid name");
        assert_eq!(m["CFG_log.level"], "debug");
        assert_eq!(m["password"], "hunter2");
        assert!(got.warnings.is_empty());

        let c: Container =
            serde_json::from_value(json!({"name": "a", "envFrom": [{"configMapRef": {"name": "app-config"}}]}))
                .unwrap();
        let got = env_from(&c, &o, "default").unwrap();
        assert!(!got.vars.iter().any(|(k, _)| k == "1bad"));
        assert_eq!(
            got.warnings,
            [
                "Keys [1bad] from the EnvFrom configmap default/app-config were skipped since they are considered \
              invalid environment variable names."
            ]
        );

        let c: Container =
            serde_json::from_value(json!({"name": "a", "envFrom": [{"configMapRef": {"name": "absent"}}]})).unwrap();
        assert_eq!(
            env_from(&c, &o, "default").unwrap_err().to_string(),
            "configmap \"absent\" not found"
        );
    }

    #[test]
    fn env_var_names() {
        assert!(is_env_var_name("A_B"));
        assert!(is_env_var_name("log.level"));
        assert!(is_env_var_name("_x-1"));
        assert!(!is_env_var_name("1a"));
        assert!(!is_env_var_name(""));
        assert!(!is_env_var_name("a=b"));
        assert!(!is_env_var_name("a b"));
    }
}
