//! # The Docker runtime: pods as real containers, through Docker's API (bollard)
//!
//! Kubernetes runs a pod as a group of containers that share one network namespace: one IP, one
//! hostname, one `localhost`. Docker has no "pod", so kubelab builds one the way the kubelet's
//! dockershim did:
//!
//! 1. the **sandbox** is a tiny "pause" container started first, on the cluster's network
//!    ([`network`]). Docker gives it the pod's IP, and it gets the pod's hostname and DNS search
//!    domains. It runs a process that only sleeps until told to stop, so the network namespace
//!    it owns stays alive for as long as the pod does, however often the app containers crash
//!    and are replaced ([`sandbox`]);
//! 2. every app container is created with `network_mode: container:<pause id>`: instead of a
//!    network namespace of its own, its processes enter the pause container's. They see the same
//!    interfaces, the same IP, the same hostname and `/etc/resolv.conf`, and `127.0.0.1` is one
//!    loopback interface for all of them, so a sidecar reaches the app at `localhost:8080`
//!    ([`container`]).
//!
//! Every object carries the `io.kubelab.*` labels, which is all an agent needs to find (and
//! adopt) what it made before a restart: listing filters on the cluster and node labels ([`list`]:
//! one pod's objects in full for a sync, the whole node in one cheap line each for the relist),
//! and [`convert`] turns Docker's answers into Kubernetes' container states. Names are
//! `k8s_<container>_<pod>_<namespace>_<uid8>_<restart>_<cluster>` (`POD` for the sandbox), so
//! `docker ps` reads like a pod listing and two clusters on one machine never clash.
//!
//! Docker reports failure as HTTP statuses; [`docker_err`] maps them to [`RuntimeError`] in one
//! place (404 → not found, a refused configuration → `InvalidConfig` with Docker's own words).

pub mod cleanup;
pub mod container;
pub mod convert;
pub mod exec;
pub mod list;
pub mod logs;
pub mod network;
pub mod sandbox;
pub mod volume;

use std::sync::Arc;
use std::time::Duration;

use bollard::errors::Error as DockerError;
use bollard::Docker;
use bytes::Bytes;
use futures_util::stream::BoxStream;

pub use cleanup::{remove_cluster_objects, CleanupReport};
pub use network::{ClusterNetwork, Ipv4Net};

use super::{
    ContainerConfig, ContainerRuntime, ContainerStatus, ExecOutput, LogOptions, ObjectSummary, PullPolicy,
    RuntimeError, SandboxConfig, SandboxStatus, VolumeConfig, VolumeStatus,
};

/// The image of every pod's sandbox, built locally by `kubelab images`.
pub const PAUSE_IMAGE: &str = "kubelab/pause:latest";

/// The Docker runtime of one node of one cluster.
#[derive(Clone, Debug)]
pub struct DockerRuntime {
    docker: Docker,
    cluster: String,
    node: String,
    network: ClusterNetwork,
    /// The name server pods get (`--cluster-dns`); `None`: Docker's embedded DNS only.
    cluster_dns: Option<std::net::Ipv4Addr>,
    /// Taken while a sandbox leaves the network (stopped or removed): see
    /// [`DockerRuntime::sandbox_teardown_turn`].
    sandbox_teardown: Arc<tokio::sync::Mutex<()>>,
}

/// Connects to the local Docker engine (its unix socket, or `DOCKER_HOST=unix://...`) and agrees
/// on an API version with it.
pub async fn connect_docker() -> Result<Docker, RuntimeError> {
    let docker =
        Docker::connect_with_unix_defaults().map_err(|e| RuntimeError::Runtime(format!("cannot reach Docker: {e}")))?;
    docker
        .negotiate_version()
        .await
        .map_err(|e| RuntimeError::Runtime(format!("cannot reach Docker: {e}")))
}

impl DockerRuntime {
    /// A runtime for node `node` of cluster `cluster`, whose pods live on `network`
    /// (see [`ClusterNetwork::ensure`]).
    pub async fn connect(cluster: &str, node: &str, network: ClusterNetwork) -> Result<Self, RuntimeError> {
        let docker = connect_docker().await?;
        Ok(Self::with_client(docker, cluster, node, network))
    }

    /// Connects, and creates (or adopts) the cluster's network on the way.
    pub async fn connect_with_network(cluster: &str, node: &str) -> Result<Self, RuntimeError> {
        let docker = connect_docker().await?;
        let network = ClusterNetwork::ensure(&docker, cluster).await?;
        Ok(Self::with_client(docker, cluster, node, network))
    }

