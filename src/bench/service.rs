//! # `kubelab bench service`: the service proxy against direct traffic and HAProxy
//!
//! Sets up the smallest real Service data plane: a cluster network, an API server (listening on
//! the network's gateway too, where proxies reach it), N `kubelab/demo web` backends as plain
//! containers, a Service with an allocated ClusterIP and a hand-written Endpoints object, and
//! the service-proxy manager (in this process), which starts the Service's proxy container.
//! Then, from the host:
//!
//! - **throughput** at `--connections` keep-alive connections: straight to one backend, spread
//!   straight over all backends, through the ClusterIP (the proxy container), through the same
//!   `kubelab-proxy` program run as a host process on 127.0.0.1, and through HAProxy (`mode tcp`,
//!   `balance leastconn` over the same backends, on 127.0.0.1) when `haproxy` is installed. The
//!   two loopback runs compare the programs on equal paths; the ClusterIP run adds Docker's
//!   bridge between the client and the proxy;
//! - **latency at a fixed rate** (`--rate`, open loop): p99 through the ClusterIP (and HAProxy)
//!   minus p99 straight to the backends: what the proxy adds;
//! - **endpoint-change propagation**: the Endpoints object is switched between two backends;
//!   time from the API server's answer to the first new connection that reaches the new one;
//! - the proxy's **resident memory** (`VmRSS`/`VmHWM` of its process), after all of the above.
//!
//! Everything it creates carries the bench's own cluster label and is removed at the end.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use bollard::models::{ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig};
use bollard::query_parameters::CreateContainerOptions;
use bollard::Docker;
use kubelab_agent::runtime::docker::{connect_docker, remove_cluster_objects, ClusterNetwork};
use serde_json::{json, Value};
use tokio::process::{Child, Command};
use tokio::time::Instant;

use super::http_load::{fixed_rate, throughput, Connection};
use super::stats::LatencySummary;

/// Flags of `kubelab bench service`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServiceBenchArgs {
    /// Keep-alive connections of the throughput and latency runs.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Seconds of each throughput and latency run.
    #[arg(long, default_value_t = 5)]
    pub duration: u64,
    /// Requests/s of the latency runs.
    #[arg(long, default_value_t = 5000)]
    pub rate: u64,
    /// How many backend containers.
    #[arg(long, default_value_t = 3)]
    pub backends: usize,
    /// How many endpoint changes to time.
    #[arg(long, default_value_t = 30)]
    pub changes: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One throughput run.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Throughput {
    pub requests_per_second: f64,
    pub errors: u64,
    /// CPU time the proxy process spent per request (user + system), where measured: a figure
    /// that a busy machine disturbs much less than requests/s.
    pub proxy_cpu_us_per_request: Option<f64>,
}

/// What `kubelab bench service` measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServiceReport {
    pub connections: usize,
    pub backends: usize,
    pub direct_one_backend: Throughput,
    pub direct_all_backends: Throughput,
    pub cluster_ip: Throughput,
    /// The same proxy program as a host process on 127.0.0.1: like for like with HAProxy.
    pub proxy_on_loopback: Throughput,
    /// `None` when `haproxy` is not installed.
    pub haproxy: Option<Throughput>,
    /// The proxy's requests/s over HAProxy's, both as host processes on 127.0.0.1.
    pub vs_haproxy: Option<f64>,
    pub rate: u64,
    pub latency_direct: LatencySummary,
    pub latency_cluster_ip: LatencySummary,
    pub latency_haproxy: Option<LatencySummary>,
    /// p99 through the ClusterIP minus p99 direct, in milliseconds.
    pub added_p99_ms: f64,
    pub propagation: LatencySummary,
    pub proxy_rss_bytes: Option<u64>,
    pub proxy_peak_rss_bytes: Option<u64>,
    pub notes: Vec<String>,
}

