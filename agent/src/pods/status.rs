//! The pod's status as the kubelet reports it: what `kubectl get pods` and `describe` show.
//!
//! Another pure function: from the spec, the observed containers and the plan's waiting
//! reasons it computes the whole `PodStatus`:
//!
//! - **phase**: `Pending` until every container has started at least once (init containers
//!   first), `Running` while any runs or will be restarted, `Succeeded`/`Failed` once all have
//!   exited for good under the restart policy;
//! - **conditions**: `PodReadyToStartContainers` (the sandbox is up), `Initialized`,
//!   `ContainersReady`, `Ready` (all containers ready, plus any readiness gates) and the
//!   scheduler's `PodScheduled`; a condition's `lastTransitionTime` only moves when its status
//!   flips;
//! - **containerStatuses**: each container's `state` (waiting with a reason, running, or
//!   terminated with exit code and times), the `lastState` of the previous run, `ready`,
//!   `started`, `restartCount`, image and IDs.
//!
//! The sync loop writes the result only if it differs from what the API server has, so a quiet
//! pod costs no writes at all. Times are kept to whole seconds, as they are on the wire, so that
//! comparison is exact.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kubelab_api::core::{
    Container, ContainerState as ApiState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus as ApiContainerStatus, Pod, PodCondition, PodIp, PodStatus,
};
use kubelab_api::Time;

use super::observed::ObservedPod;
use super::plan::{pod_finished, Waiting};
use crate::runtime::{ContainerState, ContainerStatus};

/// Facts about the node the status needs.
#[derive(Clone, Debug)]
pub struct StatusContext<'a> {
    /// The node's IP (`hostIP`).
    pub node_ip: &'a str,
    /// The runtime's name for container IDs (`docker`, `hollow`).
    pub runtime_scheme: &'a str,
}

/// Computes the status of `pod` from what is observed now.
pub fn compute_pod_status(
    pod: &Pod,
    observed: &ObservedPod,
    waiting: &BTreeMap<String, Waiting>,
    ctx: &StatusContext<'_>,
    now: DateTime<Utc>,
) -> PodStatus {
    let old = pod.status.clone().unwrap_or_default();
    let now = Time(truncate(now));
    let initialized = is_initialized(pod, observed);

    let init_statuses: Vec<ApiContainerStatus> = pod
        .spec
        .init_containers
        .iter()
        .map(|c| container_status(c, observed, waiting, ctx, true))
        .collect();
    let statuses: Vec<ApiContainerStatus> = pod
        .spec
        .containers
        .iter()
        .map(|c| {
            let mut status = container_status(c, observed, waiting, ctx, initialized);
            if !initialized && status.state.as_ref().and_then(|s| s.waiting.as_ref()).is_some() {
                status.state = Some(waiting_state("PodInitializing", None));
            }
            status
        })
        .collect();

    let finished = pod_finished(pod, observed);
    let phase = match finished {
        Some(true) => "Succeeded",
        Some(false) => "Failed",
        None if !initialized => "Pending",
        None => app_phase(&statuses),
    };

    let sandbox = observed.current_sandbox().filter(|s| s.ready);
    let pod_ip = sandbox.and_then(|s| s.ip.clone()).or_else(|| old.pod_ip.clone());

    let mut conditions = Vec::new();
    let mut condition = |type_: &str, ok: bool, reason: Option<String>, message: Option<String>| {
        let status = if ok { "True" } else { "False" };
        let previous = old.conditions.iter().find(|c| c.type_ == type_);
        let since = match previous {
            Some(p) if p.status == status => p.last_transition_time.or(Some(now)),
            _ => Some(now),
        };
        conditions.push(PodCondition {
            type_: type_.to_string(),
            status: status.to_string(),
            last_transition_time: since,
            reason: if ok { None } else { reason },
            message: if ok { None } else { message },
            ..Default::default()
        });
    };

    condition("PodReadyToStartContainers", sandbox.is_some(), None, None);
    let incomplete: Vec<&str> = pod
        .spec
        .init_containers
        .iter()
        .zip(&init_statuses)
        .filter(|(_, s)| !terminated_ok(s))
        .map(|(c, _)| c.name.as_str())
        .collect();
    condition(
        "Initialized",
        initialized,
        Some("ContainersNotInitialized".into()),
        Some(format!("containers with incomplete status: [{}]", incomplete.join(" "))),
    );
    let unready: Vec<&str> = statuses.iter().filter(|s| !s.ready).map(|s| s.name.as_str()).collect();
    let gates_ok = pod.spec.readiness_gates.iter().all(|gate| {
        old.conditions
            .iter()
            .any(|c| c.type_ == gate.condition_type && c.status == "True")
    });
    let (reason, message) = if finished.is_some() {
        ("PodCompleted".to_string(), None)
    } else {
        (
            "ContainersNotReady".to_string(),
            Some(format!("containers with unready status: [{}]", unready.join(" "))),
        )
    };
    let containers_ready = unready.is_empty() && finished.is_none();
    condition(
        "Ready",
        containers_ready && gates_ok,
        Some(reason.clone()),
        message.clone(),
    );
    condition("ContainersReady", containers_ready, Some(reason), message);
    match old.conditions.iter().find(|c| c.type_ == "PodScheduled") {
        Some(scheduled) => conditions.push(scheduled.clone()),
        None => conditions.push(PodCondition {
            type_: "PodScheduled".into(),
            status: "True".into(),
            last_transition_time: Some(now),
            ..Default::default()
        }),
    }
    // Conditions other components own (readiness gates, DisruptionTarget...) are kept as they are.
    for other in &old.conditions {
        if !conditions.iter().any(|c| c.type_ == other.type_) {
            conditions.push(other.clone());
        }
    }

    PodStatus {
        phase: Some(phase.to_string()),
        conditions,
        host_ip: Some(ctx.node_ip.to_string()),
        host_ips: vec![PodIp {
            ip: ctx.node_ip.to_string(),
        }],
        pod_ips: pod_ip.iter().map(|ip| PodIp { ip: ip.clone() }).collect(),
        pod_ip,
        start_time: old.start_time.or(Some(now)),
        init_container_statuses: init_statuses,
        container_statuses: statuses,
        qos_class: old.qos_class.clone().or_else(|| Some(qos_class(pod).to_string())),
        ..old
    }
}

