//! # Volumes: what a pod's containers mount
//!
//! A volume belongs to the pod; each container mounts the ones it names in `volumeMounts`. The
//! kubelet makes every volume ready *before* the pod's containers start (its volume manager's
//! "wait for attach and mount"), and so does this agent, in three steps:
//!
//! ```text
//!  pod spec + fetched objects ──plan (pure)──▶ PlannedVolume per volume ──prepare (I/O)──▶ host dirs,
//!  (ConfigMaps, Secrets, claims→PVs)           + Docker mounts per container               Docker volumes
//! ```
//!
//! | volume | on the node | in the container |
//! | --- | --- | --- |
//! | `emptyDir` | `<root-dir>/pods/<uid>/volumes/kubernetes.io~empty-dir/<name>/`, removed with the pod | a bind mount, shared by the pod's containers |
//! | `emptyDir`, `medium: Memory` | a Docker volume backed by tmpfs (`sizeLimit` → `size=`) | that volume, shared too |
//! | `configMap`, `secret` | `.../kubernetes.io~configmap/<name>/`: a file per key, written atomically, kept up to date | read-only bind mount |
//! | `hostPath` | the node's own path, checked against `type` | bind mount |
//! | `persistentVolumeClaim` | the bound PV's Docker volume (`csi.driver: kubelab.io/docker-volume`) or its `hostPath` | that volume / bind mount |
//!
//! The layout of the root directory is the kubelet's (`/var/lib/kubelet/pods/<uid>/volumes/
//! kubernetes.io~configmap/<name>`), so what a student finds on disk matches what Kubernetes
//! docs describe. Secrets are written to that same directory on disk: the kubelet puts them on a
//! tmpfs, which needs the agent to mount filesystems (root); kubelab's agent does not, so a
//! Secret's files rest on the node's disk, readable only through the pod's mount and the
//! agent's own directory.
//!
//! Modules: [`plan`] (pure: volumes → what to prepare, mounts → Docker mounts), [`payload`]
//! (pure: a ConfigMap's keys → files), [`writer`] (the atomic `..data` swap), [`hostpath`]
//! (type checks), [`prepare`] (doing it), [`refresh`] (ConfigMap and Secret updates reach
//! running pods), [`cleanup`] (what is left when pods and PVs are gone).

pub mod cleanup;
pub mod hostpath;
pub mod payload;
pub mod plan;
pub mod prepare;
pub mod refresh;
pub mod writer;

use std::path::{Path, PathBuf};

use crate::runtime::RuntimeError;

/// Why a volume could not be set up. The pod's containers wait (`ContainerCreating`) and a
/// `FailedMount` event tells why; the next sync tries again.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// The ConfigMap or Secret does not exist and the volume is not `optional`.
    #[error("{kind} \"{name}\" not found")]
    NotFound { kind: &'static str, name: String },
    /// An `items` entry names a key the object does not have.
    #[error("{kind} references non-existent {what} key: {key}")]
    MissingKey {
        kind: &'static str,
        what: &'static str,
        key: String,
    },
    /// An `items` path that would leave the volume's directory, or a mode out of range.
    #[error("invalid {field} {value:?}: {why}")]
    BadItem {
        field: &'static str,
        value: String,
        why: &'static str,
    },
    /// No such PersistentVolumeClaim.
    #[error("persistentvolumeclaim \"{0}\" not found")]
    ClaimNotFound(String),
    /// The claim is not bound yet.
    #[error("persistentvolumeclaim \"{0}\" is not bound to a PersistentVolume yet")]
    ClaimUnbound(String),
    /// The claim's PersistentVolume does not exist.
    #[error("persistentvolume \"{pv}\" of persistentvolumeclaim \"{claim}\" not found")]
    VolumeNotFound { claim: String, pv: String },
    /// A volume type (or a PV source) the agent does not mount.
    #[error("{0} is not supported by kubelab's agent")]
    Unsupported(String),
    /// `hostPath` is not what its `type` demands.
    #[error("hostPath type check failed: {path} is not a {what}")]
    HostPathType { path: String, what: &'static str },
    /// A `hostPath` `type` that Kubernetes does not define.
    #[error("invalid hostPath type {0:?}")]
    UnknownHostPathType(String),
    /// A file system operation on the node failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The runtime could not make a volume.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

impl VolumeError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        VolumeError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// A [`VolumeError`] with the volume it is about: the `FailedMount` event's message.
#[derive(Debug, thiserror::Error)]
#[error("MountVolume.SetUp failed for volume \"{volume}\" : {error}")]
pub struct SetUpError {
    pub volume: String,
    pub error: VolumeError,
}

/// Where the agent keeps pods' volumes: `<root>/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>`.
#[derive(Clone, Debug)]
pub struct VolumeLayout {
    /// The agent's root directory (`--root-dir`).
    pub root: PathBuf,
    /// The cluster and node, for the names and labels of runtime volumes.
    pub cluster: String,
    pub node: String,
}

impl VolumeLayout {
    pub fn pods_dir(&self) -> PathBuf {
        self.root.join("pods")
    }

    /// The directory of one pod; `None` for a uid that is not a plain file name.
    pub fn pod_dir(&self, uid: &str) -> Option<PathBuf> {
        let plain = !uid.is_empty() && !uid.starts_with('.') && !uid.contains('/') && !uid.contains('\0');
        plain.then(|| self.pods_dir().join(uid))
    }

    /// The directory of volume `name` of `plugin` (`configmap`, `secret`, `empty-dir`).
    pub fn volume_dir(&self, uid: &str, plugin: &str, name: &str) -> Option<PathBuf> {
        let plain = !name.is_empty() && !name.starts_with('.') && !name.contains('/');
        let dir = self
            .pod_dir(uid)?
            .join("volumes")
            .join(format!("kubernetes.io~{plugin}"))
            .join(name);
        plain.then_some(dir)
    }

    /// The runtime's name for the memory-backed `emptyDir` `name` of pod `uid`.
    pub fn memory_volume_name(&self, uid: &str, name: &str) -> String {
        let part = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect()
        };
        format!("kubelab-{}-{}-{}", part(&self.cluster), part(uid), part(name))
    }
}
