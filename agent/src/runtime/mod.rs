//! # Container runtimes: what the agent asks of Docker (Kubernetes' CRI, trimmed)
//!
//! The agent never talks to Docker directly. It plans what a pod needs (see the pod sync loop),
//! then asks a [`ContainerRuntime`] to carry the plan out, one small step at a time. The
//! vocabulary is Kubernetes' Container Runtime Interface:
//!
//! - a **sandbox** is what a pod's containers share: in Docker, a "pause" container that holds the
//!   pod's network namespace (its IP, its hostname, its `localhost`) and does nothing else;
//! - **containers** are the pod's app (and init) containers, created inside a sandbox so they
//!   all share its network;
//! - every object the runtime makes carries **labels** (`io.kubelab.pod-uid`, `io.kubelab.pod`,
//!   `io.kubelab.namespace`, `io.kubelab.container`, `io.kubelab.node`, `io.kubelab.cluster`), so
//!   an agent that restarts can list what it already runs and adopt it instead of starting it twice.
//!
//! Two runtimes implement the trait: `docker` (real containers through the Docker API) and
//! `hollow` (containers faked in memory, as Kubernetes' kubemark does, so one process can play
//! hundreds of nodes).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;

pub mod docker;
pub mod hollow;

/// Label keys on every runtime object kubelab creates.
pub mod labels {
    pub const POD_UID: &str = "io.kubelab.pod-uid";
    pub const NAMESPACE: &str = "io.kubelab.namespace";
    pub const POD: &str = "io.kubelab.pod";
    pub const CONTAINER: &str = "io.kubelab.container";
    pub const NODE: &str = "io.kubelab.node";
    pub const CLUSTER: &str = "io.kubelab.cluster";
    /// How many times this container of the pod was restarted when this instance was created;
    /// kept on the container so restart counts survive an agent restart.
    pub const RESTART_COUNT: &str = "io.kubelab.restart-count";
    /// Marks the pause container of a pod.
    pub const SANDBOX: &str = "io.kubelab.sandbox";
    /// On a volume made for a PersistentVolume: the PV's name (the cleanup pass removes the
    /// volume once that PV is gone).
    pub const PV: &str = "io.kubelab.pv";
    /// On a volume made for one pod's `emptyDir`: the volume's name in the pod.
    pub const VOLUME: &str = "io.kubelab.volume";
}

/// A port of the pod published on the host (`hostPort`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortMapping {
    pub container_port: u16,
    pub host_port: u16,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// Host address to bind; kubelab binds 127.0.0.1 when none is given.
    pub host_ip: Option<String>,
}

/// What a pod's sandbox needs.
#[derive(Clone, Debug, Default)]
pub struct SandboxConfig {
    pub pod_uid: String,
    pub namespace: String,
    pub pod_name: String,
    /// The pod's hostname (its name, or `spec.hostname`).
    pub hostname: String,
    /// `spec.subdomain`: with it the pod is also `<hostname>.<subdomain>.<ns>.svc.cluster.local`.
    pub subdomain: Option<String>,
    /// DNS search domains (`<ns>.svc.cluster.local`, `svc.cluster.local`, `cluster.local`).
    pub dns_search: Vec<String>,
    pub port_mappings: Vec<PortMapping>,
    /// Extra labels; the runtime adds the `io.kubelab.*` identity labels itself.
    pub labels: BTreeMap<String, String>,
}

/// A sandbox as the runtime sees it now.
#[derive(Clone, Debug, PartialEq)]
pub struct SandboxStatus {
    pub id: String,
    pub pod_uid: String,
    pub namespace: String,
    pub pod_name: String,
    /// The pod's IP on the cluster network, once it has one.
    pub ip: Option<String>,
    /// Whether the sandbox is running (its network exists).
    pub ready: bool,
    pub created_at: Option<DateTime<Utc>>,
}

/// A file or directory from the host (or a runtime-managed volume) mounted into a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Host path ([`MountKind::Bind`]), or a runtime volume name ([`MountKind::Volume`]).
    pub source: String,
    /// Where it appears in the container: an absolute path.
    pub target: String,
    pub read_only: bool,
    pub kind: MountKind,
}

/// What a [`Mount`]'s source names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MountKind {
    /// A file or directory of the host (emptyDir, configMap, secret, hostPath).
    #[default]
    Bind,
    /// A volume the runtime manages (see [`ContainerRuntime::ensure_volume`]): a claim's
    /// persistent volume, or a `medium: Memory` emptyDir.
    Volume,
}

