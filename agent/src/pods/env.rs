//! From a container in the pod spec to what the runtime is asked to run.
//!
//! Three Kubernetes rules live here:
//!
//! - **The downward API**: an env var may take its value from the pod itself
//!   (`valueFrom.fieldRef: {fieldPath: status.podIP}`), which only the node agent knows at start
//!   time (the IP exists once the sandbox does).
//! - **`$(VAR)` expansion**: in `command`, `args` and env values, `$(NAME)` is replaced by the
//!   value of an env var defined *earlier* in the list; an unknown name is left as written, and
//!   `$$(NAME)` is an escape for a literal `$(NAME)`. (Not the shell's `$NAME`: no shell is
//!   involved.)
//! - **Resources**: `limits.memory` becomes a byte count and `limits.cpu` millicores, which the
//!   runtime turns into a cgroup memory limit and CPU quota.
//!
//! Values from ConfigMaps and Secrets are looked up in [`super::env_sources`], Service variables
//! made in [`super::service_env`]; both read objects fetched before the container starts, so
//! everything here stays a pure function.

use std::collections::HashMap;

use kubelab_api::core::{Container, ObjectFieldSelector, Pod, ResourceFieldSelector};

use super::env_sources::{env_from, key_ref_value, SourceError};
use super::objects::PodObjects;
use crate::runtime::{ContainerConfig, SandboxConfig};

/// Why a container's configuration could not be built (`CreateContainerConfigError`).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EnvError {
    /// `fieldRef` names a field the downward API does not offer.
    #[error("env var {var}: unsupported fieldPath {path:?}")]
    UnsupportedField { var: String, path: String },
    /// `resourceFieldRef` names something other than requests/limits of cpu or memory, or a
    /// limit the container does not set.
    #[error("env var {var}: cannot resolve resource {resource:?}: {why}")]
    Resource { var: String, resource: String, why: String },
    /// A source kubelab's agent cannot read yet (`fileKeyRef`).
    #[error("env var {var}: {what} is not supported yet by kubelab's agent")]
    Unsupported { var: String, what: &'static str },
    /// A ConfigMap, Secret or key that is missing (the kubelet's words).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A resource limit is not a valid quantity.
    #[error("resources.limits.{0}: invalid quantity")]
    BadLimit(String),
}

/// What the downward API may read besides the pod itself, and the objects env refers to.
#[derive(Clone, Debug, Default)]
pub struct EnvContext {
    pub node_name: String,
    pub node_ip: String,
    pub pod_ip: String,
    /// The ConfigMaps and Secrets the pod names, as fetched before its containers start.
    pub objects: PodObjects,
    /// The Service variables of the pod (see [`super::service_env`]).
    pub service_env: Vec<(String, String)>,
}

/// The runtime configuration of `container` of `pod`.
pub fn container_config(
    pod: &Pod,
    container: &Container,
    ctx: &EnvContext,
    restart_count: u32,
) -> Result<ContainerConfig, EnvError> {
    let env = resolve_env(pod, container, ctx)?;
    let lookup: HashMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let expand_all = |items: &[String]| -> Vec<String> {
        items
            .iter()
            .map(|s| expand(s, |name| lookup.get(name).map(|v| v.to_string())))
            .collect()
    };
    let limits = container.resources.clone().unwrap_or_default().limits;
    let memory_limit_bytes = match limits.get("memory") {
        Some(q) => Some(
            q.value()
                .ok()
                .and_then(|v| i64::try_from(v).ok())
                .ok_or_else(|| EnvError::BadLimit("memory".into()))?,
        ),
        None => None,
    };
    let cpu_limit_millis = match limits.get("cpu") {
        Some(q) => Some(
            q.millis()
                .ok()
                .and_then(|v| i64::try_from(v).ok())
                .ok_or_else(|| EnvError::BadLimit("cpu".into()))?,
        ),
        None => None,
    };
    Ok(ContainerConfig {
        pod_uid: pod.metadata.uid.clone().unwrap_or_default(),
        namespace: pod.metadata.namespace().to_string(),
        pod_name: pod.metadata.name().to_string(),
        name: container.name.clone(),
        image: container.image.clone().unwrap_or_default(),
        command: expand_all(&container.command),
        args: expand_all(&container.args),
        working_dir: container.working_dir.clone(),
        env,
        mounts: Vec::new(),
        memory_limit_bytes,
        cpu_limit_millis,
        restart_count,
        tty: container.tty.unwrap_or(false),
        stdin: container.stdin.unwrap_or(false),
        labels: Default::default(),
    })
}

