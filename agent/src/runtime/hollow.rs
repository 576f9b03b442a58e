//! # The hollow runtime: containers faked in memory (Kubernetes' kubemark)
//!
//! To test a control plane at scale you need many nodes, and nodes are expensive. Kubernetes'
//! answer is *kubemark*: a real kubelet wired to a fake container runtime, so a "hollow node"
//! registers, heartbeats, watches its pods and reports their status exactly like a real one,
//! but its containers are a few bytes in a map. One process can then play hundreds of nodes.
//!
//! The hollow runtime is that fake. It does no I/O and spawns nothing: a container's state is
//! computed from timestamps whenever someone asks (no timer per container, no thread per pod),
//! so a thousand pods cost a thousand small structs.
//!
//! ## How a hollow container behaves (conventions on the image name)
//!
//! | image name contains | behaviour |
//! | --- | --- |
//! | `missing` or `notfound` | `ensure_image` fails: the pod shows `ErrImagePull`, then `ImagePullBackOff` |
//! | `badconfig` | `create_container` fails: `CreateContainerError` |
//! | `crash` | runs for [`HollowConfig::run_for`], then exits with code 1 (`Error`) |
//! | `complete` | runs for [`HollowConfig::run_for`], then exits with code 0 (`Completed`) |
//! | `unready` | its readiness probe fails |
//! | `unhealthy` | its liveness probe fails |
//! | anything else | runs until stopped |
//!
//! Besides, [`HollowConfig::start_latency`] delays every start, a fraction
//! [`HollowConfig::start_failure_rate`] of starts fail (deterministically, from a seeded
//! generator), and [`HollowRuntime::set_probe_result`] flips a probe of one container by hand.
//!
//! Pod IPs come from a per-node range `10.<a>.<b>.1-254` (never contacted: probes of hollow
//! containers are answered by [`ContainerRuntime::simulated_probe`], not sent on the network).
//! `exec` succeeds with no output; `logs` returns a few fixed lines.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::time::Instant;

use super::{
    ContainerConfig, ContainerRuntime, ContainerState, ContainerStatus, ExecOutput, LogOptions, ProbeKind, PullPolicy,
    RuntimeError, SandboxConfig, SandboxStatus, VolumeConfig, VolumeStatus,
};

/// How a hollow node's containers behave.
#[derive(Clone, Debug)]
pub struct HollowConfig {
    pub node_name: String,
    pub cluster: String,
    /// How long `start_container` takes.
    pub start_latency: Duration,
    /// The fraction (0.0 to 1.0) of `start_container` calls that fail.
    pub start_failure_rate: f64,
    /// How long `crash` and `complete` images run before they exit.
    pub run_for: Duration,
    /// Which `/24`-sized range of `10.0.0.0/8` this node's pod IPs come from; by default a hash
    /// of the node name. `kubelab agent --nodes N` numbers its nodes so no two ranges collide.
    pub ip_range_index: Option<u16>,
    /// Seed of the generator that decides which starts fail.
    pub seed: u64,
}

impl HollowConfig {
    pub fn new(node_name: impl Into<String>, cluster: impl Into<String>) -> Self {
        HollowConfig {
            node_name: node_name.into(),
            cluster: cluster.into(),
            start_latency: Duration::ZERO,
            start_failure_rate: 0.0,
            run_for: Duration::from_secs(1),
            ip_range_index: None,
            seed: 1,
        }
    }
}

/// A node's worth of fake sandboxes and containers. Cheap to share: wrap it in an `Arc`.
pub struct HollowRuntime {
    config: HollowConfig,
    ip_prefix: [u8; 2],
    next_id: AtomicU64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sandboxes: HashMap<String, Sandbox>,
    containers: HashMap<String, Container>,
    /// Host octets (1..=254 in the third and fourth byte) currently in use.
    used_ips: std::collections::HashSet<u16>,
    /// Probe results set by hand: (pod name, container name, kind) → result.
    probe_overrides: HashMap<(String, String, ProbeKind), bool>,
    rng: u64,
    /// How many containers were ever created (to check for duplicates in tests).
    created_total: u64,
    /// Volumes by name (their labels): a name and nothing else, as there is no data to keep.
    volumes: HashMap<String, std::collections::BTreeMap<String, String>>,
}

struct Sandbox {
    config: SandboxConfig,
    ip_slot: Option<u16>,
    ready: bool,
    created_at: DateTime<Utc>,
}

