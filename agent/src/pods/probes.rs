//! Probes: how the agent learns whether a container is alive, ready, and done starting.
//!
//! Kubernetes gives a container up to three health checks, each run periodically by the
//! kubelet:
//!
//! | probe | while failing | after `failureThreshold` failures in a row |
//! | --- | --- | --- |
//! | `startupProbe` | the other two do not run yet | the container is killed (and restarted per policy) |
//! | `livenessProbe` | nothing yet | the container is killed (event `Unhealthy`, then `Killing`) |
//! | `readinessProbe` | — | the container is not ready, so the pod is not `Ready` and Services skip it |
//!
//! `successThreshold` successes in a row make a container ready again. A probe runs
//! `initialDelaySeconds` after the container starts, every `periodSeconds`, and fails if it
//! takes longer than `timeoutSeconds`. It is one of:
//!
//! - `httpGet`: a GET to the pod's IP; a status from 200 to 399 is a success;
//! - `tcpSocket`: a TCP connection that opens;
//! - `exec`: a command run in the container (through the runtime) that exits 0.
//!
//! Each probe of each running container is a small task (not a thread), started by
//! [`ProbeManager::sync`] after a pod sync and aborted when the container goes away. A runner only
//! records results and enqueues the pod when something changed; acting on them (killing an
//! unhealthy container, flipping `Ready`) is the pod sync's job, like everything else.
//!
//! Probes never leave the node's own networks: an `httpGet`/`tcpSocket` target must be the pod's
//! IP or a loopback address, anything else fails. The hollow runtime answers probes itself
//! ([`ContainerRuntime::simulated_probe`]), so fake pod IPs are never dialled.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kubelab_api::core::{Container, Pod, Probe};
use kubelab_api::intstr::IntOrString;
use kubelab_client::WorkQueue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::AbortHandle;

use super::observed::{ObservedPod, ProbeState};
use crate::events::{EventRecorder, EventType};
use crate::runtime::{ContainerRuntime, ContainerState, ProbeKind};

/// Runs the probes of one node's containers and keeps their latest results.
#[derive(Clone)]
pub struct ProbeManager {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Arc<dyn ContainerRuntime>,
    queue: WorkQueue,
    events: EventRecorder,
    results: Mutex<HashMap<String, ProbeState>>,
    /// Container id → (pod key, its runners).
    runners: Mutex<HashMap<String, (String, Vec<AbortHandle>)>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ProbeManager {
    pub fn new(runtime: Arc<dyn ContainerRuntime>, queue: WorkQueue, events: EventRecorder) -> Self {
        ProbeManager {
            inner: Arc::new(Inner {
                runtime,
                queue,
                events,
                results: Mutex::default(),
                runners: Mutex::default(),
            }),
        }
    }

    /// The results of the given containers, for [`ObservedPod::probes`].
    pub fn results_for<'a>(&self, ids: impl Iterator<Item = &'a str>) -> BTreeMap<String, ProbeState> {
        let results = lock(&self.inner.results);
        ids.filter_map(|id| results.get(id).map(|r| (id.to_string(), r.clone())))
            .collect()
    }

    /// Starts runners for the running containers of `pod` that have probes, and stops the
    /// runners of its containers that no longer run. `key` is the pod's queue key. Runners share
    /// the informer's copy of the pod (for their events) rather than each keeping one.
    pub fn sync(&self, key: &str, pod: &Arc<Pod>, observed: &ObservedPod) {
        let pod_ip = observed
            .current_sandbox()
            .and_then(|s| s.ip.clone())
            .unwrap_or_default();
        let mut wanted: HashSet<String> = HashSet::new();
        let deleting = pod.metadata.deletion_timestamp.is_some();
        for container in pod.spec.containers.iter().filter(|_| !deleting) {
            let probes = [
                (ProbeKind::Startup, &container.startup_probe),
                (ProbeKind::Liveness, &container.liveness_probe),
                (ProbeKind::Readiness, &container.readiness_probe),
            ];
            if probes.iter().all(|(_, p)| p.is_none()) {
                continue;
            }
            let Some(instance) = observed.latest_in_sandbox(&container.name) else {
                continue;
            };
            if !matches!(instance.state, ContainerState::Running { .. }) {
                continue;
            }
            wanted.insert(instance.id.clone());
            let mut runners = lock(&self.inner.runners);
            if runners.contains_key(&instance.id) {
                continue;
            }
            lock(&self.inner.results).insert(
                instance.id.clone(),
                ProbeState {
                    started: container.startup_probe.is_none(),
                    ready: false,
                    unhealthy: None,
                },
            );
            let target = Target {
                key: key.to_string(),
                pod: pod.clone(),
                container: container.clone(),
                container_id: instance.id.clone(),
                pod_ip: pod_ip.clone(),
            };
            let handles = probes
                .into_iter()
                .filter_map(|(kind, probe)| {
                    let probe = probe.clone()?;
                    let runner = run_probe(self.clone(), target.clone(), kind, probe);
                    Some(tokio::spawn(runner).abort_handle())
                })
                .collect();
            runners.insert(instance.id.clone(), (key.to_string(), handles));
        }
        self.stop_except(key, &wanted);
    }

