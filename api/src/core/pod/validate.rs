//! Validation of pod specs, as kube-apiserver's `ValidatePodSpec` does it: one error per bad
//! field, each at its path (`spec.containers[0].ports[0].containerPort`). Templates inside
//! Deployments and StatefulSets are validated by the same code with a longer path prefix.

use std::collections::BTreeSet;

use super::validate_container::validate_container;
use super::validate_scheduling::{validate_affinity, validate_toleration};
use super::volume::{KeyToPath, Volume};
use super::{PodSpec, PodTemplateSpec};
use crate::names;
use crate::validation::{
    invalid_each, required_name, validate_annotations, validate_enum, validate_label_selector, validate_labels,
    validate_nonnegative, validate_quantity, FieldError,
};

/// Validates a pod template (labels, annotations and spec) at `path` (`spec.template`).
pub fn validate_pod_template(template: &PodTemplateSpec, path: &str) -> Vec<FieldError> {
    let mut errs = validate_labels(&format!("{path}.metadata.labels"), &template.metadata.labels);
    errs.extend(validate_annotations(
        &format!("{path}.metadata.annotations"),
        &template.metadata.annotations,
    ));
    errs.extend(validate_pod_spec(&template.spec, &format!("{path}.spec")));
    errs
}

/// Validates a pod spec at `path` (`spec` for a Pod, `spec.template.spec` in a template).
pub fn validate_pod_spec(spec: &PodSpec, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let volumes = validate_volumes(&spec.volumes, &format!("{path}.volumes"), &mut errs);

    if spec.containers.is_empty() {
        errs.push(FieldError::required(format!("{path}.containers")));
    }
    // Container names are unique across init and app containers: they name log streams.
    let mut names_seen = BTreeSet::new();
    for (list, field) in [
        (&spec.init_containers, "initContainers"),
        (&spec.containers, "containers"),
    ] {
        for (i, c) in list.iter().enumerate() {
            let cpath = format!("{path}.{field}[{i}]");
            if !c.name.is_empty() && !names_seen.insert(c.name.clone()) {
                errs.push(FieldError::duplicate(format!("{cpath}.name"), &c.name));
            }
            errs.extend(validate_container(c, &cpath, &volumes, field == "initContainers"));
        }
    }

    if let Some(policy) = &spec.restart_policy {
        errs.extend(validate_enum(
            &format!("{path}.restartPolicy"),
            policy,
            &["Always", "OnFailure", "Never"],
        ));
    }
    if let Some(policy) = &spec.dns_policy {
        errs.extend(validate_enum(
            &format!("{path}.dnsPolicy"),
            policy,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        ));
        if policy == "None" && spec.dns_config.as_ref().is_none_or(|c| c.nameservers.is_empty()) {
            errs.push(FieldError::required(format!("{path}.dnsConfig.nameservers")));
        }
    }
    if let Some(seconds) = spec.termination_grace_period_seconds {
        errs.extend(validate_nonnegative(
            &format!("{path}.terminationGracePeriodSeconds"),
            seconds,
        ));
    }
    if let Some(seconds) = spec.active_deadline_seconds {
        if seconds < 1 {
            errs.push(FieldError::invalid(
                format!("{path}.activeDeadlineSeconds"),
                seconds,
                "must be between 1 and 2147483647, inclusive",
            ));
        }
    }
    errs.extend(validate_labels(&format!("{path}.nodeSelector"), &spec.node_selector));
    for (field, value) in [("hostname", &spec.hostname), ("subdomain", &spec.subdomain)] {
        if let Some(value) = value {
            errs.extend(invalid_each(
                &format!("{path}.{field}"),
                value,
                names::dns1123_label(value),
            ));
        }
    }
    for (field, value) in [
        ("nodeName", &spec.node_name),
        ("serviceAccountName", &spec.service_account_name),
        ("priorityClassName", &spec.priority_class_name),
        ("runtimeClassName", &spec.runtime_class_name),
    ] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            errs.extend(invalid_each(
                &format!("{path}.{field}"),
                value,
                names::dns1123_subdomain(value),
            ));
        }
    }
    for (i, toleration) in spec.tolerations.iter().enumerate() {
        errs.extend(validate_toleration(toleration, &format!("{path}.tolerations[{i}]")));
    }
    if let Some(affinity) = &spec.affinity {
        errs.extend(validate_affinity(affinity, &format!("{path}.affinity")));
    }
    for (i, c) in spec.topology_spread_constraints.iter().enumerate() {
        let cpath = format!("{path}.topologySpreadConstraints[{i}]");
        if c.max_skew <= 0 {
            errs.push(FieldError::invalid(
                format!("{cpath}.maxSkew"),
                c.max_skew,
                "must be greater than zero",
            ));
        }
        if c.topology_key.is_empty() {
            errs.push(FieldError::required(format!("{cpath}.topologyKey")));
        }
        errs.extend(validate_enum(
            &format!("{cpath}.whenUnsatisfiable"),
            &c.when_unsatisfiable,
            &["DoNotSchedule", "ScheduleAnyway"],
        ));
        if let Some(selector) = &c.label_selector {
            errs.extend(validate_label_selector(&format!("{cpath}.labelSelector"), selector));
        }
    }
    for (i, alias) in spec.host_aliases.iter().enumerate() {
        if alias.ip.parse::<std::net::IpAddr>().is_err() {
            errs.push(FieldError::invalid(
                format!("{path}.hostAliases[{i}].ip"),
                &alias.ip,
                "must be a valid IP address",
            ));
        }
    }
    if let Some(policy) = &spec.preemption_policy {
        errs.extend(validate_enum(
            &format!("{path}.preemptionPolicy"),
            policy,
            &["Never", "PreemptLowerPriority"],
        ));
    }
    if let Some(overhead) = &spec.overhead {
        for (name, q) in overhead {
            errs.extend(validate_quantity(&format!("{path}.overhead[{name}]"), q));
        }
    }
    errs
}

