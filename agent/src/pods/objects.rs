//! The API objects a pod consumes: the ConfigMaps and Secrets its env and volumes name, and the
//! storage behind its claims.
//!
//! Everything that turns a pod spec into containers and mounts is a pure function of the pod and
//! a [`PodObjects`]. Fetching is the one impure step, done right before the containers start
//! (and by the volume refresher), so a ConfigMap created after the pod is found on the next try,
//! and what a container gets is what existed when it started, as in Kubernetes.
//!
//! A claim is followed to its volume the way the kubelet does: the claim must be `Bound` and name
//! its PersistentVolume in `spec.volumeName`; the PV says where the data lives. kubelab's
//! provisioner makes PVs with `spec.csi.driver: kubelab.io/docker-volume` whose `volumeHandle`
//! is a Docker volume's name; a user's own PV may be a `hostPath`. PVs are read untyped (a PV is
//! a few fields here, and this way the agent does not depend on the PV type's Rust definition).

use std::collections::{BTreeMap, BTreeSet};

use kubelab_api::core::{ConfigMap, Container, PersistentVolumeClaim, Pod, Secret};
use kubelab_client::{Api, ClientError, Method};
use serde_json::Value;

/// The CSI driver name of volumes that are Docker volumes (kubelab's provisioner makes them).
pub const DOCKER_VOLUME_DRIVER: &str = "kubelab.io/docker-volume";

/// Where a claim's data is, or why it cannot be used yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimSource {
    /// No such PersistentVolumeClaim.
    Missing,
    /// The claim exists but is not bound to a volume yet.
    Unbound,
    /// The claim names a PersistentVolume that does not exist.
    VolumeMissing { pv: String },
    /// A Docker volume (`csi.driver: kubelab.io/docker-volume`).
    DockerVolume { pv: String, handle: String },
    /// A directory (or file) of the node (`hostPath`).
    HostPath {
        pv: String,
        path: String,
        type_: Option<String>,
    },
    /// A PV of a kind the agent cannot mount.
    Unsupported { pv: String, what: String },
}

/// The objects one pod consumes; `None` for an object that does not exist.
#[derive(Clone, Debug, Default)]
pub struct PodObjects {
    pub config_maps: BTreeMap<String, Option<ConfigMap>>,
    pub secrets: BTreeMap<String, Option<Secret>>,
    pub claims: BTreeMap<String, ClaimSource>,
}

/// The names a pod refers to, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct References {
    pub config_maps: BTreeSet<String>,
    pub secrets: BTreeSet<String>,
    pub claims: BTreeSet<String>,
}

/// Every ConfigMap, Secret and claim `pod` names (env of every container, and volumes); with
/// `volumes_only`, only those of ConfigMap and Secret volumes (what the refresher re-reads).
pub fn references(pod: &Pod, volumes_only: bool) -> References {
    let mut refs = References::default();
    if !volumes_only {
        let containers: Vec<&Container> = pod.spec.init_containers.iter().chain(&pod.spec.containers).collect();
        for container in containers {
            for var in &container.env {
                let Some(source) = &var.value_from else { continue };
                if let Some(name) = source.config_map_key_ref.as_ref().and_then(|k| k.name.clone()) {
                    refs.config_maps.insert(name);
                }
                if let Some(name) = source.secret_key_ref.as_ref().and_then(|k| k.name.clone()) {
                    refs.secrets.insert(name);
                }
            }
            for from in &container.env_from {
                if let Some(name) = from.config_map_ref.as_ref().and_then(|r| r.name.clone()) {
                    refs.config_maps.insert(name);
                }
                if let Some(name) = from.secret_ref.as_ref().and_then(|r| r.name.clone()) {
                    refs.secrets.insert(name);
                }
            }
        }
    }
    for volume in &pod.spec.volumes {
        if let Some(name) = volume.config_map.as_ref().and_then(|c| c.name.clone()) {
            refs.config_maps.insert(name);
        }
        if let Some(name) = volume.secret.as_ref().and_then(|s| s.secret_name.clone()) {
            refs.secrets.insert(name);
        }
        if !volumes_only {
            if let Some(claim) = &volume.persistent_volume_claim {
                refs.claims.insert(claim.claim_name.clone());
            }
        }
    }
    refs
}