/// The phase of an initialised pod that has not finished.
fn app_phase(statuses: &[ApiContainerStatus]) -> &'static str {
    let mut running = 0;
    let mut waiting = 0;
    for status in statuses {
        let state = status.state.clone().unwrap_or_default();
        if state.running.is_some() {
            running += 1;
        } else if state.waiting.is_some() && status.last_state.is_none() {
            // Never ran yet. (One waiting to be restarted has a lastState and counts as stopped.)
            waiting += 1;
        }
    }
    if waiting > 0 {
        "Pending"
    } else if running > 0 || !statuses.is_empty() {
        "Running"
    } else {
        "Pending"
    }
}

/// All init containers succeeded, or an app container already ran in the current sandbox.
pub fn is_initialized(pod: &Pod, observed: &ObservedPod) -> bool {
    let app_ran = pod
        .spec
        .containers
        .iter()
        .any(|c| observed.latest_in_sandbox(&c.name).is_some());
    app_ran
        || pod.spec.init_containers.iter().all(|c| {
            observed
                .latest(&c.name)
                .is_some_and(|i| matches!(i.state, ContainerState::Exited { exit_code: 0, .. }))
        })
}

fn terminated_ok(status: &ApiContainerStatus) -> bool {
    status
        .state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .is_some_and(|t| t.exit_code == 0)
}

