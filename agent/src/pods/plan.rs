//! The plan: what must happen to a pod's containers, worked out without touching anything.
//!
//! This is the kubelet's `computePodActions`. It compares the pod's spec (what should run) with
//! the observed state (what the runtime runs) and returns a list of steps: kill these, start
//! those, make a new sandbox. It is a pure function of its inputs — no runtime, no clock, no
//! network — so every rule of a pod's life is tested here with plain values:
//!
//! - **no sandbox, or a dead one**: kill whatever still runs and make a new sandbox; its
//!   containers start again from the first init container (the network they shared is gone);
//! - **init containers** run one at a time, in order; each must exit 0 before the next starts,
//!   and the app containers start only when all have;
//! - **app containers** that never ran are started; one that exited is restarted according to
//!   `restartPolicy` (`Always`; `OnFailure`: only after a non-zero exit; `Never`), after the
//!   crash-loop back-off ([`super::backoff`]);
//! - a running container whose **image changed**, or whose **liveness probe** failed, is
//!   killed; the next sync restarts it like any exited container;
//! - a pod **being deleted** (it has a `deletionTimestamp`) has everything stopped with its
//!   grace period, then removed, and finally the pod object itself is deleted;
//! - old instances are garbage-collected: the two newest of each container are kept (the
//!   previous one is what `kubectl logs --previous` reads).
//!
//! The executor ([`super::actions`]) carries the steps out in a fixed order and stops at the
//! first failure; the next sync plans again from what then exists, so a half-done plan is never
//! a problem.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kubelab_api::core::{Container, Pod};

use super::backoff::BackoffPolicy;
use super::observed::{exit_of, is_alive, FailureKind, ObservedPod};
use crate::runtime::ContainerState;

/// Kubernetes' default grace period when neither the delete nor the pod says.
pub const DEFAULT_GRACE_SECONDS: i64 = 30;

/// The steps of one sync, in the order they are carried out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodActions {
    /// Containers to stop (SIGTERM, then SIGKILL after the grace period).
    pub kill: Vec<KillContainer>,
    /// Sandboxes to stop.
    pub stop_sandboxes: Vec<String>,
    /// Container instances to remove (they are stopped, or being stopped by `kill`).
    pub remove_containers: Vec<String>,
    /// Sandboxes to remove.
    pub remove_sandboxes: Vec<String>,
    /// Make a new sandbox; the containers of `start` go into it.
    pub create_sandbox: bool,
    /// Containers to create and start, in order.
    pub start: Vec<StartContainer>,
    /// Everything of the pod is gone and it is being deleted: delete the pod object.
    pub delete_pod: bool,
    /// Containers that wait for something, with the reason the status shows
    /// (`CrashLoopBackOff`, `ImagePullBackOff`...).
    pub waiting: BTreeMap<String, Waiting>,
    /// Sync again after this long even if nothing happens (a back-off ends then).
    pub requeue_after: Option<Duration>,
}

impl PodActions {
    /// Whether the plan changes anything.
    pub fn is_empty(&self) -> bool {
        self.kill.is_empty()
            && self.stop_sandboxes.is_empty()
            && self.remove_containers.is_empty()
            && self.remove_sandboxes.is_empty()
            && !self.create_sandbox
            && self.start.is_empty()
            && !self.delete_pod
    }

    fn requeue(&mut self, after: Duration) {
        self.requeue_after = Some(self.requeue_after.map_or(after, |d| d.min(after)));
    }
}

/// A container to stop.
#[derive(Clone, Debug, PartialEq)]
pub struct KillContainer {
    pub id: String,
    pub name: String,
    pub reason: KillReason,
    pub grace: Duration,
}

/// Why a container is stopped; the `Killing` event says it.
#[derive(Clone, Debug, PartialEq)]
pub enum KillReason {
    /// The pod is being deleted.
    PodDeleted,
    /// The pod's sandbox died, so its containers lost their network and start again.
    SandboxChanged,
    /// The container's image in the spec is no longer the one it runs.
    SpecChanged,
    /// The liveness (or startup) probe failed; the text says how.
    Unhealthy(String),
    /// A leftover in an old sandbox, or a container the spec no longer has.
    Stale,
}