/// Checks what every runtime would refuse, so a bad mount is the same clear error on Docker and
/// on the hollow runtime: targets are absolute, unique, and sources are not empty.
pub fn validate_mounts(mounts: &[Mount]) -> Result<(), RuntimeError> {
    let mut targets = std::collections::BTreeSet::new();
    for mount in mounts {
        if !mount.target.starts_with('/') {
            return Err(RuntimeError::InvalidConfig(format!(
                "mount target {:?} is not an absolute path",
                mount.target
            )));
        }
        if mount.source.is_empty() {
            return Err(RuntimeError::InvalidConfig(format!(
                "mount at {:?} has no source",
                mount.target
            )));
        }
        if mount.kind == MountKind::Bind && !mount.source.starts_with('/') {
            return Err(RuntimeError::InvalidConfig(format!(
                "bind mount source {:?} is not an absolute path",
                mount.source
            )));
        }
        if !targets.insert(mount.target.trim_end_matches('/')) {
            return Err(RuntimeError::InvalidConfig(format!("two mounts at {:?}", mount.target)));
        }
    }
    Ok(())
}

/// A volume for the runtime to create (if missing) and keep: Docker's `docker volume create`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeConfig {
    /// The runtime's name of the volume (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
    pub name: String,
    /// Labels besides the cluster label, which the runtime adds itself.
    pub labels: BTreeMap<String, String>,
    /// Backed by memory (a tmpfs) instead of disk.
    pub memory: bool,
    /// The most it may hold, in bytes (a tmpfs's `size=`; disk volumes ignore it).
    pub size_limit_bytes: Option<i64>,
}

/// A runtime-managed volume of this cluster, as the runtime lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeStatus {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// Whether a container (running or not) refers to it; such a volume is never removed.
    pub in_use: bool,
}

/// What one container needs.
#[derive(Clone, Debug, Default)]
pub struct ContainerConfig {
    pub pod_uid: String,
    pub namespace: String,
    pub pod_name: String,
    /// The container's name in the pod spec.
    pub name: String,
    pub image: String,
    /// Replaces the image's entrypoint when not empty (`command`).
    pub command: Vec<String>,
    /// Replaces the image's arguments when not empty (`args`).
    pub args: Vec<String>,
    pub working_dir: Option<String>,
    /// Environment in order (later entries may refer to earlier ones, already expanded).
    pub env: Vec<(String, String)>,
    pub mounts: Vec<Mount>,
    /// `resources.limits.memory`, in bytes.
    pub memory_limit_bytes: Option<i64>,
    /// `resources.limits.cpu`, in millicores.
    pub cpu_limit_millis: Option<i64>,
    /// Restarts of this container before this instance (kept in a label).
    pub restart_count: u32,
    pub tty: bool,
    pub stdin: bool,
    pub labels: BTreeMap<String, String>,
}

/// The state of a container, as Kubernetes reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerState {
    /// Created but not started.
    Created,
    Running {
        started_at: DateTime<Utc>,
    },
    Exited {
        exit_code: i32,
        started_at: Option<DateTime<Utc>>,
        finished_at: Option<DateTime<Utc>>,
        reason: String,
        message: Option<String>,
    },
    /// The runtime cannot tell (the container vanished, say).
    Unknown,
}

/// A container as the runtime sees it now.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerStatus {
    pub id: String,
    pub sandbox_id: Option<String>,
    pub pod_uid: String,
    pub namespace: String,
    pub pod_name: String,
    /// The container's name in the pod spec.
    pub name: String,
    pub image: String,
    /// The image's ID (`docker-pullable://...` or `sha256:...`).
    pub image_id: String,
    pub state: ContainerState,
    pub restart_count: u32,
    pub created_at: Option<DateTime<Utc>>,
}

/// Whether a sandbox or container runs, in one word: all a cheap listing tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectState {
    Created,
    Running,
    Exited,
    Unknown,
}

impl ObjectState {
    /// The one word for a full [`ContainerState`].
    pub fn of(state: &ContainerState) -> Self {
        match state {
            ContainerState::Created => ObjectState::Created,
            ContainerState::Running { .. } => ObjectState::Running,
            ContainerState::Exited { .. } => ObjectState::Exited,
            ContainerState::Unknown => ObjectState::Unknown,
        }
    }
}

/// A sandbox or container of this node as a cheap listing sees it: whose it is and whether it
/// runs, no times, exit codes or IPs. The PLEG and housekeeping need no more (see
/// [`ContainerRuntime::relist`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectSummary {
    pub id: String,
    pub pod_uid: String,
    pub namespace: String,
    pub pod_name: String,
    /// A pod's sandbox, or else one of its containers.
    pub sandbox: bool,
    pub state: ObjectState,
}

/// `imagePullPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

/// Options of a log read (`kubectl logs`).
#[derive(Clone, Debug, Default)]
pub struct LogOptions {
    pub follow: bool,
    pub tail_lines: Option<u64>,
    pub since_seconds: Option<u64>,
    pub timestamps: bool,
}