fn container_status(
    spec: &Container,
    observed: &ObservedPod,
    waiting: &BTreeMap<String, Waiting>,
    ctx: &StatusContext<'_>,
    may_start: bool,
) -> ApiContainerStatus {
    let image = spec.image.clone().unwrap_or_default();
    let instances = observed.instances(&spec.name);
    let Some(latest) = instances.first().copied() else {
        let state = match waiting.get(&spec.name) {
            Some(w) => waiting_state(&w.reason, w.message.clone()),
            None if may_start => waiting_state("ContainerCreating", None),
            None => waiting_state("PodInitializing", None),
        };
        return ApiContainerStatus {
            name: spec.name.clone(),
            state: Some(state),
            image,
            started: Some(false),
            ..Default::default()
        };
    };
    let container_id = format!("{}://{}", ctx.runtime_scheme, latest.id);
    let previous = instances.get(1).map(|c| terminated_state(c, ctx));
    let (state, last_state) = match (&latest.state, waiting.get(&spec.name)) {
        (ContainerState::Exited { .. }, Some(w)) => (
            waiting_state(&w.reason, w.message.clone()),
            Some(terminated_state(latest, ctx)),
        ),
        (ContainerState::Exited { .. }, None) => (terminated_state(latest, ctx), previous),
        (ContainerState::Running { started_at }, _) => (
            ApiState {
                running: Some(ContainerStateRunning {
                    started_at: Some(Time(truncate(*started_at))),
                }),
                ..Default::default()
            },
            previous,
        ),
        (ContainerState::Created | ContainerState::Unknown, w) => (
            match w {
                Some(w) => waiting_state(&w.reason, w.message.clone()),
                None => waiting_state("ContainerCreating", None),
            },
            previous,
        ),
    };
    let running = state.running.is_some();
    let probes = observed.probe(&latest.id);
    let started = running && (spec.startup_probe.is_none() || probes.is_some_and(|p| p.started));
    let ready = started && (spec.readiness_probe.is_none() || probes.is_some_and(|p| p.ready));
    ApiContainerStatus {
        name: spec.name.clone(),
        state: Some(state),
        last_state,
        ready,
        restart_count: i32::try_from(latest.restart_count).unwrap_or(i32::MAX),
        image,
        image_id: latest.image_id.clone(),
        container_id: Some(container_id),
        started: Some(started),
        ..Default::default()
    }
}

fn waiting_state(reason: &str, message: Option<String>) -> ApiState {
    ApiState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.to_string()),
            message,
        }),
        ..Default::default()
    }
}