    /// A runtime over an already connected client.
    pub fn with_client(docker: Docker, cluster: &str, node: &str, network: ClusterNetwork) -> Self {
        DockerRuntime {
            docker,
            cluster: cluster.to_string(),
            node: node.to_string(),
            network,
            cluster_dns: None,
            sandbox_teardown: Arc::default(),
        }
    }

    /// Gives every pod `ip` as its name server (the kubelet's `--cluster-dns`); see
    /// [`sandbox`](self::sandbox) for how it and Docker's embedded DNS share the work.
    pub fn with_cluster_dns(mut self, ip: Option<std::net::Ipv4Addr>) -> Self {
        self.cluster_dns = ip;
        self
    }

    /// The pods' name server, if any.
    pub fn cluster_dns(&self) -> Option<std::net::Ipv4Addr> {
        self.cluster_dns
    }

    /// Waits for this runtime's turn to take a sandbox off the network. Docker 20.10 counts a
    /// network's endpoints with a read-modify-write that loses updates when endpoints go away
    /// concurrently; a count that never returns to zero makes the network impossible to remove
    /// ("has active endpoints", moby/moby#42119). So pods are started all at once, but their
    /// sandboxes are stopped and removed one at a time: the pause process exits on SIGTERM at
    /// once, so taking turns costs little.
    async fn sandbox_teardown_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.sandbox_teardown.lock().await
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn network(&self) -> &ClusterNetwork {
        &self.network
    }

    /// Who owns what this runtime creates (for labels and names).
    pub fn owner(&self) -> Owner<'_> {
        Owner {
            cluster: &self.cluster,
            node: &self.node,
            network: &self.network.name,
        }
    }
}

/// The cluster, node and network that the objects of one runtime belong to: everything a
/// Docker create request needs besides the pod's own spec.
#[derive(Clone, Copy, Debug)]
pub struct Owner<'a> {
    pub cluster: &'a str,
    pub node: &'a str,
    /// The cluster network's Docker name.
    pub network: &'a str,
}

#[async_trait::async_trait]
impl ContainerRuntime for DockerRuntime {
    async fn version(&self) -> Result<String, RuntimeError> {
        let version = self
            .docker
            .version()
            .await
            .map_err(|e| docker_err(e, "Docker version"))?;
        Ok(format!(
            "docker://{}",
            version.version.unwrap_or_else(|| "unknown".to_string())
        ))
    }

    async fn ensure_image(&self, image: &str, policy: PullPolicy) -> Result<String, RuntimeError> {
        container::ensure_image(&self.docker, image, policy).await
    }

    async fn run_sandbox(&self, config: &SandboxConfig) -> Result<String, RuntimeError> {
        sandbox::run(self, config).await
    }

    async fn stop_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError> {
        let _turn = self.sandbox_teardown_turn().await;
        container::stop(&self.docker, sandbox_id, sandbox::STOP_GRACE).await
    }

    async fn remove_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError> {
        let _turn = self.sandbox_teardown_turn().await;
        container::remove(&self.docker, sandbox_id).await
    }

    async fn list_sandboxes(&self) -> Result<Vec<SandboxStatus>, RuntimeError> {
        list::sandboxes(self).await
    }

    async fn create_container(&self, sandbox_id: &str, config: &ContainerConfig) -> Result<String, RuntimeError> {
        container::create(self, sandbox_id, config).await
    }

    async fn start_container(&self, container_id: &str) -> Result<(), RuntimeError> {
        container::start(&self.docker, container_id).await
    }

    async fn stop_container(&self, container_id: &str, grace: Duration) -> Result<(), RuntimeError> {
        container::stop(&self.docker, container_id, grace).await
    }

    async fn remove_container(&self, container_id: &str) -> Result<(), RuntimeError> {
        container::remove(&self.docker, container_id).await
    }

    async fn list_containers(&self) -> Result<Vec<ContainerStatus>, RuntimeError> {
        list::containers(self).await
    }

    async fn list_pod(
        &self,
        namespace: &str,
        pod_name: &str,
    ) -> Result<(Vec<SandboxStatus>, Vec<ContainerStatus>), RuntimeError> {
        list::pod(self, namespace, pod_name).await
    }

    async fn relist(&self) -> Result<Vec<ObjectSummary>, RuntimeError> {
        list::summaries(self).await
    }

