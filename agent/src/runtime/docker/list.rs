//! # Listing what a node runs: cheaply, or in full for one pod
//!
//! Docker answers "what is there?" at two very different prices:
//!
//! - **`docker ps`** (list) returns every matching container's id, labels and one-word state
//!   (`running`, `exited`...) from the daemon's in-memory index: one request, however many
//!   containers there are;
//! - **`docker inspect`** returns everything about *one* container (start and finish times,
//!   exit code, OOM kill, its IP): one request per container.
//!
//! A pod's status needs the inspect details, but only of that pod's containers. So the agent
//! never inspects a whole node at once on its hot paths:
//!
//! - a **pod sync** lists with the pod's own labels as a filter and inspects those few
//!   containers ([`pod`]): the same cost on a node of one pod as on a node of a hundred;
//! - the **PLEG and housekeeping**, which only need to notice that something changed and whose
//!   it is, get one `ps` and no inspect at all ([`summaries`]), as the kubelet's relist does.
//!
//! The node-wide lists with full state ([`sandboxes`], [`containers`]) remain for tools and
//! tests. Inspecting every container for every sync would make a burst of `n` pods cost about
//! `n × 2n` inspects: the agent, not Docker, would be the bottleneck, and the parsed answers
//! would be what fills its memory.

use std::collections::HashMap;

use bollard::models::{ContainerInspectResponse, ContainerSummary};
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptions};
use futures_util::stream::{self, StreamExt};

use super::{convert, docker_err, is_status, DockerRuntime};
use crate::runtime::{labels, ContainerStatus, ObjectSummary, RuntimeError, SandboxStatus};

/// How many containers are inspected at once.
const INSPECT_CONCURRENCY: usize = 8;

/// Every sandbox of this node, with its full state.
pub async fn sandboxes(rt: &DockerRuntime) -> Result<Vec<SandboxStatus>, RuntimeError> {
    let listed = list(rt, None).await?;
    let ids = listed.into_iter().filter(is_sandbox).filter_map(|s| s.id).collect();
    Ok(inspect_all(rt, ids)
        .await?
        .iter()
        .map(|i| convert::sandbox_status(i, &rt.network().name))
        .collect())
}

/// Every app container of this node, with its full state.
pub async fn containers(rt: &DockerRuntime) -> Result<Vec<ContainerStatus>, RuntimeError> {
    let listed = list(rt, None).await?;
    let ids = listed
        .into_iter()
        .filter(|s| !is_sandbox(s))
        .filter_map(|s| s.id)
        .collect();
    Ok(inspect_all(rt, ids)
        .await?
        .iter()
        .map(convert::container_status)
        .collect())
}

/// The sandboxes and app containers of pod `namespace/pod_name` (any uid), with their full
/// state: one filtered list, then an inspect of each of the pod's few containers.
pub async fn pod(
    rt: &DockerRuntime,
    namespace: &str,
    pod_name: &str,
) -> Result<(Vec<SandboxStatus>, Vec<ContainerStatus>), RuntimeError> {
    let (sandboxes, containers): (Vec<_>, Vec<_>) = list(rt, Some((namespace, pod_name)))
        .await?
        .into_iter()
        .partition(is_sandbox);
    let sandboxes = inspect_all(rt, sandboxes.into_iter().filter_map(|s| s.id).collect()).await?;
    let containers = inspect_all(rt, containers.into_iter().filter_map(|s| s.id).collect()).await?;
    Ok((
        sandboxes
            .iter()
            .map(|i| convert::sandbox_status(i, &rt.network().name))
            .collect(),
        containers.iter().map(convert::container_status).collect(),
    ))
}

/// Every sandbox and container of this node, from one list and no inspect.
pub async fn summaries(rt: &DockerRuntime) -> Result<Vec<ObjectSummary>, RuntimeError> {
    Ok(list(rt, None).await?.iter().map(convert::object_summary).collect())
}

/// `docker ps -a` for this node of this cluster, and with `pod` only that pod's objects.
async fn list(rt: &DockerRuntime, pod: Option<(&str, &str)>) -> Result<Vec<ContainerSummary>, RuntimeError> {
    let mut wanted = vec![
        format!("{}={}", labels::CLUSTER, rt.cluster()),
        format!("{}={}", labels::NODE, rt.node()),
    ];
    if let Some((namespace, name)) = pod {
        wanted.push(format!("{}={namespace}", labels::NAMESPACE));
        wanted.push(format!("{}={name}", labels::POD));
    }
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([("label".to_string(), wanted)])),
        ..Default::default()
    };
    rt.docker()
        .list_containers(Some(options))
        .await
        .map_err(|e| docker_err(e, "containers"))
}

fn is_sandbox(summary: &ContainerSummary) -> bool {
    summary
        .labels
        .as_ref()
        .is_some_and(|l| l.get(labels::SANDBOX).is_some_and(|v| v == "true"))
}

/// Inspects the containers `ids`, in order; those that vanished since the list are left out.
async fn inspect_all(rt: &DockerRuntime, ids: Vec<String>) -> Result<Vec<ContainerInspectResponse>, RuntimeError> {
    let docker = rt.docker();
    let results: Vec<Result<Option<ContainerInspectResponse>, RuntimeError>> = stream::iter(ids)
        .map(|id| async move {
            match docker.inspect_container(&id, None::<InspectContainerOptions>).await {
                Ok(inspected) => Ok(Some(inspected)),
                Err(e) if is_status(&e, 404) => Ok(None),
                Err(e) => Err(docker_err(e, &format!("container {id}"))),
            }
        })
        .buffered(INSPECT_CONCURRENCY)
        .collect()
        .await;
    let mut inspected = Vec::with_capacity(results.len());
    for result in results {
        if let Some(i) = result? {
            inspected.push(i);
        }
    }
    Ok(inspected)
}
