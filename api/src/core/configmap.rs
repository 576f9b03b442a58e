//! ConfigMap: configuration kept apart from the image, so one image runs anywhere.
//!
//! Each key becomes an environment variable (`envFrom`, `configMapKeyRef`) or a file in a
//! `configMap` volume, which is why keys must be valid file names. `immutable: true` freezes the
//! data, so node agents can stop watching it.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{invalid_each, validate_object_meta, validate_object_meta_update, FieldError};

/// The most data one ConfigMap or Secret may hold (1 MiB), as in Kubernetes.
pub const MAX_DATA_SIZE: usize = 1024 * 1024;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMap {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// UTF-8 values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// Binary values, base64-encoded on the wire.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub binary_data: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

/// Checks data keys, that base64 values decode, and the total size. Shared with Secret.
pub(crate) fn validate_data(
    field: &str,
    data: &BTreeMap<String, String>,
    base64_values: bool,
    total: &mut usize,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (key, value) in data {
        errs.extend(invalid_each(
            &format!("{field}[{key}]"),
            key,
            names::config_map_key(key),
        ));
        if base64_values {
            match base64::engine::general_purpose::STANDARD.decode(value) {
                Ok(bytes) => *total += bytes.len(),
                Err(e) => errs.push(FieldError::invalid(
                    format!("{field}[{key}]"),
                    crate::validation::Verbatim("<value omitted>".into()),
                    format!("must be base64-encoded: {e}"),
                )),
            }
        } else {
            *total += value.len();
        }
    }
    errs
}

impl Object for ConfigMap {
    object_identity!("", "v1", "ConfigMap", "configmaps", namespaced);

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, names::dns1123_subdomain);
        let mut total = 0;
        errs.extend(validate_data("data", &self.data, false, &mut total));
        errs.extend(validate_data("binaryData", &self.binary_data, true, &mut total));
        let data_keys: BTreeSet<&String> = self.data.keys().collect();
        for key in self.binary_data.keys().filter(|k| data_keys.contains(k)) {
            errs.push(FieldError::invalid(
                format!("data[{key}]"),
                key,
                "duplicate of key present in binaryData",
            ));
        }
        if total > MAX_DATA_SIZE {
            errs.push(FieldError::too_long("", MAX_DATA_SIZE));
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
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
            if self.binary_data != old.binary_data {
                errs.push(FieldError::forbidden(
                    "binaryData",
                    "field is immutable when `immutable` is set",
                ));
            }
        }
        errs
    }
}
