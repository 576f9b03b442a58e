//! # From Docker's view of a container to Kubernetes'
//!
//! `docker inspect` and a pod's `containerStatuses` describe the same facts in different words.
//! Docker says `status: exited, ExitCode: 137, OOMKilled: true`; Kubernetes says
//! `terminated: {exitCode: 137, reason: OOMKilled}`. This module is that dictionary, as pure
//! functions (so it is tested without Docker):
//!
//! - `created` → waiting to start; but a container Docker could not start (its command does not
//!   exist, say) also stays `created`, with an error: that is a terminated `ContainerCannotRun`;
//! - `running`, `paused`, `restarting` → running since `StartedAt`;
//! - `exited`, `dead` → terminated, with reason `OOMKilled` (the kernel killed it for memory),
//!   `Completed` (exit code 0) or `Error` (any other code);
//! - Docker writes "never" as the zero time `0001-01-01T00:00:00Z`; Kubernetes leaves the field out.
//!
//! Identity (pod, namespace, uid, container name, restart count) comes from the labels kubelab put
//! on the container when it made it; the pod IP from the container's endpoint on the cluster network.
//!
//! A `docker ps` line (a *summary*) has the labels and the one-word state but none of the details;
//! [`object_summary`] reads it the same way, with the same words: `paused` and `restarting` run,
//! `dead` has exited.

use std::collections::HashMap;

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary, ContainerSummaryStateEnum,
};
use chrono::{DateTime, Utc};

use crate::runtime::{labels, ContainerState, ContainerStatus, ObjectState, ObjectSummary, SandboxStatus};