/// The sandbox of `pod`: hostname, DNS search path, published host ports.
pub fn sandbox_config(pod: &Pod) -> SandboxConfig {
    let namespace = pod.metadata.namespace().to_string();
    let port_mappings = pod
        .spec
        .containers
        .iter()
        .flat_map(|c| &c.ports)
        .filter_map(|p| {
            let host_port = u16::try_from(p.host_port?).ok().filter(|p| *p > 0)?;
            Some(crate::runtime::PortMapping {
                container_port: u16::try_from(p.container_port).ok()?,
                host_port,
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                host_ip: p.host_ip.clone(),
            })
        })
        .collect();
    SandboxConfig {
        pod_uid: pod.metadata.uid.clone().unwrap_or_default(),
        pod_name: pod.metadata.name().to_string(),
        hostname: pod
            .spec
            .hostname
            .clone()
            .unwrap_or_else(|| pod.metadata.name().to_string()),
        subdomain: pod.spec.subdomain.clone().filter(|s| !s.is_empty()),
        dns_search: vec![
            format!("{namespace}.svc.cluster.local"),
            "svc.cluster.local".into(),
            "cluster.local".into(),
        ],
        namespace,
        port_mappings,
        labels: Default::default(),
    }
}

/// The container's environment, in order, with values resolved and expanded.
///
/// `envFrom` comes first, then `env` (which overrides it), then the Service variables whose
/// names are still free; `$(VAR)` in a value sees everything defined before it, and the Service
/// variables.
pub fn resolve_env(pod: &Pod, container: &Container, ctx: &EnvContext) -> Result<Vec<(String, String)>, EnvError> {
    let namespace = pod.metadata.namespace();
    let mut resolved: Vec<(String, String)> = env_from(container, &ctx.objects, namespace)?.vars;
    for var in &container.env {
        let value = match (&var.value, &var.value_from) {
            (_, Some(source)) => {
                if let Some(field) = &source.field_ref {
                    field_value(pod, field, ctx).ok_or_else(|| EnvError::UnsupportedField {
                        var: var.name.clone(),
                        path: field.field_path.clone(),
                    })?
                } else if let Some(resource) = &source.resource_field_ref {
                    resource_value(container, resource).map_err(|why| EnvError::Resource {
                        var: var.name.clone(),
                        resource: resource.resource.clone(),
                        why,
                    })?
                } else if let Some(selector) = &source.config_map_key_ref {
                    match key_ref_value(&var.name, selector, false, &ctx.objects, namespace)? {
                        Some(value) => value,
                        // Optional and absent: the variable is not set at all.
                        None => continue,
                    }
                } else if let Some(selector) = &source.secret_key_ref {
                    match key_ref_value(&var.name, selector, true, &ctx.objects, namespace)? {
                        Some(value) => value,
                        None => continue,
                    }
                } else if source.file_key_ref.is_some() {
                    return Err(EnvError::Unsupported {
                        var: var.name.clone(),
                        what: "fileKeyRef",
                    });
                } else {
                    String::new()
                }
            }
            (Some(value), None) => {
                let earlier = &resolved;
                expand(value, |name| {
                    earlier
                        .iter()
                        .rev()
                        .chain(ctx.service_env.iter())
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                })
            }
            (None, None) => String::new(),
        };
        match resolved.iter_mut().find(|(k, _)| *k == var.name) {
            Some(slot) => slot.1 = value,
            None => resolved.push((var.name.clone(), value)),
        }
    }
    for (name, value) in &ctx.service_env {
        if !resolved.iter().any(|(k, _)| k == name) {
            resolved.push((name.clone(), value.clone()));
        }
    }
    Ok(resolved)
}

/// The `InvalidEnvironmentVariableNames` warnings of the container's `envFrom` (keys skipped).
pub fn env_warnings(pod: &Pod, container: &Container, ctx: &EnvContext) -> Vec<String> {
    env_from(container, &ctx.objects, pod.metadata.namespace())
        .map(|e| e.warnings)
        .unwrap_or_default()
}