impl KillReason {
    /// The `Killing` event's message, as the kubelet words it.
    pub fn message(&self, name: &str) -> String {
        match self {
            KillReason::PodDeleted => format!("Stopping container {name}"),
            KillReason::SandboxChanged => format!("Stopping container {name}: pod sandbox changed"),
            KillReason::SpecChanged => format!("Container {name} definition changed, will be restarted"),
            KillReason::Unhealthy(why) => format!("Container {name} {why}, will be restarted"),
            KillReason::Stale => format!("Stopping stale container {name}"),
        }
    }
}

/// A container to create and start.
#[derive(Clone, Debug, PartialEq)]
pub struct StartContainer {
    pub name: String,
    /// An init container (found in `spec.initContainers`).
    pub init: bool,
    /// The restart count the new instance carries.
    pub restart_count: u32,
}

/// Why a container is not running, as `state.waiting` shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    pub reason: String,
    pub message: Option<String>,
}

/// `restartPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

impl RestartPolicy {
    pub fn of(pod: &Pod) -> Self {
        match pod.spec.restart_policy.as_deref() {
            Some("OnFailure") => RestartPolicy::OnFailure,
            Some("Never") => RestartPolicy::Never,
            _ => RestartPolicy::Always,
        }
    }

    /// Whether a container that exited with `exit_code` is started again.
    pub fn restarts(self, exit_code: i32) -> bool {
        match self {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => exit_code != 0,
            RestartPolicy::Never => false,
        }
    }
}

/// Plans the next steps for `pod` given what is `observed`, at time `now`.
pub fn compute_pod_actions(
    pod: &Pod,
    observed: &ObservedPod,
    now: DateTime<Utc>,
    backoff: &BackoffPolicy,
) -> PodActions {
    let mut actions = PodActions::default();
    if pod.metadata.deletion_timestamp.is_some() {
        plan_deletion(pod, observed, &mut actions);
        return actions;
    }
    let policy = RestartPolicy::of(pod);
    let sandbox_ok = observed.current_sandbox().is_some_and(|s| s.ready);
    let finished = pod_finished(pod, observed);

    if !sandbox_ok {
        if finished.is_some() {
            // A finished pod whose sandbox is gone stays finished: nothing is started again.
            collect_garbage(pod, observed, None, &mut actions);
            return actions;
        }
        for container in observed.containers.iter().filter(|c| is_alive(&c.state)) {
            actions
                .kill
                .push(kill(container.id.clone(), &container.name, KillReason::SandboxChanged));
        }
        actions.create_sandbox = true;
        collect_garbage(pod, observed, None, &mut actions);
        plan_containers(pod, observed, policy, now, backoff, true, &mut actions);
        return actions;
    }

    let current = observed.current_sandbox().map(|s| s.id.clone());
    collect_garbage(pod, observed, current.as_deref(), &mut actions);
    plan_containers(pod, observed, policy, now, backoff, false, &mut actions);
    if finished.is_some() && actions.start.is_empty() {
        // Nothing will run in it again: free its network (and, in Docker, the pause container).
        actions.stop_sandboxes.extend(current);
    }
    actions
}

/// How a pod ended, if it did: `Some(true)` succeeded, `Some(false)` failed.
pub fn pod_finished(pod: &Pod, observed: &ObservedPod) -> Option<bool> {
    let policy = RestartPolicy::of(pod);
    if policy == RestartPolicy::Never {
        let init_failed = pod.spec.init_containers.iter().any(|c| {
            observed
                .latest(&c.name)
                .and_then(|i| exit_of(&i.state))
                .is_some_and(|(code, _)| code != 0)
        });
        if init_failed {
            return Some(false);
        }
    }
    if pod.spec.containers.is_empty() {
        return None;
    }
    let mut all_succeeded = true;
    for container in &pod.spec.containers {
        let (code, _) = observed.latest(&container.name).and_then(|i| exit_of(&i.state))?;
        if policy.restarts(code) {
            return None;
        }
        all_succeeded &= code == 0;
    }
    Some(all_succeeded)
}