/// Checks the volumes and returns their names, for the containers' `volumeMounts`.
fn validate_volumes(volumes: &[Volume], path: &str, errs: &mut Vec<FieldError>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (i, v) in volumes.iter().enumerate() {
        let vpath = format!("{path}[{i}]");
        errs.extend(required_name(&format!("{vpath}.name"), &v.name, names::dns1123_label));
        if !v.name.is_empty() && !seen.insert(v.name.clone()) {
            errs.push(FieldError::duplicate(format!("{vpath}.name"), &v.name));
        }
        match v.source_count() {
            0 => errs.push(FieldError {
                detail: "must specify a volume type".into(),
                ..FieldError::required(&vpath)
            }),
            1 => {}
            _ => errs.push(FieldError::forbidden(&vpath, "may not specify more than 1 volume type")),
        }
        if let Some(host_path) = &v.host_path {
            if host_path.path.is_empty() {
                errs.push(FieldError::required(format!("{vpath}.hostPath.path")));
            }
            if let Some(kind) = host_path.type_.as_deref() {
                errs.extend(validate_enum(
                    &format!("{vpath}.hostPath.type"),
                    kind,
                    &[
                        "",
                        "DirectoryOrCreate",
                        "Directory",
                        "FileOrCreate",
                        "File",
                        "Socket",
                        "CharDevice",
                        "BlockDevice",
                    ],
                ));
            }
        }
        if let Some(empty_dir) = &v.empty_dir {
            if let Some(limit) = &empty_dir.size_limit {
                errs.extend(validate_quantity(&format!("{vpath}.emptyDir.sizeLimit"), limit));
            }
            if let Some(medium) = &empty_dir.medium {
                errs.extend(validate_enum(
                    &format!("{vpath}.emptyDir.medium"),
                    medium,
                    &["", "Memory", "HugePages"],
                ));
            }
        }
        if let Some(cm) = &v.config_map {
            if cm.name.as_deref().is_none_or(str::is_empty) {
                errs.push(FieldError::required(format!("{vpath}.configMap.name")));
            }
            validate_items(&cm.items, &format!("{vpath}.configMap.items"), errs);
            validate_mode(cm.default_mode, &format!("{vpath}.configMap.defaultMode"), errs);
        }
        if let Some(secret) = &v.secret {
            if secret.secret_name.as_deref().is_none_or(str::is_empty) {
                errs.push(FieldError::required(format!("{vpath}.secret.secretName")));
            }
            validate_items(&secret.items, &format!("{vpath}.secret.items"), errs);
            validate_mode(secret.default_mode, &format!("{vpath}.secret.defaultMode"), errs);
        }
        if let Some(claim) = &v.persistent_volume_claim {
            if claim.claim_name.is_empty() {
                errs.push(FieldError::required(format!("{vpath}.persistentVolumeClaim.claimName")));
            }
        }
        if let Some(api) = &v.downward_api {
            validate_mode(api.default_mode, &format!("{vpath}.downwardAPI.defaultMode"), errs);
            for (j, item) in api.items.iter().enumerate() {
                let ipath = format!("{vpath}.downwardAPI.items[{j}]");
                validate_relative_path(&item.path, &format!("{ipath}.path"), errs);
                validate_mode(item.mode, &format!("{ipath}.mode"), errs);
            }
        }
    }
    seen
}

