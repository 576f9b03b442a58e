//! # The manager's Docker calls: list, create and remove proxy containers
//!
//! Only containers carrying both the cluster's label and [`SERVICE_LABEL`] are ever listed, so
//! the manager adopts its own containers after a restart (the spec hash says whether they are
//! still right) and can never touch a pod's container or another cluster's proxy.

use std::collections::HashMap;

use bollard::query_parameters::{CreateContainerOptions, ListContainersOptions};
use bollard::Docker;
use kubelab_agent::runtime::docker::container;
use kubelab_agent::runtime::docker::ClusterNetwork;
use kubelab_agent::runtime::labels;

use super::spec::{create_body, ProxySpec, SERVICE_LABEL, SPEC_LABEL};
use super::ManagerError;

/// A proxy container as found in Docker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actual {
    pub id: String,
    /// `namespace/name` of its Service.
    pub service: String,
    pub hash: String,
    pub running: bool,
}

/// Every proxy container of `cluster`, running or not.
pub async fn list(docker: &Docker, cluster: &str) -> Result<Vec<Actual>, ManagerError> {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("{}={cluster}", labels::CLUSTER), SERVICE_LABEL.to_string()],
    )]);
    let options = ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..Default::default()
    };
    let listed = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| ManagerError::Docker(format!("listing proxy containers: {e}")))?;
    Ok(listed
        .into_iter()
        .filter_map(|c| {
            let labels_of = c.labels.as_ref()?;
            // Docker filtered already; removal cannot be undone, so check again.
            if labels_of.get(labels::CLUSTER).map(String::as_str) != Some(cluster) {
                return None;
            }
            Some(Actual {
                id: c.id.clone()?,
                service: labels_of.get(SERVICE_LABEL)?.clone(),
                hash: labels_of.get(SPEC_LABEL).cloned().unwrap_or_default(),
                running: c.state == Some(bollard::models::ContainerSummaryStateEnum::RUNNING),
            })
        })
        .collect())
}

/// Creates and starts the container `spec` describes. A stale container holding the same name
/// (left by a crash between remove and create) is removed first.
pub async fn create(docker: &Docker, spec: &ProxySpec, network: &ClusterNetwork) -> Result<String, ManagerError> {
    let body = create_body(spec, network);
    let options = CreateContainerOptions {
        name: Some(spec.container_name.clone()),
        ..Default::default()
    };
    let created = match docker.create_container(Some(options.clone()), body.clone()).await {
        Ok(created) => created,
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => {
            container::remove(docker, &spec.container_name)
                .await
                .map_err(|e| ManagerError::Docker(e.to_string()))?;
            docker
                .create_container(Some(options), body)
                .await
                .map_err(|e| ManagerError::Docker(format!("creating {}: {e}", spec.container_name)))?
        }
        Err(e) => return Err(ManagerError::Docker(format!("creating {}: {e}", spec.container_name))),
    };
    if let Err(e) = container::start(docker, &created.id).await {
        // Its IP or a NodePort may be taken: leave nothing half-made behind.
        let _ = container::remove(docker, &created.id).await;
        return Err(ManagerError::Docker(format!("starting {}: {e}", spec.container_name)));
    }
    Ok(created.id)
}

/// Removes a proxy container (succeeds if it is gone already).
pub async fn remove(docker: &Docker, id: &str) -> Result<(), ManagerError> {
    container::remove(docker, id)
        .await
        .map_err(|e| ManagerError::Docker(e.to_string()))
}
