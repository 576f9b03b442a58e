//! Ingress (`networking.k8s.io/v1`): HTTP(S) routes from outside the cluster to Services.
//!
//! ```yaml
//! spec:
//!   ingressClassName: kubelab            # which controller serves it
//!   tls: [{hosts: [shop.example.com], secretName: shop-tls}]
//!   defaultBackend: {service: {name: fallback, port: {number: 80}}}
//!   rules:
//!   - host: shop.example.com             # or "*.example.com", or none for every host
//!     http:
//!       paths:
//!       - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {name: http}}}}
//! ```
//!
//! The controller writes where the Ingress can be reached into `status.loadBalancer.ingress`
//! (kubelab's: `127.0.0.1` and the ports its proxy listens on), which `kubectl get ing` prints as
//! ADDRESS. Validation follows kube-apiserver's wording, field path first
//! (`spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified`).

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{
    invalid_each, validate_object_meta, validate_object_meta_update, validate_port, FieldError, Verbatim,
};

/// The path types Kubernetes knows, in the order its errors list them.
pub const PATH_TYPES: [&str; 3] = ["Exact", "ImplementationSpecific", "Prefix"];

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Ingress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: IngressSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<IngressStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IngressSpec {
    /// The IngressClass whose controller serves this Ingress; none means the default class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress_class_name: Option<String>,
    /// Where requests that match no rule go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_backend: Option<IngressBackend>,
    #[serde(rename = "tls", skip_serializing_if = "Vec::is_empty")]
    pub tls: Vec<IngressTls>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<IngressRule>,
}

/// A certificate (in a `kubernetes.io/tls` Secret of the Ingress's namespace) for some hosts.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IngressTls {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
}

/// The routes of one host (`*.example.com` matches one label; no host matches every host).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IngressRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpIngressRuleValue>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct HttpIngressRuleValue {
    pub paths: Vec<HttpIngressPath>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct HttpIngressPath {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `Exact`, `Prefix` (by path segments) or `ImplementationSpecific`. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_type: Option<String>,
    pub backend: IngressBackend,
}

/// Where matching requests go: a Service port (or, in Kubernetes, another object: a `resource`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IngressBackend {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<IngressServiceBackend>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<TypedLocalObjectReference>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IngressServiceBackend {
    pub name: String,
    pub port: ServiceBackendPort,
}

/// A Service's port, by its `name` or its `number` (exactly one).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceBackendPort {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub number: i32,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct TypedLocalObjectReference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    pub kind: String,
    pub name: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IngressStatus {
    pub load_balancer: IngressLoadBalancerStatus,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IngressLoadBalancerStatus {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<IngressLoadBalancerIngress>,
}

/// One address the Ingress is reachable at.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IngressLoadBalancerIngress {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<IngressPortStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IngressPortStatus {
    pub port: i32,
    pub protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Object for Ingress {
    object_identity!("networking.k8s.io", "v1", "Ingress", "ingresses", namespaced);

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, names::dns1123_subdomain);
        errs.extend(validate_spec(&self.spec));
        if let Some(status) = &self.status {
            errs.extend(validate_status(status));
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        errs
    }
}

