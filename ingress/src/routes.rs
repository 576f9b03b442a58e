//! The route table: which Service port a request goes to, from its Host header and path.
//!
//! Built from every Ingress the controller serves, and then a pure function
//! ([`RouteTable::route`]) that follows Kubernetes' rules:
//!
//! 1. **Host**: an exact host (`shop.example.com`) beats a wildcard (`*.example.com`, which
//!    matches exactly one more label: `a.example.com`, not `a.b.example.com` nor `example.com`),
//!    which beats rules without a host. The most specific host that has rules is the one used.
//! 2. **Path**, among that host's rules: the longest matching path wins, and of two equally long
//!    ones an `Exact` path beats a `Prefix` one. `Prefix` matches whole path segments: `/foo`
//!    matches `/foo`, `/foo/` and `/foo/bar`, never `/foobar`; a trailing `/` in either is
//!    ignored. `ImplementationSpecific` is treated as `Prefix` here (ingress-nginx adds regular
//!    expressions on top of that; kubelab does not).
//! 3. **Nothing matched**: the `defaultBackend` of the oldest Ingress that has one, else none (the
//!    proxy answers 404).
//!
//! When two Ingresses claim the same host, path and type, the older one wins (then the one first
//! by namespace and name), as ingress-nginx does, so a new Ingress cannot hijack a live route.

use std::collections::HashMap;

use kubelab_api::networking::{Ingress, IngressBackend, ServiceBackendPort};

/// A Service port in a namespace: where a route sends requests.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BackendRef {
    pub namespace: String,
    pub service: String,
    pub port: ServiceBackendPort,
}

impl std::fmt::Display for BackendRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let port = if self.port.name.is_empty() {
            self.port.number.to_string()
        } else {
            self.port.name.clone()
        };
        write!(f, "{}/{}:{port}", self.namespace, self.service)
    }
}