/// Parses Docker's RFC 3339 times; the zero time and anything unparsable are `None`.
pub fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    let s = s?.trim();
    if s.is_empty() || s.starts_with("0001-01-01") {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// The Kubernetes state of an inspected container.
pub fn container_state(inspect: &ContainerInspectResponse) -> ContainerState {
    let Some(state) = inspect.state.as_ref() else {
        return ContainerState::Unknown;
    };
    let started_at = parse_time(state.started_at.as_deref());
    let finished_at = parse_time(state.finished_at.as_deref());
    let exit_code = state.exit_code.and_then(|c| i32::try_from(c).ok()).unwrap_or(0);
    let error = state.error.as_deref().map(str::trim).filter(|e| !e.is_empty());
    match state.status {
        Some(ContainerStateStatusEnum::CREATED) => match error {
            // Docker tried to start it and could not.
            Some(message) => ContainerState::Exited {
                exit_code: if exit_code == 0 { 128 } else { exit_code },
                started_at,
                finished_at,
                reason: "ContainerCannotRun".to_string(),
                message: Some(message.to_string()),
            },
            None => ContainerState::Created,
        },
        Some(ContainerStateStatusEnum::RUNNING)
        | Some(ContainerStateStatusEnum::PAUSED)
        | Some(ContainerStateStatusEnum::RESTARTING) => match started_at {
            Some(started_at) => ContainerState::Running { started_at },
            None => ContainerState::Unknown,
        },
        Some(ContainerStateStatusEnum::EXITED) | Some(ContainerStateStatusEnum::DEAD) => {
            let reason = if state.oom_killed == Some(true) {
                "OOMKilled"
            } else if exit_code == 0 {
                "Completed"
            } else {
                "Error"
            };
            ContainerState::Exited {
                exit_code,
                started_at,
                finished_at,
                reason: reason.to_string(),
                message: error.map(str::to_string),
            }
        }
        _ => ContainerState::Unknown,
    }
}

fn label(labels: Option<&HashMap<String, String>>, key: &str) -> String {
    labels.and_then(|l| l.get(key)).cloned().unwrap_or_default()
}

/// The sandbox a container joined, from its `container:<id>` network mode.
fn joined_sandbox(inspect: &ContainerInspectResponse) -> Option<String> {
    let mode = inspect.host_config.as_ref()?.network_mode.as_deref()?;
    mode.strip_prefix("container:")
        .filter(|id| !id.is_empty())
        .map(str::to_string)
}

/// A [`ContainerStatus`] from an inspected app container.
pub fn container_status(inspect: &ContainerInspectResponse) -> ContainerStatus {
    let config_labels = inspect.config.as_ref().and_then(|c| c.labels.as_ref());
    ContainerStatus {
        id: inspect.id.clone().unwrap_or_default(),
        sandbox_id: joined_sandbox(inspect),
        pod_uid: label(config_labels, labels::POD_UID),
        namespace: label(config_labels, labels::NAMESPACE),
        pod_name: label(config_labels, labels::POD),
        name: label(config_labels, labels::CONTAINER),
        image: inspect
            .config
            .as_ref()
            .and_then(|c| c.image.clone())
            .unwrap_or_default(),
        image_id: inspect.image.clone().unwrap_or_default(),
        state: container_state(inspect),
        restart_count: label(config_labels, labels::RESTART_COUNT).parse().unwrap_or(0),
        created_at: parse_time(inspect.created.as_deref()),
    }
}

/// A [`SandboxStatus`] from an inspected pause container; the pod IP is its address on `network`.
pub fn sandbox_status(inspect: &ContainerInspectResponse, network: &str) -> SandboxStatus {
    let config_labels = inspect.config.as_ref().and_then(|c| c.labels.as_ref());
    let ip = inspect
        .network_settings
        .as_ref()
        .and_then(|s| s.networks.as_ref())
        .and_then(|n| n.get(network))
        .and_then(|e| e.ip_address.clone())
        .filter(|ip| !ip.is_empty());
    SandboxStatus {
        id: inspect.id.clone().unwrap_or_default(),
        pod_uid: label(config_labels, labels::POD_UID),
        namespace: label(config_labels, labels::NAMESPACE),
        pod_name: label(config_labels, labels::POD),
        ip,
        ready: inspect.state.as_ref().and_then(|s| s.running).unwrap_or(false),
        created_at: parse_time(inspect.created.as_deref()),
    }
}

/// The one-word state of a `docker ps` line.
pub fn object_state(state: Option<&ContainerSummaryStateEnum>) -> ObjectState {
    match state {
        Some(ContainerSummaryStateEnum::CREATED) => ObjectState::Created,
        Some(ContainerSummaryStateEnum::RUNNING)
        | Some(ContainerSummaryStateEnum::PAUSED)
        | Some(ContainerSummaryStateEnum::RESTARTING) => ObjectState::Running,
        Some(ContainerSummaryStateEnum::EXITED) | Some(ContainerSummaryStateEnum::DEAD) => ObjectState::Exited,
        _ => ObjectState::Unknown,
    }
}

/// An [`ObjectSummary`] from a `docker ps` line of a sandbox or an app container.
pub fn object_summary(summary: &ContainerSummary) -> ObjectSummary {
    let summary_labels = summary.labels.as_ref();
    ObjectSummary {
        id: summary.id.clone().unwrap_or_default(),
        pod_uid: label(summary_labels, labels::POD_UID),
        namespace: label(summary_labels, labels::NAMESPACE),
        pod_name: label(summary_labels, labels::POD),
        sandbox: label(summary_labels, labels::SANDBOX) == "true",
        state: object_state(summary.state.as_ref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerConfig as DockerConfig, ContainerState as DockerState, EndpointSettings};
    use bollard::models::{HostConfig, NetworkSettings};

    fn inspect(status: ContainerStateStatusEnum, exit_code: i64, oom: bool, error: &str) -> ContainerInspectResponse {
        ContainerInspectResponse {
            id: Some("abc".into()),
            created: Some("2024-05-01T10:00:00.123456789Z".into()),
            image: Some("sha256:feed".into()),
            state: Some(DockerState {
                status: Some(status),
                running: Some(status == ContainerStateStatusEnum::RUNNING),
                oom_killed: Some(oom),
                exit_code: Some(exit_code),
                error: Some(error.into()),
                started_at: Some("2024-05-01T10:00:01.5Z".into()),
                finished_at: Some("0001-01-01T00:00:00Z".into()),
                ..Default::default()
            }),
            config: Some(DockerConfig {
                image: Some("kubelab/demo:latest".into()),
                labels: Some(HashMap::from([
                    (labels::POD_UID.to_string(), "uid-1".to_string()),
                    (labels::NAMESPACE.to_string(), "default".to_string()),
                    (labels::POD.to_string(), "web".to_string()),
                    (labels::CONTAINER.to_string(), "app".to_string()),
                    (labels::RESTART_COUNT.to_string(), "3".to_string()),
                ])),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                network_mode: Some("container:pause1".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn times_parse_and_zero_is_none() {
        assert_eq!(parse_time(Some("0001-01-01T00:00:00Z")), None);
        assert_eq!(parse_time(Some("")), None);
        assert_eq!(parse_time(None), None);
        assert_eq!(parse_time(Some("yesterday")), None);
        let t = parse_time(Some("2024-05-01T10:00:01.123456789Z")).unwrap();
        assert_eq!(t.timestamp(), 1_714_557_601);
    }

    #[test]
    fn states_and_reasons() {
        let running = container_state(&inspect(ContainerStateStatusEnum::RUNNING, 0, false, ""));
        assert!(matches!(running, ContainerState::Running { .. }));
        assert_eq!(
            container_state(&inspect(ContainerStateStatusEnum::CREATED, 0, false, "")),
            ContainerState::Created
        );
        let reason = |s, code, oom| match container_state(&inspect(s, code, oom, "")) {
            ContainerState::Exited {
                reason,
                exit_code,
                finished_at,
                ..
            } => {
                assert_eq!(finished_at, None);
                (reason, exit_code)
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(ContainerStateStatusEnum::EXITED, 0, false),
            ("Completed".to_string(), 0)
        );
        assert_eq!(
            reason(ContainerStateStatusEnum::EXITED, 3, false),
            ("Error".to_string(), 3)
        );
        assert_eq!(
            reason(ContainerStateStatusEnum::EXITED, 137, true),
            ("OOMKilled".to_string(), 137)
        );
        match container_state(&inspect(
            ContainerStateStatusEnum::CREATED,
            127,
            false,
            "exec: \"nope\": not found",
        )) {
            ContainerState::Exited {
                reason,
                exit_code,
                message,
                ..
            } => {
                assert_eq!((reason.as_str(), exit_code), ("ContainerCannotRun", 127));
                assert!(message.unwrap().contains("nope"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            container_state(&ContainerInspectResponse::default()),
            ContainerState::Unknown
        );
    }

    #[test]
    fn status_from_labels() {
        let s = container_status(&inspect(ContainerStateStatusEnum::EXITED, 1, false, ""));
        assert_eq!(s.id, "abc");
        assert_eq!(s.sandbox_id.as_deref(), Some("pause1"));
        assert_eq!(
            (s.pod_uid.as_str(), s.namespace.as_str(), s.pod_name.as_str()),
            ("uid-1", "default", "web")
        );
        assert_eq!(s.name, "app");
        assert_eq!(s.restart_count, 3);
        assert_eq!(s.image, "kubelab/demo:latest");
        assert_eq!(s.image_id, "sha256:feed");
        assert!(s.created_at.is_some());
    }

    #[test]
    fn sandbox_ip_from_the_cluster_network() {
        let mut i = inspect(ContainerStateStatusEnum::RUNNING, 0, false, "");
        i.network_settings = Some(NetworkSettings {
            networks: Some(HashMap::from([
                (
                    "other".to_string(),
                    EndpointSettings {
                        ip_address: Some("172.17.0.2".into()),
                        ..Default::default()
                    },
                ),
                (
                    "kubelab-t".to_string(),
                    EndpointSettings {
                        ip_address: Some("10.1.0.2".into()),
                        ..Default::default()
                    },
                ),
            ])),
            ..Default::default()
        });
        let s = sandbox_status(&i, "kubelab-t");
        assert_eq!(s.ip.as_deref(), Some("10.1.0.2"));
        assert!(s.ready);
        assert_eq!(sandbox_status(&i, "missing").ip, None);
    }

    #[test]
    fn summaries_from_a_docker_ps_line() {
        let line = |state, sandbox: bool| ContainerSummary {
            id: Some("abc".into()),
            labels: Some(HashMap::from([
                (labels::POD_UID.to_string(), "uid-1".to_string()),
                (labels::NAMESPACE.to_string(), "default".to_string()),
                (labels::POD.to_string(), "web".to_string()),
                (labels::SANDBOX.to_string(), sandbox.to_string()),
            ])),
            state: Some(state),
            ..Default::default()
        };
        let s = object_summary(&line(ContainerSummaryStateEnum::RUNNING, true));
        assert_eq!(
            (
                s.id.as_str(),
                s.pod_uid.as_str(),
                s.namespace.as_str(),
                s.pod_name.as_str()
            ),
            ("abc", "uid-1", "default", "web")
        );
        assert!(s.sandbox);
        assert_eq!(s.state, ObjectState::Running);
        let c = object_summary(&line(ContainerSummaryStateEnum::DEAD, false));
        assert!(!c.sandbox);
        assert_eq!(c.state, ObjectState::Exited);
        assert_eq!(
            object_state(Some(&ContainerSummaryStateEnum::PAUSED)),
            ObjectState::Running
        );
        assert_eq!(
            object_state(Some(&ContainerSummaryStateEnum::CREATED)),
            ObjectState::Created
        );
        assert_eq!(
            object_state(Some(&ContainerSummaryStateEnum::REMOVING)),
            ObjectState::Unknown
        );
        assert_eq!(object_state(None), ObjectState::Unknown);
    }
}
