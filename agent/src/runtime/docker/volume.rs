//! # Docker volumes: storage that outlives a container
//!
//! Two kinds of pod volume need storage the runtime itself manages rather than a directory the
//! agent writes:
//!
//! - a **PersistentVolume** made by kubelab's provisioner (`csi.driver: kubelab.io/docker-volume`)
//!   is a named Docker volume (`docker volume create <volumeHandle>`): its data stays when pods
//!   come and go, until the PV is deleted;
//! - an **`emptyDir` with `medium: Memory`** is a Docker volume of the `local` driver with tmpfs
//!   options (`type=tmpfs,device=tmpfs,o=size=...`). A tmpfs mounted into each container
//!   separately would give every container its own memory; a *volume* is mounted once per
//!   container but backed by one tmpfs, so the pod's containers share it, as Kubernetes promises.
//!
//! Every volume carries the cluster label, so `kubelab down --purge` and the tests find exactly
//! their own, and listing reports which ones no container refers to (Docker's `dangling`
//! filter), the only ones the agent's cleanup ever removes.

use std::collections::{BTreeMap, HashMap, HashSet};

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{ListVolumesOptions, RemoveVolumeOptions};
use bollard::Docker;

use super::{docker_err, is_status};
use crate::runtime::{labels, RuntimeError, VolumeConfig, VolumeStatus};

/// Docker's create request for a volume of `cluster` (pure, so it is unit tested).
pub fn create_request(cluster: &str, config: &VolumeConfig) -> VolumeCreateRequest {
    let mut all_labels: HashMap<String, String> = config.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    all_labels.insert(labels::CLUSTER.to_string(), cluster.to_string());
    let driver_opts = config.memory.then(|| {
        let mut options = HashMap::from([
            ("type".to_string(), "tmpfs".to_string()),
            ("device".to_string(), "tmpfs".to_string()),
        ]);
        if let Some(bytes) = config.size_limit_bytes.filter(|b| *b > 0) {
            options.insert("o".to_string(), format!("size={bytes}"));
        }
        options
    });
    VolumeCreateRequest {
        name: Some(config.name.clone()),
        driver: Some("local".to_string()),
        driver_opts,
        labels: Some(all_labels),
        ..Default::default()
    }
}

/// Whether `name` is a name Docker accepts for a volume (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Creates the volume unless it exists; an existing volume keeps its data and options.
pub async fn ensure(docker: &Docker, cluster: &str, config: &VolumeConfig) -> Result<(), RuntimeError> {
    if !valid_name(&config.name) {
        return Err(RuntimeError::InvalidConfig(format!(
            "{:?} is not a valid Docker volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)",
            config.name
        )));
    }
    match docker.inspect_volume(&config.name).await {
        Ok(_) => return Ok(()),
        Err(e) if is_status(&e, 404) => {}
        Err(e) => return Err(docker_err(e, &format!("volume {}", config.name))),
    }
    docker
        .create_volume(create_request(cluster, config))
        .await
        .map(|_| ())
        .map_err(|e| docker_err(e, &format!("creating volume {}", config.name)))
}

/// Removes a volume. Gone already: success. In use: an error (Docker answers 409).
pub async fn remove(docker: &Docker, name: &str) -> Result<(), RuntimeError> {
    match docker.remove_volume(name, None::<RemoveVolumeOptions>).await {
        Ok(()) => Ok(()),
        Err(e) if is_status(&e, 404) => Ok(()),
        Err(e) => Err(docker_err(e, &format!("removing volume {name}"))),
    }
}

async fn list_filtered(docker: &Docker, cluster: &str, dangling_only: bool) -> Result<Vec<VolumeStatus>, RuntimeError> {
    let mut filters = HashMap::from([("label".to_string(), vec![format!("{}={}", labels::CLUSTER, cluster)])]);
    if dangling_only {
        filters.insert("dangling".to_string(), vec!["true".to_string()]);
    }
    let listed = docker
        .list_volumes(Some(ListVolumesOptions { filters: Some(filters) }))
        .await
        .map_err(|e| docker_err(e, "volumes"))?;
    Ok(listed
        .volumes
        .unwrap_or_default()
        .into_iter()
        // Docker already filtered by label; check again, since removal cannot be undone.
        .filter(|v| v.labels.get(labels::CLUSTER).is_some_and(|c| c == cluster))
        .map(|v| VolumeStatus {
            name: v.name,
            labels: v.labels.into_iter().collect::<BTreeMap<_, _>>(),
            in_use: !dangling_only,
        })
        .collect())
}

/// Every volume of `cluster`, each marked in use unless Docker calls it dangling.
pub async fn list(docker: &Docker, cluster: &str) -> Result<Vec<VolumeStatus>, RuntimeError> {
    let all = list_filtered(docker, cluster, false).await?;
    let dangling: HashSet<String> = list_filtered(docker, cluster, true)
        .await?
        .into_iter()
        .map(|v| v.name)
        .collect();
    Ok(all
        .into_iter()
        .map(|mut v| {
            v.in_use = !dangling.contains(&v.name);
            v
        })
        .collect())
}

/// Removes every volume of `cluster` that no container uses (`kubelab down --purge`, tests);
/// returns how many went.
pub async fn remove_cluster_volumes(docker: &Docker, cluster: &str) -> Result<usize, RuntimeError> {
    let mut removed = 0;
    for volume in list(docker, cluster).await?.into_iter().filter(|v| !v.in_use) {
        remove(docker, &volume.name).await?;
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_volumes_are_tmpfs_with_a_size() {
        let config = VolumeConfig {
            name: "kubelab-c-u1-cache".into(),
            labels: BTreeMap::from([(labels::POD_UID.to_string(), "u1".to_string())]),
            memory: true,
            size_limit_bytes: Some(64 << 20),
        };
        let r = create_request("c", &config);
        let opts = r.driver_opts.unwrap();
        assert_eq!(opts["type"], "tmpfs");
        assert_eq!(opts["device"], "tmpfs");
        assert_eq!(opts["o"], format!("size={}", 64 << 20));
        let l = r.labels.unwrap();
        assert_eq!(l[labels::CLUSTER], "c");
        assert_eq!(l[labels::POD_UID], "u1");
        assert_eq!(r.driver.as_deref(), Some("local"));
    }

    #[test]
    fn disk_volumes_have_no_options() {
        let r = create_request(
            "c",
            &VolumeConfig {
                name: "pv-data".into(),
                ..Default::default()
            },
        );
        assert_eq!(r.driver_opts, None);
        assert_eq!(r.name.as_deref(), Some("pv-data"));
    }

    #[test]
    fn names_follow_docker() {
        assert!(valid_name("kubelab-x-pvc-0123"));
        assert!(valid_name("a.b_c"));
        assert!(!valid_name("-a"));
        assert!(!valid_name("a"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name(""));
    }
}
