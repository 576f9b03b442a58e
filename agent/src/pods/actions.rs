//! Carrying out a plan: the only part of pod sync that changes anything.
//!
//! Steps run in a fixed order — kill, stop sandboxes, remove, create the sandbox, start
//! containers — because each may depend on the one before (a container cannot join a sandbox
//! that does not exist yet; a sandbox is removed after its containers).
//!
//! Two kinds of failure are told apart, as the kubelet does:
//!
//! - **a container that cannot start** (its image is missing, the runtime refuses its config,
//!   its env refers to nothing) is the pod's problem, not the agent's. The failure is remembered
//!   ([`StartFailure`]), shown in the container's `waiting` reason (`ErrImagePull`,
//!   `CreateContainerError`...), reported as an event, and retried after a back-off by a later
//!   plan. The sync itself succeeds.
//! - **volumes that cannot be set up** (a ConfigMap that does not exist, a claim not bound yet)
//!   hold back every container that was to start, as the kubelet's volume manager does: they
//!   wait as `ContainerCreating`, a `FailedMount` event says why, and the next sync tries again.
//!   Volumes are set up before the sandbox, so a pod that cannot mount does not even get an IP.
//! - **the runtime failing** (Docker unreachable, a stop that times out) aborts the sync with an
//!   error; the work queue retries the whole sync with back-off, and the next plan starts from
//!   whatever the failed attempt left behind.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use kubelab_api::core::{Container, Pod};

use super::env::{container_config, env_warnings, sandbox_config, EnvContext};
use super::objects::{fetch, references, PodObjects};
use super::observed::{FailureKind, ObservedPod, StartFailure};
use super::plan::{PodActions, StartContainer, Waiting};
use super::service_env::service_env;
use super::volumes::plan::{container_mounts, plan_volumes, PlannedVolume};
use super::volumes::prepare::{make_dirs, prepare};
use super::{PodError, Shared};
use crate::events::EventType;
use crate::runtime::{PullPolicy, RuntimeError};

/// What happened besides success.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Containers whose start failed in this sync, with the reason to show right away
    /// (`ErrImagePull` before it becomes `ImagePullBackOff`).
    pub failed_now: BTreeMap<String, Waiting>,
}

/// Carries out `plan` for `pod`.
pub async fn execute(
    shared: &Shared,
    pod: &Pod,
    observed: &ObservedPod,
    plan: &PodActions,
) -> Result<Outcome, PodError> {
    let runtime = &shared.runtime;
    for kill in &plan.kill {
        shared.events.pod(
            pod,
            Some(&kill.name),
            EventType::Normal,
            "Killing",
            kill.reason.message(&kill.name),
        );
        runtime.stop_container(&kill.id, kill.grace).await?;
    }
    for id in &plan.stop_sandboxes {
        runtime.stop_sandbox(id).await?;
    }
    for id in &plan.remove_containers {
        runtime.remove_container(id).await?;
    }
    for id in &plan.remove_sandboxes {
        runtime.remove_sandbox(id).await?;
    }
    let mut outcome = Outcome::default();
    if plan.start.is_empty() && !plan.create_sandbox {
        return Ok(outcome);
    }

    // What the containers consume, read now: a ConfigMap created since the last try counts.
    let objects = fetch(&shared.client, pod.metadata.namespace(), &references(pod, false)).await?;
    let volumes = match set_up_volumes(shared, pod, &objects).await {
        Ok(volumes) => volumes,
        Err(message) => {
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            for start in &plan.start {
                let waiting = remember_failure(shared, &uid, &start.name, FailureKind::Mount, message.clone());
                outcome.failed_now.insert(start.name.clone(), waiting);
            }
            return Ok(outcome);
        }
    };

    let sandbox_id = if plan.create_sandbox {
        match runtime.run_sandbox(&sandbox_config(pod)).await {
            Ok(id) => id,
            Err(e) => {
                shared.events.pod(
                    pod,
                    None,
                    EventType::Warning,
                    "FailedCreatePodSandBox",
                    format!("Failed to create pod sandbox: {e}"),
                );
                return Err(e.into());
            }
        }
    } else {
        match observed.current_sandbox() {
            Some(sandbox) => sandbox.id.clone(),
            None => return Ok(outcome),
        }
    };
    let pod_ip = if plan.create_sandbox {
        let (sandboxes, _) = runtime.list_pod(pod.metadata.namespace(), pod.metadata.name()).await?;
        sandboxes.into_iter().find(|s| s.id == sandbox_id).and_then(|s| s.ip)
    } else {
        observed.current_sandbox().and_then(|s| s.ip.clone())
    };
    let services: Vec<_> = shared.services.list();
    let ctx = EnvContext {
        node_name: shared.node_name.clone(),
        node_ip: shared.node_ip.clone(),
        pod_ip: pod_ip.unwrap_or_default(),
        service_env: service_env(
            services.iter().map(|s| s.as_ref()),
            pod.metadata.namespace(),
            pod.spec.enable_service_links.unwrap_or(true),
        ),
        objects,
    };

    for start in &plan.start {
        let Some(container) = find_container(pod, start) else {
            continue;
        };
        if let Err((kind, message)) = start_one(shared, pod, container, start, &sandbox_id, &ctx, &volumes).await {
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            let waiting = remember_failure(shared, &uid, &container.name, kind, message);
            outcome.failed_now.insert(container.name.clone(), waiting);
            if start.init {
                // Init containers run in order: the next waits for this one.
                break;
            }
        }
    }
    Ok(outcome)
}

