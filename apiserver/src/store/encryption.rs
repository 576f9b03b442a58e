//! # Encryption at rest: Secrets never reach the disk in clear
//!
//! A Secret's `data` is only base64 on the wire, which hides nothing. What protects it in
//! Kubernetes is that kube-apiserver encrypts chosen resources before they reach etcd, so a copy
//! of the data directory (a backup, a stolen disk) does not give the secrets away. kubelab does
//! the same, between the API server and sled, with Kubernetes' own configuration file
//! (`--encryption-provider-config`):
//!
//! ```yaml
//! apiVersion: apiserver.config.k8s.io/v1
//! kind: EncryptionConfiguration
//! resources:
//!   - resources: [secrets]
//!     providers:
//!       - aesgcm:
//!           keys:
//!             - name: key1
//!               secret: <32 random bytes, base64>
//!       - identity: {}
//! ```
//!
//! The **first** provider of a resource encrypts every write; **all** of them are tried on read,
//! so keys can be rotated without downtime (the README shows the steps). A stored value names the
//! key that sealed it, `k8s:enc:aesgcm:v1:key1:` + nonce + ciphertext, exactly as Kubernetes
//! writes it; `identity` means plain JSON. AES-GCM authenticates as well as hides: the object's
//! store key is bound in as associated data, so a sealed value moved to another key (one Secret's
//! bytes swapped for another's) fails to open instead of being read as the wrong Secret.
//!
//! Objects are sealed whole, metadata included, in the object table and the event log alike;
//! in memory (the watch cache, replies) they stay plain JSON.

use std::borrow::Cow;
use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use bytes::Bytes;
use serde::Deserialize;

use super::StoreError;

/// The prefix of every value sealed with AES-GCM, before the key name.
const AESGCM_PREFIX: &str = "k8s:enc:aesgcm:v1:";
/// AES-GCM's nonce length.
const NONCE_LEN: usize = 12;

/// Why an encryption configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum EncryptionConfigError {
    /// The file could not be read.
    #[error("cannot read the encryption configuration {path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// Not YAML of the expected shape (the message names the field).
    #[error("invalid encryption configuration {path}: {message}")]
    Invalid { path: String, message: String },
}

/// What the store does to the values of each resource on their way to and from the disk.
#[derive(Default)]
pub struct Encryption {
    rules: Vec<Rule>,
}

/// The providers of one set of resources, by the key prefixes they cover.
struct Rule {
    prefixes: Vec<String>,
    providers: Vec<Provider>,
}

enum Provider {
    Identity,
    AesGcm(Vec<NamedKey>),
}