fn plan_deletion(pod: &Pod, observed: &ObservedPod, actions: &mut PodActions) {
    let seconds = pod
        .metadata
        .deletion_grace_period_seconds
        .or(pod.spec.termination_grace_period_seconds)
        .unwrap_or(DEFAULT_GRACE_SECONDS)
        .max(0);
    let grace = Duration::from_secs(seconds.unsigned_abs());
    for container in observed.containers.iter().filter(|c| is_alive(&c.state)) {
        actions.kill.push(KillContainer {
            id: container.id.clone(),
            name: container.name.clone(),
            reason: KillReason::PodDeleted,
            grace,
        });
    }
    actions.stop_sandboxes = observed
        .sandboxes
        .iter()
        .filter(|s| s.ready)
        .map(|s| s.id.clone())
        .collect();
    actions.remove_containers = observed.containers.iter().map(|c| c.id.clone()).collect();
    actions.remove_sandboxes = observed.sandboxes.iter().map(|s| s.id.clone()).collect();
    actions.delete_pod = true;
}

/// Old instances and old sandboxes: kill what still runs outside the current sandbox, remove
/// dead instances beyond the two newest of each container, and remove old sandboxes nothing
/// refers to any more. `current` is `None` when a new sandbox is about to be made.
fn collect_garbage(pod: &Pod, observed: &ObservedPod, current: Option<&str>, actions: &mut PodActions) {
    let in_spec: BTreeSet<&str> = spec_containers(pod).map(|(c, _)| c.name.as_str()).collect();
    let mut kept: BTreeSet<&str> = BTreeSet::new();
    let mut names: Vec<&str> = observed.containers.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    names.dedup();
    for name in names {
        for (age, instance) in observed.instances(name).into_iter().enumerate() {
            let outside = current.is_some() && instance.sandbox_id.as_deref() != current;
            let known = in_spec.contains(name);
            if is_alive(&instance.state) && (outside || !known) && current.is_some() {
                actions.kill.push(kill(instance.id.clone(), name, KillReason::Stale));
            }
            if age >= 2 || !known {
                actions.remove_containers.push(instance.id.clone());
            } else if let Some(sandbox) = instance.sandbox_id.as_deref() {
                kept.insert(sandbox);
            }
        }
    }
    for sandbox in &observed.sandboxes {
        if Some(sandbox.id.as_str()) == current {
            continue;
        }
        if sandbox.ready {
            actions.stop_sandboxes.push(sandbox.id.clone());
        }
        if !kept.contains(sandbox.id.as_str()) {
            actions.remove_sandboxes.push(sandbox.id.clone());
        }
    }
}

/// Every container of the spec with whether it is an init container.
fn spec_containers(pod: &Pod) -> impl Iterator<Item = (&Container, bool)> {
    pod.spec
        .init_containers
        .iter()
        .map(|c| (c, true))
        .chain(pod.spec.containers.iter().map(|c| (c, false)))
}