fn validate_spec(spec: &IngressSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if spec.rules.is_empty() && spec.default_backend.is_none() {
        errs.push(FieldError::invalid(
            "spec",
            Verbatim("[]networking.IngressRule(nil)".into()),
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(class) = &spec.ingress_class_name {
        errs.extend(invalid_each(
            "spec.ingressClassName",
            class,
            names::dns1123_subdomain(class),
        ));
    }
    if let Some(backend) = &spec.default_backend {
        errs.extend(validate_backend("spec.defaultBackend", backend));
    }
    for (i, tls) in spec.tls.iter().enumerate() {
        for (j, host) in tls.hosts.iter().enumerate() {
            errs.extend(validate_host(&format!("spec.tls[{i}].hosts[{j}]"), host, false));
        }
        if let Some(secret) = tls.secret_name.as_deref().filter(|s| !s.is_empty()) {
            errs.extend(invalid_each(
                &format!("spec.tls[{i}].secretName"),
                secret,
                names::dns1123_subdomain(secret),
            ));
        }
    }
    for (i, rule) in spec.rules.iter().enumerate() {
        let path = format!("spec.rules[{i}]");
        if let Some(host) = rule.host.as_deref().filter(|h| !h.is_empty()) {
            errs.extend(validate_host(&format!("{path}.host"), host, true));
        }
        let Some(http) = &rule.http else { continue };
        if http.paths.is_empty() {
            errs.push(FieldError::required(format!("{path}.http.paths")));
        }
        for (j, p) in http.paths.iter().enumerate() {
            errs.extend(validate_path(&format!("{path}.http.paths[{j}]"), p));
        }
    }
    errs
}

/// A host is a DNS name (not an IP), optionally a wildcard `*.example.com`.
fn validate_host(field: &str, host: &str, forbid_ip: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if forbid_ip && host.parse::<std::net::IpAddr>().is_ok() {
        errs.push(FieldError::invalid(
            field,
            host,
            "must be a DNS name, not an IP address",
        ));
    }
    if host.contains('*') {
        let ok = host
            .strip_prefix("*.")
            .is_some_and(|rest| names::dns1123_subdomain(rest).is_empty());
        if !ok {
            errs.push(FieldError::invalid(
                field,
                host,
                "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must \
                 consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character \
                 (e.g. '*.example.com', regex used for validation is \
                 '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ));
        }
    } else if !forbid_ip || host.parse::<std::net::IpAddr>().is_err() {
        errs.extend(invalid_each(field, host, names::dns1123_subdomain(host)));
    }
    errs
}

fn validate_path(field: &str, p: &HttpIngressPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let path = p.path.as_deref().unwrap_or("");
    match p.path_type.as_deref() {
        None | Some("") => errs.push(FieldError {
            detail: "pathType must be specified".into(),
            ..FieldError::required(format!("{field}.pathType"))
        }),
        Some("Exact" | "Prefix") => {
            if !path.starts_with('/') {
                errs.push(FieldError::invalid(
                    format!("{field}.path"),
                    path,
                    "must be an absolute path",
                ));
            }
            for seq in ["//", "/./", "/../", "%2f", "%2F"] {
                if path.contains(seq) {
                    errs.push(FieldError::invalid(
                        format!("{field}.path"),
                        path,
                        format!("must not contain '{seq}'"),
                    ));
                }
            }
            for suffix in ["/..", "/."] {
                if path.ends_with(suffix) {
                    errs.push(FieldError::invalid(
                        format!("{field}.path"),
                        path,
                        format!("cannot end with '{suffix}'"),
                    ));
                }
            }
        }
        Some("ImplementationSpecific") => {
            if !path.is_empty() && !path.starts_with('/') {
                errs.push(FieldError::invalid(
                    format!("{field}.path"),
                    path,
                    "must be an absolute path",
                ));
            }
        }
        Some(other) => errs.push(FieldError::not_supported(
            format!("{field}.pathType"),
            other,
            &PATH_TYPES,
        )),
    }
    errs.extend(validate_backend(&format!("{field}.backend"), &p.backend));
    errs
}

fn validate_backend(field: &str, backend: &IngressBackend) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match (&backend.service, &backend.resource) {
        (Some(_), Some(_)) => errs.push(FieldError::invalid(
            field,
            "",
            "cannot set both resource and service backends",
        )),
        (None, None) => errs.push(FieldError::invalid(
            field,
            "",
            "resource or service backend is required",
        )),
        (None, Some(resource)) => {
            if resource.kind.is_empty() {
                errs.push(FieldError::required(format!("{field}.resource.kind")));
            }
            if resource.name.is_empty() {
                errs.push(FieldError::required(format!("{field}.resource.name")));
            }
        }
        (Some(service), None) => {
            if service.name.is_empty() {
                errs.push(FieldError::required(format!("{field}.service.name")));
            } else {
                errs.extend(invalid_each(
                    &format!("{field}.service.name"),
                    &service.name,
                    names::dns1035_label(&service.name),
                ));
            }
            let port = &service.port;
            match (port.name.is_empty(), port.number == 0) {
                (false, false) => errs.push(FieldError::invalid(
                    field,
                    "",
                    "cannot set both port name & port number",
                )),
                (false, true) => errs.extend(invalid_each(
                    &format!("{field}.service.port.name"),
                    &port.name,
                    names::iana_svc_name(&port.name),
                )),
                (true, false) => errs.extend(validate_port(&format!("{field}.service.port.number"), port.number)),
                (true, true) => errs.push(FieldError {
                    detail: "port name or number is required".into(),
                    ..FieldError::required(format!("{field}.service.port"))
                }),
            }
        }
    }
    errs
}

fn validate_status(status: &IngressStatus) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, ingress) in status.load_balancer.ingress.iter().enumerate() {
        let path = format!("status.loadBalancer.ingress[{i}]");
        if let Some(ip) = ingress.ip.as_deref().filter(|ip| !ip.is_empty()) {
            if ip.parse::<std::net::IpAddr>().is_err() {
                errs.push(FieldError::invalid(
                    format!("{path}.ip"),
                    ip,
                    "must be a valid IP address",
                ));
            }
        }
        if let Some(hostname) = ingress.hostname.as_deref().filter(|h| !h.is_empty()) {
            errs.extend(invalid_each(
                &format!("{path}.hostname"),
                hostname,
                names::dns1123_subdomain(hostname),
            ));
        }
        for (j, port) in ingress.ports.iter().enumerate() {
            errs.extend(validate_port(&format!("{path}.ports[{j}].port"), port.port));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{admit_yaml, assert_idempotent, assert_no_nulls, invalid_fields};

    const SHOP: &str = r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: default}
spec:
  ingressClassName: kubelab
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
  defaultBackend: {service: {name: fallback, port: {number: 80}}}
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {name: http}}}}
  - host: '*.example.com'
    http:
      paths:
      - {path: /, pathType: Exact, backend: {service: {name: web, port: {number: 8080}}}}
"#;

    #[test]
    fn a_full_ingress_is_stored_as_written() {
        let stored = admit_yaml::<Ingress>(SHOP).unwrap();
        assert_no_nulls(&stored, "");
        assert_idempotent::<Ingress>(&stored);
        assert_eq!(
            stored["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["name"],
            "http"
        );
        assert_eq!(stored["spec"]["tls"][0]["secretName"], "shop-tls");
        let ingress: Ingress = serde_json::from_value(stored).unwrap();
        assert_eq!(ingress.spec.rules[1].host.as_deref(), Some("*.example.com"));
    }

    #[test]
    fn path_types_and_paths_are_checked_as_kubernetes_words_it() {
        let bad = r#"
metadata: {name: x, namespace: default}
spec:
  rules:
  - http:
      paths:
      - {path: /a, backend: {service: {name: a, port: {number: 80}}}}
      - {path: foo, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}
      - {path: /a//b, pathType: Exact, backend: {service: {name: a, port: {number: 80}}}}
      - {path: /, pathType: Regex, backend: {service: {name: a, port: {number: 80}}}}
"#;
        let fields = invalid_fields(admit_yaml::<Ingress>(bad));
        assert_eq!(
            fields,
            [
                "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified",
                "spec.rules[0].http.paths[1].path: Invalid value: \"foo\": must be an absolute path",
                "spec.rules[0].http.paths[2].path: Invalid value: \"/a//b\": must not contain '//'",
                "spec.rules[0].http.paths[3].pathType: Unsupported value: \"Regex\": supported values: \"Exact\", \
                 \"ImplementationSpecific\", \"Prefix\"",
            ]
        );
    }

    #[test]
    fn backends_need_a_service_and_one_port() {
        let bad = r#"
metadata: {name: x, namespace: default}
spec:
  defaultBackend: {}
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: a, port: {}}}}
      - {path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 70000}}}}
      - {path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80, name: http}}}}
      - {path: /, pathType: Prefix, backend: {service: {name: '', port: {name: http}}}}
