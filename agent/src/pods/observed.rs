//! What the agent knows about one pod right now: the runtime's sandboxes and containers for it,
//! plus the few things only the agent's memory holds (why the last start failed, what the
//! probes said).
//!
//! The runtime is the source of truth. Every sync lists it again instead of trusting a cache, and
//! every container carries its pod's uid and its restart count in labels, so an agent that was
//! just restarted (even by `kill -9`) sees exactly what its predecessor left running: that is
//! *adoption*, and it needs no code of its own.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::runtime::{ContainerState, ContainerStatus, SandboxStatus};

/// Why the last attempt to start a container failed before it ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The image is not present and could not be pulled (`ErrImagePull`/`ImagePullBackOff`).
    ImagePull,
    /// The container's configuration could not be built from the spec
    /// (`CreateContainerConfigError`: a bad env reference, say).
    Config,
    /// The runtime refused to create it (`CreateContainerError`).
    Create,
    /// It was created but would not start (`RunContainerError`).
    Start,
    /// The pod's volumes could not be set up (a missing ConfigMap, an unbound claim): the
    /// container waits as `ContainerCreating`, with `FailedMount` events.
    Mount,
}

/// The last failure to start one container, remembered by the agent (runtimes know nothing of
/// containers they refused to create).
#[derive(Clone, Debug, PartialEq)]
pub struct StartFailure {
    pub kind: FailureKind,
    pub message: String,
    pub at: DateTime<Utc>,
    /// Failures in a row; the retry back-off doubles with each.
    pub count: u32,
}

/// What the probes last said about one running container.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeState {
    /// The startup probe succeeded (or there is none).
    pub started: bool,
    /// The readiness probe succeeded (or there is none).
    pub ready: bool,
    /// Set when the liveness or startup probe failed too often: the container must be restarted.
    pub unhealthy: Option<String>,
}

/// The observed state of one pod.
#[derive(Clone, Debug, Default)]
pub struct ObservedPod {
    /// Every sandbox of the pod, newest first.
    pub sandboxes: Vec<SandboxStatus>,
    /// Every container instance of the pod, in any sandbox, running or not.
    pub containers: Vec<ContainerStatus>,
    /// Last start failure by container name.
    pub failures: BTreeMap<String, StartFailure>,
    /// Probe results by container id; a running container without an entry has no results yet.
    pub probes: BTreeMap<String, ProbeState>,
}

impl ObservedPod {
    /// Builds the observation from runtime lists already filtered to this pod.
    pub fn new(mut sandboxes: Vec<SandboxStatus>, containers: Vec<ContainerStatus>) -> Self {
        sandboxes.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
        ObservedPod {
            sandboxes,
            containers,
            ..Default::default()
        }
    }

    /// The pod's newest sandbox, the one new containers join.
    pub fn current_sandbox(&self) -> Option<&SandboxStatus> {
        self.sandboxes.first()
    }

    /// Every instance of container `name`, newest (highest restart count) first.
    pub fn instances(&self, name: &str) -> Vec<&ContainerStatus> {
        let mut list: Vec<&ContainerStatus> = self.containers.iter().filter(|c| c.name == name).collect();
        list.sort_by(|a, b| {
            b.restart_count
                .cmp(&a.restart_count)
                .then_with(|| b.created_at.cmp(&a.created_at))
                .then_with(|| b.id.cmp(&a.id))
        });
        list
    }

    /// The newest instance of container `name`.
    pub fn latest(&self, name: &str) -> Option<&ContainerStatus> {
        self.instances(name).into_iter().next()
    }

    /// The newest instance of `name` in the current sandbox.
    pub fn latest_in_sandbox(&self, name: &str) -> Option<&ContainerStatus> {
        let sandbox = self.current_sandbox()?;
        self.latest(name)
            .filter(|c| c.sandbox_id.as_deref() == Some(sandbox.id.as_str()))
    }

    pub fn probe(&self, container_id: &str) -> Option<&ProbeState> {
        self.probes.get(container_id)
    }
}

/// Whether a container is still alive (or might be): anything that has not exited.
pub fn is_alive(state: &ContainerState) -> bool {
    !matches!(state, ContainerState::Exited { .. })
}

/// The exit code and finish time of an exited container.
pub fn exit_of(state: &ContainerState) -> Option<(i32, Option<DateTime<Utc>>)> {
    match state {
        ContainerState::Exited {
            exit_code, finished_at, ..
        } => Some((*exit_code, *finished_at)),
        _ => None,
    }
}