/// Plans init and app containers. With `new_sandbox`, nothing of the current sandbox counts.
fn plan_containers(
    pod: &Pod,
    observed: &ObservedPod,
    policy: RestartPolicy,
    now: DateTime<Utc>,
    backoff: &BackoffPolicy,
    new_sandbox: bool,
    actions: &mut PodActions,
) {
    let in_sandbox = |name: &str| {
        if new_sandbox {
            None
        } else {
            observed.latest_in_sandbox(name)
        }
    };
    let next_count = |name: &str| observed.latest(name).map_or(0, |c| c.restart_count.saturating_add(1));

    // Init containers, one at a time, unless an app container already ran in this sandbox (then
    // initialisation finished earlier and its containers may since have been cleaned up).
    let app_started = pod.spec.containers.iter().any(|c| in_sandbox(&c.name).is_some());
    if !app_started {
        for init in &pod.spec.init_containers {
            let Some(instance) = in_sandbox(&init.name) else {
                try_start(observed, init, true, next_count(&init.name), now, backoff, actions);
                return;
            };
            match &instance.state {
                ContainerState::Exited { exit_code: 0, .. } => continue,
                ContainerState::Exited {
                    exit_code, finished_at, ..
                } => {
                    if policy != RestartPolicy::Never {
                        restart_after_backoff(
                            pod,
                            observed,
                            init,
                            true,
                            instance.restart_count,
                            (*exit_code, *finished_at),
                            now,
                            backoff,
                            actions,
                        );
                    }
                    return;
                }
                ContainerState::Running { .. } => return,
                ContainerState::Created | ContainerState::Unknown => {
                    replace_unstarted(observed, init, true, instance, now, backoff, actions);
                    return;
                }
            }
        }
    }

    for app in &pod.spec.containers {
        let Some(instance) = in_sandbox(&app.name) else {
            try_start(observed, app, false, next_count(&app.name), now, backoff, actions);
            continue;
        };
        match &instance.state {
            ContainerState::Running { .. } => {
                let wanted = app.image.as_deref().unwrap_or_default();
                if !same_image(&instance.image, wanted) {
                    actions
                        .kill
                        .push(kill(instance.id.clone(), &app.name, KillReason::SpecChanged));
                } else if let Some(why) = observed.probe(&instance.id).and_then(|p| p.unhealthy.clone()) {
                    actions
                        .kill
                        .push(kill(instance.id.clone(), &app.name, KillReason::Unhealthy(why)));
                }
            }
            ContainerState::Exited {
                exit_code, finished_at, ..
            } => {
                if policy.restarts(*exit_code) {
                    restart_after_backoff(
                        pod,
                        observed,
                        app,
                        false,
                        instance.restart_count,
                        (*exit_code, *finished_at),
                        now,
                        backoff,
                        actions,
                    );
                }
            }
            ContainerState::Created | ContainerState::Unknown => {
                replace_unstarted(observed, app, false, instance, now, backoff, actions);
            }
        }
    }
}

/// A container created but never started (an earlier sync failed between the two steps), or
/// one the runtime cannot describe: remove it and start a fresh one with the same count.
fn replace_unstarted(
    observed: &ObservedPod,
    container: &Container,
    init: bool,
    instance: &crate::runtime::ContainerStatus,
    now: DateTime<Utc>,
    backoff: &BackoffPolicy,
    actions: &mut PodActions,
) {
    if instance.state == ContainerState::Unknown {
        actions
            .kill
            .push(kill(instance.id.clone(), &container.name, KillReason::Stale));
    }
    if !actions.remove_containers.contains(&instance.id) {
        actions.remove_containers.push(instance.id.clone());
    }
    try_start(observed, container, init, instance.restart_count, now, backoff, actions);
}

/// Restarts an exited container once its crash-loop back-off is over.
#[allow(clippy::too_many_arguments)]
fn restart_after_backoff(
    pod: &Pod,
    observed: &ObservedPod,
    container: &Container,
    init: bool,
    restarts: u32,
    (_code, finished_at): (i32, Option<DateTime<Utc>>),
    now: DateTime<Utc>,
    backoff: &BackoffPolicy,
    actions: &mut PodActions,
) {
    let delay = backoff.restart_delay(restarts);
    if let Some(remaining) = BackoffPolicy::remaining(finished_at.unwrap_or(now), delay, now) {
        let message = format!(
            "back-off {} restarting failed container={} pod={}_{}({})",
            human(delay),
            container.name,
            pod.metadata.name(),
            pod.metadata.namespace(),
            pod.metadata.uid.as_deref().unwrap_or_default()
        );
        actions.waiting.insert(
            container.name.clone(),
            Waiting {
                reason: "CrashLoopBackOff".into(),
                message: Some(message),
            },
        );
        actions.requeue(remaining);
        return;
    }
    try_start(
        observed,
        container,
        init,
        restarts.saturating_add(1),
        now,
        backoff,
        actions,
    );
}