/// Plans and prepares the pod's volumes; on failure, a `FailedMount` event and its message.
async fn set_up_volumes(shared: &Shared, pod: &Pod, objects: &PodObjects) -> Result<Vec<PlannedVolume>, String> {
    let result = match plan_volumes(pod, objects, &shared.volumes) {
        Ok(planned) => prepare(shared.runtime.as_ref(), &planned).await.map(|()| planned),
        Err(e) => Err(e),
    };
    result.map_err(|e| {
        let message = e.to_string();
        shared
            .events
            .pod(pod, None, EventType::Warning, "FailedMount", message.clone());
        message
    })
}

fn find_container<'a>(pod: &'a Pod, start: &StartContainer) -> Option<&'a Container> {
    let list = if start.init {
        &pod.spec.init_containers
    } else {
        &pod.spec.containers
    };
    list.iter().find(|c| c.name == start.name)
}

/// Pulls, creates and starts one container, with the kubelet's events.
async fn start_one(
    shared: &Shared,
    pod: &Pod,
    container: &Container,
    start: &StartContainer,
    sandbox_id: &str,
    ctx: &EnvContext,
    volumes: &[PlannedVolume],
) -> Result<(), (FailureKind, String)> {
    let runtime = &shared.runtime;
    let name = container.name.as_str();
    let image = container.image.clone().unwrap_or_default();
    let policy = pull_policy(container);
    let started_pull = tokio::time::Instant::now();
    if let Err(e) = runtime.ensure_image(&image, policy).await {
        let message = match &e {
            RuntimeError::ImageNotFound { message, .. } => {
                format!("Failed to pull image \"{image}\": {message}")
            }
            other => format!("Failed to pull image \"{image}\": {other}"),
        };
        shared
            .events
            .pod(pod, Some(name), EventType::Warning, "Failed", message.clone());
        shared
            .events
            .pod(pod, Some(name), EventType::Warning, "Failed", "Error: ErrImagePull");
        return Err((FailureKind::ImagePull, message));
    }
    let pulled = match policy {
        PullPolicy::Always => format!("Successfully pulled image \"{image}\" in {:?}", started_pull.elapsed()),
        _ => format!("Container image \"{image}\" already present on machine"),
    };
    shared.events.pod(pod, Some(name), EventType::Normal, "Pulled", pulled);

    let config_error = |message: String| {
        shared.events.pod(
            pod,
            Some(name),
            EventType::Warning,
            "Failed",
            format!("Error: {message}"),
        );
        (FailureKind::Config, message)
    };
    let mut config =
        container_config(pod, container, ctx, start.restart_count).map_err(|e| config_error(e.to_string()))?;
    for warning in env_warnings(pod, container, ctx) {
        shared.events.pod(
            pod,
            Some(name),
            EventType::Warning,
            "InvalidEnvironmentVariableNames",
            warning,
        );
    }
    let mounts = container_mounts(container, volumes).map_err(|e| config_error(e.to_string()))?;
    make_dirs(runtime.as_ref(), &mounts.make_dirs).map_err(|e| config_error(e.to_string()))?;
    config.mounts = mounts.mounts;
    let id = runtime.create_container(sandbox_id, &config).await.map_err(|e| {
        let message = e.to_string();
        shared.events.pod(
            pod,
            Some(name),
            EventType::Warning,
            "Failed",
            format!("Error: {message}"),
        );
        (FailureKind::Create, message)
    })?;
    shared.events.pod(
        pod,
        Some(name),
        EventType::Normal,
        "Created",
        format!("Created container: {name}"),
    );
    runtime.start_container(&id).await.map_err(|e| {
        let message = e.to_string();
        shared.events.pod(
            pod,
            Some(name),
            EventType::Warning,
            "Failed",
            format!("Error: {message}"),
        );
        (FailureKind::Start, message)
    })?;
    shared.events.pod(
        pod,
        Some(name),
        EventType::Normal,
        "Started",
        format!("Started container {name}"),
    );
    forget_failure(shared, pod.metadata.uid.as_deref().unwrap_or_default(), name);
    Ok(())
}