/// The outcome of a command run in a container (exec probes, `kubectl exec` without a terminal).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// What a streaming exec (`kubectl exec`, with or without `-i`/`-t`) asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecStreamRequest {
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// A pseudo-terminal: stdout and stderr merge into one stream, and it can be resized.
    pub tty: bool,
}

/// A piece of a streaming exec's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecChunk {
    /// Standard output (or, with a terminal, everything).
    Stdout(Bytes),
    Stderr(Bytes),
}

/// What can be done to a running streaming exec besides writing to it.
#[async_trait::async_trait]
pub trait ExecControl: Send + Sync {
    /// Sets the size of its terminal (an error without one).
    async fn resize(&self, width: u16, height: u16) -> Result<(), RuntimeError>;
    /// Its exit code, once its output has ended.
    async fn exit_code(&self) -> Result<i32, RuntimeError>;
}

/// A command running in a container, its streams attached.
pub struct ExecStream {
    /// Its standard input, when asked for; shutting it down is end of file for the command.
    pub stdin: Option<std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>>,
    /// Its output, ending when the command closes it (normally: when it exits).
    pub output: BoxStream<'static, Result<ExecChunk, RuntimeError>>,
    pub control: Box<dyn ExecControl>,
}

/// The [`ExecControl`] of a command that already ran to the end (the buffered fallback).
struct Finished(i32);

#[async_trait::async_trait]
impl ExecControl for Finished {
    async fn resize(&self, _: u16, _: u16) -> Result<(), RuntimeError> {
        Err(RuntimeError::InvalidConfig(
            "this command has no terminal to resize".into(),
        ))
    }
    async fn exit_code(&self) -> Result<i32, RuntimeError> {
        Ok(self.0)
    }
}