/// Starts a container unless its last start failure is still backing off.
fn try_start(
    observed: &ObservedPod,
    container: &Container,
    init: bool,
    restart_count: u32,
    now: DateTime<Utc>,
    backoff: &BackoffPolicy,
    actions: &mut PodActions,
) {
    if let Some(failure) = observed.failures.get(&container.name) {
        // A pull or a create that failed backs off more each time. A missing ConfigMap or key is
        // retried at the base period (the kubelet's pod worker retries every 10 s), so creating
        // the object later lets the pod start soon after; a volume that cannot be mounted yet
        // is retried as the kubelet's volume manager does, from 500 ms up.
        let delay = match failure.kind {
            FailureKind::Config => backoff.base,
            FailureKind::Mount => BackoffPolicy::MOUNT.retry_delay(failure.count),
            _ => backoff.retry_delay(failure.count),
        };
        if let Some(remaining) = BackoffPolicy::remaining(failure.at, delay, now) {
            let image = container.image.as_deref().unwrap_or_default();
            let (reason, message) = match failure.kind {
                FailureKind::ImagePull => (
                    "ImagePullBackOff",
                    format!("Back-off pulling image \"{image}\": {}", failure.message),
                ),
                FailureKind::Config => ("CreateContainerConfigError", failure.message.clone()),
                FailureKind::Create => ("CreateContainerError", failure.message.clone()),
                FailureKind::Start => ("RunContainerError", failure.message.clone()),
                FailureKind::Mount => ("ContainerCreating", String::new()),
            };
            actions.waiting.insert(
                container.name.clone(),
                Waiting {
                    reason: reason.into(),
                    // As the kubelet: ContainerCreating has no message (the events say why).
                    message: Some(message).filter(|m| !m.is_empty()),
                },
            );
            actions.requeue(remaining);
            return;
        }
    }
    actions.start.push(StartContainer {
        name: container.name.clone(),
        init,
        restart_count,
    });
}

fn kill(id: String, name: &str, reason: KillReason) -> KillContainer {
    KillContainer {
        id,
        name: name.to_string(),
        reason,
        grace: Duration::from_secs(DEFAULT_GRACE_SECONDS.unsigned_abs()),
    }
}

/// `10s`, `2m40s`, `5m0s`: Go's duration format, as in the kubelet's messages.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else if secs > 0 {
        format!("{secs}s")
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Whether two image references name the same image (`nginx` = `docker.io/library/nginx:latest`).
pub fn same_image(running: &str, wanted: &str) -> bool {
    normalize_image(running) == normalize_image(wanted)
}