fn terminated_state(container: &ContainerStatus, ctx: &StatusContext<'_>) -> ApiState {
    let (exit_code, started_at, finished_at, reason, message) = match &container.state {
        ContainerState::Exited {
            exit_code,
            started_at,
            finished_at,
            reason,
            message,
        } => (*exit_code, *started_at, *finished_at, reason.clone(), message.clone()),
        // An older instance that somehow still runs is being stopped; report it as it will end.
        _ => (0, None, None, String::new(), None),
    };
    let reason = if reason.is_empty() {
        if exit_code == 0 { "Completed" } else { "Error" }.to_string()
    } else {
        reason
    };
    ApiState {
        terminated: Some(ContainerStateTerminated {
            exit_code,
            reason: Some(reason),
            message,
            started_at: started_at.map(|t| Time(truncate(t))),
            finished_at: finished_at.map(|t| Time(truncate(t))),
            container_id: Some(format!("{}://{}", ctx.runtime_scheme, container.id)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Drops sub-second precision: the wire format has whole seconds, and a status compared with
/// the one read back must not differ in invisible nanoseconds.
pub fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// `Guaranteed` when every container limits cpu and memory with requests equal to limits,
/// `BestEffort` when none asks for anything, `Burstable` otherwise.
pub fn qos_class(pod: &Pod) -> &'static str {
    let containers: Vec<&Container> = pod.spec.init_containers.iter().chain(&pod.spec.containers).collect();
    let mut any = false;
    let mut guaranteed = true;
    for c in &containers {
        let resources = c.resources.clone().unwrap_or_default();
        any |= !resources.limits.is_empty() || !resources.requests.is_empty();
        for name in ["cpu", "memory"] {
            let limit = resources.limits.get(name);
            let request = resources.requests.get(name).or(limit);
            let equal = match (limit, request) {
                (Some(l), Some(r)) => l.millis().ok() == r.millis().ok(),
                _ => false,
            };
            guaranteed &= equal;
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pods::observed::ProbeState;
    use crate::runtime::SandboxStatus;
    use serde_json::json;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 500).unwrap()
    }

    const CTX: StatusContext<'static> = StatusContext {
        node_ip: "127.0.0.1",
        runtime_scheme: "hollow",
    };

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "default", "uid": "u1"}, "spec": spec}))
            .unwrap()
    }

    fn sandbox() -> SandboxStatus {
        SandboxStatus {
            id: "s1".into(),
            pod_uid: "u1".into(),
            namespace: "default".into(),
            pod_name: "web".into(),
            ip: Some("10.1.0.7".into()),
            ready: true,
            created_at: Some(t(0)),
        }
    }

    fn instance(id: &str, name: &str, restarts: u32, state: ContainerState) -> ContainerStatus {
        ContainerStatus {
            id: id.into(),
            sandbox_id: Some("s1".into()),
            pod_uid: "u1".into(),
            namespace: "default".into(),
            pod_name: "web".into(),
            name: name.into(),
            image: "nginx".into(),
            image_id: "hollow://sha256:1".into(),
            state,
            restart_count: restarts,
            created_at: Some(t(restarts as i64)),
        }
    }

    fn cond<'a>(status: &'a PodStatus, type_: &str) -> &'a PodCondition {
        status.conditions.iter().find(|c| c.type_ == type_).unwrap()
    }

    #[test]
    fn a_pod_without_containers_yet_is_pending_and_creating() {
        let p = pod(json!({"containers": [{"name": "app", "image": "nginx"}]}));
        let s = compute_pod_status(&p, &ObservedPod::default(), &BTreeMap::new(), &CTX, t(0));
        assert_eq!(s.phase.as_deref(), Some("Pending"));
        let state = s.container_statuses[0].state.clone().unwrap();
        assert_eq!(state.waiting.unwrap().reason.as_deref(), Some("ContainerCreating"));
        assert_eq!(cond(&s, "Ready").status, "False");
        assert_eq!(cond(&s, "PodScheduled").status, "True");
        assert_eq!(s.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(s.qos_class.as_deref(), Some("BestEffort"));
    }

    #[test]
    fn a_running_pod_is_ready_with_ip_and_ids() {
        let p = pod(json!({"containers": [{"name": "app", "image": "nginx"}]}));
        let obs = ObservedPod::new(
            vec![sandbox()],
            vec![instance("c1", "app", 0, ContainerState::Running { started_at: t(1) })],
        );
        let s = compute_pod_status(&p, &obs, &BTreeMap::new(), &CTX, t(2));
        assert_eq!(s.phase.as_deref(), Some("Running"));
        assert_eq!(s.pod_ip.as_deref(), Some("10.1.0.7"));
        assert_eq!(s.pod_ips.len(), 1);
        let c = &s.container_statuses[0];
        assert!(c.ready);
        assert_eq!(c.started, Some(true));
        assert_eq!(c.container_id.as_deref(), Some("hollow://c1"));
        assert_eq!(cond(&s, "Ready").status, "True");
        assert_eq!(cond(&s, "ContainersReady").status, "True");
        assert_eq!(cond(&s, "Initialized").status, "True");
        // Times have whole seconds.
        let started = c.state.clone().unwrap().running.unwrap().started_at.unwrap();
        assert_eq!(started.0.timestamp_subsec_nanos(), 0);

        // Computing again from the written status keeps transition times, so nothing changes.
        let mut again = p.clone();
        again.status = Some(s.clone());
        assert_eq!(compute_pod_status(&again, &obs, &BTreeMap::new(), &CTX, t(50)), s);
    }

    #[test]
    fn readiness_probe_gates_ready() {
        let p = pod(
            json!({"containers": [{"name": "app", "image": "nginx", "readinessProbe": {"exec": {"command": ["true"]}}}]}),
        );
        let mut obs = ObservedPod::new(
            vec![sandbox()],
            vec![instance("c1", "app", 0, ContainerState::Running { started_at: t(1) })],
        );
        let s = compute_pod_status(&p, &obs, &BTreeMap::new(), &CTX, t(2));
        assert!(!s.container_statuses[0].ready);
        assert_eq!(cond(&s, "Ready").reason.as_deref(), Some("ContainersNotReady"));
        assert_eq!(
            cond(&s, "Ready").message.as_deref(),
            Some("containers with unready status: [app]")
        );
        obs.probes.insert(
            "c1".into(),
            ProbeState {
                started: true,
                ready: true,
                unhealthy: None,
            },
        );
        let s = compute_pod_status(&p, &obs, &BTreeMap::new(), &CTX, t(3));
        assert!(s.container_statuses[0].ready);
        assert_eq!(cond(&s, "Ready").status, "True");
    }

    #[test]
    fn crash_loop_shows_waiting_with_last_state() {
        let p = pod(json!({"containers": [{"name": "app", "image": "nginx"}]}));
        let obs = ObservedPod::new(
            vec![sandbox()],
            vec![instance(
                "c3",
                "app",
                3,
                ContainerState::Exited {
                    exit_code: 1,
                    started_at: Some(t(1)),
                    finished_at: Some(t(2)),
                    reason: String::new(),
                    message: None,
                },
            )],
        );
        let mut waiting = BTreeMap::new();
        waiting.insert(
            "app".to_string(),
            Waiting {
                reason: "CrashLoopBackOff".into(),
                message: Some("back-off 40s".into()),
            },
        );
        let s = compute_pod_status(&p, &obs, &waiting, &CTX, t(5));
        assert_eq!(s.phase.as_deref(), Some("Running"));
        let c = &s.container_statuses[0];
        assert_eq!(c.restart_count, 3);
        assert_eq!(
            c.state.clone().unwrap().waiting.unwrap().reason.as_deref(),
            Some("CrashLoopBackOff")
        );
        let last = c.last_state.clone().unwrap().terminated.unwrap();
        assert_eq!((last.exit_code, last.reason.as_deref()), (1, Some("Error")));
    }

    #[test]
    fn finished_pods_succeed_or_fail() {
        let p = pod(json!({"restartPolicy": "Never", "containers": [{"name": "app", "image": "x"}]}));
        let done = |code| {
            ObservedPod::new(
                vec![sandbox()],
                vec![instance(
                    "c1",
                    "app",
                    0,
                    ContainerState::Exited {
                        exit_code: code,
                        started_at: Some(t(1)),
                        finished_at: Some(t(2)),
                        reason: String::new(),
                        message: None,
                    },
                )],
            )
        };
        let s = compute_pod_status(&p, &done(0), &BTreeMap::new(), &CTX, t(3));
        assert_eq!(s.phase.as_deref(), Some("Succeeded"));
        assert_eq!(cond(&s, "Ready").reason.as_deref(), Some("PodCompleted"));
        let term = s.container_statuses[0].state.clone().unwrap().terminated.unwrap();
        assert_eq!(term.reason.as_deref(), Some("Completed"));
        let s = compute_pod_status(&p, &done(3), &BTreeMap::new(), &CTX, t(3));
        assert_eq!(s.phase.as_deref(), Some("Failed"));
    }

    #[test]
    fn init_containers_keep_the_pod_pending() {
        let p = pod(
            json!({"initContainers": [{"name": "init", "image": "x"}], "containers": [{"name": "app", "image": "nginx"}]}),
        );
        let obs = ObservedPod::new(
            vec![sandbox()],
            vec![instance("i1", "init", 0, ContainerState::Running { started_at: t(1) })],
        );
        let s = compute_pod_status(&p, &obs, &BTreeMap::new(), &CTX, t(2));
        assert_eq!(s.phase.as_deref(), Some("Pending"));
        assert_eq!(cond(&s, "Initialized").status, "False");
        assert_eq!(
            cond(&s, "Initialized").message.as_deref(),
            Some("containers with incomplete status: [init]")
        );
        let app = s.container_statuses[0].state.clone().unwrap().waiting.unwrap();
        assert_eq!(app.reason.as_deref(), Some("PodInitializing"));
        assert_eq!(s.init_container_statuses.len(), 1);
    }

    #[test]
    fn qos_classes() {
        let guaranteed =
            pod(json!({"containers": [{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}));
        assert_eq!(qos_class(&guaranteed), "Guaranteed");
        let burstable = pod(json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}]}));
        assert_eq!(qos_class(&burstable), "Burstable");
    }
}
