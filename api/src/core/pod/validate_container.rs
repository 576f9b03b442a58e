//! Validation of one container: name, image, ports, environment, resources, mounts, probes and
//! lifecycle hooks. Called by [`super::validate`] for every init and app container.

use std::collections::BTreeSet;

use super::container::{Container, HttpGetAction, Probe, ResourceRequirements, TcpSocketAction};
use crate::intstr::IntOrString;
use crate::names;
use crate::validation::{
    invalid_each, required_name, validate_enum, validate_nonnegative, validate_port, validate_protocol,
    validate_quantity, FieldError, Verbatim,
};

pub(super) fn validate_container(c: &Container, path: &str, volumes: &BTreeSet<String>, init: bool) -> Vec<FieldError> {
    let mut errs = required_name(&format!("{path}.name"), &c.name, names::dns1123_label);
    if c.image.as_deref().is_none_or(|i| i.trim().is_empty()) {
        errs.push(FieldError::required(format!("{path}.image")));
    }
    let mut port_names = BTreeSet::new();
    for (i, port) in c.ports.iter().enumerate() {
        let ppath = format!("{path}.ports[{i}]");
        if let Some(name) = &port.name {
            errs.extend(invalid_each(&format!("{ppath}.name"), name, names::iana_svc_name(name)));
            if !port_names.insert(name.clone()) {
                errs.push(FieldError::duplicate(format!("{ppath}.name"), name));
            }
        }
        if port.container_port == 0 {
            errs.push(FieldError::required(format!("{ppath}.containerPort")));
        } else {
            errs.extend(validate_port(&format!("{ppath}.containerPort"), port.container_port));
        }
        if let Some(host_port) = port.host_port.filter(|p| *p != 0) {
            errs.extend(validate_port(&format!("{ppath}.hostPort"), host_port));
        }
        errs.extend(validate_protocol(
            &format!("{ppath}.protocol"),
            port.protocol.as_deref(),
        ));
    }
    for (i, var) in c.env.iter().enumerate() {
        let epath = format!("{path}.env[{i}]");
        errs.extend(required_name(&format!("{epath}.name"), &var.name, names::env_var_name));
        if let Some(source) = &var.value_from {
            let count = [
                source.field_ref.is_some(),
                source.resource_field_ref.is_some(),
                source.config_map_key_ref.is_some(),
                source.secret_key_ref.is_some(),
                source.file_key_ref.is_some(),
            ]
            .iter()
            .filter(|s| **s)
            .count();
            if var.value.as_deref().is_some_and(|v| !v.is_empty()) {
                errs.push(FieldError::invalid(
                    format!("{epath}.valueFrom"),
                    Verbatim(String::new()),
                    "may not be specified when `value` is not empty",
                ));
            }
            match count {
                0 => errs.push(FieldError {
                    detail: "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"
                        .into(),
                    ..FieldError::required(format!("{epath}.valueFrom"))
                }),
                1 => {}
                _ => errs.push(FieldError::invalid(
                    format!("{epath}.valueFrom"),
                    Verbatim(String::new()),
                    "may not have more than one field specified at a time",
                )),
            }
            for (key_ref, field) in [
                (&source.config_map_key_ref, "configMapKeyRef"),
                (&source.secret_key_ref, "secretKeyRef"),
            ] {
                if let Some(key_ref) = key_ref {
                    if key_ref.key.is_empty() {
                        errs.push(FieldError::required(format!("{epath}.valueFrom.{field}.key")));
                    }
                }
            }
            if let Some(field_ref) = &source.field_ref {
                if field_ref.field_path.is_empty() {
                    errs.push(FieldError::required(format!("{epath}.valueFrom.fieldRef.fieldPath")));
                }
            }
        }
    }
    if let Some(resources) = &c.resources {
        errs.extend(validate_resources(resources, &format!("{path}.resources")));
    }
    let mut mount_paths = BTreeSet::new();
    for (i, mount) in c.volume_mounts.iter().enumerate() {
        let mpath = format!("{path}.volumeMounts[{i}]");
        if mount.name.is_empty() {
            errs.push(FieldError::required(format!("{mpath}.name")));
        } else if !volumes.contains(&mount.name) {
            errs.push(FieldError::invalid(
                format!("{mpath}.name"),
                &mount.name,
                "not found: no volume with this name",
            ));
        }
        if mount.mount_path.is_empty() {
            errs.push(FieldError::required(format!("{mpath}.mountPath")));
        } else if !mount_paths.insert(mount.mount_path.clone()) {
            errs.push(FieldError::invalid(
                format!("{mpath}.mountPath"),
                &mount.mount_path,
                "must be unique",
            ));
        }
        if let Some(propagation) = &mount.mount_propagation {
            errs.extend(validate_enum(
                &format!("{mpath}.mountPropagation"),
                propagation,
                &["Bidirectional", "HostToContainer", "None"],
            ));
        }
        if mount.sub_path.is_some() && mount.sub_path_expr.is_some() {
            errs.push(FieldError::invalid(
                format!("{mpath}.subPathExpr"),
                mount.sub_path_expr.as_deref().unwrap_or(""),
                "subPathExpr and subPath are mutually exclusive",
            ));
        }
    }
    let probes = [
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
        ("startupProbe", &c.startup_probe),
    ];
    for (field, probe) in probes {
        if let Some(probe) = probe {
            errs.extend(validate_probe(
                probe,
                &format!("{path}.{field}"),
                field != "readinessProbe",
            ));
        }
    }
    if let Some(lifecycle) = &c.lifecycle {
        for (field, handler) in [("postStart", &lifecycle.post_start), ("preStop", &lifecycle.pre_stop)] {
            if let Some(h) = handler {
                let hpath = format!("{path}.lifecycle.{field}");
                let count = [
                    h.exec.is_some(),
                    h.http_get.is_some(),
                    h.tcp_socket.is_some(),
                    h.sleep.is_some(),
                ]
                .iter()
                .filter(|s| **s)
                .count();
                errs.extend(handler_count(count, &hpath));
                if let Some(get) = &h.http_get {
                    errs.extend(validate_http_get(get, &format!("{hpath}.httpGet")));
                }
                if let Some(tcp) = &h.tcp_socket {
                    errs.extend(validate_tcp(tcp, &format!("{hpath}.tcpSocket")));
                }
            }
        }
    }
    if let Some(policy) = &c.image_pull_policy {
        errs.extend(validate_enum(
            &format!("{path}.imagePullPolicy"),
            policy,
            &["Always", "IfNotPresent", "Never"],
        ));
    }
    if let Some(policy) = &c.termination_message_policy {
        errs.extend(validate_enum(
            &format!("{path}.terminationMessagePolicy"),
            policy,
            &["File", "FallbackToLogsOnError"],
        ));
    }
    if let Some(policy) = &c.restart_policy {
        if init {
            errs.extend(validate_enum(&format!("{path}.restartPolicy"), policy, &["Always"]));
        } else {
            errs.push(FieldError::forbidden(
                format!("{path}.restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    errs
}

/// Quantities parse, and a request never exceeds its limit.
fn validate_resources(resources: &ResourceRequirements, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (name, q) in &resources.limits {
        errs.extend(validate_quantity(&format!("{path}.limits[{name}]"), q));
    }
    for (name, q) in &resources.requests {
        let field = format!("{path}.requests[{name}]");
        let bad = validate_quantity(&field, q);
        if bad.is_empty() {
            if let Some(limit) = resources.limits.get(name) {
                if let (Ok(request), Ok(max)) = (q.millis(), limit.millis()) {
                    if request > max {
                        errs.push(FieldError::invalid(
                            &field,
                            q.as_str(),
                            format!("must be less than or equal to {name} limit of {limit}"),
                        ));
                    }
                }
            }
        }
        errs.extend(bad);
    }
    errs
}

fn handler_count(count: usize, path: &str) -> Vec<FieldError> {
    match count {
        0 => vec![FieldError {
            detail: "must specify a handler type".into(),
            ..FieldError::required(path)
        }],
        1 => Vec::new(),
        _ => vec![FieldError::forbidden(path, "may not specify more than 1 handler type")],
    }
}

fn validate_probe(probe: &Probe, path: &str, success_must_be_one: bool) -> Vec<FieldError> {
    let count = [
        probe.exec.is_some(),
        probe.http_get.is_some(),
        probe.tcp_socket.is_some(),
        probe.grpc.is_some(),
    ]
    .iter()
    .filter(|s| **s)
    .count();
    let mut errs = handler_count(count, path);
    if let Some(get) = &probe.http_get {
        errs.extend(validate_http_get(get, &format!("{path}.httpGet")));
    }
    if let Some(tcp) = &probe.tcp_socket {
        errs.extend(validate_tcp(tcp, &format!("{path}.tcpSocket")));
    }
    if let Some(grpc) = &probe.grpc {
        errs.extend(validate_port(&format!("{path}.grpc.port"), grpc.port));
    }
    if let Some(exec) = &probe.exec {
        if exec.command.is_empty() {
            errs.push(FieldError::required(format!("{path}.exec.command")));
        }
    }
    for (field, value) in [
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ] {
        if let Some(value) = value {
            errs.extend(validate_nonnegative(&format!("{path}.{field}"), value.into()));
        }
    }
    if success_must_be_one && probe.success_threshold.is_some_and(|s| s != 1) {
        errs.push(FieldError::invalid(
            format!("{path}.successThreshold"),
            probe.success_threshold.unwrap_or_default(),
            "must be 1",
        ));
    }
    if let Some(seconds) = probe.termination_grace_period_seconds {
        if seconds <= 0 {
            errs.push(FieldError::invalid(
                format!("{path}.terminationGracePeriodSeconds"),
                seconds,
                "must be greater than 0",
            ));
        }
    }
    errs
}

/// A probe's port: a number in range or the name of a container port.
fn validate_port_or_name(port: &IntOrString, path: &str) -> Vec<FieldError> {
    match port {
        IntOrString::Int(n) => validate_port(path, *n),
        IntOrString::String(name) => invalid_each(path, name, names::iana_svc_name(name)),
    }
}

fn validate_http_get(get: &HttpGetAction, path: &str) -> Vec<FieldError> {
    let mut errs = validate_port_or_name(&get.port, &format!("{path}.port"));
    if let Some(scheme) = &get.scheme {
        errs.extend(validate_enum(&format!("{path}.scheme"), scheme, &["HTTP", "HTTPS"]));
    }
    for (i, header) in get.http_headers.iter().enumerate() {
        if header.name.is_empty() {
            errs.push(FieldError::required(format!("{path}.httpHeaders[{i}].name")));
        }
    }
    errs
}

fn validate_tcp(tcp: &TcpSocketAction, path: &str) -> Vec<FieldError> {
    validate_port_or_name(&tcp.port, &format!("{path}.port"))
}