/// `imagePullPolicy`, defaulted as Kubernetes does: `Always` for `:latest` or no tag.
pub fn pull_policy(container: &Container) -> PullPolicy {
    match container.image_pull_policy.as_deref() {
        Some("Always") => PullPolicy::Always,
        Some("Never") => PullPolicy::Never,
        Some("IfNotPresent") => PullPolicy::IfNotPresent,
        _ => {
            let image = container.image.as_deref().unwrap_or_default();
            let last = image.rsplit('/').next().unwrap_or(image);
            if last.contains('@') || (last.contains(':') && !last.ends_with(":latest")) {
                PullPolicy::IfNotPresent
            } else {
                PullPolicy::Always
            }
        }
    }
}

fn remember_failure(shared: &Shared, uid: &str, name: &str, kind: FailureKind, message: String) -> Waiting {
    let mut failures = shared.lock_failures();
    let per_pod = failures.entry(uid.to_string()).or_default();
    let count = match per_pod.get(name) {
        Some(previous) if previous.kind == kind => previous.count.saturating_add(1),
        _ => 1,
    };
    per_pod.insert(
        name.to_string(),
        StartFailure {
            kind,
            message: message.clone(),
            at: Utc::now(),
            count,
        },
    );
    let reason = match kind {
        FailureKind::ImagePull => "ErrImagePull",
        FailureKind::Config => "CreateContainerConfigError",
        FailureKind::Create => "CreateContainerError",
        FailureKind::Start => "RunContainerError",
        FailureKind::Mount => "ContainerCreating",
    };
    Waiting {
        reason: reason.into(),
        // ContainerCreating has no message in the kubelet's status; its events say why.
        message: Some(message).filter(|_| kind != FailureKind::Mount),
    }
}

fn forget_failure(shared: &Shared, uid: &str, name: &str) {
    let mut failures = shared.lock_failures();
    if let Some(per_pod) = failures.get_mut(uid) {
        per_pod.remove(name);
        if per_pod.is_empty() {
            failures.remove(uid);
        }
    }
}

/// How long an orphan (a container whose pod is gone from the API) gets to stop.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pull_policy_defaults() {
        let c = |v: serde_json::Value| -> Container { serde_json::from_value(v).unwrap() };
        assert_eq!(
            pull_policy(&c(json!({"name": "a", "image": "nginx"}))),
            PullPolicy::Always
        );
        assert_eq!(
            pull_policy(&c(json!({"name": "a", "image": "nginx:latest"}))),
            PullPolicy::Always
        );
        assert_eq!(
            pull_policy(&c(json!({"name": "a", "image": "localhost:5000/nginx:1.2"}))),
            PullPolicy::IfNotPresent
        );
        assert_eq!(
            pull_policy(&c(json!({"name": "a", "image": "nginx", "imagePullPolicy": "Never"}))),
            PullPolicy::Never
        );
    }
}