/// How long the buffered fallback of [`ContainerRuntime::exec_stream`] lets a command run.
const BUFFERED_EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a runtime call failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum RuntimeError {
    /// The image is not present and cannot be pulled (kubelab has no registry): the pod shows
    /// `ErrImagePull`, then `ImagePullBackOff`.
    #[error("image {image:?} is not present on this node and cannot be pulled: {message}")]
    ImageNotFound { image: String, message: String },
    /// The runtime refused the container's configuration (bad command, bad mount...): the pod
    /// shows `CreateContainerError` with this message.
    #[error("{0}")]
    InvalidConfig(String),
    /// No sandbox or container with that id.
    #[error("{0} not found")]
    NotFound(String),
    /// Docker (or the hollow runtime) failed or is unreachable.
    #[error("container runtime failure: {0}")]
    Runtime(String),
    /// The operation did not finish in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// Which of a container's health checks is being run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

/// What the agent asks of a container runtime. Every method is safe to call again after a
/// failure or a crash: creating what exists is an error the caller handles, stopping what is
/// stopped and removing what is gone succeed.
#[async_trait::async_trait]
pub trait ContainerRuntime: Send + Sync + 'static {
    /// A short name for `status.nodeInfo.containerRuntimeVersion` (`docker://20.10.24`, `hollow://1`).
    async fn version(&self) -> Result<String, RuntimeError>;

    /// Makes sure `image` is present, honouring the pull policy; returns its image ID.
    async fn ensure_image(&self, image: &str, policy: PullPolicy) -> Result<String, RuntimeError>;

    /// Creates and starts a pod's sandbox; returns its id.
    async fn run_sandbox(&self, config: &SandboxConfig) -> Result<String, RuntimeError>;

    /// Stops the sandbox (and so the pod's network). Succeeds if it is already stopped.
    async fn stop_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError>;

    /// Removes the sandbox. Succeeds if it is already gone.
    async fn remove_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError>;

    /// Every sandbox of this node (by the node and cluster labels), running or not.
    async fn list_sandboxes(&self) -> Result<Vec<SandboxStatus>, RuntimeError>;

    /// Creates a container inside a sandbox (not started); returns its id.
    async fn create_container(&self, sandbox_id: &str, config: &ContainerConfig) -> Result<String, RuntimeError>;

    async fn start_container(&self, container_id: &str) -> Result<(), RuntimeError>;

    /// Sends SIGTERM, waits up to `grace`, then SIGKILL. Succeeds if it is already stopped.
    async fn stop_container(&self, container_id: &str, grace: Duration) -> Result<(), RuntimeError>;

    /// Removes a stopped container. Succeeds if it is already gone.
    async fn remove_container(&self, container_id: &str) -> Result<(), RuntimeError>;

    /// Every container of this node (by the node and cluster labels), with its state.
    async fn list_containers(&self) -> Result<Vec<ContainerStatus>, RuntimeError>;

    /// The sandboxes and containers of pod `namespace/pod_name` (of any pod uid), with their
    /// full state: what one pod sync looks at. The default filters the node-wide lists. A
    /// runtime that can ask for one pod's objects (Docker, by label) should: a sync then costs
    /// the same on a node of one pod as on a node of a hundred.
    async fn list_pod(
        &self,
        namespace: &str,
        pod_name: &str,
    ) -> Result<(Vec<SandboxStatus>, Vec<ContainerStatus>), RuntimeError> {
        let sandboxes = self.list_sandboxes().await?;
        let containers = self.list_containers().await?;
        Ok((
            sandboxes
                .into_iter()
                .filter(|s| s.namespace == namespace && s.pod_name == pod_name)
                .collect(),
            containers
                .into_iter()
                .filter(|c| c.namespace == namespace && c.pod_name == pod_name)
                .collect(),
        ))
    }

    /// Every sandbox and container of this node, summarized: the kubelet's PLEG relist (the
    /// CRI's `ListContainers`, without a `ContainerStatus` call per container). The default
    /// summarizes the full lists; a runtime whose full state costs a request per object
    /// (Docker's inspect) should answer from one cheap listing.
    async fn relist(&self) -> Result<Vec<ObjectSummary>, RuntimeError> {
        let sandboxes = self.list_sandboxes().await?.into_iter().map(|s| ObjectSummary {
            id: s.id,
            pod_uid: s.pod_uid,
            namespace: s.namespace,
            pod_name: s.pod_name,
            sandbox: true,
            state: if s.ready {
                ObjectState::Running
            } else {
                ObjectState::Exited
            },
        });
        let containers = self.list_containers().await?.into_iter().map(|c| ObjectSummary {
            state: ObjectState::of(&c.state),
            id: c.id,
            pod_uid: c.pod_uid,
            namespace: c.namespace,
            pod_name: c.pod_name,
            sandbox: false,
        });
        Ok(sandboxes.chain(containers).collect())
    }

    /// Runs a command in a running container and waits for it (at most `timeout`).
    async fn exec(&self, container_id: &str, command: &[String], timeout: Duration)
        -> Result<ExecOutput, RuntimeError>;

    /// Starts a command with its streams attached (`kubectl exec`, `-i`, `-t`). The default runs
    /// it with [`ContainerRuntime::exec`] and streams the result, for runtimes whose containers
    /// cannot take input (the hollow runtime); stdin or a terminal is then a clear error.
    async fn exec_stream(&self, container_id: &str, request: &ExecStreamRequest) -> Result<ExecStream, RuntimeError> {
        if request.stdin || request.tty {
            return Err(RuntimeError::InvalidConfig(
                "this runtime's containers are simulated: a command cannot get stdin or a terminal; \
                 run it without -i/-t"
                    .into(),
            ));
        }
        let output = self.exec(container_id, &request.command, BUFFERED_EXEC_TIMEOUT).await?;
        let mut chunks = Vec::new();
        if request.stdout && !output.stdout.is_empty() {
            chunks.push(Ok(ExecChunk::Stdout(Bytes::from(output.stdout))));
        }
        if request.stderr && !output.stderr.is_empty() {
            chunks.push(Ok(ExecChunk::Stderr(Bytes::from(output.stderr))));
        }
        Ok(ExecStream {
            stdin: None,
            output: Box::pin(futures_util::stream::iter(chunks)),
            control: Box::new(Finished(output.exit_code)),
        })
    }

    /// The container's output (stdout and stderr interleaved), ending unless `follow`.
    async fn logs(
        &self,
        container_id: &str,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<Bytes, RuntimeError>>, RuntimeError>;

    /// Creates the volume if it does not exist yet (with the cluster label); an existing one of
    /// that name is kept as it is, data included.
    async fn ensure_volume(&self, config: &VolumeConfig) -> Result<(), RuntimeError>;

    /// Removes a volume and its data. Succeeds if it is already gone; fails if it is in use.
    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError>;

    /// Every volume labelled with this runtime's cluster.
    async fn list_volumes(&self) -> Result<Vec<VolumeStatus>, RuntimeError>;

    /// Whether the agent must make volumes' files on this host (directories, ConfigMap files,
    /// hostPath checks). Real runtimes: yes. The hollow runtime only checks the mounts it is given.
    fn materializes_volumes(&self) -> bool {
        true
    }

    /// For runtimes whose containers are not real (the hollow runtime): the result of a probe,
    /// answered by the runtime itself, because there is nothing on the network to ask. `None`
    /// (what real runtimes return) means "probe the container for real".
    fn simulated_probe(&self, container_id: &str, kind: ProbeKind) -> Option<bool> {
        let _ = (container_id, kind);
        None
    }
}
