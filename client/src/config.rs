//! Where the cluster is: kubeconfig files.
//!
//! Every Kubernetes client, `kubectl` included, finds its cluster through a *kubeconfig*, a YAML
//! file with three lists that refer to each other by name:
//!
//! ```yaml
//! clusters:                      # where an API server is
//! - name: kubelab
//!   cluster: { server: "http://127.0.0.1:6443" }
//! users:                         # who we are (certificates, tokens; kubelab has no auth yet)
//! - name: kubelab
//!   user: {}
//! contexts:                      # a cluster + a user + a default namespace, under one name
//! - name: kubelab
//!   context: { cluster: kubelab, user: kubelab, namespace: default }
//! current-context: kubelab       # the context used unless another is asked for
//! ```
//!
//! The file is found as kubectl finds it: the `KUBECONFIG` environment variable (a `:`-separated
//! list; kubectl merges them, we read the first), else `~/.kube/config`. [`Config`] is what is
//! left after resolving the names: a server URL and a default namespace.
//!
//! kubelab serves plain HTTP on loopback, so an `https://` server is refused with a clear error
//! rather than failing later on a TLS handshake we cannot do.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How to reach a cluster, after the kubeconfig's names were resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The API server's base URL, without a trailing `/` (`http://127.0.0.1:6443`).
    pub server: String,
    /// The namespace used when none is given (`Api::default_namespaced`).
    pub namespace: String,
    /// How long to wait for a TCP connection.
    pub connect_timeout: Duration,
    /// How long an ordinary request (not a watch or a followed log) may take in all.
    pub request_timeout: Duration,
}

/// Why no [`Config`] could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The kubeconfig file could not be read.
    #[error("cannot read kubeconfig {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The kubeconfig file is not valid YAML of the expected shape.
    #[error("cannot parse kubeconfig {path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// The file is valid but leaves out something we need (no current-context, a context naming
    /// a cluster that is not listed, a cluster with no server...).
    #[error("kubeconfig {path}: {message}")]
    Incomplete { path: PathBuf, message: String },
    /// Neither `KUBECONFIG` nor `HOME` is set, so there is no file to look at.
    #[error("no kubeconfig: neither KUBECONFIG nor HOME is set")]
    NotFound,
    /// The server URL is `https://`; kubelab's client speaks plain HTTP only.
    #[error("server {0} uses https, but TLS is not supported yet by kubelab's client (use an http:// URL)")]
    TlsUnsupported(String),
    /// The server URL is not `http://host:port`.
    #[error("server URL {0:?} is not an http:// URL")]
    BadServer(String),
    /// The kubeconfig could not be written.
    #[error("cannot write kubeconfig {path}: {message}")]
    Write { path: PathBuf, message: String },
}

impl Config {
    /// A config for a server URL, with namespace `default`.
    pub fn new(server: impl Into<String>) -> Self {
        let server = server.into();
        Config {
            server: server.trim_end_matches('/').to_string(),
            namespace: "default".to_string(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }

    /// The same config with another default namespace.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Loads a kubeconfig file and resolves `context` (or its `current-context`).
    pub fn from_kubeconfig_file(path: impl AsRef<Path>, context: Option<&str>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Kubeconfig::parse(&text, path)?.resolve(context, path)
    }

    /// Finds the kubeconfig as kubectl does (`KUBECONFIG`, else `$HOME/.kube/config`) and uses
    /// its current context.
    pub fn infer() -> Result<Self, ConfigError> {
        let path = default_kubeconfig_path(std::env::var_os("KUBECONFIG"), std::env::var_os("HOME"))
            .ok_or(ConfigError::NotFound)?;
        Self::from_kubeconfig_file(path, None)
    }

    /// Checks that the server is an `http://` URL this client can talk to.
    pub fn check_server(&self) -> Result<(), ConfigError> {
        check_server(&self.server)
    }
}

/// `KUBECONFIG`'s first non-empty entry, else `$HOME/.kube/config`.
fn default_kubeconfig_path(
    kubeconfig: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    if let Some(list) = kubeconfig {
        if let Some(first) = std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty()) {
            return Some(first);
        }
    }
    home.filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".kube").join("config"))
}