    /// Stops every runner (the agent is stopping). Runners hold the manager, so they must be
    /// stopped explicitly rather than when the last handle is dropped.
    pub fn stop_all(&self) {
        let mut runners = lock(&self.inner.runners);
        for (_, (_, handles)) in runners.drain() {
            handles.iter().for_each(AbortHandle::abort);
        }
        lock(&self.inner.results).clear();
    }

    /// Stops every runner of pod `key` (the pod is gone).
    pub fn forget(&self, key: &str) {
        self.stop_except(key, &HashSet::new());
    }

    fn stop_except(&self, key: &str, keep: &HashSet<String>) {
        let mut runners = lock(&self.inner.runners);
        let stale: Vec<String> = runners
            .iter()
            .filter(|(id, (k, _))| k == key && !keep.contains(*id))
            .map(|(id, _)| id.clone())
            .collect();
        let mut results = lock(&self.inner.results);
        for id in stale {
            if let Some((_, handles)) = runners.remove(&id) {
                handles.iter().for_each(AbortHandle::abort);
            }
            results.remove(&id);
        }
    }

    /// Changes a container's result; enqueues its pod if the change matters.
    fn update(&self, target: &Target, change: impl FnOnce(&mut ProbeState)) {
        let changed = {
            let mut results = lock(&self.inner.results);
            let Some(state) = results.get_mut(&target.container_id) else {
                return;
            };
            let before = state.clone();
            change(state);
            *state != before
        };
        if changed {
            self.inner.queue.add(target.key.clone());
        }
    }

    fn started(&self, container_id: &str) -> bool {
        lock(&self.inner.results).get(container_id).is_some_and(|s| s.started)
    }
}

#[derive(Clone)]
struct Target {
    key: String,
    pod: Arc<Pod>,
    container: Container,
    container_id: String,
    pod_ip: String,
}

/// The probe's numbers with Kubernetes' defaults and minimums.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

impl Timing {
    pub fn of(probe: &Probe) -> Self {
        let secs = |v: Option<i32>, default: i32, min: i32| Duration::from_secs(v.unwrap_or(default).max(min) as u64);
        let count = |v: Option<i32>, default: i32| v.unwrap_or(default).max(1) as u32;
        Timing {
            initial_delay: secs(probe.initial_delay_seconds, 0, 0),
            period: secs(probe.period_seconds, 10, 1),
            timeout: secs(probe.timeout_seconds, 1, 1),
            success_threshold: count(probe.success_threshold, 1),
            failure_threshold: count(probe.failure_threshold, 3),
        }
    }
}

/// Counts results in a row and says when a threshold is crossed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Streak {
    successes: u32,
    failures: u32,
}

impl Streak {
    /// Records one result; returns `Some(true)` when the success threshold is reached,
    /// `Some(false)` when the failure threshold is, `None` otherwise.
    pub fn record(&mut self, success: bool, timing: &Timing) -> Option<bool> {
        if success {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            (self.successes >= timing.success_threshold).then_some(true)
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            (self.failures >= timing.failure_threshold).then_some(false)
        }
    }
}