fn normalize_image(image: &str) -> String {
    let image = image.strip_prefix("docker.io/").unwrap_or(image);
    let image = image.strip_prefix("library/").unwrap_or(image);
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') || last.contains('@') {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pods::observed::{ProbeState, StartFailure};
    use crate::runtime::{ContainerStatus, SandboxStatus};
    use serde_json::json;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    fn pod(extra: serde_json::Value) -> Pod {
        let mut base = json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "nginx"}]}
        });
        merge(&mut base, extra);
        serde_json::from_value(base).unwrap()
    }

    fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
        match (a, b) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    fn sandbox(id: &str, ready: bool, created: i64) -> SandboxStatus {
        SandboxStatus {
            id: id.into(),
            pod_uid: "u1".into(),
            namespace: "default".into(),
            pod_name: "web".into(),
            ip: ready.then(|| "10.0.0.5".to_string()),
            ready,
            created_at: Some(t(created)),
        }
    }

    fn container(id: &str, name: &str, sandbox: &str, restarts: u32, state: ContainerState) -> ContainerStatus {
        ContainerStatus {
            id: id.into(),
            sandbox_id: Some(sandbox.into()),
            pod_uid: "u1".into(),
            namespace: "default".into(),
            pod_name: "web".into(),
            name: name.into(),
            image: "nginx".into(),
            image_id: "sha256:1".into(),
            state,
            restart_count: restarts,
            created_at: Some(t(restarts as i64)),
        }
    }

    fn running() -> ContainerState {
        ContainerState::Running { started_at: t(0) }
    }

    fn exited(code: i32, at: i64) -> ContainerState {
        ContainerState::Exited {
            exit_code: code,
            started_at: Some(t(0)),
            finished_at: Some(t(at)),
            reason: String::new(),
            message: None,
        }
    }

    fn plan(pod: &Pod, observed: &ObservedPod, now: i64) -> PodActions {
        compute_pod_actions(pod, observed, t(now), &BackoffPolicy::default())
    }

    fn started(actions: &PodActions) -> Vec<(&str, u32)> {
        actions
            .start
            .iter()
            .map(|s| (s.name.as_str(), s.restart_count))
            .collect()
    }

    #[test]
    fn a_new_pod_gets_a_sandbox_and_its_containers() {
        let p = pod(json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}));
        let actions = plan(&p, &ObservedPod::default(), 0);
        assert!(actions.create_sandbox);
        assert_eq!(started(&actions), vec![("a", 0), ("b", 0)]);
        assert!(actions.kill.is_empty() && !actions.delete_pod);
    }

    #[test]
    fn a_running_pod_needs_nothing() {
        let obs = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![container("c1", "app", "s1", 0, running())],
        );
        let actions = plan(&pod(json!({})), &obs, 5);
        assert!(actions.is_empty(), "{actions:?}");
        assert_eq!(actions.requeue_after, None);
    }

    #[test]
    fn a_dead_sandbox_kills_everything_and_starts_over() {
        let obs = ObservedPod::new(
            vec![sandbox("s1", false, 0)],
            vec![container("c1", "app", "s1", 2, running())],
        );
        let actions = plan(&pod(json!({})), &obs, 5);
        assert!(actions.create_sandbox);
        assert_eq!(actions.kill.len(), 1);
        assert_eq!(actions.kill[0].reason, KillReason::SandboxChanged);
        // Restart counts go on from the old instance.
        assert_eq!(started(&actions), vec![("app", 3)]);
        assert_eq!(actions.stop_sandboxes, Vec::<String>::new());
        // The old sandbox stays while the kept instance refers to it.
        assert!(actions.remove_sandboxes.is_empty());
    }

    #[test]
    fn a_newer_sandbox_replaces_older_ones() {
        let obs = ObservedPod::new(
            vec![sandbox("old", true, 0), sandbox("new", true, 10)],
            vec![container("c1", "app", "new", 0, running())],
        );
        let actions = plan(&pod(json!({})), &obs, 20);
        assert_eq!(actions.stop_sandboxes, vec!["old".to_string()]);
        assert_eq!(actions.remove_sandboxes, vec!["old".to_string()]);
        assert!(actions.start.is_empty() && !actions.create_sandbox);
    }

    #[test]
    fn init_containers_run_in_order_before_app_containers() {
        let p = pod(json!({"spec": {"initContainers": [{"name": "i1", "image": "x"}, {"name": "i2", "image": "x"}]}}));
        let fresh = plan(&p, &ObservedPod::default(), 0);
        assert!(fresh.create_sandbox);
        assert_eq!(started(&fresh), vec![("i1", 0)]);

        let obs = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![container("c1", "i1", "s1", 0, running())],
        );
        assert!(plan(&p, &obs, 1).is_empty());

        let obs = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![container("c1", "i1", "s1", 0, exited(0, 1))],
        );
        assert_eq!(started(&plan(&p, &obs, 2)), vec![("i2", 0)]);

        let obs = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![
                container("c1", "i1", "s1", 0, exited(0, 1)),
                container("c2", "i2", "s1", 0, exited(0, 2)),
            ],
        );
        assert_eq!(started(&plan(&p, &obs, 3)), vec![("app", 0)]);
    }

    #[test]
    fn a_failed_init_container_restarts_with_backoff_or_fails_the_pod() {
        let p = pod(json!({"spec": {"initContainers": [{"name": "i1", "image": "x"}]}}));
        let obs = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![container("c1", "i1", "s1", 1, exited(1, 10))],
        );
        let actions = plan(&p, &obs, 12);
        assert!(actions.start.is_empty());
        assert_eq!(actions.waiting["i1"].reason, "CrashLoopBackOff");
        assert_eq!(actions.requeue_after, Some(Duration::from_secs(8)));
        assert_eq!(started(&plan(&p, &obs, 20)), vec![("i1", 2)]);

        let never = pod(json!({"spec": {"restartPolicy": "Never", "initContainers": [{"name": "i1", "image": "x"}]}}));
        let actions = plan(&never, &obs, 100);
        assert!(actions.start.is_empty());
        assert_eq!(pod_finished(&never, &obs), Some(false));
        assert_eq!(actions.stop_sandboxes, vec!["s1".to_string()]);
    }

    #[test]
    fn restart_policy_always_restarts_after_backoff() {
        let p = pod(json!({}));
        // First crash: restarted at once.
        let obs = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![container("c1", "app", "s1", 0, exited(1, 10))],
        );
        assert_eq!(started(&plan(&p, &obs, 10)), vec![("app", 1)]);
        // After the third restart: wait 40 s from the finish.
        let obs = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![container("c4", "app", "s1", 3, exited(1, 100))],
        );
        let waiting = plan(&p, &obs, 110);
        assert!(waiting.start.is_empty());
        assert_eq!(waiting.requeue_after, Some(Duration::from_secs(30)));
        let w = &waiting.waiting["app"];
        assert_eq!(w.reason, "CrashLoopBackOff");
        assert_eq!(
            w.message.as_deref(),
            Some("back-off 40s restarting failed container=app pod=web_default(u1)")
        );
        assert_eq!(started(&plan(&p, &obs, 140)), vec![("app", 4)]);
        // A clean exit restarts too under Always.
        let obs = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![container("c1", "app", "s1", 0, exited(0, 10))],
        );
        assert_eq!(started(&plan(&p, &obs, 10)), vec![("app", 1)]);
    }

    #[test]
    fn on_failure_and_never() {
        let on_failure = pod(json!({"spec": {"restartPolicy": "OnFailure"}}));
        let ok = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![container("c1", "app", "s1", 0, exited(0, 10))],
        );
        let failed = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![container("c1", "app", "s1", 0, exited(2, 10))],
        );
        let done = plan(&on_failure, &ok, 11);
        assert!(done.start.is_empty());
        assert_eq!(
            done.stop_sandboxes,
            vec!["s1".to_string()],
            "a finished pod frees its sandbox"
        );
        assert_eq!(pod_finished(&on_failure, &ok), Some(true));
        assert_eq!(started(&plan(&on_failure, &failed, 11)), vec![("app", 1)]);

        let never = pod(json!({"spec": {"restartPolicy": "Never"}}));
        assert!(plan(&never, &failed, 11).start.is_empty());
        assert_eq!(pod_finished(&never, &failed), Some(false));
        // A finished pod whose sandbox was stopped is left alone.
        let stopped = ObservedPod::new(
            vec![sandbox("s1", false, 0)],
            vec![container("c1", "app", "s1", 0, exited(0, 10))],
        );
        assert!(plan(&never, &stopped, 20).is_empty());
    }

    #[test]
    fn a_changed_image_or_failed_liveness_kills_the_container() {
        let p = pod(json!({"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}));
        let obs = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![container("c1", "app", "s1", 0, running())],
        );
        let actions = plan(&p, &obs, 5);
        assert_eq!(actions.kill.len(), 1);
        assert_eq!(actions.kill[0].reason, KillReason::SpecChanged);

        let mut obs = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![container("c1", "app", "s1", 0, running())],
        );
        obs.probes.insert(
            "c1".into(),
            ProbeState {
                started: true,
                ready: false,
                unhealthy: Some("failed liveness probe".into()),
            },
        );
        let actions = plan(&pod(json!({})), &obs, 5);
        assert_eq!(
            actions.kill[0].reason,
            KillReason::Unhealthy("failed liveness probe".into())
        );
        assert!(
            actions.start.is_empty(),
            "restarted by the next sync, after it has exited"
        );
        assert!(same_image("docker.io/library/nginx:latest", "nginx"));
        assert!(!same_image("nginx:1.26", "nginx"));
    }

    #[test]
    fn deletion_stops_with_grace_then_removes_everything() {
        let p =
            pod(json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z", "deletionGracePeriodSeconds": 7}}));
        let obs = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![
                container("c1", "app", "s1", 1, running()),
                container("c0", "app", "s1", 0, exited(1, 1)),
            ],
        );
        let actions = plan(&p, &obs, 5);
        assert_eq!(actions.kill.len(), 1);
        assert_eq!(actions.kill[0].grace, Duration::from_secs(7));
        assert_eq!(actions.kill[0].reason, KillReason::PodDeleted);
        assert_eq!(actions.stop_sandboxes, vec!["s1".to_string()]);
        assert_eq!(actions.remove_containers.len(), 2);
        assert_eq!(actions.remove_sandboxes, vec!["s1".to_string()]);
        assert!(actions.delete_pod && !actions.create_sandbox && actions.start.is_empty());

        let gone = plan(&p, &ObservedPod::default(), 6);
        assert!(gone.delete_pod && gone.kill.is_empty());
    }

    #[test]
    fn old_instances_are_garbage_collected() {
        let obs = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![
                container("c0", "app", "s1", 0, exited(1, 1)),
                container("c1", "app", "s1", 1, exited(1, 2)),
                container("c2", "app", "s1", 2, running()),
                container("x", "gone", "s1", 0, running()),
            ],
        );
        let actions = plan(&pod(json!({})), &obs, 5);
        assert_eq!(actions.remove_containers, vec!["c0".to_string(), "x".to_string()]);
        assert_eq!(actions.kill.len(), 1);
        assert_eq!(actions.kill[0].id, "x");
    }

    #[test]
    fn image_pull_failures_back_off() {
        let mut obs = ObservedPod::new(vec![sandbox("s1", true, 0)], vec![]);
        obs.failures.insert(
            "app".into(),
            StartFailure {
                kind: FailureKind::ImagePull,
                message: "not found".into(),
                at: t(10),
                count: 2,
            },
        );
        let actions = plan(&pod(json!({})), &obs, 15);
        assert!(actions.start.is_empty());
        assert_eq!(actions.waiting["app"].reason, "ImagePullBackOff");
        assert_eq!(actions.requeue_after, Some(Duration::from_secs(15)));
        assert_eq!(started(&plan(&pod(json!({})), &obs, 31)), vec![("app", 0)]);
    }

    #[test]
    fn a_created_but_unstarted_container_is_replaced() {
        let obs = ObservedPod::new(
            vec![sandbox("s1", true, 0)],
            vec![container("c1", "app", "s1", 2, ContainerState::Created)],
        );
        let actions = plan(&pod(json!({})), &obs, 5);
        assert_eq!(actions.remove_containers, vec!["c1".to_string()]);
        assert_eq!(started(&actions), vec![("app", 2)]);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(10)), "10s");
        assert_eq!(human(Duration::from_secs(300)), "5m0s");
        assert_eq!(human(Duration::from_millis(200)), "200ms");
    }
}