"#;
        let fields = invalid_fields(admit_yaml::<Ingress>(bad));
        assert_eq!(
            fields,
            [
                "spec.defaultBackend: Invalid value: \"\": resource or service backend is required",
                "spec.rules[0].http.paths[0].backend.service.port: Required value: port name or number is required",
                "spec.rules[0].http.paths[1].backend.service.port.number: Invalid value: 70000: must be between 1 \
                 and 65535, inclusive",
                "spec.rules[0].http.paths[2].backend: Invalid value: \"\": cannot set both port name & port number",
                "spec.rules[0].http.paths[3].backend.service.name: Required value",
            ]
        );
    }

    #[test]
    fn hosts_rules_and_the_empty_spec() {
        let fields = invalid_fields(admit_yaml::<Ingress>(
            "metadata: {name: x, namespace: default}\nspec: {}\n",
        ));
        assert_eq!(
            fields,
            ["spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified"]
        );
        let bad = r#"
metadata: {name: x, namespace: default}
spec:
  rules:
  - host: 10.0.0.1
  - host: 'a.*.com'
  - host: Shop.example.com
  - host: ok.example.com
    http: {paths: []}
"#;
        let fields = invalid_fields(admit_yaml::<Ingress>(bad));
        assert_eq!(fields.len(), 4, "{fields:?}");
        assert_eq!(
            fields[0],
            "spec.rules[0].host: Invalid value: \"10.0.0.1\": must be a DNS name, not an IP address"
        );
        assert!(
            fields[1].starts_with("spec.rules[1].host: Invalid value: \"a.*.com\": a wildcard"),
            "{fields:?}"
        );
        assert!(
            fields[2].starts_with("spec.rules[2].host: Invalid value: \"Shop.example.com\""),
            "{fields:?}"
        );
        assert_eq!(fields[3], "spec.rules[3].http.paths: Required value");
    }
}
