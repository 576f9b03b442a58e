//! # Which container instance a request means
//!
//! A pod's container is not one Docker container but a line of *instances*: every restart makes
//! a new one, and the agent keeps the last dead ones around (see the pod planner's cleanup). So
//! `kubectl logs web -c app` must pick the **current** instance — the newest, running or not —
//! and `--previous` the one before it, which must have exited. Kubernetes' kubelet does the same
//! with its restart counts, and so does this pure function, tested without any runtime.
//!
//! If a pod was deleted and made again under the same name, instances of both pods (two pod
//! uids) may exist for a moment; the newest pod's instances win.

use crate::runtime::{ContainerState, ContainerStatus};

/// Why no instance matches.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LookupError {
    /// The pod has no instance of that container (yet, or any more).
    #[error("container {container:?} in pod {namespace}/{pod} is not available")]
    NotAvailable {
        namespace: String,
        pod: String,
        container: String,
    },
    /// `previous` was asked for, but the container never restarted.
    #[error("previous terminated container {container:?} in pod {pod:?} not found")]
    NoPrevious { pod: String, container: String },
}

/// Picks the current instance of `container` of pod `namespace/pod` (or, with `previous`, the
/// last exited instance before it) among everything the runtime lists.
pub fn pick_instance<'a>(
    containers: &'a [ContainerStatus],
    namespace: &str,
    pod: &str,
    container: &str,
    previous: bool,
) -> Result<&'a ContainerStatus, LookupError> {
    let mut instances: Vec<&ContainerStatus> = containers
        .iter()
        .filter(|c| c.namespace == namespace && c.pod_name == pod && c.name == container)
        .collect();
    // The newest pod (by the creation time of its newest instance) is the one the API knows.
    let newest_uid = instances.iter().max_by_key(|c| c.created_at).map(|c| c.pod_uid.clone());
    instances.retain(|c| Some(&c.pod_uid) == newest_uid.as_ref());
    // Oldest first: by restart count, then creation time.
    instances.sort_by_key(|c| (c.restart_count, c.created_at));
    let not_available = || LookupError::NotAvailable {
        namespace: namespace.to_string(),
        pod: pod.to_string(),
        container: container.to_string(),
    };
    let current = instances.pop().ok_or_else(not_available)?;
    if !previous {
        return Ok(current);
    }
    instances
        .into_iter()
        .rev()
        .find(|c| matches!(c.state, ContainerState::Exited { .. }))
        .ok_or_else(|| LookupError::NoPrevious {
            pod: pod.to_string(),
            container: container.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn instance(id: &str, uid: &str, name: &str, restarts: u32, at: i64, exited: bool) -> ContainerStatus {
        let started = Utc.timestamp_opt(at, 0).single();
        ContainerStatus {
            id: id.into(),
            sandbox_id: None,
            pod_uid: uid.into(),
            namespace: "default".into(),
            pod_name: "web".into(),
            name: name.into(),
            image: "kubelab/demo:latest".into(),
            image_id: String::new(),
            state: if exited {
                ContainerState::Exited {
                    exit_code: 1,
                    started_at: started,
                    finished_at: started,
                    reason: "Error".into(),
                    message: None,
                }
            } else {
                ContainerState::Running {
                    started_at: started.unwrap_or_default(),
                }
            },
            restart_count: restarts,
            created_at: started,
        }
    }

    #[test]
    fn current_is_the_newest_and_previous_the_exited_one_before() {
        let all = vec![
            instance("c1", "u1", "app", 1, 20, true),
            instance("c0", "u1", "app", 0, 10, true),
            instance("c2", "u1", "app", 2, 30, false),
            instance("s0", "u1", "sidecar", 0, 10, false),
        ];
        assert_eq!(pick_instance(&all, "default", "web", "app", false).unwrap().id, "c2");
        assert_eq!(pick_instance(&all, "default", "web", "app", true).unwrap().id, "c1");
        assert_eq!(
            pick_instance(&all, "default", "web", "sidecar", true),
            Err(LookupError::NoPrevious {
                pod: "web".into(),
                container: "sidecar".into()
            })
        );
        let missing = pick_instance(&all, "default", "web", "nope", false).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "container \"nope\" in pod default/web is not available"
        );
        assert!(pick_instance(&all, "other", "web", "app", false).is_err());
    }

    #[test]
    fn a_crashed_current_instance_is_still_current() {
        let all = vec![
            instance("c0", "u1", "app", 0, 10, true),
            instance("c1", "u1", "app", 1, 20, true),
        ];
        assert_eq!(pick_instance(&all, "default", "web", "app", false).unwrap().id, "c1");
        assert_eq!(pick_instance(&all, "default", "web", "app", true).unwrap().id, "c0");
    }

    #[test]
    fn the_newest_pod_of_a_name_wins() {
        let all = vec![
            instance("old", "u1", "app", 3, 10, false),
            instance("new", "u2", "app", 0, 50, false),
        ];
        assert_eq!(pick_instance(&all, "default", "web", "app", false).unwrap().id, "new");
        assert!(pick_instance(&all, "default", "web", "app", true).is_err());
    }
}