struct Container {
    sandbox_id: String,
    config: ContainerConfig,
    created_at: DateTime<Utc>,
    /// When it started: the monotonic instant (to time its exit) and the wall clock (to report).
    started: Option<(Instant, DateTime<Utc>)>,
    /// How it ended when it was stopped: exit code and when.
    stopped: Option<(i32, DateTime<Utc>)>,
    exits_with: Option<i32>,
}

impl Container {
    fn state(&self, run_for: Duration, now: Instant) -> ContainerState {
        let Some((started, started_wall)) = self.started else {
            return match self.stopped {
                Some((code, at)) => exited(code, None, Some(at)),
                None => ContainerState::Created,
            };
        };
        if let Some(code) = self.exits_with {
            if now.saturating_duration_since(started) >= run_for {
                let finished = started_wall + chrono::Duration::from_std(run_for).unwrap_or_default();
                let finished = match self.stopped {
                    Some((_, at)) if at < finished => at,
                    _ => finished,
                };
                return exited(code, Some(started_wall), Some(finished));
            }
        }
        match self.stopped {
            // SIGTERM: a real process would usually exit 143; a clean 0 keeps hollow pods "Completed".
            Some((code, at)) => exited(code, Some(started_wall), Some(at)),
            None => ContainerState::Running {
                started_at: started_wall,
            },
        }
    }
}

fn exited(code: i32, started_at: Option<DateTime<Utc>>, finished_at: Option<DateTime<Utc>>) -> ContainerState {
    ContainerState::Exited {
        exit_code: code,
        started_at,
        finished_at,
        reason: if code == 0 { "Completed" } else { "Error" }.to_string(),
        message: None,
    }
}

impl HollowRuntime {
    pub fn new(config: HollowConfig) -> Self {
        let index = config
            .ip_range_index
            .unwrap_or_else(|| (fnv(&config.node_name) % 65_000) as u16);
        let state = State {
            rng: config.seed.max(1) ^ fnv(&config.node_name),
            ..State::default()
        };
        HollowRuntime {
            ip_prefix: index.to_be_bytes(),
            next_id: AtomicU64::new(1),
            state: Mutex::new(state),
            config,
        }
    }

    pub fn config(&self) -> &HollowConfig {
        &self.config
    }

    fn sandbox_status(&self, id: &str, s: &Sandbox) -> SandboxStatus {
        SandboxStatus {
            id: id.to_string(),
            pod_uid: s.config.pod_uid.clone(),
            namespace: s.config.namespace.clone(),
            pod_name: s.config.pod_name.clone(),
            ip: s.ip_slot.map(|slot| self.ip_of(slot)),
            ready: s.ready,
            created_at: Some(s.created_at),
        }
    }

    fn container_status(&self, id: &str, c: &Container, now: Instant) -> ContainerStatus {
        ContainerStatus {
            id: id.to_string(),
            sandbox_id: Some(c.sandbox_id.clone()),
            pod_uid: c.config.pod_uid.clone(),
            namespace: c.config.namespace.clone(),
            pod_name: c.config.pod_name.clone(),
            name: c.config.name.clone(),
            image: c.config.image.clone(),
            image_id: format!("hollow://sha256:{:016x}", fnv(&c.config.image)),
            state: c.state(self.config.run_for, now),
            restart_count: c.config.restart_count,
            created_at: Some(c.created_at),
        }
    }

    /// Makes the `kind` probe of container `container` of pod `pod_name` succeed or fail from now
    /// on (overrides the image-name convention).
    pub fn set_probe_result(&self, pod_name: &str, container: &str, kind: ProbeKind, success: bool) {
        self.lock()
            .probe_overrides
            .insert((pod_name.to_string(), container.to_string(), kind), success);
    }

    /// How many containers were created since this runtime began (tests use it to prove that an
    /// agent restart started nothing twice).
    pub fn containers_created(&self) -> u64 {
        self.lock().created_total
    }

