//! A StatefulSet pod's identity: its ordinal, its name, its labels, its DNS name, its claims.
//!
//! A ReplicaSet's pods are interchangeable (`web-7c9f4-x2x8q`); a StatefulSet's are not. Pod
//! number *i* is always named `<set>-<i>`, whatever happens to it: deleted, evicted, failed, it
//! comes back with the same name, the same DNS name (`spec.hostname: web-0`, `spec.subdomain:
//! <serviceName>`, so `web-0.<service>` resolves to it) and the same claims (`data-web-0`), so a
//! database replica finds its data and its peers find it again.
//!
//! Labels Kubernetes puts on every such pod, and so does kubelab:
//!
//! - `statefulset.kubernetes.io/pod-name: web-0`: lets a Service select exactly one pod;
//! - `apps.kubernetes.io/pod-index: "0"`: the ordinal, for scripts and selectors;
//! - `controller-revision-hash: web-<hash>`: which template revision the pod runs (see `update`).

use kubelab_api::apps::StatefulSet;
use kubelab_api::core::{PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, Volume};
use kubelab_api::ObjectMeta;

use super::claims::claim_name;
use crate::replicaset::pods::controller_ref;

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// `<set>-<ordinal>`.
pub fn pod_name(set: &str, ordinal: i32) -> String {
    format!("{set}-{ordinal}")
}

/// The ordinal of a pod named `<set>-<ordinal>`, or `None` if the name is not of that form.
pub fn parse_ordinal(set: &str, pod: &str) -> Option<i32> {
    let digits = pod.strip_prefix(set)?.strip_prefix('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    digits.parse().ok()
}

/// `spec.replicas` (1 when unset).
pub fn replicas(set: &StatefulSet) -> i32 {
    set.spec.replicas.unwrap_or(1).max(0)
}

/// The first ordinal (`spec.ordinals.start`, 0 by default).
pub fn start_ordinal(set: &StatefulSet) -> i32 {
    set.spec.ordinals.as_ref().map_or(0, |o| o.start.max(0))
}

/// Whether a pod with this ordinal should exist.
pub fn in_range(set: &StatefulSet, ordinal: i32) -> bool {
    let start = start_ordinal(set);
    ordinal >= start && ordinal < start + replicas(set)
}

/// Pod number `ordinal` of `set`, from `template` (the template of `revision`).
pub fn new_pod(set: &StatefulSet, ordinal: i32, revision: &str, template: &PodTemplateSpec) -> Pod {
    let set_name = set.metadata.name();
    let name = pod_name(set_name, ordinal);
    let mut labels = template.metadata.labels.clone();
    labels.insert(POD_NAME_LABEL.into(), name.clone());
    labels.insert(POD_INDEX_LABEL.into(), ordinal.to_string());
    labels.insert(REVISION_LABEL.into(), revision.to_string());
    let mut spec = template.spec.clone();
    spec.hostname = Some(name.clone());
    spec.subdomain = set.spec.service_name.clone().filter(|s| !s.is_empty());
    spec.node_name = None;
    for claim in &set.spec.volume_claim_templates {
        let volume = claim.metadata.name().to_string();
        spec.volumes.retain(|v| v.name != volume);
        spec.volumes.push(Volume {
            name: volume.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim_name(&volume, set_name, ordinal),
                read_only: None,
            }),
            ..Volume::default()
        });
    }
    Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: set.metadata.namespace.clone(),
            labels,
            annotations: template.metadata.annotations.clone(),
            finalizers: template.metadata.finalizers.clone(),
            owner_references: vec![controller_ref(set)],
            ..ObjectMeta::default()
        },
        spec,
        ..Pod::default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub fn set(replicas: i32, extra: serde_json::Value) -> StatefulSet {
        let mut value = json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "set-uid", "generation": 1},
            "spec": {"replicas": replicas, "serviceName": "nginx", "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": {"disk": "ssd"}},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]},
        });
        crate::statefulset::tests_merge(&mut value["spec"], extra);
        let mut set: StatefulSet = serde_json::from_value(value).unwrap();
        kubelab_api::Object::set_defaults(&mut set);
        set
    }

    #[test]
    fn ordinals_come_from_names() {
        assert_eq!(parse_ordinal("web", "web-0"), Some(0));
        assert_eq!(parse_ordinal("web", "web-12"), Some(12));
        for other in ["web", "web-", "web-01", "web-x", "webs-1", "web-1-2", "db-1", "web--1"] {
            assert_eq!(parse_ordinal("web", other), None, "{other}");
        }
        assert_eq!(parse_ordinal("web-1", "web-1-2"), Some(2));
    }

    #[test]
    fn a_pod_has_its_name_dns_labels_owner_and_claims() {
        let set = set(3, json!({}));
        let pod = new_pod(&set, 2, "web-abc", &set.spec.template);
        assert_eq!(pod.metadata.name(), "web-2");
        assert_eq!(pod.spec.hostname.as_deref(), Some("web-2"));
        assert_eq!(pod.spec.subdomain.as_deref(), Some("nginx"));
        let labels = &pod.metadata.labels;
        assert_eq!(labels["app"], "web");
        assert_eq!(labels[POD_NAME_LABEL], "web-2");
        assert_eq!(labels[POD_INDEX_LABEL], "2");
        assert_eq!(labels[REVISION_LABEL], "web-abc");
        let owner = pod.metadata.controller_ref().unwrap();
        assert_eq!((owner.kind.as_str(), owner.uid.as_str()), ("StatefulSet", "set-uid"));
        let volume = pod.spec.volumes.iter().find(|v| v.name == "data").unwrap();
        assert_eq!(
            volume.persistent_volume_claim.as_ref().unwrap().claim_name,
            "data-web-2"
        );
    }

    #[test]
    fn the_range_starts_at_ordinals_start() {
        let mut s = set(2, json!({"ordinals": {"start": 5}}));
        assert!(!in_range(&s, 4) && in_range(&s, 5) && in_range(&s, 6) && !in_range(&s, 7));
        s.spec.ordinals = None;
        assert!(in_range(&s, 0) && in_range(&s, 1) && !in_range(&s, 2));
    }
}