/// Reads what `refs` names in `namespace`. Only failures to *ask* are errors; an object that
/// does not exist is recorded as missing.
pub async fn fetch(
    client: &kubelab_client::Client,
    namespace: &str,
    refs: &References,
) -> Result<PodObjects, ClientError> {
    let mut objects = PodObjects::default();
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    for name in &refs.config_maps {
        objects
            .config_maps
            .insert(name.clone(), config_maps.get_opt(name).await?);
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for name in &refs.secrets {
        objects.secrets.insert(name.clone(), secrets.get_opt(name).await?);
    }
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    for name in &refs.claims {
        let source = match claims.get_opt(name).await? {
            None => ClaimSource::Missing,
            Some(claim) => match bound_volume(&claim) {
                None => ClaimSource::Unbound,
                Some(pv) => {
                    let path = format!("/api/v1/persistentvolumes/{}", urlencoding::encode(&pv));
                    match client.request::<Value>(Method::GET, &path, None).await {
                        Ok(object) => claim_source(&pv, &object),
                        Err(e) if e.is_not_found() => ClaimSource::VolumeMissing { pv },
                        Err(e) => return Err(e),
                    }
                }
            },
        };
        objects.claims.insert(name.clone(), source);
    }
    Ok(objects)
}

/// The PV a claim is bound to: phase `Bound` and a `spec.volumeName`.
pub fn bound_volume(claim: &PersistentVolumeClaim) -> Option<String> {
    let bound = claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
    let name = claim.spec.volume_name.clone().filter(|n| !n.is_empty());
    name.filter(|_| bound)
}

/// Where the data of PersistentVolume `pv` (as JSON) lives.
pub fn claim_source(pv: &str, object: &Value) -> ClaimSource {
    let spec = &object["spec"];
    if let Some(csi) = spec.get("csi").filter(|c| c.is_object()) {
        let driver = csi["driver"].as_str().unwrap_or_default();
        let handle = csi["volumeHandle"].as_str().unwrap_or_default();
        if driver != DOCKER_VOLUME_DRIVER {
            return ClaimSource::Unsupported {
                pv: pv.to_string(),
                what: format!("CSI driver {driver:?} (kubelab's agent mounts only {DOCKER_VOLUME_DRIVER:?})"),
            };
        }
        if handle.is_empty() {
            return ClaimSource::Unsupported {
                pv: pv.to_string(),
                what: "a csi source without a volumeHandle".into(),
            };
        }
        return ClaimSource::DockerVolume {
            pv: pv.to_string(),
            handle: handle.to_string(),
        };
    }
    if let Some(host) = spec.get("hostPath").filter(|h| h.is_object()) {
        return ClaimSource::HostPath {
            pv: pv.to_string(),
            path: host["path"].as_str().unwrap_or_default().to_string(),
            type_: host["type"].as_str().map(str::to_string),
        };
    }
    ClaimSource::Unsupported {
        pv: pv.to_string(),
        what: "a volume source other than csi (kubelab.io/docker-volume) or hostPath".into(),
    }
}

/// A ConfigMap's keys and values as bytes (`data` and the base64 `binaryData`).
pub fn config_map_data(cm: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    use base64::Engine;
    let mut data: BTreeMap<String, Vec<u8>> = cm
        .data
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    for (key, value) in &cm.binary_data {
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(value) {
            data.insert(key.clone(), bytes);
        }
    }
    data
}

/// A Secret's keys and decoded values.
pub fn secret_data(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    secret
        .data
        .keys()
        .filter_map(|k| secret.decoded(k).map(|v| (k.clone(), v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_cover_env_and_volumes() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {
                "initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "init-secret"}}]}],
                "containers": [{"name": "a", "env": [
                    {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm1", "key": "k"}}},
                    {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k"}}}
                ], "envFrom": [{"configMapRef": {"name": "cm2"}}]}],
                "volumes": [
                    {"name": "v1", "configMap": {"name": "cm3"}},
                    {"name": "v2", "secret": {"secretName": "s2"}},
                    {"name": "v3", "persistentVolumeClaim": {"claimName": "data"}}
                ]
            }
        }))
        .unwrap();
        let all = references(&pod, false);
        assert_eq!(all.config_maps.iter().collect::<Vec<_>>(), ["cm1", "cm2", "cm3"]);
        assert_eq!(all.secrets.iter().collect::<Vec<_>>(), ["init-secret", "s1", "s2"]);
        assert_eq!(all.claims.iter().collect::<Vec<_>>(), ["data"]);
        let volumes = references(&pod, true);
        assert_eq!(volumes.config_maps.iter().collect::<Vec<_>>(), ["cm3"]);
        assert_eq!(volumes.secrets.iter().collect::<Vec<_>>(), ["s2"]);
        assert!(volumes.claims.is_empty());
    }

    #[test]
    fn claims_follow_their_volume() {
        let claim: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": "data"}, "spec": {"volumeName": "pv1"}, "status": {"phase": "Pending"}
        }))
        .unwrap();
        assert_eq!(bound_volume(&claim), None);
        let claim: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": "data"}, "spec": {"volumeName": "pv1"}, "status": {"phase": "Bound"}
        }))
        .unwrap();
        assert_eq!(bound_volume(&claim).as_deref(), Some("pv1"));

        let docker = json!({"spec": {"csi": {"driver": DOCKER_VOLUME_DRIVER, "volumeHandle": "vol-1"}}});
        assert_eq!(
            claim_source("pv1", &docker),
            ClaimSource::DockerVolume {
                pv: "pv1".into(),
                handle: "vol-1".into()
            }
        );
        let host = json!({"spec": {"hostPath": {"path": "/srv/data", "type": "Directory"}}});
        assert!(matches!(claim_source("pv2", &host), ClaimSource::HostPath { path, .. } if path == "/srv/data"));
        let other = json!({"spec": {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "x"}}});
        assert!(matches!(claim_source("pv3", &other), ClaimSource::Unsupported { .. }));
        assert!(matches!(
            claim_source("pv4", &json!({"spec": {"nfs": {}}})),
            ClaimSource::Unsupported { .. }
        ));
    }

    #[test]
    fn data_as_bytes() {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": "c"}, "data": {"a": "1"}, "binaryData": {"b": "AAE="}
        }))
        .unwrap();
        let d = config_map_data(&cm);
        assert_eq!(d["a"], b"1");
        assert_eq!(d["b"], [0u8, 1]);
        let s: Secret =
            serde_json::from_value(json!({"metadata": {"name": "s"}, "data": {"p": "aHVudGVyMg=="}})).unwrap();
        assert_eq!(secret_data(&s)["p"], b"hunter2");
    }
}