async fn run_probe(manager: ProbeManager, target: Target, kind: ProbeKind, probe: Probe) {
    let timing = Timing::of(&probe);
    tokio::time::sleep(timing.initial_delay).await;
    let mut ticker = tokio::time::interval(timing.period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut streak = Streak::default();
    let name = match kind {
        ProbeKind::Liveness => "Liveness",
        ProbeKind::Readiness => "Readiness",
        ProbeKind::Startup => "Startup",
    };
    loop {
        ticker.tick().await;
        let started = manager.started(&target.container_id);
        match kind {
            ProbeKind::Startup if started => return,
            ProbeKind::Liveness | ProbeKind::Readiness if !started => continue,
            _ => {}
        }
        let result = probe_once(&manager.inner.runtime, &target, kind, &probe, timing.timeout).await;
        if let Err(why) = &result {
            manager.inner.events.pod(
                &target.pod,
                Some(&target.container.name),
                EventType::Warning,
                "Unhealthy",
                format!("{name} probe failed: {why}"),
            );
        }
        let verdict = streak.record(result.is_ok(), &timing);
        match (kind, verdict) {
            (ProbeKind::Readiness, Some(ready)) => manager.update(&target, |s| s.ready = ready),
            (ProbeKind::Startup, Some(true)) => {
                manager.update(&target, |s| s.started = true);
                return;
            }
            (ProbeKind::Startup, Some(false)) | (ProbeKind::Liveness, Some(false)) => {
                let why = format!("failed {} probe", name.to_lowercase());
                manager.update(&target, |s| s.unhealthy = Some(why));
                return;
            }
            _ => {}
        }
    }
}

/// Runs one probe: `Ok` on success, `Err` with the reason otherwise.
async fn probe_once(
    runtime: &Arc<dyn ContainerRuntime>,
    target: &Target,
    kind: ProbeKind,
    probe: &Probe,
    timeout: Duration,
) -> Result<(), String> {
    if let Some(success) = runtime.simulated_probe(&target.container_id, kind) {
        return if success {
            Ok(())
        } else {
            Err("simulated probe failure".into())
        };
    }
    if let Some(exec) = &probe.exec {
        let output = runtime
            .exec(&target.container_id, &exec.command, timeout)
            .await
            .map_err(|e| e.to_string())?;
        return match output.exit_code {
            0 => Ok(()),
            code => Err(format!("command {:?} exited with {code}", exec.command)),
        };
    }
    if let Some(http) = &probe.http_get {
        if http.scheme.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("HTTPS")) {
            return Err("HTTPS probes are not supported by kubelab".into());
        }
        let host = allowed_host(http.host.as_deref(), &target.pod_ip)?;
        let port = resolve_port(&http.port, &target.container)?;
        let headers: Vec<(String, String)> = http
            .http_headers
            .iter()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        let path = http.path.clone().unwrap_or_else(|| "/".into());
        let code = tokio::time::timeout(timeout, http_get(host, port, &path, &headers))
            .await
            .map_err(|_| format!("Get \"http://{host}:{port}{path}\": timed out after {timeout:?}"))??;
        return if (200..400).contains(&code) {
            Ok(())
        } else {
            Err(format!("HTTP probe failed with statuscode: {code}"))
        };
    }
    if let Some(tcp) = &probe.tcp_socket {
        let host = allowed_host(tcp.host.as_deref(), &target.pod_ip)?;
        let port = resolve_port(&tcp.port, &target.container)?;
        return match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("dial tcp {host}:{port}: {e}")),
            Err(_) => Err(format!("dial tcp {host}:{port}: timed out")),
        };
    }
    if probe.grpc.is_some() {
        return Err("gRPC probes are not supported by kubelab".into());
    }
    Err("the probe has no handler (exec, httpGet or tcpSocket)".into())
}

/// The address to probe: the pod's IP unless `host` says otherwise, and then only a loopback
/// address or the pod's IP itself. Probes are never sent anywhere else.
pub fn allowed_host(host: Option<&str>, pod_ip: &str) -> Result<IpAddr, String> {
    let wanted = host.filter(|h| !h.is_empty()).unwrap_or(pod_ip);
    let wanted = if wanted == "localhost" { "127.0.0.1" } else { wanted };
    let ip: IpAddr = wanted
        .parse()
        .map_err(|_| format!("probe host {wanted:?} is not an IP address (the pod has no IP yet?)"))?;
    if ip.is_loopback() || wanted == pod_ip {
        Ok(ip)
    } else {
        Err(format!("probe host {ip} is neither the pod's IP nor loopback; refused"))
    }
}

/// A probe's port: a number, or the name of one of the container's ports.
pub fn resolve_port(port: &IntOrString, container: &Container) -> Result<u16, String> {
    let number = match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => match name.parse::<i32>() {
            Ok(n) => n,
            Err(_) => container
                .ports
                .iter()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| p.container_port)
                .ok_or_else(|| format!("the container has no port named {name:?}"))?,
        },
    };
    u16::try_from(number)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("invalid port {number}"))
}