fn validate_items(items: &[KeyToPath], path: &str, errs: &mut Vec<FieldError>) {
    for (i, item) in items.iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        if item.key.is_empty() {
            errs.push(FieldError::required(format!("{ipath}.key")));
        }
        validate_relative_path(&item.path, &format!("{ipath}.path"), errs);
        validate_mode(item.mode, &format!("{ipath}.mode"), errs);
    }
}

/// A path inside a volume: not absolute and never climbing out with `..`.
fn validate_relative_path(value: &str, path: &str, errs: &mut Vec<FieldError>) {
    if value.is_empty() {
        errs.push(FieldError::required(path));
    } else if value.starts_with('/') {
        errs.push(FieldError::invalid(path, value, "must be a relative path"));
    } else if value.split('/').any(|part| part == "..") {
        errs.push(FieldError::invalid(path, value, "must not contain '..'"));
    }
}

fn validate_mode(mode: Option<i32>, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(mode) = mode {
        if !(0..=0o777).contains(&mode) {
            errs.push(FieldError::invalid(
                path,
                mode,
                "must be a number between 0 and 0777 (octal), both inclusive",
            ));
        }
    }
}
/// A pod's spec is fixed once created, except for the few fields Kubernetes lets change in
/// place: container images, `activeDeadlineSeconds`, added tolerations and removed scheduling
/// gates. (kubelab also lets `nodeName` go from unset to set, the effect of a binding.)
pub(super) fn pod_spec_update(new: &PodSpec, old: &PodSpec) -> Vec<FieldError> {
    let mut mutable_view = old.clone();
    for (to, from) in mutable_view.containers.iter_mut().zip(&new.containers) {
        to.image = from.image.clone();
    }
    for (to, from) in mutable_view.init_containers.iter_mut().zip(&new.init_containers) {
        to.image = from.image.clone();
    }
    mutable_view.active_deadline_seconds = new.active_deadline_seconds;
    if old.tolerations.iter().all(|t| new.tolerations.contains(t)) {
        mutable_view.tolerations = new.tolerations.clone();
    }
    if new.scheduling_gates.iter().all(|g| old.scheduling_gates.contains(g)) {
        mutable_view.scheduling_gates = new.scheduling_gates.clone();
    }
    if old.node_name.as_deref().is_none_or(str::is_empty) {
        mutable_view.node_name = new.node_name.clone();
    }
    if old.termination_grace_period_seconds.is_some_and(|s| s < 0) && new.termination_grace_period_seconds == Some(1) {
        mutable_view.termination_grace_period_seconds = Some(1);
    }
    if &mutable_view == new {
        return Vec::new();
    }
    vec![FieldError::forbidden(
        "spec",
        "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,\
         `spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),\
         `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
    )]
}
