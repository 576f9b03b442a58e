//! # The table of merge keys
//!
//! A strategic merge patch needs to know, for every list in every kind, how to combine the
//! list in the patch with the list in the object. JSON alone cannot say: `containers` is a
//! list of maps where `name` identifies an element, `args` is a list of strings whose order
//! matters and which must be replaced as a whole, and `finalizers` is a set of strings.
//!
//! In Kubernetes the answer lives in the Go struct tags of `k8s.io/api`
//! (`patchStrategy:"merge" patchMergeKey:"name"` on `PodSpec.Containers`), and is published in
//! the OpenAPI schema as `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key`.
//! kubelab writes the same information down as a table, one match arm per list, below. Any
//! list that is not in the table is *atomic*: the patch replaces it wholesale, which is also
//! what Kubernetes does for lists without a patch strategy (tolerations, node taints, args,
//! container statuses, a StatefulSet's volumeClaimTemplates, ...).
//!
//! Paths are the field names from the object root, skipping list positions: the ports of any
//! container of a Deployment are at `spec.template.spec.containers.ports`.

/// How a list is combined with the list a patch brings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListStrategy {
    /// Replace the whole list (no patch strategy in Kubernetes).
    Atomic,
    /// A list of maps merged element by element; elements are matched by this field.
    MergeByKey(&'static str),
    /// A list of primitives merged as a set: the patch's values are added to the object's
    /// (`metadata.finalizers`).
    MergeSet,
}

use ListStrategy::{Atomic, MergeByKey, MergeSet};

/// The strategy for the list at `path` (field names from the root) in an object of `kind`.
pub fn list_strategy(kind: &str, path: &[&str]) -> ListStrategy {
    // Every kind has metadata, and ownerReferences/finalizers merge the same way everywhere.
    if let ["metadata", rest @ ..] = path {
        return object_meta(rest);
    }
    match kind {
        "Pod" => match path {
            ["spec", rest @ ..] => pod_spec(rest),
            ["status", "conditions"] => MergeByKey("type"),
            ["status", "podIPs"] | ["status", "hostIPs"] => MergeByKey("ip"),
            _ => Atomic,
        },
        "PodTemplate" => match path {
            ["template", rest @ ..] => pod_template(rest),
            _ => Atomic,
        },
        // The workload kinds embed a whole pod (metadata and spec) as `spec.template`, so a
        // patch to a Deployment's containers merges exactly like a patch to a Pod's.
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicationController" => match path {
            ["spec", "template", rest @ ..] => pod_template(rest),
            ["status", "conditions"] => MergeByKey("type"),
            _ => Atomic,
        },
        "CronJob" => match path {
            ["spec", "jobTemplate", "spec", "template", rest @ ..] => pod_template(rest),
            _ => Atomic,
        },
        "Service" => match path {
            // Kubernetes identifies service ports by `port` alone for patching (its list map
            // key is port+protocol, but the strategic patch key is just `port`).
            ["spec", "ports"] => MergeByKey("port"),
            ["status", "conditions"] => MergeByKey("type"),
            _ => Atomic,
        },
        "Node" => match path {
            ["spec", "podCIDRs"] => MergeSet,
            ["status", "conditions"] | ["status", "addresses"] => MergeByKey("type"),
            // spec.taints has no patch strategy in Kubernetes: a patch replaces all taints.
            _ => Atomic,
        },
        "Namespace" | "PersistentVolumeClaim" => match path {
            ["status", "conditions"] => MergeByKey("type"),
            _ => Atomic,
        },
        _ => Atomic,
    }
}

/// Lists inside `metadata`.
fn object_meta(rest: &[&str]) -> ListStrategy {
    match rest {
        ["ownerReferences"] => MergeByKey("uid"),
        ["finalizers"] => MergeSet,
        _ => Atomic,
    }
}

/// Lists inside a pod template (`{metadata, spec}`).
fn pod_template(rest: &[&str]) -> ListStrategy {
    match rest {
        ["metadata", meta @ ..] => object_meta(meta),
        ["spec", spec @ ..] => pod_spec(spec),
        _ => Atomic,
    }
}

/// Lists inside a PodSpec.
fn pod_spec(rest: &[&str]) -> ListStrategy {
    match rest {
        ["containers" | "initContainers" | "ephemeralContainers"] => MergeByKey("name"),
        ["containers" | "initContainers" | "ephemeralContainers", container @ ..] => match container {
            ["ports"] => MergeByKey("containerPort"),
            ["env"] => MergeByKey("name"),
            ["volumeMounts"] => MergeByKey("mountPath"),
            ["volumeDevices"] => MergeByKey("devicePath"),
            _ => Atomic,
        },
        ["volumes"] | ["imagePullSecrets"] | ["resourceClaims"] | ["schedulingGates"] => MergeByKey("name"),
        ["hostAliases"] => MergeByKey("ip"),
        ["topologySpreadConstraints"] => MergeByKey("topologyKey"),
        _ => Atomic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strategy(kind: &str, dotted: &str) -> ListStrategy {
        let path: Vec<&str> = dotted.split('.').collect();
        list_strategy(kind, &path)
    }

    #[test]
    fn pod_and_template_lists() {
        for (prefix, kind) in [
            ("spec", "Pod"),
            ("spec.template.spec", "Deployment"),
            ("spec.template.spec", "ReplicaSet"),
            ("spec.template.spec", "StatefulSet"),
        ] {
            let s = |p: &str| strategy(kind, &format!("{prefix}.{p}"));
            assert_eq!(s("containers"), MergeByKey("name"));
            assert_eq!(s("initContainers"), MergeByKey("name"));
            assert_eq!(s("ephemeralContainers"), MergeByKey("name"));
            assert_eq!(s("containers.ports"), MergeByKey("containerPort"));
            assert_eq!(s("initContainers.env"), MergeByKey("name"));
            assert_eq!(s("containers.volumeMounts"), MergeByKey("mountPath"));
            assert_eq!(s("containers.volumeDevices"), MergeByKey("devicePath"));
            assert_eq!(s("containers.args"), Atomic);
            assert_eq!(s("volumes"), MergeByKey("name"));
            assert_eq!(s("imagePullSecrets"), MergeByKey("name"));
            assert_eq!(s("hostAliases"), MergeByKey("ip"));
            assert_eq!(s("topologySpreadConstraints"), MergeByKey("topologyKey"));
            assert_eq!(s("tolerations"), Atomic);
        }
        assert_eq!(strategy("Deployment", "spec.template.metadata.finalizers"), MergeSet);
    }

    #[test]
    fn status_metadata_and_other_kinds() {
        for kind in [
            "Pod",
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
            "Namespace",
            "PersistentVolumeClaim",
            "Node",
        ] {
            assert_eq!(strategy(kind, "status.conditions"), MergeByKey("type"), "{kind}");
        }
        assert_eq!(strategy("Pod", "status.containerStatuses"), Atomic);
        assert_eq!(strategy("Service", "spec.ports"), MergeByKey("port"));
        assert_eq!(strategy("Node", "status.addresses"), MergeByKey("type"));
        assert_eq!(strategy("Node", "spec.taints"), Atomic);
        assert_eq!(strategy("StatefulSet", "spec.volumeClaimTemplates"), Atomic);
        assert_eq!(strategy("ConfigMap", "metadata.ownerReferences"), MergeByKey("uid"));
        assert_eq!(strategy("Secret", "metadata.finalizers"), MergeSet);
        assert_eq!(strategy("Endpoints", "subsets"), Atomic);
    }
}