/// Runs the bench and prints its report.
pub async fn run(args: ServiceBenchArgs) -> anyhow::Result<()> {
    if args.backends < 2 || args.connections == 0 {
        bail!("--backends must be at least 2 (the propagation run switches between two) and --connections at least 1");
    }
    let exe = std::env::current_exe().context("finding the kubelab binary")?;
    let sources = crate::images_cmd::sources_next_to(&exe)?;
    let proxy_binary = exe.with_file_name("kubelab-proxy");
    if !proxy_binary.is_file() {
        bail!("{} not found: run cargo build first", proxy_binary.display());
    }
    let docker = connect_docker().await.context("the service bench needs Docker")?;
    kubelab_agent::images::ensure_images(&docker, &sources, false)
        .await
        .context("building the kubelab images")?;
    let cluster = format!("bench-svc-{:x}", std::process::id());
    let dir = tempfile_dir()?;
    let result = measure(&args, &docker, &cluster, &exe, &proxy_binary, &dir).await;
    if let Err(e) = remove_cluster_objects(&docker, &cluster).await {
        eprintln!("cleanup of cluster {cluster} failed: {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("kubelab-bench-service-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

async fn measure(
    args: &ServiceBenchArgs,
    docker: &Docker,
    cluster: &str,
    exe: &Path,
    proxy_binary: &Path,
    dir: &Path,
) -> anyhow::Result<ServiceReport> {
    let mut notes = Vec::new();
    let network = ClusterNetwork::ensure(docker, cluster).await?;
    let port = free_port_on_both(network.gateway)?;
    let base = format!("http://127.0.0.1:{port}");
    let _apiserver = spawn(
        Command::new(exe)
            .args(["apiserver", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(dir.join("data"))
            .args(["--advertise-address", &network.gateway.to_string()])
            .args(["--service-cluster-ip-range", &network.service_range.to_string()]),
    )?;
    let http = reqwest::Client::new();
    wait_for("the API server", Duration::from_secs(30), || async {
        let r = http.get(format!("{base}/readyz")).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await?;

    let mut backends = Vec::new();
    for i in 0..args.backends {
        backends.push(start_backend(docker, &network, cluster, i).await?);
    }
    let targets: Vec<SocketAddr> = backends.iter().map(|ip| SocketAddr::from((*ip, 8080))).collect();
    for target in &targets {
        wait_for("a backend", Duration::from_secs(30), || async {
            Connection::open(*target).await.ok()?.get().await.ok().map(|_| ())
        })
        .await?;
    }

    // A high Service port, so the same proxy can also run on the host's loopback without privileges.
    let service_port = super::process::free_loopback_addr()?.port();
    let service = post(
        &http,
        &base,
        "services",
        json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "bench", "namespace": "default"},
            "spec": {"ports": [{"name": "http", "port": service_port, "targetPort": 8080}]}
        }),
    )
    .await?;
    let ip: Ipv4Addr = service["spec"]["clusterIP"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("the API server allocated no ClusterIP: {service}"))?;
    set_endpoints(&http, &base, &backends).await?;

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let manager = tokio::spawn(kubelab_proxy::manager::run(
        kubelab_proxy::manager::ManagerConfig {
            cluster: cluster.to_string(),
            apiserver: base.clone(),
            proxy_apiserver: None,
            proxy_binary: proxy_binary.to_path_buf(),
        },
        async {
            let _ = stop_rx.await;
        },
    ));
    let vip = SocketAddr::from((ip, service_port));
    wait_for("the ClusterIP to answer", Duration::from_secs(60), || async {
        Connection::open(vip).await.ok()?.get().await.ok().map(|_| ())
    })
    .await?;

    let duration = Duration::from_secs(args.duration.max(1));
    let rps = |(done, errors): (u64, u64)| Throughput {
        requests_per_second: done as f64 / duration.as_secs_f64(),
        errors,
        proxy_cpu_us_per_request: None,
    };
    // Runs a throughput run while measuring the CPU time of process `pid`.
    let measured = |pid: Option<u32>, targets: Vec<SocketAddr>| async move {
        let before = pid.and_then(cpu_time);
        let (done, errors) = throughput(&targets, args.connections, duration).await;
        let after = pid.and_then(cpu_time);
        let mut t = rps((done, errors));
        if let (Some(b), Some(a)) = (before, after) {
            t.proxy_cpu_us_per_request = Some((a - b).as_secs_f64() * 1e6 / done.max(1) as f64);
        }
        t
    };
    let direct_one = rps(throughput(&targets[..1], args.connections, duration).await);
    let direct_all = rps(throughput(&targets, args.connections, duration).await);
    let cluster_ip = rps(throughput(&[vip], args.connections, duration).await);
    let local_proxy = SocketAddr::from((Ipv4Addr::LOCALHOST, service_port));
    let proxy_on_loopback = {
        let proxy = spawn(
            Command::new(proxy_binary)
                .args(["--apiserver", &base, "--namespace", "default", "--service", "bench"])
                .args(["--listen-ip", "127.0.0.1"]),
        )?;
        wait_for("the proxy on loopback", Duration::from_secs(30), || async {
            Connection::open(local_proxy).await.ok()?.get().await.ok().map(|_| ())
        })
        .await?;
        measured(proxy.id(), vec![local_proxy]).await
    };
    let haproxy = match Haproxy::start(dir, &targets).await {
        Ok(h) => Some(h),
        Err(e) => {
            notes.push(format!("haproxy column skipped: {e}"));
            None
        }
    };
    let haproxy_rps = match &haproxy {
        Some(h) => Some(measured(h.child.id(), vec![h.addr]).await),
        None => None,
    };

    let latency = |mut samples: Vec<Duration>| LatencySummary::of(&mut samples);
    let (direct, e1) = fixed_rate(&targets, args.connections, args.rate, duration).await?;
    let (through, e2) = fixed_rate(&[vip], args.connections, args.rate, duration).await?;
    let latency_haproxy = match &haproxy {
        Some(h) => Some(fixed_rate(&[h.addr], args.connections, args.rate, duration).await?),
        None => None,
    };
    if e1 + e2 > 0 {
        notes.push(format!("latency runs had errors: direct {e1}, ClusterIP {e2}"));
    }
    let (latency_direct, latency_cluster_ip) = (latency(direct), latency(through));
    drop(haproxy);

    let propagation = propagation(&http, &base, &backends, vip, args.changes).await?;
    let memory = proxy_memory(docker, cluster).await;
    if memory.is_none() {
        notes.push("the proxy's memory could not be read from /proc".into());
    }

    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), manager).await;
    Ok(ServiceReport {
        connections: args.connections,
        backends: args.backends,
        direct_one_backend: direct_one,
        direct_all_backends: direct_all,
        cluster_ip,
        proxy_on_loopback,
        vs_haproxy: haproxy_rps.map(|h| proxy_on_loopback.requests_per_second / h.requests_per_second.max(1.0)),
        haproxy: haproxy_rps,
        rate: args.rate,
        added_p99_ms: latency_cluster_ip.p99_ms - latency_direct.p99_ms,
        latency_direct,
        latency_cluster_ip,
        latency_haproxy: latency_haproxy.map(|(samples, _)| latency(samples)),
        propagation,
        proxy_rss_bytes: memory.map(|m| m.0),
        proxy_peak_rss_bytes: memory.map(|m| m.1),
        notes,
    })
}

/// Switches the Endpoints between backend 0 and backend 1, `changes` times; for each, the time
/// from the API server's answer to the first new connection answered by the new backend.
async fn propagation(
    http: &reqwest::Client,
    base: &str,
    backends: &[Ipv4Addr],
    vip: SocketAddr,
    changes: usize,
) -> anyhow::Result<LatencySummary> {
    let mut samples = Vec::new();
    for change in 0..changes.max(1) {
        let to = change % 2;
        set_endpoints(http, base, &backends[to..=to]).await?;
        let written = Instant::now();
        let wanted = format!("web-{to}");
        loop {
            if let Ok(mut conn) = Connection::open(vip).await {
                if let Ok(body) = conn.get().await {
                    if String::from_utf8_lossy(body).contains(&wanted) {
                        break;
                    }
                }
            }
            if written.elapsed() > Duration::from_secs(10) {
                bail!("the proxy did not follow an endpoint change within 10 s");
            }
        }
        samples.push(written.elapsed());
    }
    Ok(LatencySummary::of(&mut samples))
}

/// A `kubelab/demo web` container named `web-<i>` on the network; returns its IP.
async fn start_backend(docker: &Docker, network: &ClusterNetwork, cluster: &str, i: usize) -> anyhow::Result<Ipv4Addr> {
    let name = format!("{cluster}-web-{i}");
    let body = ContainerCreateBody {
        image: Some(kubelab_agent::images::DEMO_IMAGE.to_string()),
        cmd: Some(vec!["web".to_string()]),
        hostname: Some(format!("web-{i}")),
        labels: Some(HashMap::from([(
            kubelab_agent::runtime::labels::CLUSTER.to_string(),
            cluster.to_string(),
        )])),
        host_config: Some(HostConfig {
            network_mode: Some(network.name.clone()),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(network.name.clone(), EndpointSettings::default())])),
        }),
        ..Default::default()
    };
    let options = CreateContainerOptions {
        name: Some(name.clone()),
        ..Default::default()
    };
    let created = docker.create_container(Some(options), body).await?;
    docker.start_container(&created.id, None).await?;
    let inspected = docker.inspect_container(&created.id, None).await?;
    inspected
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|n| n.get(&network.name).and_then(|e| e.ip_address.clone()))
        .and_then(|ip| ip.parse().ok())
        .ok_or_else(|| anyhow!("backend {name} has no IP on {}", network.name))
}