impl BackendRef {
    /// The Service port an Ingress backend names, if it names one (a `resource` backend does not).
    pub fn from_backend(namespace: &str, backend: &IngressBackend) -> Option<BackendRef> {
        backend.service.as_ref().map(|s| BackendRef {
            namespace: namespace.to_string(),
            service: s.name.clone(),
            port: s.port.clone(),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PathKind {
    Exact,
    Prefix,
}

#[derive(Clone, Debug)]
struct PathRule {
    kind: PathKind,
    /// For `Exact`, the path as written; for `Prefix`, its segments (`/a/b/` is `["a", "b"]`).
    exact: String,
    segments: Vec<String>,
    /// How specific the match is: the length of the path without a trailing `/`.
    length: usize,
    backend: Option<BackendRef>,
}

impl PathRule {
    fn matches(&self, path: &str, segments: &[&str]) -> bool {
        match self.kind {
            PathKind::Exact => self.exact == path,
            PathKind::Prefix => {
                self.segments.len() <= segments.len() && self.segments.iter().zip(segments).all(|(a, b)| a == b)
            }
        }
    }

    fn same_route(&self, other: &PathRule) -> bool {
        self.kind == other.kind && self.exact == other.exact && self.segments == other.segments
    }
}

/// The outcome of routing one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// A Service port.
    Backend(&'a BackendRef),
    /// A rule matched, but its backend is not a Service (a `resource` backend).
    Unsupported,
}

/// Every route of the Ingresses served, ready to answer [`RouteTable::route`].
#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    exact_hosts: HashMap<String, Vec<PathRule>>,
    /// Keyed by the part after `*.`: `example.com`.
    wildcard_hosts: HashMap<String, Vec<PathRule>>,
    any_host: Vec<PathRule>,
    default_backend: Option<Option<BackendRef>>,
}

impl RouteTable {
    /// Builds the table from the Ingresses to serve (already filtered by class), in any order.
    pub fn build<'a>(ingresses: impl IntoIterator<Item = &'a Ingress>) -> RouteTable {
        let mut ingresses: Vec<&Ingress> = ingresses.into_iter().collect();
        ingresses.sort_by(|a, b| {
            let key = |i: &Ingress| {
                (
                    i.metadata.creation_timestamp.as_ref().map(|t| t.0),
                    i.metadata.namespace().to_string(),
                    i.metadata.name().to_string(),
                )
            };
            key(a).cmp(&key(b))
        });
        let mut table = RouteTable::default();
        for ingress in ingresses {
            let namespace = ingress.metadata.namespace();
            if table.default_backend.is_none() {
                if let Some(backend) = &ingress.spec.default_backend {
                    table.default_backend = Some(BackendRef::from_backend(namespace, backend));
                }
            }
            for rule in &ingress.spec.rules {
                let Some(http) = &rule.http else { continue };
                let host = rule.host.as_deref().unwrap_or("").to_ascii_lowercase();
                let bucket = if host.is_empty() {
                    &mut table.any_host
                } else if let Some(suffix) = host.strip_prefix("*.") {
                    table.wildcard_hosts.entry(suffix.to_string()).or_default()
                } else {
                    table.exact_hosts.entry(host).or_default()
                };
                for p in &http.paths {
                    let path = p.path.as_deref().filter(|p| !p.is_empty()).unwrap_or("/");
                    let kind = match p.path_type.as_deref() {
                        Some("Exact") => PathKind::Exact,
                        _ => PathKind::Prefix,
                    };
                    let rule = PathRule {
                        kind,
                        exact: if kind == PathKind::Exact {
                            path.to_string()
                        } else {
                            String::new()
                        },
                        segments: if kind == PathKind::Prefix {
                            segments(path)
                        } else {
                            Vec::new()
                        },
                        length: path.trim_end_matches('/').len(),
                        backend: BackendRef::from_backend(namespace, &p.backend),
                    };
                    if !bucket.iter().any(|r| r.same_route(&rule)) {
                        bucket.push(rule);
                    }
                }
            }
        }
        table
    }

    /// Where a request for `host` (a Host header: any case, maybe with a port) and `path` (without
    /// the query) goes; `None` when nothing matches and there is no default backend.
    pub fn route(&self, host: &str, path: &str) -> Option<Route<'_>> {
        let host = normalize_host(host);
        let bucket = self
            .exact_hosts
            .get(&host)
            .or_else(|| {
                host.split_once('.')
                    .and_then(|(first, rest)| (!first.is_empty()).then_some(rest))
                    .and_then(|rest| self.wildcard_hosts.get(rest))
            })
            .unwrap_or(&self.any_host);
        let path = if path.is_empty() { "/" } else { path };
        let request_segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let best = bucket
            .iter()
            .filter(|r| r.matches(path, &request_segments))
            .max_by_key(|r| (r.length, r.kind == PathKind::Exact));
        let backend = match best {
            Some(rule) => rule.backend.as_ref(),
            None => self.default_backend.as_ref()?.as_ref(),
        };
        Some(backend.map_or(Route::Unsupported, Route::Backend))
    }

    /// Every Service port some route uses (to resolve endpoints for ahead of requests).
    pub fn backends(&self) -> impl Iterator<Item = &BackendRef> {
        self.exact_hosts
            .values()
            .chain(self.wildcard_hosts.values())
            .chain(std::iter::once(&self.any_host))
            .flatten()
            .filter_map(|r| r.backend.as_ref())
            .chain(self.default_backend.iter().flatten())
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// `Shop.Example.com:8080` → `shop.example.com`; `[::1]:80` → `[::1]`; a trailing dot goes too.
pub fn normalize_host(host: &str) -> String {
    let host = host.trim();
    let without_port = if host.starts_with('[') {
        host.split_once(']').map_or(host, |(h, _)| &host[..h.len() + 1])
    } else {
        host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ingress(name: &str, created: &str, spec: serde_json::Value) -> Ingress {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default", "creationTimestamp": created},
            "spec": spec,
        }))
        .unwrap()
    }

    fn path(path: &str, kind: &str, service: &str) -> serde_json::Value {
        json!({"path": path, "pathType": kind, "backend": {"service": {"name": service, "port": {"number": 80}}}})
    }

    fn routed(table: &RouteTable, host: &str, path: &str) -> Option<String> {
        match table.route(host, path)? {
            Route::Backend(b) => Some(b.service.clone()),
            Route::Unsupported => Some("<unsupported>".into()),
        }
    }

    /// One Ingress with one rule of these paths, no host.
    fn table(paths: &[(&str, &str, &str)]) -> RouteTable {
        let paths: Vec<_> = paths.iter().map(|(p, k, s)| path(p, k, s)).collect();
        let one = ingress(
            "a",
            "2024-01-01T00:00:00Z",
            json!({"rules": [{"http": {"paths": paths}}]}),
        );
        RouteTable::build([&one])
    }

    /// Paths of one rule (path, pathType, service), a request path, the service it should reach.
    type Case = (
        &'static [(&'static str, &'static str, &'static str)],
        &'static str,
        Option<&'static str>,
    );

    /// The examples table of Kubernetes' Ingress documentation ("Examples" under "Path types").
    #[test]
    fn kubernetes_path_matching_examples() {
        let cases: &[Case] = &[
            (&[("/", "Prefix", "s")], "/anything/at/all", Some("s")),
            (&[("/foo", "Exact", "s")], "/foo", Some("s")),
            (&[("/foo", "Exact", "s")], "/bar", None),
            (&[("/foo", "Exact", "s")], "/foo/", None),
            (&[("/foo/", "Exact", "s")], "/foo", None),
            (&[("/foo", "Prefix", "s")], "/foo", Some("s")),
            (&[("/foo", "Prefix", "s")], "/foo/", Some("s")),
            (&[("/foo/", "Prefix", "s")], "/foo", Some("s")),
            (&[("/foo/", "Prefix", "s")], "/foo/", Some("s")),
            (&[("/aaa/bb", "Prefix", "s")], "/aaa/bbb", None),
            (&[("/aaa/bbb", "Prefix", "s")], "/aaa/bbb", Some("s")),
            (&[("/aaa/bbb/", "Prefix", "s")], "/aaa/bbb", Some("s")),
            (&[("/aaa/bbb", "Prefix", "s")], "/aaa/bbb/", Some("s")),
            (&[("/aaa/bbb", "Prefix", "s")], "/aaa/bbb/ccc", Some("s")),
            (&[("/aaa/bbb", "Prefix", "s")], "/aaa/bbbxyz", None),
            (
                &[("/", "Prefix", "root"), ("/aaa", "Prefix", "aaa")],
                "/aaa/ccc",
                Some("aaa"),
            ),
            (&[("/aaa", "Prefix", "s")], "/ccc", None),
            (
                &[("/", "Prefix", "root"), ("/aaa", "Prefix", "aaa")],
                "/ccc",
                Some("root"),
            ),
            (
                &[("/foo", "Prefix", "prefix"), ("/foo", "Exact", "exact")],
                "/foo",
                Some("exact"),
            ),
            (
                &[("/foo", "Prefix", "prefix"), ("/foo", "Exact", "exact")],
                "/foo/bar",
                Some("prefix"),
            ),
            (&[("/foo", "ImplementationSpecific", "s")], "/foo/x", Some("s")),
        ];
        for (paths, request, want) in cases {
            let got = routed(&table(paths), "any.host", request);
            assert_eq!(got.as_deref(), *want, "paths {paths:?}, request {request}");
        }
    }

    #[test]
    fn exact_hosts_beat_wildcards_which_beat_no_host() {
        let one = ingress(
            "a",
            "2024-01-01T00:00:00Z",
            json!({"rules": [
                {"host": "foo.bar.com", "http": {"paths": [path("/", "Prefix", "exact")]}},
                {"host": "*.bar.com", "http": {"paths": [path("/", "Prefix", "wild")]}},
                {"http": {"paths": [path("/", "Prefix", "any")]}},
            ]}),
        );
        let t = RouteTable::build([&one]);
        assert_eq!(routed(&t, "foo.bar.com", "/").as_deref(), Some("exact"));
        assert_eq!(routed(&t, "FOO.bar.com:8080", "/x").as_deref(), Some("exact"));
        assert_eq!(routed(&t, "baz.bar.com", "/").as_deref(), Some("wild"));
        // A wildcard covers exactly one label.
        assert_eq!(routed(&t, "a.baz.bar.com", "/").as_deref(), Some("any"));
        assert_eq!(routed(&t, "bar.com", "/").as_deref(), Some("any"));
        assert_eq!(routed(&t, "", "/").as_deref(), Some("any"));
    }

    #[test]
    fn a_host_without_a_matching_path_uses_the_default_backend_or_nothing() {
        let with_host = json!({"host": "shop.example.com", "http": {"paths": [path("/api", "Prefix", "api")]}});
        let one = ingress("a", "2024-01-01T00:00:00Z", json!({"rules": [with_host]}));
        let t = RouteTable::build([&one]);
        assert_eq!(routed(&t, "shop.example.com", "/api/v1").as_deref(), Some("api"));
        assert_eq!(routed(&t, "shop.example.com", "/other"), None);
        assert_eq!(routed(&t, "other.example.com", "/api"), None);

        let fallback = ingress(
            "b",
            "2024-01-02T00:00:00Z",
            json!({"defaultBackend": {"service": {"name": "fallback", "port": {"name": "http"}}}}),
        );
        let t = RouteTable::build([&one, &fallback]);
        assert_eq!(routed(&t, "shop.example.com", "/other").as_deref(), Some("fallback"));
        assert_eq!(routed(&t, "other.example.com", "/api").as_deref(), Some("fallback"));
        assert_eq!(t.backends().count(), 2);
    }

    #[test]
    fn the_older_ingress_keeps_a_contested_route() {
        let old = ingress(
            "old",
            "2024-01-01T00:00:00Z",
            json!({"rules": [{"http": {"paths": [path("/", "Prefix", "old")]}}]}),
        );
        let new = ingress(
            "new",
            "2024-06-01T00:00:00Z",
            json!({"rules": [{"http": {"paths": [path("/", "Prefix", "new")]}}]}),
        );
        assert_eq!(
            routed(&RouteTable::build([&new, &old]), "h", "/").as_deref(),
            Some("old")
        );
        assert_eq!(
            routed(&RouteTable::build([&old, &new]), "h", "/").as_deref(),
            Some("old")
        );
    }

    #[test]
    fn resource_backends_are_reported_as_unsupported() {
        let one = ingress(
            "a",
            "2024-01-01T00:00:00Z",
            json!({"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                "backend": {"resource": {"kind": "Bucket", "name": "b"}}}]}}]}),
        );
        assert_eq!(
            routed(&RouteTable::build([&one]), "h", "/").as_deref(),
            Some("<unsupported>")
        );
    }

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(normalize_host("Shop.Example.com:8080"), "shop.example.com");
        assert_eq!(normalize_host("shop.example.com."), "shop.example.com");
        assert_eq!(normalize_host("[::1]:80"), "[::1]");
        assert_eq!(normalize_host("localhost"), "localhost");
    }
}