fn check_server(server: &str) -> Result<(), ConfigError> {
    if server.starts_with("https://") {
        return Err(ConfigError::TlsUnsupported(server.to_string()));
    }
    match server.strip_prefix("http://") {
        Some(rest) if !rest.is_empty() => Ok(()),
        _ => Err(ConfigError::BadServer(server.to_string())),
    }
}

/// The parts of a kubeconfig file we read (and write). Fields we do not use (`users[].user`,
/// `preferences`, certificates) are ignored when reading, so a real kubeconfig loads.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Kubeconfig {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    clusters: Vec<NamedCluster>,
    #[serde(default)]
    contexts: Vec<NamedContext>,
    #[serde(default)]
    current_context: String,
    #[serde(default)]
    users: Vec<NamedUser>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct NamedCluster {
    #[serde(default)]
    name: String,
    #[serde(default)]
    cluster: Cluster,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cluster {
    #[serde(default)]
    server: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct NamedContext {
    #[serde(default)]
    name: String,
    #[serde(default)]
    context: Context,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Context {
    #[serde(default)]
    cluster: String,
    #[serde(default)]
    user: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    namespace: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct NamedUser {
    #[serde(default)]
    name: String,
    /// Credentials; kubelab has no authentication yet, so this stays `{}`.
    #[serde(default)]
    user: serde_json::Map<String, serde_json::Value>,
}

impl Kubeconfig {
    fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        if text.trim().is_empty() {
            return Err(ConfigError::Parse {
                path: path.into(),
                message: "the file is empty".into(),
            });
        }
        serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })
    }

    fn resolve(&self, context: Option<&str>, path: &Path) -> Result<Config, ConfigError> {
        let incomplete = |message: String| ConfigError::Incomplete {
            path: path.into(),
            message,
        };
        let context_name = match context {
            Some(name) => name,
            None if !self.current_context.is_empty() => self.current_context.as_str(),
            None => {
                return Err(incomplete(
                    "no current-context is set and no context was asked for".into(),
                ))
            }
        };
        let context = self.contexts.iter().find(|c| c.name == context_name).ok_or_else(|| {
            let known: Vec<&str> = self.contexts.iter().map(|c| c.name.as_str()).collect();
            incomplete(format!(
                "context {context_name:?} not found (contexts: {})",
                list_or_none(&known)
            ))
        })?;
        let cluster_name = &context.context.cluster;
        if cluster_name.is_empty() {
            return Err(incomplete(format!(
                "context {context_name:?} names no cluster (context.cluster)"
            )));
        }
        let cluster = self.clusters.iter().find(|c| &c.name == cluster_name).ok_or_else(|| {
            let known: Vec<&str> = self.clusters.iter().map(|c| c.name.as_str()).collect();
            incomplete(format!(
                "cluster {cluster_name:?} of context {context_name:?} not found (clusters: {})",
                list_or_none(&known)
            ))
        })?;
        let server = cluster.cluster.server.trim();
        if server.is_empty() {
            return Err(incomplete(format!(
                "cluster {cluster_name:?} has no server (cluster.server)"
            )));
        }
        check_server(server)?;
        let mut config = Config::new(server);
        if !context.context.namespace.is_empty() {
            config.namespace = context.context.namespace.clone();
        }
        Ok(config)
    }
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// Writes a kubeconfig with one cluster, one user and one context, all named `cluster_name`, and
/// makes that context current. Both kubectl and [`Config::from_kubeconfig_file`] read it.
pub fn write_kubeconfig(path: impl AsRef<Path>, cluster_name: &str, server: &str) -> Result<(), ConfigError> {
    let path = path.as_ref();
    let file = Kubeconfig {
        api_version: "v1".into(),
        kind: "Config".into(),
        clusters: vec![NamedCluster {
            name: cluster_name.into(),
            cluster: Cluster { server: server.into() },
        }],
        contexts: vec![NamedContext {
            name: cluster_name.into(),
            context: Context {
                cluster: cluster_name.into(),
                user: cluster_name.into(),
                namespace: "default".into(),
            },
        }],
        current_context: cluster_name.into(),
        users: vec![NamedUser {
            name: cluster_name.into(),
            user: Default::default(),
        }],
    };
    let text = serde_saphyr::to_string(&file).map_err(|e| ConfigError::Write {
        path: path.into(),
        message: e.to_string(),
    })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| ConfigError::Write {
            path: path.into(),
            message: e.to_string(),
        })?;
    }
    std::fs::write(path, text).map_err(|e| ConfigError::Write {
        path: path.into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: http://127.0.0.1:6443/
- name: other
  cluster:
    server: http://10.0.0.1:6443
    certificate-authority-data: ignored
contexts:
- name: lab
  context:
    cluster: lab
    user: lab
    namespace: team-a
- name: other
  context:
    cluster: other
    user: someone
current-context: lab
users:
- name: lab
  user: {}
- name: someone
  user:
    token: abc
preferences: {}
"#;

    fn parse(text: &str) -> Result<Kubeconfig, ConfigError> {
        Kubeconfig::parse(text, Path::new("test-kubeconfig"))
    }

    #[test]
    fn current_context_gives_server_and_namespace() {
        let config = parse(GOOD).and_then(|k| k.resolve(None, Path::new("x"))).unwrap();
        assert_eq!(config.server, "http://127.0.0.1:6443");
        assert_eq!(config.namespace, "team-a");
    }

    #[test]
    fn named_context_without_namespace_defaults() {
        let config = parse(GOOD)
            .and_then(|k| k.resolve(Some("other"), Path::new("x")))
            .unwrap();
        assert_eq!(config.server, "http://10.0.0.1:6443");
        assert_eq!(config.namespace, "default");
    }

    #[test]
    fn missing_context_is_named_with_the_file() {
        let err = parse(GOOD)
            .and_then(|k| k.resolve(Some("nope"), Path::new("/etc/kc")))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("/etc/kc") && text.contains("\"nope\"") && text.contains("lab, other"),
            "{text}"
        );
    }

    #[test]
    fn broken_files_give_clear_errors() {
        let no_current = "clusters: []\ncontexts: []\n";
        let err = parse(no_current)
            .and_then(|k| k.resolve(None, Path::new("f")))
            .unwrap_err();
        assert!(err.to_string().contains("no current-context"), "{err}");

        let missing_cluster = "contexts:\n- name: a\n  context: {cluster: gone}\ncurrent-context: a\n";
        let err = parse(missing_cluster)
            .and_then(|k| k.resolve(None, Path::new("f")))
            .unwrap_err();
        assert!(err.to_string().contains("cluster \"gone\""), "{err}");

        let no_server =
            "clusters:\n- name: c\n  cluster: {}\ncontexts:\n- name: a\n  context: {cluster: c}\ncurrent-context: a\n";
        let err = parse(no_server)
            .and_then(|k| k.resolve(None, Path::new("f")))
            .unwrap_err();
        assert!(err.to_string().contains("no server"), "{err}");

        let tls = "clusters:\n- name: c\n  cluster: {server: 'https://x:6443'}\ncontexts:\n- name: a\n  context: {cluster: c}\ncurrent-context: a\n";
        let err = parse(tls).and_then(|k| k.resolve(None, Path::new("f"))).unwrap_err();
        assert!(matches!(err, ConfigError::TlsUnsupported(_)), "{err}");
        assert!(err.to_string().contains("TLS is not supported"));

        assert!(matches!(parse("clusters: [unclosed"), Err(ConfigError::Parse { .. })));
        assert!(matches!(parse("clusters: 5"), Err(ConfigError::Parse { .. })));
        assert!(matches!(parse(""), Err(ConfigError::Parse { .. })));
    }

    #[test]
    fn written_kubeconfig_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config");
        write_kubeconfig(&path, "kubelab", "http://127.0.0.1:7777").unwrap();
        let config = Config::from_kubeconfig_file(&path, None).unwrap();
        assert_eq!(config.server, "http://127.0.0.1:7777");
        assert_eq!(config.namespace, "default");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("current-context: kubelab"), "{text}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = Config::from_kubeconfig_file(dir.path().join("absent"), None).unwrap_err();
        assert!(err.to_string().contains("absent"), "{err}");
    }

    #[test]
    fn kubeconfig_path_lookup() {
        let joined = std::env::join_paths(["/a/first", "/b/second"]).unwrap();
        assert_eq!(
            default_kubeconfig_path(Some(joined), None),
            Some(PathBuf::from("/a/first"))
        );
        assert_eq!(
            default_kubeconfig_path(Some("".into()), Some("/home/u".into())),
            Some(PathBuf::from("/home/u/.kube/config"))
        );
        assert_eq!(default_kubeconfig_path(None, None), None);
    }
}