async fn post(http: &reqwest::Client, base: &str, plural: &str, body: Value) -> anyhow::Result<Value> {
    let response = http
        .post(format!("{base}/api/v1/namespaces/default/{plural}"))
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let value: Value = response.json().await?;
    if !status.is_success() {
        bail!("creating {plural}: {status} {value}");
    }
    Ok(value)
}

/// Writes the `bench` Endpoints with `ips` as ready addresses (creating it the first time).
async fn set_endpoints(http: &reqwest::Client, base: &str, ips: &[Ipv4Addr]) -> anyhow::Result<()> {
    let path = format!("{base}/api/v1/namespaces/default/endpoints/bench");
    let addresses: Vec<Value> = ips.iter().map(|ip| json!({"ip": ip.to_string()})).collect();
    let mut body = json!({
        "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "bench", "namespace": "default"},
        "subsets": [{"addresses": addresses, "ports": [{"name": "http", "port": 8080}]}]
    });
    let current = http.get(&path).send().await?;
    if current.status().is_success() {
        let current: Value = current.json().await?;
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
        let r = http.put(&path).json(&body).send().await?;
        if !r.status().is_success() {
            bail!("updating the Endpoints: {}", r.text().await.unwrap_or_default());
        }
        Ok(())
    } else {
        post(http, base, "endpoints", body).await.map(|_| ())
    }
}

