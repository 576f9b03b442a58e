//! The defaults Kubernetes fills into a pod spec (its `SetDefaults_PodSpec`, `SetDefaults_Container`
//! and friends), so every pod stored has the same explicit shape whatever the user left out.
//! Every function here is idempotent: applying it twice gives the same spec as applying it once.

use serde_json::{Map, Value};

use super::container::{Container, HttpGetAction, Probe};
use super::volume::Volume;
use super::PodSpec;

/// File mode for ConfigMap, Secret and downward-API files: 0644.
pub const DEFAULT_FILE_MODE: i32 = 0o644;

fn or_default(field: &mut Option<String>, value: &str) {
    if field.as_deref().is_none_or(str::is_empty) {
        *field = Some(value.to_string());
    }
}

pub(super) fn pod_spec(spec: &mut PodSpec) {
    or_default(&mut spec.restart_policy, "Always");
    or_default(&mut spec.dns_policy, "ClusterFirst");
    or_default(&mut spec.scheduler_name, "default-scheduler");
    spec.termination_grace_period_seconds.get_or_insert(30);
    spec.security_context.get_or_insert_with(|| Value::Object(Map::new()));
    spec.enable_service_links.get_or_insert(true);
    // `serviceAccount` is the old name of `serviceAccountName`; Kubernetes keeps both in step.
    match (&spec.service_account_name, &spec.service_account) {
        (Some(name), None) => spec.service_account = Some(name.clone()),
        (None, Some(old)) => spec.service_account_name = Some(old.clone()),
        _ => {}
    }
    let host_network = spec.host_network == Some(true);
    for container in spec.init_containers.iter_mut().chain(spec.containers.iter_mut()) {
        self::container(container, host_network);
    }
    for volume in &mut spec.volumes {
        self::volume(volume);
    }
}

fn container(c: &mut Container, host_network: bool) {
    for port in &mut c.ports {
        or_default(&mut port.protocol, "TCP");
        // On the host's network a container port is a host port.
        if host_network && port.host_port.is_none() {
            port.host_port = Some(port.container_port);
        }
    }
    if c.image_pull_policy.is_none() {
        if let Some(image) = c.image.as_deref().filter(|i| !i.is_empty()) {
            c.image_pull_policy = Some(image_pull_policy(image).to_string());
        }
    }
    or_default(&mut c.termination_message_path, "/dev/termination-log");
    or_default(&mut c.termination_message_policy, "File");
    for probe in [&mut c.liveness_probe, &mut c.readiness_probe, &mut c.startup_probe]
        .into_iter()
        .flatten()
    {
        self::probe(probe);
    }
    if let Some(lifecycle) = &mut c.lifecycle {
        for handler in [&mut lifecycle.post_start, &mut lifecycle.pre_stop]
            .into_iter()
            .flatten()
        {
            if let Some(get) = &mut handler.http_get {
                http_get(get);
            }
        }
    }
    for var in &mut c.env {
        if let Some(field_ref) = var.value_from.as_mut().and_then(|s| s.field_ref.as_mut()) {
            or_default(&mut field_ref.api_version, "v1");
        }
    }
    // A limit without a request means the request equals the limit.
    if let Some(resources) = &mut c.resources {
        for (name, limit) in &resources.limits {
            resources.requests.entry(name.clone()).or_insert_with(|| limit.clone());
        }
    }
}

/// `Always` for `:latest` or an untagged image (it may change under the same name), otherwise
/// `IfNotPresent`. An image pinned by digest without a tag cannot change, so `IfNotPresent`.
pub fn image_pull_policy(image: &str) -> &'static str {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    // A `:` after the last `/` starts the tag; one before it belongs to a registry host:port.
    let last_segment = name.rsplit('/').next().unwrap_or(name);
    match last_segment.split_once(':') {
        Some((_, "latest")) => "Always",
        Some(_) => "IfNotPresent",
        None if digest.is_some() => "IfNotPresent",
        None => "Always",
    }
}

fn probe(p: &mut Probe) {
    p.timeout_seconds.get_or_insert(1);
    p.period_seconds.get_or_insert(10);
    p.success_threshold.get_or_insert(1);
    p.failure_threshold.get_or_insert(3);
    if let Some(get) = &mut p.http_get {
        http_get(get);
    }
}

fn http_get(get: &mut HttpGetAction) {
    or_default(&mut get.path, "/");
    or_default(&mut get.scheme, "HTTP");
}

fn volume(v: &mut Volume) {
    if let Some(cm) = &mut v.config_map {
        cm.default_mode.get_or_insert(DEFAULT_FILE_MODE);
    }
    if let Some(secret) = &mut v.secret {
        secret.default_mode.get_or_insert(DEFAULT_FILE_MODE);
    }
    if let Some(projected) = &mut v.projected {
        projected.default_mode.get_or_insert(DEFAULT_FILE_MODE);
        for source in &mut projected.sources {
            if let Some(api) = &mut source.downward_api {
                for item in &mut api.items {
                    if let Some(field_ref) = &mut item.field_ref {
                        or_default(&mut field_ref.api_version, "v1");
                    }
                }
            }
        }
    }
    if let Some(api) = &mut v.downward_api {
        api.default_mode.get_or_insert(DEFAULT_FILE_MODE);
        for item in &mut api.items {
            if let Some(field_ref) = &mut item.field_ref {
                or_default(&mut field_ref.api_version, "v1");
            }
        }
    }
    if let Some(host_path) = &mut v.host_path {
        host_path.type_.get_or_insert_with(String::new);
    }
}

#[cfg(test)]
mod tests {
    use super::image_pull_policy;

    #[test]
    fn pull_policy_follows_the_tag() {
        assert_eq!(image_pull_policy("nginx"), "Always");
        assert_eq!(image_pull_policy("nginx:latest"), "Always");
        assert_eq!(image_pull_policy("nginx:1.27"), "IfNotPresent");
        assert_eq!(image_pull_policy("registry:5000/app"), "Always");
        assert_eq!(image_pull_policy("registry:5000/app:v2"), "IfNotPresent");
        assert_eq!(image_pull_policy("nginx@sha256:abcd"), "IfNotPresent");
    }
}
