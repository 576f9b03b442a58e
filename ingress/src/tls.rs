//! TLS: which certificate to present, chosen by the name the client asked for (SNI).
//!
//! Each `spec.tls[]` entry of an Ingress names a `kubernetes.io/tls` Secret (PEM `tls.crt` and
//! `tls.key`) in the Ingress's namespace and the hosts it is for. The proxy builds a
//! [`CertTable`] from them and swaps it into the [`SniResolver`] whenever an Ingress or a Secret
//! changes, so a renewed certificate is served from the next handshake on, without a restart.
//!
//! A client that asks for a name no entry covers (or sends no SNI at all, as `curl https://127.0.0.1`
//! does) gets the **first** certificate (of the oldest Ingress), as ingress-nginx serves its
//! default one; its browser will then complain that the name does not match. With no
//! certificate at all, the handshake fails.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use kubelab_api::core::Secret;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::routes::normalize_host;

/// Why a Secret's certificate cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("secret \"{0}\" does not exist")]
    NoSecret(String),
    #[error("secret \"{secret}\" has no {key} (a kubernetes.io/tls Secret needs tls.crt and tls.key, PEM)")]
    MissingKey { secret: String, key: &'static str },
    #[error("secret \"{secret}\": {key} is not valid PEM: {reason}")]
    BadPem {
        secret: String,
        key: &'static str,
        reason: String,
    },
    #[error("secret \"{secret}\": tls.key is not a key rustls can sign with: {reason}")]
    BadKey { secret: String, reason: String },
}

/// Parses a `kubernetes.io/tls` Secret into a certificate chain and its signing key.
pub fn certified_key(name: &str, secret: &Secret) -> Result<Arc<CertifiedKey>, TlsError> {
    let get = |key: &'static str| {
        secret.decoded(key).ok_or_else(|| TlsError::MissingKey {
            secret: name.to_string(),
            key,
        })
    };
    let (cert_pem, key_pem) = (get("tls.crt")?, get("tls.key")?);
    let bad = |key: &'static str, reason: String| TlsError::BadPem {
        secret: name.to_string(),
        key,
        reason,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad("tls.crt", e.to_string()))?;
    if chain.is_empty() {
        return Err(bad("tls.crt", "no CERTIFICATE block".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| bad("tls.key", e.to_string()))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| TlsError::BadKey {
        secret: name.to_string(),
        reason: e.to_string(),
    })?;
    Ok(Arc::new(CertifiedKey::new(chain, signer)))
}

/// Certificates by host name (exact, or `*.example.com`), and the one for everything else.
#[derive(Clone, Debug, Default)]
pub struct CertTable {
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// Keyed by the part after `*.`.
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

impl CertTable {
    /// Adds a certificate for some hosts; the first certificate added becomes the default. An
    /// earlier entry for a host wins over a later one (entries come oldest Ingress first).
    pub fn add(&mut self, hosts: &[String], key: Arc<CertifiedKey>) {
        for host in hosts {
            let host = host.to_ascii_lowercase();
            match host.strip_prefix("*.") {
                Some(suffix) => self.wildcard.entry(suffix.to_string()).or_insert_with(|| key.clone()),
                None => self.exact.entry(host).or_insert_with(|| key.clone()),
            };
        }
        self.default.get_or_insert(key);
    }

    /// The certificate for a server name (SNI); the default one for an unknown or missing name.
    pub fn lookup(&self, server_name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = server_name.map(normalize_host) {
            if let Some(key) = self.exact.get(&name) {
                return Some(key.clone());
            }
            let parent = name.split_once('.').map(|(_, rest)| rest);
            if let Some(key) = parent.and_then(|p| self.wildcard.get(p)) {
                return Some(key.clone());
            }
        }
        self.default.clone()
    }

    pub fn is_empty(&self) -> bool {
        self.default.is_none()
    }
}

/// The rustls hook that picks a certificate per handshake from the current [`CertTable`].
#[derive(Debug, Default)]
pub struct SniResolver {
    table: RwLock<Arc<CertTable>>,
}

impl SniResolver {
    /// Replaces the table; handshakes from now on use the new one.
    pub fn set(&self, table: CertTable) {
        *self.table.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(table);
    }

    fn current(&self) -> Arc<CertTable> {
        self.table.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current().lookup(hello.server_name())
    }
}

/// A rustls server configuration (TLS 1.2 and 1.3, ring) that asks `resolver` for certificates.
pub fn server_config(resolver: Arc<SniResolver>) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    /// A self-signed certificate for `names`, as a `kubernetes.io/tls` Secret.
    fn tls_secret(names: &[&str]) -> Secret {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let cert = rcgen::generate_simple_self_signed(names).unwrap();
        let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "t", "namespace": "default"},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": b64(cert.cert.pem()), "tls.key": b64(cert.key_pair.serialize_pem())},
        }))
        .unwrap()
    }

    #[test]
    fn certificates_are_chosen_by_sni_with_the_first_as_default() {
        let a = certified_key("default/a", &tls_secret(&["a.example.com"])).unwrap();
        let wild = certified_key("default/w", &tls_secret(&["*.example.com"])).unwrap();
        let mut table = CertTable::default();
        assert!(
            table.lookup(Some("a.example.com")).is_none(),
            "no certificate: handshake fails"
        );
        table.add(&["a.example.com".into()], a.clone());
        table.add(&["*.example.com".into()], wild.clone());
        let same = |x: Option<Arc<CertifiedKey>>, y: &Arc<CertifiedKey>| Arc::ptr_eq(&x.unwrap(), y);
        assert!(same(table.lookup(Some("a.example.com")), &a));
        assert!(same(table.lookup(Some("b.example.com")), &wild));
        assert!(
            same(table.lookup(Some("x.b.example.com")), &a),
            "unknown names get the default"
        );
        assert!(same(table.lookup(None), &a));
    }

    #[test]
    fn broken_secrets_are_named() {
        let mut secret = tls_secret(&["a"]);
        secret.data.remove("tls.key");
        let err = certified_key("default/t", &secret).unwrap_err().to_string();
        assert!(err.contains("default/t") && err.contains("tls.key"), "{err}");
        let mut secret = tls_secret(&["a"]);
        secret.data.insert(
            "tls.crt".into(),
            base64::engine::general_purpose::STANDARD.encode("junk"),
        );
        let err = certified_key("default/t", &secret).unwrap_err().to_string();
        assert!(err.contains("tls.crt"), "{err}");
    }
}