/// VmRSS and VmHWM of the proxy container's process, read through `/proc` on the host.
async fn proxy_memory(docker: &Docker, cluster: &str) -> Option<(u64, u64)> {
    let proxies = kubelab_proxy::manager::docker::list(docker, cluster).await.ok()?;
    let proxy = proxies.iter().find(|p| p.service == "default/bench")?;
    let pid = docker.inspect_container(&proxy.id, None).await.ok()?.state?.pid?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// User plus system CPU time of process `pid` so far (`/proc/<pid>/stat`, in clock ticks of
/// 1/100 s, which is what Linux uses on every common architecture).
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// A port free on 127.0.0.1 and on the gateway (the API server listens on both).
fn free_port_on_both(gateway: Ipv4Addr) -> anyhow::Result<u16> {
    for _ in 0..20 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        if std::net::TcpListener::bind((gateway, port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no port is free on both 127.0.0.1 and {gateway}")
}

fn spawn(command: &mut Command) -> anyhow::Result<Child> {
    command
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting a process")
}

async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// HAProxy on 127.0.0.1 in front of the same backends, layer 4 like kubelab's proxy.
struct Haproxy {
    child: Child,
    addr: SocketAddr,
}

impl Haproxy {
    async fn start(dir: &Path, backends: &[SocketAddr]) -> anyhow::Result<Haproxy> {
        let found = std::process::Command::new("haproxy").arg("-v").output();
        if !found.is_ok_and(|o| o.status.success()) {
            bail!("haproxy not found (Debian: apt-get install haproxy)");
        }
        let addr = super::process::free_loopback_addr()?;
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(i, b)| format!("  server s{i} {b}\n"))
            .collect();
        let config = format!(
            "global\n  maxconn 4096\n  nbthread 2\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 60s\n  \
             timeout server 60s\nfrontend f\n  bind {addr}\n  default_backend b\nbackend b\n  balance leastconn\n{servers}"
        );
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config)?;
        let mut child = Command::new("haproxy")
            .arg("-f")
            .arg(&path)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting haproxy")?;
        let ready = wait_for("haproxy", Duration::from_secs(10), || async {
            Connection::open(addr).await.ok()?.get().await.ok().map(|_| ())
        });
        // A configuration haproxy refuses makes it exit at once: say why instead of timing out.
        tokio::select! {
            ready = ready => ready?,
            status = child.wait() => {
                let mut text = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await;
                }
                bail!("haproxy exited ({}): {}", status.map(|s| s.to_string()).unwrap_or_default(), text.trim());
            }
        }
        Ok(Haproxy { child, addr })
    }
}