/// A bare HTTP/1.1 GET; returns the status code.
async fn http_get(host: IpAddr, port: u16, path: &str, headers: &[(String, String)]) -> Result<u16, String> {
    let url = format!("http://{host}:{port}{path}");
    let mut stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("Get \"{url}\": {e}"))?;
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\nConnection: close\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("Get \"{url}\": {e}"))?;
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = stream.read(&mut buf).await.map_err(|e| format!("Get \"{url}\": {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("Get \"{url}\": malformed HTTP response"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_thresholds() {
        let probe: Probe = serde_json::from_value(json!({"exec": {"command": ["true"]}})).unwrap();
        let timing = Timing::of(&probe);
        assert_eq!(timing.period, Duration::from_secs(10));
        assert_eq!(timing.timeout, Duration::from_secs(1));
        assert_eq!((timing.success_threshold, timing.failure_threshold), (1, 3));
        let mut streak = Streak::default();
        assert_eq!(streak.record(false, &timing), None);
        assert_eq!(streak.record(false, &timing), None);
        assert_eq!(streak.record(false, &timing), Some(false));
        assert_eq!(streak.record(true, &timing), Some(true));
        let strict = Timing {
            success_threshold: 2,
            ..timing
        };
        let mut streak = Streak::default();
        assert_eq!(streak.record(true, &strict), None);
        assert_eq!(streak.record(true, &strict), Some(true));
    }

    #[test]
    fn probes_only_target_the_pod_or_loopback() {
        assert_eq!(allowed_host(None, "10.1.0.4").unwrap().to_string(), "10.1.0.4");
        assert!(allowed_host(Some("127.0.0.1"), "10.1.0.4").is_ok());
        assert!(allowed_host(Some("localhost"), "10.1.0.4").is_ok());
        assert!(allowed_host(Some("8.8.8.8"), "10.1.0.4").is_err());
        assert!(allowed_host(Some("example.com"), "10.1.0.4").is_err());
        assert!(allowed_host(None, "").is_err());
    }

    #[test]
    fn named_ports() {
        let c: Container =
            serde_json::from_value(json!({"name": "a", "ports": [{"name": "http", "containerPort": 8080}]})).unwrap();
        assert_eq!(resolve_port(&IntOrString::String("http".into()), &c), Ok(8080));
        assert_eq!(resolve_port(&IntOrString::Int(81), &c), Ok(81));
        assert!(resolve_port(&IntOrString::String("grpc".into()), &c).is_err());
        assert!(resolve_port(&IntOrString::Int(0), &c).is_err());
    }

    #[tokio::test]
    async fn http_and_tcp_probes_against_a_loopback_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            for code in [200, 503] {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                let answer = format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n");
                socket.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        let host: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(http_get(host, port, "/healthz", &[]).await, Ok(200));
        assert_eq!(http_get(host, port, "/healthz", &[]).await, Ok(503));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_liveness_probe_marks_the_container_unhealthy() {
        use crate::runtime::hollow::{HollowConfig, HollowRuntime};
        use crate::runtime::{ContainerConfig, ContainerRuntime as _, SandboxConfig};
        let hollow = Arc::new(HollowRuntime::new(HollowConfig::new("n1", "c")));
        let sandbox = hollow.run_sandbox(&SandboxConfig::default()).await.unwrap();
        let config = ContainerConfig {
            name: "app".into(),
            pod_name: "web".into(),
            image: "app-unhealthy".into(),
            ..Default::default()
        };
        let id = hollow.create_container(&sandbox, &config).await.unwrap();
        hollow.start_container(&id).await.unwrap();
        let pod: Arc<Pod> = Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": "web", "namespace": "default", "uid": "u"},
                "spec": {"containers": [{"name": "app", "image": "app-unhealthy",
                    "livenessProbe": {"exec": {"command": ["x"]}, "periodSeconds": 5, "failureThreshold": 2},
                    "readinessProbe": {"exec": {"command": ["x"]}, "initialDelaySeconds": 3}}]}
            }))
            .unwrap(),
        );
        let observed = ObservedPod::new(
            hollow.list_sandboxes().await.unwrap(),
            hollow.list_containers().await.unwrap(),
        );
        let queue = WorkQueue::new();
        let manager = ProbeManager::new(hollow.clone(), queue.clone(), EventRecorder::disabled());
        manager.sync("default/web", &pod, &observed);
        let result = |m: &ProbeManager| m.results_for([id.as_str()].into_iter()).remove(&id).unwrap();
        assert!(!result(&manager).ready);
        // Readiness passes after its initial delay; liveness fails twice, 5 s apart.
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(result(&manager).ready);
        assert_eq!(result(&manager).unhealthy, None);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(result(&manager).unhealthy.as_deref(), Some("failed liveness probe"));
        assert_eq!(queue.get().await.as_deref(), Some("default/web"));
        // The container goes away: its runners stop and its results are forgotten.
        manager.forget("default/web");
        assert!(manager.results_for([id.as_str()].into_iter()).is_empty());
    }
}
