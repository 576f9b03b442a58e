//! Secret: like a ConfigMap, for passwords, tokens and keys.
//!
//! On the wire, `data` values are base64 (so binary keys fit in JSON); it is an encoding, not
//! encryption. For convenience a manifest may give plain text in `stringData`: the API server
//! encodes it into `data` and drops `stringData`, so a read never shows it.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::core::configmap::{validate_data, MAX_DATA_SIZE};
use crate::meta::ObjectMeta;
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{validate_immutable, validate_object_meta, validate_object_meta_update, FieldError};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Base64-encoded values, kept encoded (see [`Secret::decoded`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// Plain-text values, write-only: folded into `data` by [`Object::set_defaults`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub string_data: BTreeMap<String, String>,
    /// `Opaque` (the default), `kubernetes.io/tls`, `kubernetes.io/dockerconfigjson`, ...
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

impl Secret {
    /// One value, decoded from base64.
    pub fn decoded(&self, key: &str) -> Option<Vec<u8>> {
        self.data
            .get(key)
            .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
    }
}

/// Keys that a Secret of a given type must have.
fn required_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        _ => &[],
    }
}

impl Object for Secret {
    object_identity!("", "v1", "Secret", "secrets", namespaced);

    fn set_defaults(&mut self) {
        let engine = base64::engine::general_purpose::STANDARD;
        for (key, value) in std::mem::take(&mut self.string_data) {
            self.data.insert(key, engine.encode(value));
        }
        if self.type_.as_deref().is_none_or(str::is_empty) {
            self.type_ = Some("Opaque".into());
        }
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, names::dns1123_subdomain);
        let mut total = 0;
        errs.extend(validate_data("data", &self.data, true, &mut total));
        if total > MAX_DATA_SIZE {
            errs.push(FieldError::too_long("data", MAX_DATA_SIZE));
        }
        let kind = self.type_.as_deref().unwrap_or("Opaque");
        for key in required_keys(kind) {
            if !self.data.contains_key(*key) {
                errs.push(FieldError::required(format!("data[{key}]")));
            }
        }
        if kind == "kubernetes.io/basic-auth"
            && !self.data.contains_key("username")
            && !self.data.contains_key("password")
        {
            errs.push(FieldError::required("data[username]"));
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        errs.extend(validate_immutable(
            "type",
            &self.type_.as_deref().unwrap_or(""),
            &old.type_.as_deref().unwrap_or(""),
        ));
        if old.immutable == Some(true) {
            if self.immutable != Some(true) {
                errs.push(FieldError::forbidden(
                    "immutable",
                    "field is immutable when `immutable` is set",
                ));
            }
            if self.data != old.data {
                errs.push(FieldError::forbidden(
                    "data",
                    "field is immutable when `immutable` is set",
                ));
            }
        }
        errs
    }
}