/// A field of the pod for the downward API; `None` for an unsupported path.
fn field_value(pod: &Pod, field: &ObjectFieldSelector, ctx: &EnvContext) -> Option<String> {
    let meta = &pod.metadata;
    let path = field.field_path.as_str();
    let keyed = |prefix: &str| -> Option<String> {
        let rest = path.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(rest.to_string())
    };
    if let Some(key) = keyed("metadata.labels['") {
        return Some(meta.labels.get(&key).cloned().unwrap_or_default());
    }
    if let Some(key) = keyed("metadata.annotations['") {
        return Some(meta.annotations.get(&key).cloned().unwrap_or_default());
    }
    Some(match path {
        "metadata.name" => meta.name().to_string(),
        "metadata.namespace" => meta.namespace().to_string(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "spec.nodeName" => pod.spec.node_name.clone().unwrap_or_else(|| ctx.node_name.clone()),
        "spec.serviceAccountName" => pod.spec.service_account_name.clone().unwrap_or_default(),
        "status.podIP" | "status.podIPs" => ctx.pod_ip.clone(),
        "status.hostIP" | "status.hostIPs" => ctx.node_ip.clone(),
        _ => return None,
    })
}

/// `limits.cpu`, `requests.memory`... of this container, divided by `divisor` (rounded up).
fn resource_value(container: &Container, selector: &ResourceFieldSelector) -> Result<String, String> {
    let resources = container.resources.clone().unwrap_or_default();
    let (list, name) = match selector.resource.split_once('.') {
        Some(("limits", name)) => (&resources.limits, name),
        Some(("requests", name)) => (&resources.requests, name),
        _ => return Err("only limits.* and requests.* are supported".into()),
    };
    let Some(quantity) = list.get(name) else {
        return Err(format!("the container sets no {}", selector.resource));
    };
    let divisor = selector.divisor.clone().unwrap_or_else(|| "1".into());
    let (value, divisor) = if name == "cpu" {
        (quantity.millis(), divisor.millis())
    } else {
        (quantity.value(), divisor.value())
    };
    let (value, divisor) = (value.map_err(|e| e.to_string())?, divisor.map_err(|e| e.to_string())?);
    if divisor <= 0 {
        return Err("divisor must be positive".into());
    }
    Ok(((value + divisor - 1) / divisor).to_string())
}

/// Kubernetes' `$(VAR)` expansion: `$(NAME)` becomes `lookup(NAME)` when it is defined and stays
/// as written otherwise; `$$` is a literal `$`; a `$` before anything else is kept.
pub fn expand(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match lookup(name) {
                        Some(value) => out.push_str(&value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = inner;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "A" => Some("1".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expansion_follows_kubernetes() {
        assert_eq!(expand("x$(A)y", lookup), "x1y");
        assert_eq!(expand("$(A)$(A)", lookup), "11");
        assert_eq!(expand("$(B)", lookup), "$(B)");
        assert_eq!(expand("$$(A)", lookup), "$(A)");
        assert_eq!(expand("$$", lookup), "$");
        assert_eq!(expand("$A", lookup), "$A");
        assert_eq!(expand("$(A", lookup), "$(A");
        assert_eq!(expand("a$(EMPTY)b", lookup), "ab");
        assert_eq!(expand("cost: 5$", lookup), "cost: 5$");
    }

    fn pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{
                "name": "app", "image": "demo",
                "command": ["/bin/app", "--name=$(POD_NAME)"],
                "args": ["$(GREETING)", "$(UNKNOWN)"],
                "env": [
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                    {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
                    {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                    {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
                    {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                    {"name": "GREETING", "value": "hello $(POD_NAME) at $(IP), $(LATER)"},
                    {"name": "LATER", "value": "x"},
                    {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}}
                ],
                "resources": {"limits": {"memory": "128Mi", "cpu": "500m"}}
            }]}
        }))
        .unwrap()
    }

    #[test]
    fn env_command_and_resources() {
        let p = pod();
        let ctx = EnvContext {
            node_name: "n1".into(),
            node_ip: "127.0.0.1".into(),
            pod_ip: "10.1.0.3".into(),
            ..Default::default()
        };
        let config = container_config(&p, &p.spec.containers[0], &ctx, 4).unwrap();
        let env: HashMap<_, _> = config.env.iter().cloned().collect();
        assert_eq!(env["POD_NAME"], "web");
        assert_eq!(env["NS"], "shop");
        assert_eq!(env["IP"], "10.1.0.3");
        assert_eq!(env["HOST"], "127.0.0.1");
        assert_eq!(env["NODE"], "n1");
        assert_eq!(env["UID"], "u1");
        assert_eq!(env["APP"], "web");
        // Only earlier variables expand.
        assert_eq!(env["GREETING"], "hello web at 10.1.0.3, $(LATER)");
        assert_eq!(env["MEM"], "128");
        assert_eq!(config.command, vec!["/bin/app", "--name=web"]);
        assert_eq!(config.args, vec!["hello web at 10.1.0.3, $(LATER)", "$(UNKNOWN)"]);
        assert_eq!(config.memory_limit_bytes, Some(128 * 1024 * 1024));
        assert_eq!(config.cpu_limit_millis, Some(500));
        assert_eq!(config.restart_count, 4);
        assert_eq!(config.pod_uid, "u1");
    }

    #[test]
    fn unsupported_sources_are_clear_errors() {
        let p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "app", "env": [
                {"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.nope"}}}
            ]}]}
        }))
        .unwrap();
        let err = resolve_env(&p, &p.spec.containers[0], &EnvContext::default()).unwrap_err();
        assert_eq!(err.to_string(), "env var X: unsupported fieldPath \"spec.nope\"");
    }

    #[test]
    fn env_from_then_env_then_service_variables() {
        use kubelab_api::core::{ConfigMap, Secret};
        let p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"containers": [{"name": "app",
                "envFrom": [{"configMapRef": {"name": "cfg"}}],
                "env": [
                    {"name": "MODE", "value": "override"},
                    {"name": "DB", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "db_url"}}},
                    {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                    {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "nope", "optional": true}}},
                    {"name": "URL", "value": "http://$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT)/$(MODE)"},
                    {"name": "WEB_SERVICE_PORT", "value": "mine"}
                ]}]}
        }))
        .unwrap();
        let mut ctx = EnvContext::default();
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": "cfg"}, "data": {"MODE": "fast", "db_url": "postgres://db"}
        }))
        .unwrap();
        let secret: Secret =
            serde_json::from_value(json!({"metadata": {"name": "creds"}, "data": {"password": "aHVudGVyMg=="}}))
                .unwrap();
        ctx.objects.config_maps.insert("cfg".into(), Some(cm));
        ctx.objects.secrets.insert("creds".into(), Some(secret));
        ctx.service_env = vec![
            ("WEB_SERVICE_HOST".into(), "10.0.0.7".into()),
            ("WEB_SERVICE_PORT".into(), "80".into()),
        ];
        let env = resolve_env(&p, &p.spec.containers[0], &ctx).unwrap();
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "MODE",
                "db_url",
                "DB",
                "PASS",
                "URL",
                "WEB_SERVICE_PORT",
                "WEB_SERVICE_HOST"
            ]
        );
        let m: HashMap<_, _> = env.iter().cloned().collect();
        assert_eq!(m["MODE"], "override");
        assert_eq!(m["DB"], "postgres://db");
        assert_eq!(m["PASS"], "hunter2");
        assert_eq!(m["URL"], "http://10.0.0.7:80/override");
        assert_eq!(m["WEB_SERVICE_PORT"], "mine", "the pod's own variable wins");

        ctx.objects.config_maps.insert("cfg".into(), None);
        let err = resolve_env(&p, &p.spec.containers[0], &ctx).unwrap_err();
        assert_eq!(err.to_string(), "configmap \"cfg\" not found");
    }

    #[test]
    fn sandbox_has_hostname_dns_and_host_ports() {
        let p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1"},
            "spec": {"hostname": "h", "containers": [{"name": "app", "ports": [
                {"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}
            ]}]}
        }))
        .unwrap();
        let s = sandbox_config(&p);
        assert_eq!(s.hostname, "h");
        assert_eq!(s.dns_search[0], "shop.svc.cluster.local");
        assert_eq!(s.port_mappings.len(), 1);
        assert_eq!(s.port_mappings[0].host_port, 8080);
        assert_eq!(s.port_mappings[0].protocol, "TCP");
    }
}
