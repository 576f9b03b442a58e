//! # Removing a whole cluster's Docker objects (`kubelab down`, tests)
//!
//! Because every container and the network of a cluster carry `io.kubelab.cluster=<cluster>`,
//! "tear the cluster down" is a query, not a memory: list by that label, remove what it returns.
//! Nothing without the label is ever touched, so other clusters, other tests and the user's own
//! containers survive. Pods' own volumes (memory `emptyDir`s) go too; the Docker volumes of
//! PersistentVolumes are data, and stay. Containers go first (forcibly: a cluster being torn down has no graceful
//! shutdown to wait for), then the network, which Docker refuses to remove while anything is
//! still attached to it. App containers go several at a time; sandboxes, which hold the pods'
//! network endpoints, one at a time, because Docker 20.10 loses count of a network's endpoints
//! when several leave at once and then refuses to remove it (see `DockerRuntime`).

use std::collections::HashMap;

use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions};
use bollard::Docker;
use futures_util::stream::{self, StreamExt};

use super::{container, docker_err, is_status};
use crate::runtime::{labels, RuntimeError};

/// How many containers are removed at once.
const REMOVE_CONCURRENCY: usize = 8;

/// What [`remove_cluster_objects`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CleanupReport {
    pub containers: usize,
    pub networks: usize,
}

fn cluster_filter(cluster: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{}={}", labels::CLUSTER, cluster)])])
}

fn owned_by(labels_of: Option<&HashMap<String, String>>, cluster: &str) -> bool {
    labels_of
        .and_then(|l| l.get(labels::CLUSTER))
        .is_some_and(|c| c == cluster)
}

/// Removes every container and network labelled `io.kubelab.cluster=<cluster>`, and nothing else.
pub async fn remove_cluster_objects(docker: &Docker, cluster: &str) -> Result<CleanupReport, RuntimeError> {
    let options = ListContainersOptions {
        all: true,
        filters: Some(cluster_filter(cluster)),
        ..Default::default()
    };
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| docker_err(e, "containers"))?;
    // Docker already filtered by label; check again, since removal cannot be undone.
    let (sandboxes, apps): (Vec<_>, Vec<_>) = containers
        .into_iter()
        .filter(|c| owned_by(c.labels.as_ref(), cluster))
        .partition(|c| {
            c.labels
                .as_ref()
                .is_some_and(|l| l.get(labels::SANDBOX).is_some_and(|v| v == "true"))
        });
    let mut results: Vec<Result<(), RuntimeError>> = stream::iter(apps.iter().filter_map(|c| c.id.as_deref()))
        .map(|id| container::remove(docker, id))
        .buffer_unordered(REMOVE_CONCURRENCY)
        .collect()
        .await;
    for id in sandboxes.iter().filter_map(|c| c.id.as_deref()) {
        results.push(container::remove(docker, id).await);
    }
    let mut report = CleanupReport::default();
    let mut first_error = None;
    for result in results {
        match result {
            Ok(()) => report.containers += 1,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }

    // Volumes that belong to one pod (memory emptyDirs) go with their containers; volumes of
    // PersistentVolumes are data and stay (see `volume::remove_cluster_volumes` for those).
    for volume in super::volume::list(docker, cluster).await? {
        if !volume.in_use && volume.labels.contains_key(labels::POD_UID) {
            if let Err(e) = super::volume::remove(docker, &volume.name).await {
                first_error.get_or_insert(e);
            }
        }
    }

    let options = ListNetworksOptions {
        filters: Some(cluster_filter(cluster)),
    };
    let networks = docker
        .list_networks(Some(options))
        .await
        .map_err(|e| docker_err(e, "networks"))?;
    for network in networks.into_iter().filter(|n| owned_by(n.labels.as_ref(), cluster)) {
        let Some(id) = network.id else { continue };
        match docker.remove_network(&id).await {
            Ok(()) => report.networks += 1,
            Err(e) if is_status(&e, 404) => {}
            Err(e) => {
                first_error.get_or_insert(docker_err(e, &format!("network {}", network.name.unwrap_or(id))));
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_label_counts() {
        let ours = HashMap::from([(labels::CLUSTER.to_string(), "a".to_string())]);
        assert!(owned_by(Some(&ours), "a"));
        assert!(!owned_by(Some(&ours), "ab"));
        assert!(!owned_by(Some(&HashMap::new()), "a"));
        assert!(!owned_by(None, "a"));
    }
}
