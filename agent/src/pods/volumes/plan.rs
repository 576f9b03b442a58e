//! Planning volumes and mounts, without touching anything (pure).
//!
//! [`plan_volumes`] turns each of the pod's volumes, with the objects it names, into a
//! [`PlannedVolume`]: what must exist on the node ([`Prepare`]) and what a container mounts
//! ([`Source`]). [`container_mounts`] then turns one container's `volumeMounts` into the
//! runtime's [`Mount`]s:
//!
//! - `readOnly` on the mount, or a volume that is always read-only (ConfigMap, Secret, a claim
//!   marked `readOnly`), makes a read-only mount;
//! - `subPath` mounts one file or directory inside the volume (made if missing, for emptyDir and
//!   hostPath, as the kubelet does). A subPath of a ConfigMap file is resolved when the container
//!   starts, so, as in Kubernetes, it does not see later updates;
//! - a subPath inside a Docker volume (a PVC, a memory emptyDir) needs Docker 26's
//!   `VolumeOptions.Subpath`; this engine is older, so it is a clear error instead.

use std::path::PathBuf;

use kubelab_api::core::{Container, Pod, Volume};

use super::hostpath::HostPathType;
use super::payload::{make_payload, Payload, Source as PayloadSource};
use super::{SetUpError, VolumeError, VolumeLayout};
use crate::pods::objects::{config_map_data, secret_data, ClaimSource, PodObjects};
use crate::runtime::{labels, Mount, MountKind, VolumeConfig};

/// What must exist on the node before a container mounts the volume.
#[derive(Clone, Debug, PartialEq)]
pub enum Prepare {
    /// An empty directory (an `emptyDir` on disk), made once and kept for the pod's life.
    Dir(PathBuf),
    /// A ConfigMap's or Secret's files, written atomically (and rewritten when it changes).
    Payload { dir: PathBuf, files: Payload },
    /// A path of the node, checked (or made) according to its type.
    HostPath { path: PathBuf, type_: HostPathType },
    /// A volume of the container runtime, made if missing.
    RuntimeVolume(VolumeConfig),
}

/// What a container's mount points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A path of the node.
    Host(PathBuf),
    /// A runtime volume, by name.
    Volume(String),
}

/// One of the pod's volumes, ready to be prepared and mounted.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedVolume {
    pub name: String,
    pub prepare: Prepare,
    pub source: Source,
    /// Mounted read-only whatever the mount says.
    pub read_only: bool,
    /// A subPath inside it may be made when missing (emptyDir, hostPath directories).
    pub subpaths_made: bool,
}

/// Why a container's mounts cannot be made (`CreateContainerConfigError`).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MountError {
    /// A `volumeMounts` entry names no volume of the pod.
    #[error("cannot find volume \"{volume}\" to mount into container \"{container}\"")]
    UnknownVolume { container: String, volume: String },
    /// A `subPath` that would leave the volume, or is absolute.
    #[error("invalid subPath {0:?}: must be a relative path without '..'")]
    BadSubPath(String),
    /// A subPath inside a runtime volume, which this Docker cannot mount.
    #[error("subPath {sub_path:?} of volume \"{volume}\": a subPath inside a Docker volume needs Docker 26 or newer")]
    SubPathInVolume { volume: String, sub_path: String },
    /// `subPathExpr`, which kubelab's agent does not expand yet.
    #[error("volumeMount \"{0}\": subPathExpr is not supported yet by kubelab's agent")]
    SubPathExpr(String),
}

/// A container's mounts, and the directories to make for them first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerMounts {
    pub mounts: Vec<Mount>,
    /// subPath directories that must exist before the container is created.
    pub make_dirs: Vec<PathBuf>,
}

/// Plans every volume of `pod`; the first volume that cannot be set up is the error.
pub fn plan_volumes(pod: &Pod, objects: &PodObjects, layout: &VolumeLayout) -> Result<Vec<PlannedVolume>, SetUpError> {
    pod.spec
        .volumes
        .iter()
        .map(|v| {
            plan_volume(pod, v, objects, layout).map_err(|error| SetUpError {
                volume: v.name.clone(),
                error,
            })
        })
        .collect()
}