    async fn exec(
        &self,
        container_id: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, RuntimeError> {
        exec::run(&self.docker, container_id, command, timeout).await
    }

    async fn exec_stream(
        &self,
        container_id: &str,
        request: &crate::runtime::ExecStreamRequest,
    ) -> Result<crate::runtime::ExecStream, RuntimeError> {
        exec::start_stream(&self.docker, container_id, request).await
    }

    async fn logs(
        &self,
        container_id: &str,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<Bytes, RuntimeError>>, RuntimeError> {
        logs::stream(&self.docker, container_id, options).await
    }

    async fn ensure_volume(&self, config: &VolumeConfig) -> Result<(), RuntimeError> {
        volume::ensure(&self.docker, &self.cluster, config).await
    }

    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        volume::remove(&self.docker, name).await
    }

    async fn list_volumes(&self) -> Result<Vec<VolumeStatus>, RuntimeError> {
        volume::list(&self.docker, &self.cluster).await
    }
}

/// Whether a Docker error is an HTTP answer with this status.
pub(crate) fn is_status(error: &DockerError, status: u16) -> bool {
    matches!(error, DockerError::DockerResponseServerError { status_code, .. } if *status_code == status)
}

/// Maps a Docker error to a [`RuntimeError`]; `what` names the object, for the message.
pub(crate) fn docker_err(error: DockerError, what: &str) -> RuntimeError {
    match error {
        DockerError::DockerResponseServerError { status_code: 404, .. } => RuntimeError::NotFound(what.to_string()),
        DockerError::DockerResponseServerError {
            status_code: 400,
            message,
        } => RuntimeError::InvalidConfig(format!("{what}: {}", message.trim())),
        DockerError::DockerResponseServerError { status_code, message } => {
            if refused_config(&message) {
                RuntimeError::InvalidConfig(format!("{what}: {}", message.trim()))
            } else {
                RuntimeError::Runtime(format!("{what}: Docker answered {status_code}: {}", message.trim()))
            }
        }
        DockerError::RequestTimeoutError => RuntimeError::Runtime(format!("{what}: Docker did not answer in time")),
        other => RuntimeError::Runtime(format!("{what}: {other}")),
    }
}

/// Docker reports a container that cannot start because of its own configuration (a command that
/// does not exist, a mount that cannot be made) as a server error; these are the user's to fix,
/// not Docker's, so they become `InvalidConfig`.
fn refused_config(message: &str) -> bool {
    const PHRASES: [&str; 7] = [
        "executable file not found",
        "no such file or directory",
        "permission denied",
        "not a directory",
        "invalid mount",
        "invalid argument",
        "exec format error",
    ];
    let lower = message.to_ascii_lowercase();
    PHRASES.iter().any(|p| lower.contains(p))
}

/// Keeps only the characters Docker allows in a container name (`[a-zA-Z0-9_.-]`).
pub(crate) fn name_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The first 8 characters of a pod uid, enough to tell two pods of the same name apart.
pub(crate) fn uid8(uid: &str) -> String {
    name_part(&uid.chars().take(8).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status_code: u16, message: &str) -> DockerError {
        DockerError::DockerResponseServerError {
            status_code,
            message: message.to_string(),
        }
    }

    #[test]
    fn errors_map_to_runtime_errors() {
        assert_eq!(
            docker_err(server(404, "No such container: x"), "container x"),
            RuntimeError::NotFound("container x".into())
        );
        let bad = docker_err(
            server(
                500,
                "OCI runtime create failed: exec: \"nope\": executable file not found in $PATH: unknown",
            ),
            "start c",
        );
        assert!(
            matches!(&bad, RuntimeError::InvalidConfig(m) if m.contains("executable file not found")),
            "{bad:?}"
        );
        assert!(matches!(
            docker_err(server(400, "bad"), "x"),
            RuntimeError::InvalidConfig(_)
        ));
        assert!(matches!(
            docker_err(server(500, "disk on fire"), "x"),
            RuntimeError::Runtime(_)
        ));
        assert!(is_status(&server(304, ""), 304));
        assert!(!is_status(&server(404, ""), 304));
    }

    #[test]
    fn names_keep_to_dockers_alphabet() {
        assert_eq!(name_part("web-0.x"), "web-0.x");
        assert_eq!(name_part("a b/c_d"), "a-b-c-d");
        assert_eq!(uid8("0123abcd-ef45-6789"), "0123abcd");
        assert_eq!(uid8("ab"), "ab");
    }
}