struct NamedKey {
    name: String,
    cipher: Aes256Gcm,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConfigFile {
    api_version: String,
    kind: String,
    resources: Vec<ResourceConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceConfig {
    resources: Vec<String>,
    providers: Vec<ProviderConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderConfig {
    identity: Option<serde_json::Value>,
    aesgcm: Option<KeysConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysConfig {
    keys: Vec<KeyConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyConfig {
    name: String,
    secret: String,
}

impl std::fmt::Debug for Encryption {
    /// Names the providers, never the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rules: Vec<String> = self
            .rules
            .iter()
            .map(|r| {
                let providers: Vec<&str> = r
                    .providers
                    .iter()
                    .map(|p| match p {
                        Provider::Identity => "identity",
                        Provider::AesGcm(_) => "aesgcm",
                    })
                    .collect();
                format!("{:?} → {}", r.prefixes, providers.join(", "))
            })
            .collect();
        f.debug_struct("Encryption").field("rules", &rules).finish()
    }
}

impl Encryption {
    /// Nothing encrypted: every value is stored as plain JSON.
    pub fn identity() -> Encryption {
        Encryption::default()
    }

    /// Reads an `EncryptionConfiguration` file.
    pub fn from_file(path: &Path) -> Result<Encryption, EncryptionConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| EncryptionConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Encryption::from_yaml(&text).map_err(|message| EncryptionConfigError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses an `EncryptionConfiguration`; the error names the offending field.
    pub fn from_yaml(text: &str) -> Result<Encryption, String> {
        let file: ConfigFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        if file.kind != "EncryptionConfiguration" {
            return Err(format!("kind: expected EncryptionConfiguration, found {:?}", file.kind));
        }
        if file.api_version != "apiserver.config.k8s.io/v1" {
            return Err(format!(
                "apiVersion: expected apiserver.config.k8s.io/v1, found {:?}",
                file.api_version
            ));
        }
        let mut rules = Vec::new();
        for (i, resource) in file.resources.into_iter().enumerate() {
            let field = format!("resources[{i}]");
            if resource.resources.is_empty() {
                return Err(format!("{field}.resources: must name at least one resource"));
            }
            let prefixes = resource
                .resources
                .iter()
                .enumerate()
                .map(|(j, name)| key_prefix(name).map_err(|e| format!("{field}.resources[{j}]: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            if resource.providers.is_empty() {
                return Err(format!("{field}.providers: must list at least one provider"));
            }
            let providers = resource
                .providers
                .into_iter()
                .enumerate()
                .map(|(j, p)| provider(p).map_err(|e| format!("{field}.providers[{j}]{e}")))
                .collect::<Result<Vec<_>, _>>()?;
            rules.push(Rule { prefixes, providers });
        }
        Ok(Encryption { rules })
    }

    /// Whether any resource is sealed (for the start-up log).
    pub fn is_identity(&self) -> bool {
        self.rules
            .iter()
            .all(|r| matches!(r.providers.first(), Some(Provider::Identity)))
    }

    fn rule(&self, key: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.prefixes.iter().any(|p| key.starts_with(p.as_str())))
    }

    /// The bytes to write to disk for the object `plain` stored under `key`.
    pub fn seal<'a>(&self, key: &str, plain: &'a [u8]) -> Cow<'a, [u8]> {
        match self.rule(key).and_then(|r| r.providers.first()) {
            Some(Provider::AesGcm(keys)) => {
                let named = &keys[0];
                let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
                let payload = Payload {
                    msg: plain,
                    aad: key.as_bytes(),
                };
                // Encrypting a byte slice into a Vec cannot fail (only lengths near 64 GiB do).
                let sealed = named.cipher.encrypt(&nonce, payload).unwrap_or_default();
                let mut out = Vec::with_capacity(AESGCM_PREFIX.len() + named.name.len() + 1 + NONCE_LEN + sealed.len());
                out.extend_from_slice(AESGCM_PREFIX.as_bytes());
                out.extend_from_slice(named.name.as_bytes());
                out.push(b':');
                out.extend_from_slice(&nonce);
                out.extend_from_slice(&sealed);
                Cow::Owned(out)
            }
            Some(Provider::Identity) | None => Cow::Borrowed(plain),
        }
    }

    /// The plain JSON of a value read from disk under `key`, whichever provider sealed it
    /// (plain values come back as they are, without a copy).
    pub fn open(&self, key: &str, stored: Bytes) -> Result<Bytes, StoreError> {
        let Some(rest) = stored.strip_prefix(AESGCM_PREFIX.as_bytes()) else {
            // Plain JSON: written before encryption was turned on, or by `identity`.
            return Ok(stored);
        };
        let corrupt = |message: String| StoreError::Corrupt {
            key: key.to_string(),
            message,
        };
        let colon = rest
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(|| corrupt("sealed value without a key name".into()))?;
        let name = String::from_utf8_lossy(&rest[..colon]);
        let body = &rest[colon + 1..];
        if body.len() < NONCE_LEN {
            return Err(corrupt("sealed value too short".into()));
        }
        let named = self
            .rules
            .iter()
            .flat_map(|r| r.providers.iter())
            .filter_map(|p| match p {
                Provider::AesGcm(keys) => Some(keys),
                Provider::Identity => None,
            })
            .flatten()
            .find(|k| k.name == name)
            .ok_or_else(|| StoreError::UnknownKey {
                key: key.to_string(),
                message: format!("sealed with aesgcm key {name:?}, which the encryption configuration does not list"),
            })?;
        let (nonce, sealed) = body.split_at(NONCE_LEN);
        let payload = Payload {
            msg: sealed,
            aad: key.as_bytes(),
        };
        named
            .cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map(Bytes::from)
            .map_err(|_| {
                corrupt(format!(
                    "aesgcm key {name:?} does not open this value (wrong key or tampered data)"
                ))
            })
    }
}

/// The store key prefix of a resource as the configuration names it: `secrets` (core),
/// `deployments.apps`, `*.apps` (a whole group) or `*.*` (everything).
fn key_prefix(name: &str) -> Result<String, String> {
    match name.split_once('.') {
        None if name == "*" => Err("use \"*.*\" for every resource".into()),
        None if valid_segment(name) => Ok(format!("/registry/{name}/")),
        Some(("*", "*")) => Ok("/registry/".into()),
        Some(("*", group)) if valid_group(group) => Ok(format!("/registry/{group}/")),
        Some((plural, group)) if valid_segment(plural) && valid_group(group) => {
            Ok(format!("/registry/{group}/{plural}/"))
        }
        _ => Err(format!(
            "{name:?} is not a resource name (expected a plural like \"secrets\" or \"deployments.apps\")"
        )),
    }
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_group(s: &str) -> bool {
    s.split('.').all(valid_segment)
}

fn provider(config: ProviderConfig) -> Result<Provider, String> {
    match (config.identity, config.aesgcm) {
        (Some(_), None) => Ok(Provider::Identity),
        (None, Some(aesgcm)) => {
            if aesgcm.keys.is_empty() {
                return Err(".aesgcm.keys: must list at least one key".into());
            }
            let keys = aesgcm
                .keys
                .into_iter()
                .enumerate()
                .map(|(k, key)| {
                    let field = format!(".aesgcm.keys[{k}]");
                    if !valid_segment(&key.name) && !key.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        return Err(format!(
                            "{field}.name: {:?} may hold letters, digits, '-' and '_'",
                            key.name
                        ));
                    }
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(key.secret.trim())
                        .map_err(|e| format!("{field}.secret: not base64 ({e})"))?;
                    let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| {
                        format!(
                            "{field}.secret: must be 32 bytes (AES-256) once decoded, found {}",
                            bytes.len()
                        )
                    })?;
                    Ok(NamedKey { name: key.name, cipher })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Provider::AesGcm(keys))
        }
        _ => Err(": name exactly one provider (identity or aesgcm)".into()),
    }
}

/// A new configuration that seals Secrets with one fresh random key: what `kubelab up` writes.
pub fn generate_config() -> String {
    let key = Aes256Gcm::generate_key(&mut OsRng);
    let secret = base64::engine::general_purpose::STANDARD.encode(key);
    format!(
        "apiVersion: apiserver.config.k8s.io/v1\n\
         kind: EncryptionConfiguration\n\
         resources:\n\
         \x20 - resources: [secrets]\n\
         \x20   providers:\n\
         \x20     - aesgcm:\n\
         \x20         keys:\n\
         \x20           - name: key1\n\
         \x20             secret: {secret}\n\
         \x20     - identity: {{}}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "/registry/secrets/default/db";

    #[test]
    fn seals_secrets_and_opens_them_again() {
        let encryption = Encryption::from_yaml(&generate_config()).unwrap();
        assert!(!encryption.is_identity());
        let plain = br#"{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}"#;
        let sealed = encryption.seal(KEY, plain).into_owned();
        assert!(sealed.starts_with(b"k8s:enc:aesgcm:v1:key1:"));
        assert!(!sealed.windows(8).any(|w| w == b"aHVudGVy"), "no plaintext on disk");
        assert_eq!(&encryption.open(KEY, Bytes::from(sealed.clone())).unwrap()[..], plain);
        // Two seals of the same value differ (fresh nonce each time).
        assert_ne!(encryption.seal(KEY, plain).into_owned(), sealed);
        // Other resources stay plain.
        let pod = br#"{"kind":"Pod"}"#;
        assert!(matches!(
            encryption.seal("/registry/pods/default/web", pod),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            &encryption
                .open("/registry/pods/default/web", Bytes::from_static(pod))
                .unwrap()[..],
            pod
        );
    }

    #[test]
    fn a_sealed_value_only_opens_under_its_own_key_and_key_name() {
        let encryption = Encryption::from_yaml(&generate_config()).unwrap();
        let sealed = encryption.seal(KEY, b"{}").into_owned();
        let moved = encryption
            .open("/registry/secrets/default/other", Bytes::from(sealed.clone()))
            .unwrap_err();
        assert!(moved.to_string().contains("wrong key or tampered"), "{moved}");
        let other = Encryption::from_yaml(&generate_config()).unwrap();
        assert!(
            other.open(KEY, Bytes::from(sealed.clone())).is_err(),
            "another key1 does not open it"
        );
        let plain = Encryption::identity();
        let err = plain.open(KEY, Bytes::from(sealed)).unwrap_err().to_string();
        assert!(err.contains("does not list"), "{err}");
    }

    #[test]
    fn rotation_reads_old_keys_and_writes_with_the_first() {
        let old = generate_config();
        let old_secret = old.lines().find_map(|l| l.trim().strip_prefix("secret: ")).unwrap();
        let sealed_by_old = Encryption::from_yaml(&old).unwrap().seal(KEY, b"{}").into_owned();
        let rotated = format!(
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n\
             - resources: [secrets]\n  providers:\n  - aesgcm:\n      keys:\n\
             \x20     - name: key2\n        secret: {}\n      - name: key1\n        secret: {old_secret}\n",
            base64::engine::general_purpose::STANDARD.encode([7u8; 32])
        );
        let encryption = Encryption::from_yaml(&rotated).unwrap();
        assert_eq!(&encryption.open(KEY, Bytes::from(sealed_by_old)).unwrap()[..], b"{}");
        assert!(encryption.seal(KEY, b"{}").starts_with(b"k8s:enc:aesgcm:v1:key2:"));
    }

    #[test]
    fn bad_configurations_name_the_field() {
        let cases = [
            ("apiVersion: v1\nkind: EncryptionConfiguration\nresources: []\n", "apiVersion"),
            (
                "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aesgcm:\n      keys:\n      - name: k\n        secret: c2hvcnQ=\n",
                "resources[0].providers[0].aesgcm.keys[0].secret: must be 32 bytes",
            ),
            (
                "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [Secrets]\n  providers:\n  - identity: {}\n",
                "resources[0].resources[0]",
            ),
            (
                "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - {}\n",
                "exactly one provider",
            ),
        ];
        for (yaml, expected) in cases {
            let err = Encryption::from_yaml(yaml).err().expect(expected);
            assert!(err.contains(expected), "{err:?} should mention {expected:?}");
        }
    }

    #[test]
    fn resource_names_map_to_store_prefixes() {
        assert_eq!(key_prefix("secrets").unwrap(), "/registry/secrets/");
        assert_eq!(key_prefix("deployments.apps").unwrap(), "/registry/apps/deployments/");
        assert_eq!(key_prefix("*.apps").unwrap(), "/registry/apps/");
        assert_eq!(key_prefix("*.*").unwrap(), "/registry/");
        assert!(key_prefix("*").is_err());
    }
}