/// Plans one volume.
pub fn plan_volume(
    pod: &Pod,
    volume: &Volume,
    objects: &PodObjects,
    layout: &VolumeLayout,
) -> Result<PlannedVolume, VolumeError> {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let dir = |plugin: &str| {
        layout
            .volume_dir(uid, plugin, &volume.name)
            .ok_or_else(|| VolumeError::Unsupported(format!("a volume named {:?} (pod uid {uid:?})", volume.name)))
    };
    let planned = |prepare: Prepare, source: Source, read_only: bool, subpaths_made: bool| PlannedVolume {
        name: volume.name.clone(),
        prepare,
        source,
        read_only,
        subpaths_made,
    };
    // ConfigMap and Secret files: written by the agent into its own directory, mounted read-only.
    let payload_volume = |path: PathBuf, files| {
        Ok(planned(
            Prepare::Payload {
                dir: path.clone(),
                files,
            },
            Source::Host(path),
            true,
            false,
        ))
    };
    if let Some(empty) = &volume.empty_dir {
        if empty.medium.as_deref() == Some("Memory") {
            let size =
                match &empty.size_limit {
                    Some(q) => Some(q.value().ok().and_then(|v| i64::try_from(v).ok()).ok_or_else(|| {
                        VolumeError::BadItem {
                            field: "sizeLimit",
                            value: q.as_str().to_string(),
                            why: "not a quantity of bytes",
                        }
                    })?),
                    None => None,
                };
            let name = layout.memory_volume_name(uid, &volume.name);
            let config = VolumeConfig {
                name: name.clone(),
                labels: [
                    (labels::POD_UID, uid),
                    (labels::NAMESPACE, pod.metadata.namespace()),
                    (labels::POD, pod.metadata.name()),
                    (labels::NODE, layout.node.as_str()),
                    (labels::VOLUME, volume.name.as_str()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
                memory: true,
                size_limit_bytes: size,
            };
            return Ok(planned(
                Prepare::RuntimeVolume(config),
                Source::Volume(name),
                false,
                false,
            ));
        }
        let path = dir("empty-dir")?;
        return Ok(planned(Prepare::Dir(path.clone()), Source::Host(path), false, true));
    }
    if let Some(cm) = &volume.config_map {
        let name = cm.name.clone().unwrap_or_default();
        let data = objects
            .config_maps
            .get(&name)
            .and_then(|c| c.as_ref())
            .map(config_map_data);
        let files = make_payload(
            PayloadSource::ConfigMap,
            &name,
            data.as_ref(),
            &cm.items,
            cm.default_mode,
            cm.optional.unwrap_or(false),
        )?;
        return payload_volume(dir("configmap")?, files);
    }
    if let Some(secret) = &volume.secret {
        let name = secret.secret_name.clone().unwrap_or_default();
        let data = objects.secrets.get(&name).and_then(|s| s.as_ref()).map(secret_data);
        let files = make_payload(
            PayloadSource::Secret,
            &name,
            data.as_ref(),
            &secret.items,
            secret.default_mode,
            secret.optional.unwrap_or(false),
        )?;
        return payload_volume(dir("secret")?, files);
    }
    if let Some(host) = &volume.host_path {
        let (path, type_) = host_path(&host.path, host.type_.as_deref())?;
        let dirs = matches!(type_, HostPathType::Directory | HostPathType::DirectoryOrCreate);
        return Ok(planned(
            Prepare::HostPath {
                path: path.clone(),
                type_,
            },
            Source::Host(path),
            false,
            dirs,
        ));
    }
    if let Some(claim) = &volume.persistent_volume_claim {
        let read_only = claim.read_only.unwrap_or(false);
        let name = claim.claim_name.clone();
        return match objects.claims.get(&name).cloned().unwrap_or(ClaimSource::Missing) {
            ClaimSource::Missing => Err(VolumeError::ClaimNotFound(name)),
            ClaimSource::Unbound => Err(VolumeError::ClaimUnbound(name)),
            ClaimSource::VolumeMissing { pv } => Err(VolumeError::VolumeNotFound { claim: name, pv }),
            ClaimSource::Unsupported { pv, what } => Err(VolumeError::Unsupported(format!(
                "persistentvolume \"{pv}\" with {what}"
            ))),
            ClaimSource::DockerVolume { pv, handle } => {
                let config = VolumeConfig {
                    name: handle.clone(),
                    labels: [(labels::PV.to_string(), pv)].into_iter().collect(),
                    memory: false,
                    size_limit_bytes: None,
                };
                Ok(planned(
                    Prepare::RuntimeVolume(config),
                    Source::Volume(handle),
                    read_only,
                    false,
                ))
            }
            ClaimSource::HostPath { path, type_, .. } => {
                let (path, type_) = host_path(&path, type_.as_deref())?;
                Ok(planned(
                    Prepare::HostPath {
                        path: path.clone(),
                        type_,
                    },
                    Source::Host(path),
                    read_only,
                    true,
                ))
            }
        };
    }
    let kind = if volume.projected.is_some() {
        "a projected volume"
    } else if volume.downward_api.is_some() {
        "a downwardAPI volume"
    } else if volume.nfs.is_some() {
        "an nfs volume"
    } else if volume.csi.is_some() {
        "an inline csi volume"
    } else if volume.ephemeral.is_some() {
        "an ephemeral volume"
    } else if volume.image.is_some() {
        "an image volume"
    } else {
        "a volume without a source"
    };
    Err(VolumeError::Unsupported(kind.to_string()))
}

fn host_path(path: &str, type_: Option<&str>) -> Result<(PathBuf, HostPathType), VolumeError> {
    if !path.starts_with('/') {
        return Err(VolumeError::BadItem {
            field: "hostPath.path",
            value: path.to_string(),
            why: "must be an absolute path",
        });
    }
    Ok((PathBuf::from(path), HostPathType::parse(type_)?))
}

/// The runtime mounts of `container`, from the pod's planned volumes.
pub fn container_mounts(container: &Container, volumes: &[PlannedVolume]) -> Result<ContainerMounts, MountError> {
    let mut out = ContainerMounts::default();
    for mount in &container.volume_mounts {
        let Some(volume) = volumes.iter().find(|v| v.name == mount.name) else {
            return Err(MountError::UnknownVolume {
                container: container.name.clone(),
                volume: mount.name.clone(),
            });
        };
        if mount.sub_path_expr.as_deref().is_some_and(|e| !e.is_empty()) {
            return Err(MountError::SubPathExpr(mount.name.clone()));
        }
        let sub_path = mount.sub_path.as_deref().filter(|s| !s.is_empty());
        if let Some(sub) = sub_path {
            let escapes = sub.starts_with('/') || sub.split('/').any(|p| p == "..");
            if escapes {
                return Err(MountError::BadSubPath(sub.to_string()));
            }
        }
        let read_only = volume.read_only || mount.read_only.unwrap_or(false);
        let (source, kind) = match (&volume.source, sub_path) {
            (Source::Host(path), None) => (path.clone(), MountKind::Bind),
            (Source::Host(path), Some(sub)) => {
                let full = path.join(sub);
                if volume.subpaths_made {
                    out.make_dirs.push(full.clone());
                }
                (full, MountKind::Bind)
            }
            (Source::Volume(name), None) => (PathBuf::from(name), MountKind::Volume),
            (Source::Volume(_), Some(sub)) => {
                return Err(MountError::SubPathInVolume {
                    volume: mount.name.clone(),
                    sub_path: sub.to_string(),
                })
            }
        };
        out.mounts.push(Mount {
            source: source.display().to_string(),
            target: mount.mount_path.clone(),
            read_only,
            kind,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubelab_api::core::{ConfigMap, Secret};
    use serde_json::json;

    fn layout() -> VolumeLayout {
        VolumeLayout {
            root: PathBuf::from("/r"),
            cluster: "c".into(),
            node: "n1".into(),
        }
    }

    fn pod(volumes: serde_json::Value, mounts: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1"},
            "spec": {"containers": [{"name": "app", "volumeMounts": mounts}], "volumes": volumes}
        }))
        .unwrap()
    }

    fn objects() -> PodObjects {
        let mut o = PodObjects::default();
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": "cfg"}, "data": {"app.yaml": "x: 1"}})).unwrap();
        let s: Secret =
            serde_json::from_value(json!({"metadata": {"name": "tls"}, "data": {"key": "c2VjcmV0"}})).unwrap();
        o.config_maps.insert("cfg".into(), Some(cm));
        o.secrets.insert("tls".into(), Some(s));
        o.claims.insert(
            "data".into(),
            ClaimSource::DockerVolume {
                pv: "pv-1".into(),
                handle: "kubelab-c-pvc-1".into(),
            },
        );
        o.claims.insert("pending".into(), ClaimSource::Unbound);
        o.claims.insert(
            "host".into(),
            ClaimSource::HostPath {
                pv: "pv-2".into(),
                path: "/srv/pv2".into(),
                type_: None,
            },
        );
        o
    }

    #[test]
    fn every_kind_of_volume_plans_and_mounts() {
        let p = pod(
            json!([
                {"name": "scratch", "emptyDir": {}},
                {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                {"name": "config", "configMap": {"name": "cfg"}},
                {"name": "certs", "secret": {"secretName": "tls", "defaultMode": 256}},
                {"name": "logs", "hostPath": {"path": "/var/log/app", "type": "DirectoryOrCreate"}},
                {"name": "db", "persistentVolumeClaim": {"claimName": "data"}},
                {"name": "shared", "persistentVolumeClaim": {"claimName": "host", "readOnly": true}}
            ]),
            json!([
                {"name": "scratch", "mountPath": "/scratch"},
                {"name": "scratch", "mountPath": "/work", "subPath": "a/b"},
                {"name": "cache", "mountPath": "/cache"},
                {"name": "config", "mountPath": "/etc/app"},
                {"name": "certs", "mountPath": "/certs"},
                {"name": "logs", "mountPath": "/logs", "readOnly": true},
                {"name": "db", "mountPath": "/data"},
                {"name": "shared", "mountPath": "/shared"}
            ]),
        );
        let planned = plan_volumes(&p, &objects(), &layout()).unwrap();
        assert_eq!(
            planned[0].prepare,
            Prepare::Dir(PathBuf::from("/r/pods/u1/volumes/kubernetes.io~empty-dir/scratch"))
        );
        match &planned[1].prepare {
            Prepare::RuntimeVolume(v) => {
                assert!(v.memory);
                assert_eq!(v.size_limit_bytes, Some(64 << 20));
                assert_eq!(v.name, "kubelab-c-u1-cache");
                assert_eq!(v.labels[labels::POD_UID], "u1");
                assert_eq!(v.labels[labels::NODE], "n1");
            }
            other => panic!("{other:?}"),
        }
        match &planned[3].prepare {
            Prepare::Payload { dir, files } => {
                assert_eq!(dir, &PathBuf::from("/r/pods/u1/volumes/kubernetes.io~secret/certs"));
                assert_eq!(files["key"].data, b"secret");
                assert_eq!(files["key"].mode, 0o400);
            }
            other => panic!("{other:?}"),
        }
        match &planned[5].prepare {
            Prepare::RuntimeVolume(v) => {
                assert_eq!(v.name, "kubelab-c-pvc-1");
                assert_eq!(v.labels[labels::PV], "pv-1");
                assert!(!v.memory);
            }
            other => panic!("{other:?}"),
        }

        let m = container_mounts(&p.spec.containers[0], &planned).unwrap();
        let by_target = |t: &str| m.mounts.iter().find(|x| x.target == t).unwrap().clone();
        assert_eq!(
            by_target("/work").source,
            "/r/pods/u1/volumes/kubernetes.io~empty-dir/scratch/a/b"
        );
        assert_eq!(
            m.make_dirs,
            [PathBuf::from("/r/pods/u1/volumes/kubernetes.io~empty-dir/scratch/a/b")]
        );
        assert_eq!(by_target("/cache").kind, MountKind::Volume);
        assert!(by_target("/etc/app").read_only, "configMap volumes are read-only");
        assert!(by_target("/certs").read_only);
        assert!(by_target("/logs").read_only);
        assert!(!by_target("/scratch").read_only);
        assert_eq!(by_target("/data").source, "kubelab-c-pvc-1");
        assert_eq!(by_target("/data").kind, MountKind::Volume);
        assert_eq!(by_target("/shared").source, "/srv/pv2");
        assert!(by_target("/shared").read_only, "the claim's readOnly");
        crate::runtime::validate_mounts(&m.mounts).unwrap();
    }

    #[test]
    fn failures_name_the_volume_and_the_object() {
        let p = pod(
            json!([{"name": "config", "configMap": {"name": "app-config"}}]),
            json!([]),
        );
        let err = plan_volumes(&p, &PodObjects::default(), &layout()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "MountVolume.SetUp failed for volume \"config\" : configmap \"app-config\" not found"
        );
        let p = pod(
            json!([{"name": "db", "persistentVolumeClaim": {"claimName": "pending"}}]),
            json!([]),
        );
        let err = plan_volumes(&p, &objects(), &layout()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "MountVolume.SetUp failed for volume \"db\" : persistentvolumeclaim \"pending\" is not bound to a \
             PersistentVolume yet"
        );
        let p = pod(
            json!([{"name": "db", "persistentVolumeClaim": {"claimName": "gone"}}]),
            json!([]),
        );
        let err = plan_volumes(&p, &objects(), &layout()).unwrap_err();
        assert!(
            err.to_string().ends_with("persistentvolumeclaim \"gone\" not found"),
            "{err}"
        );
        let p = pod(json!([{"name": "x", "hostPath": {"path": "relative"}}]), json!([]));
        assert!(plan_volumes(&p, &objects(), &layout()).is_err());
        let p = pod(json!([{"name": "x", "downwardAPI": {}}]), json!([]));
        assert_eq!(
            plan_volumes(&p, &objects(), &layout()).unwrap_err().error.to_string(),
            "a downwardAPI volume is not supported by kubelab's agent"
        );
        let p = pod(
            json!([{"name": "config", "configMap": {"name": "app-config", "optional": true}}]),
            json!([]),
        );
        assert!(plan_volumes(&p, &PodObjects::default(), &layout()).is_ok());
    }

    #[test]
    fn bad_mounts_are_config_errors() {
        let p = pod(
            json!([{"name": "db", "persistentVolumeClaim": {"claimName": "data"}}, {"name": "s", "emptyDir": {}}]),
            json!([]),
        );
        let planned = plan_volumes(&p, &objects(), &layout()).unwrap();
        let c = |mounts: serde_json::Value| -> Container {
            serde_json::from_value(json!({"name": "app", "volumeMounts": mounts})).unwrap()
        };
        assert_eq!(
            container_mounts(&c(json!([{"name": "nope", "mountPath": "/x"}])), &planned)
                .unwrap_err()
                .to_string(),
            "cannot find volume \"nope\" to mount into container \"app\""
        );
        assert!(matches!(
            container_mounts(&c(json!([{"name": "db", "mountPath": "/x", "subPath": "a"}])), &planned),
            Err(MountError::SubPathInVolume { .. })
        ));
        assert!(matches!(
            container_mounts(
                &c(json!([{"name": "s", "mountPath": "/x", "subPath": "../etc"}])),
                &planned
            ),
            Err(MountError::BadSubPath(_))
        ));
    }
}