fn print_report(r: &ServiceReport) {
    let row = |name: &str, t: &Throughput| {
        let cpu = t
            .proxy_cpu_us_per_request
            .map(|us| format!(", proxy CPU {us:.1} µs/request"))
            .unwrap_or_default();
        println!(
            "  {name:<28} {:>9.0} req/s  ({} errors{cpu})",
            t.requests_per_second, t.errors
        );
    };
    println!(
        "HTTP GET /, {} keep-alive connections, {} backends:",
        r.connections, r.backends
    );
    row("direct, one backend", &r.direct_one_backend);
    row("direct, spread over all", &r.direct_all_backends);
    row("through the ClusterIP", &r.cluster_ip);
    row("kubelab-proxy on 127.0.0.1", &r.proxy_on_loopback);
    match (&r.haproxy, r.vs_haproxy) {
        (Some(h), Some(ratio)) => {
            row("through HAProxy (tcp)", h);
            println!("  kubelab-proxy / HAProxy      {ratio:.2}x (both on 127.0.0.1)");
        }
        _ => println!("  through HAProxy              (skipped)"),
    }
    let lat = |name: &str, l: &LatencySummary| {
        println!(
            "  {name:<28} p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            l.p50_ms, l.p99_ms, l.max_ms
        );
    };
    println!("At {} req/s:", r.rate);
    lat("direct", &r.latency_direct);
    lat("through the ClusterIP", &r.latency_cluster_ip);
    if let Some(h) = &r.latency_haproxy {
        lat("through HAProxy", h);
    }
    println!("  added p99                    {:.3} ms", r.added_p99_ms);
    println!(
        "Endpoint change to traffic: p50 {:.1} ms, p99 {:.1} ms ({} changes)",
        r.propagation.p50_ms, r.propagation.p99_ms, r.propagation.count
    );
    let mb = |b: Option<u64>| b.map_or("?".to_string(), |b| format!("{:.1} MB", b as f64 / 1e6));
    println!(
        "Proxy memory: {} resident, {} peak",
        mb(r.proxy_rss_bytes),
        mb(r.proxy_peak_rss_bytes)
    );
    for note in &r.notes {
        println!("note: {note}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_process_cpu_time() {
        let spent = cpu_time(std::process::id()).expect("this process's /proc/<pid>/stat");
        assert!(spent < Duration::from_secs(24 * 3600), "{spent:?}");
        assert_eq!(cpu_time(u32::MAX), None);
    }
}