    /// Makes a running container exit now with `exit_code`, as if its process had ended.
    pub fn kill_container(&self, container_id: &str, exit_code: i32) -> Result<(), RuntimeError> {
        let mut state = self.lock();
        let container = state
            .containers
            .get_mut(container_id)
            .ok_or_else(|| RuntimeError::NotFound(format!("container {container_id}")))?;
        if container.stopped.is_none() {
            container.stopped = Some((exit_code, Utc::now()));
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that matters
        // for a simulation, so a poisoned lock is simply taken over.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn new_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}{:016x}", fnv(&self.config.node_name), n)
    }

    fn ip_of(&self, slot: u16) -> String {
        let [a, b] = self.ip_prefix;
        // Slots 0..254*... map to 10.a.b.1-254, then the next /24 would collide with another
        // node, so a hollow node holds at most 254 pod IPs at once.
        format!("10.{a}.{b}.{}", slot + 1)
    }
}

/// FNV-1a: a tiny, stable hash (the standard library's is randomly seeded per process).
fn fnv(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// xorshift64: deterministic pseudo-random numbers without a dependency.
fn next_random(state: &mut u64) -> f64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[async_trait::async_trait]
impl ContainerRuntime for HollowRuntime {
    async fn version(&self) -> Result<String, RuntimeError> {
        Ok("hollow://1".to_string())
    }

    async fn ensure_image(&self, image: &str, _policy: PullPolicy) -> Result<String, RuntimeError> {
        if image.contains("missing") || image.contains("notfound") {
            return Err(RuntimeError::ImageNotFound {
                image: image.to_string(),
                message: "hollow images whose name contains \"missing\" never exist".into(),
            });
        }
        Ok(format!("hollow://sha256:{:016x}", fnv(image)))
    }

    async fn run_sandbox(&self, config: &SandboxConfig) -> Result<String, RuntimeError> {
        let id = self.new_id();
        let mut state = self.lock();
        let slot = (0..254u16).find(|slot| !state.used_ips.contains(slot)).ok_or_else(|| {
            RuntimeError::Runtime(format!(
                "hollow node {} has no free pod IP left (254 in use)",
                self.config.node_name
            ))
        })?;
        state.used_ips.insert(slot);
        let sandbox = Sandbox {
            config: config.clone(),
            ip_slot: Some(slot),
            ready: true,
            created_at: Utc::now(),
        };
        state.sandboxes.insert(id.clone(), sandbox);
        Ok(id)
    }

    async fn stop_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError> {
        let mut state = self.lock();
        let slot = match state.sandboxes.get_mut(sandbox_id) {
            Some(sandbox) => {
                sandbox.ready = false;
                sandbox.ip_slot.take()
            }
            None => None,
        };
        if let Some(slot) = slot {
            state.used_ips.remove(&slot);
        }
        Ok(())
    }

    async fn remove_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError> {
        let mut state = self.lock();
        if let Some(slot) = state.sandboxes.remove(sandbox_id).and_then(|s| s.ip_slot) {
            state.used_ips.remove(&slot);
        }
        Ok(())
    }

    async fn list_sandboxes(&self) -> Result<Vec<SandboxStatus>, RuntimeError> {
        let state = self.lock();
        Ok(state
            .sandboxes
            .iter()
            .map(|(id, s)| self.sandbox_status(id, s))
            .collect())
    }

    async fn create_container(&self, sandbox_id: &str, config: &ContainerConfig) -> Result<String, RuntimeError> {
        if config.image.contains("badconfig") {
            return Err(RuntimeError::InvalidConfig(format!(
                "hollow images whose name contains \"badconfig\" are refused: {}",
                config.image
            )));
        }
        // Mounts are not made, but checked as Docker's runtime checks them, and a volume mount
        // must name a volume that was ensured: the same mistakes fail the same way here.
        super::validate_mounts(&config.mounts)?;
        let id = self.new_id();
        let mut state = self.lock();
        if let Some(missing) = config
            .mounts
            .iter()
            .find(|m| m.kind == super::MountKind::Volume && !state.volumes.contains_key(&m.source))
        {
            return Err(RuntimeError::InvalidConfig(format!(
                "volume {:?} mounted at {:?} does not exist",
                missing.source, missing.target
            )));
        }
        if !state.sandboxes.contains_key(sandbox_id) {
            return Err(RuntimeError::NotFound(format!("sandbox {sandbox_id}")));
        }
        let exits_with = if config.image.contains("crash") {
            Some(1)
        } else if config.image.contains("complete") {
            Some(0)
        } else {
            None
        };
        let container = Container {
            sandbox_id: sandbox_id.to_string(),
            config: config.clone(),
            created_at: Utc::now(),
            started: None,
            stopped: None,
            exits_with,
        };
        state.containers.insert(id.clone(), container);
        state.created_total += 1;
        Ok(id)
    }

    async fn start_container(&self, container_id: &str) -> Result<(), RuntimeError> {
        if !self.config.start_latency.is_zero() {
            tokio::time::sleep(self.config.start_latency).await;
        }
        let mut state = self.lock();
        let rate = self.config.start_failure_rate;
        let fail = rate > 0.0 && next_random(&mut state.rng) < rate;
        let container = state
            .containers
            .get_mut(container_id)
            .ok_or_else(|| RuntimeError::NotFound(format!("container {container_id}")))?;
        if container.started.is_some() {
            return Err(RuntimeError::Runtime(format!(
                "container {container_id} was already started"
            )));
        }
        if fail {
            return Err(RuntimeError::Runtime("hollow: injected start failure".into()));
        }
        container.started = Some((Instant::now(), Utc::now()));
        Ok(())
    }

    async fn stop_container(&self, container_id: &str, _grace: Duration) -> Result<(), RuntimeError> {
        let mut state = self.lock();
        if let Some(container) = state.containers.get_mut(container_id) {
            let running = matches!(
                container.state(self.config.run_for, Instant::now()),
                ContainerState::Running { .. } | ContainerState::Created
            );
            if running && container.stopped.is_none() {
                // A hollow process "handles" SIGTERM at once and exits cleanly.
                container.stopped = Some((0, Utc::now()));
            }
        }
        Ok(())
    }

    async fn remove_container(&self, container_id: &str) -> Result<(), RuntimeError> {
        self.lock().containers.remove(container_id);
        Ok(())
    }

    async fn list_containers(&self) -> Result<Vec<ContainerStatus>, RuntimeError> {
        let state = self.lock();
        let now = Instant::now();
        Ok(state
            .containers
            .iter()
            .map(|(id, c)| self.container_status(id, c, now))
            .collect())
    }

    async fn list_pod(
        &self,
        namespace: &str,
        pod_name: &str,
    ) -> Result<(Vec<SandboxStatus>, Vec<ContainerStatus>), RuntimeError> {
        let state = self.lock();
        let now = Instant::now();
        let of_pod = |n: &str, p: &str| n == namespace && p == pod_name;
        let sandboxes = state
            .sandboxes
            .iter()
            .filter(|(_, s)| of_pod(&s.config.namespace, &s.config.pod_name))
            .map(|(id, s)| self.sandbox_status(id, s))
            .collect();
        let containers = state
            .containers
            .iter()
            .filter(|(_, c)| of_pod(&c.config.namespace, &c.config.pod_name))
            .map(|(id, c)| self.container_status(id, c, now))
            .collect();
        Ok((sandboxes, containers))
    }

    async fn exec(
        &self,
        container_id: &str,
        _command: &[String],
        _timeout: Duration,
    ) -> Result<ExecOutput, RuntimeError> {
        let state = self.lock();
        let container = state
            .containers
            .get(container_id)
            .ok_or_else(|| RuntimeError::NotFound(format!("container {container_id}")))?;
        match container.state(self.config.run_for, Instant::now()) {
            ContainerState::Running { .. } => Ok(ExecOutput::default()),
            _ => Err(RuntimeError::Runtime(format!(
                "container {container_id} is not running"
            ))),
        }
    }

    async fn logs(
        &self,
        container_id: &str,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<Bytes, RuntimeError>>, RuntimeError> {
        let state = self.lock();
        let container = state
            .containers
            .get(container_id)
            .ok_or_else(|| RuntimeError::NotFound(format!("container {container_id}")))?;
        let who = format!(
            "{} of pod {}/{}",
            container.config.name, container.config.namespace, container.config.pod_name
        );
        let mut lines: Vec<String> = (1..=3).map(|i| format!("hollow container {who}: line {i}\n")).collect();
        if let Some(tail) = options.tail_lines {
            let skip = lines.len().saturating_sub(usize::try_from(tail).unwrap_or(usize::MAX));
            lines.drain(..skip);
        }
        Ok(stream::iter(lines.into_iter().map(|l| Ok(Bytes::from(l)))).boxed())
    }

    async fn ensure_volume(&self, config: &VolumeConfig) -> Result<(), RuntimeError> {
        if config.name.is_empty() {
            return Err(RuntimeError::InvalidConfig("a volume needs a name".into()));
        }
        let mut labels = config.labels.clone();
        labels.insert(super::labels::CLUSTER.to_string(), self.config.cluster.clone());
        self.lock().volumes.entry(config.name.clone()).or_insert(labels);
        Ok(())
    }

    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        let mut state = self.lock();
        let in_use = state.containers.values().any(|c| {
            c.config
                .mounts
                .iter()
                .any(|m| m.kind == super::MountKind::Volume && m.source == name)
        });
        if in_use {
            return Err(RuntimeError::InvalidConfig(format!("volume {name} is in use")));
        }
        state.volumes.remove(name);
        Ok(())
    }

    async fn list_volumes(&self) -> Result<Vec<VolumeStatus>, RuntimeError> {
        let state = self.lock();
        Ok(state
            .volumes
            .iter()
            .map(|(name, labels)| VolumeStatus {
                name: name.clone(),
                labels: labels.clone(),
                in_use: state.containers.values().any(|c| {
                    c.config
                        .mounts
                        .iter()
                        .any(|m| m.kind == super::MountKind::Volume && &m.source == name)
                }),
            })
            .collect())
    }

    /// Hollow nodes make no files: mounts are planned and checked, never made.
    fn materializes_volumes(&self) -> bool {
        false
    }

    fn simulated_probe(&self, container_id: &str, kind: ProbeKind) -> Option<bool> {
        let state = self.lock();
        let Some(container) = state.containers.get(container_id) else {
            return Some(false);
        };
        let key = (container.config.pod_name.clone(), container.config.name.clone(), kind);
        if let Some(result) = state.probe_overrides.get(&key) {
            return Some(*result);
        }
        let image = &container.config.image;
        Some(match kind {
            ProbeKind::Readiness => !image.contains("unready"),
            ProbeKind::Liveness => !image.contains("unhealthy"),
            ProbeKind::Startup => true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::ObjectState;

    fn sandbox(uid: &str) -> SandboxConfig {
        SandboxConfig {
            pod_uid: uid.into(),
            namespace: "default".into(),
            pod_name: "p".into(),
            hostname: "p".into(),
            ..Default::default()
        }
    }

    fn container(name: &str, image: &str) -> ContainerConfig {
        ContainerConfig {
            pod_uid: "u1".into(),
            namespace: "default".into(),
            pod_name: "p".into(),
            name: name.into(),
            image: image.into(),
            ..Default::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn containers_run_crash_and_stop() {
        let rt = HollowRuntime::new(HollowConfig {
            ip_range_index: Some(258),
            ..HollowConfig::new("n1", "c")
        });
        let sb = rt.run_sandbox(&sandbox("u1")).await.unwrap();
        let sandboxes = rt.list_sandboxes().await.unwrap();
        assert_eq!(sandboxes[0].ip.as_deref(), Some("10.1.2.1"));
        let web = rt.create_container(&sb, &container("web", "nginx")).await.unwrap();
        let bad = rt.create_container(&sb, &container("bad", "crash:1")).await.unwrap();
        rt.start_container(&web).await.unwrap();
        rt.start_container(&bad).await.unwrap();
        let state = |id: String| {
            let rt = &rt;
            async move {
                let all = rt.list_containers().await.unwrap();
                all.into_iter().find(|c| c.id == id).unwrap().state
            }
        };
        assert!(matches!(state(bad.clone()).await, ContainerState::Running { .. }));
        tokio::time::advance(Duration::from_millis(1001)).await;
        assert!(matches!(
            state(bad.clone()).await,
            ContainerState::Exited { exit_code: 1, .. }
        ));
        assert!(matches!(state(web.clone()).await, ContainerState::Running { .. }));
        rt.stop_container(&web, Duration::from_secs(1)).await.unwrap();
        assert!(matches!(
            state(web.clone()).await,
            ContainerState::Exited { exit_code: 0, .. }
        ));
        assert!(rt.exec(&web, &[], Duration::from_secs(1)).await.is_err());
        rt.remove_container(&web).await.unwrap();
        rt.remove_container(&web).await.unwrap();
        assert_eq!(rt.list_containers().await.unwrap().len(), 1);
        assert_eq!(rt.containers_created(), 2);
    }

    #[tokio::test]
    async fn one_pods_objects_and_the_relist() {
        let rt = HollowRuntime::new(HollowConfig::new("n1", "c"));
        let sb = rt.run_sandbox(&sandbox("u1")).await.unwrap();
        let web = rt.create_container(&sb, &container("web", "nginx")).await.unwrap();
        rt.start_container(&web).await.unwrap();
        let other = SandboxConfig {
            pod_name: "q".into(),
            ..sandbox("u2")
        };
        let other_sb = rt.run_sandbox(&other).await.unwrap();

        let (sandboxes, containers) = rt.list_pod("default", "p").await.unwrap();
        assert_eq!(
            sandboxes.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            [sb.as_str()]
        );
        assert_eq!(
            containers.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            [web.as_str()]
        );
        let (sandboxes, containers) = rt.list_pod("default", "q").await.unwrap();
        assert_eq!((sandboxes.len(), containers.len()), (1, 0));
        let (sandboxes, _) = rt.list_pod("other", "p").await.unwrap();
        assert!(sandboxes.is_empty());

        let relisted = rt.relist().await.unwrap();
        assert_eq!(relisted.len(), 3);
        let web_summary = relisted.iter().find(|o| o.id == web).unwrap();
        assert_eq!((web_summary.sandbox, web_summary.state), (false, ObjectState::Running));
        let other_summary = relisted.iter().find(|o| o.id == other_sb).unwrap();
        assert!(other_summary.sandbox);
        assert_eq!(
            (other_summary.pod_name.as_str(), other_summary.pod_uid.as_str()),
            ("q", "u2")
        );
    }

    #[tokio::test]
    async fn image_conventions_and_probes() {
        let rt = HollowRuntime::new(HollowConfig::new("n1", "c"));
        assert!(matches!(
            rt.ensure_image("missing/app", PullPolicy::IfNotPresent).await,
            Err(RuntimeError::ImageNotFound { .. })
        ));
        assert!(rt.ensure_image("nginx", PullPolicy::Always).await.is_ok());
        let sb = rt.run_sandbox(&sandbox("u1")).await.unwrap();
        assert!(matches!(
            rt.create_container(&sb, &container("x", "badconfig")).await,
            Err(RuntimeError::InvalidConfig(_))
        ));
        let c = rt
            .create_container(&sb, &container("app", "web-unready"))
            .await
            .unwrap();
        assert_eq!(rt.simulated_probe(&c, ProbeKind::Readiness), Some(false));
        assert_eq!(rt.simulated_probe(&c, ProbeKind::Liveness), Some(true));
        rt.set_probe_result("p", "app", ProbeKind::Readiness, true);
        assert_eq!(rt.simulated_probe(&c, ProbeKind::Readiness), Some(true));
        rt.start_container(&c).await.unwrap();
        assert_eq!(rt.exec(&c, &[], Duration::from_secs(1)).await.unwrap().exit_code, 0);
        // Streaming exec: simulated (no output, exit 0) without stdin or a terminal, a clear
        // error with them, never a hang.
        let plain = crate::runtime::ExecStreamRequest {
            command: vec!["ls".into()],
            stdout: true,
            ..Default::default()
        };
        let stream = rt.exec_stream(&c, &plain).await.unwrap();
        assert_eq!(stream.output.collect::<Vec<_>>().await.len(), 0);
        assert_eq!(stream.control.exit_code().await.unwrap(), 0);
        let interactive = crate::runtime::ExecStreamRequest {
            stdin: true,
            tty: true,
            ..plain
        };
        match rt.exec_stream(&c, &interactive).await {
            Err(RuntimeError::InvalidConfig(message)) => assert!(message.contains("-i/-t"), "{message}"),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("a hollow exec got a terminal"),
        }
        let logs: Vec<_> = rt.logs(&c, &LogOptions::default()).await.unwrap().collect().await;
        assert_eq!(logs.len(), 3);
    }

    #[tokio::test]
    async fn injected_failures_and_ip_reuse() {
        let rt = HollowRuntime::new(HollowConfig {
            start_failure_rate: 1.0,
            ..HollowConfig::new("n1", "c")
        });
        let sb = rt.run_sandbox(&sandbox("u1")).await.unwrap();
        let c = rt.create_container(&sb, &container("app", "nginx")).await.unwrap();
        assert!(rt.start_container(&c).await.is_err());
        let first_ip = rt.list_sandboxes().await.unwrap()[0].ip.clone();
        rt.stop_sandbox(&sb).await.unwrap();
        rt.remove_sandbox(&sb).await.unwrap();
        rt.run_sandbox(&sandbox("u2")).await.unwrap();
        assert_eq!(rt.list_sandboxes().await.unwrap()[0].ip, first_ip);
    }
}
