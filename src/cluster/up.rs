//! # `kubelab up` (minikube start)
//!
//! Starts a cluster in the order Kubernetes' own bootstrap uses, each step waiting for the one
//! it depends on:
//!
//! 1. the images (Docker runtime only): `kubelab/pause` and `kubelab/demo`, built from the
//!    binaries next to `kubelab` if missing or stale, so nothing is pulled from a registry;
//! 2. the API server, and wait for `/readyz`: every other component is its client;
//! 3. the scheduler, the controller manager and one agent per node, all at once;
//! 4. wait until every node is `Ready` (registered, and heartbeating since this `up`);
//! 5. write `<home>/kubeconfig` and print how to use it.
//!
//! Node failure timings are short by default (a node is `Unknown` 10 s after its last
//! heartbeat, its pods evicted 10 s later; Kubernetes' defaults are 40 s and 300 s) so that a
//! lab's "kill a node" shows its effect while the student is still watching. The agents renew
//! their Lease four times per grace period, so a live node never looks dead.
//!
//! Running `up` on a running cluster starts only the components that are not running (a killed
//! node agent comes back) and changes nothing else.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::Args;
use kubelab_api::core::Node;
use kubelab_api::Time;

use super::state::{Component, Layout, Role, State};
use super::{log_tail, parse_duration, process, status, ClusterArgs};
use crate::agent_cmd::RuntimeKind;

/// Flags of `kubelab up`.
#[derive(Args, Debug, Clone)]
pub struct UpArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// How many nodes (one agent process each), named node-1 … node-N.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// `docker` (real containers) or `hollow` (containers faked in memory, no Docker needed).
    #[arg(long, value_enum, default_value = "docker")]
    pub runtime: RuntimeKind,
    /// The API server's port, on 127.0.0.1.
    #[arg(long, default_value_t = 6443)]
    pub api_port: u16,
    /// Node i's agent serves logs and exec on 127.0.0.1:(this + i); 0 picks free ports.
    #[arg(long, default_value_t = 10250)]
    pub agent_port: u16,
    /// How long a node may miss heartbeats before it is marked unreachable (Kubernetes: 40s).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub node_monitor_grace_period: Duration,
    /// Seconds pods stay bound to an unreachable node before eviction (Kubernetes: 300).
    #[arg(long, default_value_t = 10)]
    pub default_eviction_seconds: u64,
    /// How long to wait for the API server and every node to be ready.
    #[arg(long, default_value = "90s", value_parser = parse_duration)]
    pub wait_timeout: Duration,
    /// The ingress controller serves HTTP on 127.0.0.1 at this port (Docker runtime); 0 picks a free one.
    #[arg(long, default_value_t = crate::ingress_cmd::DEFAULT_HTTP_PORT)]
    pub ingress_http_port: u16,
    /// ... and HTTPS at this one; 0 picks a free one.
    #[arg(long, default_value_t = crate::ingress_cmd::DEFAULT_HTTPS_PORT)]
    pub ingress_https_port: u16,
}

fn runtime_name(runtime: RuntimeKind) -> &'static str {
    match runtime {
        RuntimeKind::Docker => "docker",
        RuntimeKind::Hollow => "hollow",
    }
}

/// The agent ports: `base + i` for node i, or free ports when `base` is 0.
fn agent_ports(base: u16, nodes: usize) -> anyhow::Result<Vec<u16>> {
    (1..=nodes)
        .map(|i| {
            if base == 0 {
                free_port()
            } else {
                u16::try_from(usize::from(base) + i).map_err(|_| anyhow!("--agent-port {base} + {i} is beyond 65535"))
            }
        })
        .collect()
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port on 127.0.0.1")?;
    Ok(listener
        .local_addr()
        .context("finding a free port on 127.0.0.1")?
        .port())
}

/// The cluster described by the flags: every component and its command line. Pure, so the
/// exact commands `up` runs are unit-tested (and match the README's "by hand" section).
pub fn plan(args: &UpArgs, layout: &Layout, binary: &std::path::Path, ports: &[u16]) -> anyhow::Result<State> {
    if args.nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    if ports.len() != args.nodes {
        bail!("one agent port per node is needed");
    }
    let state = |cluster: &str| State {
        cluster: cluster.to_string(),
        runtime: runtime_name(args.runtime).into(),
        api_port: args.api_port,
        nodes: args.nodes,
        binary: binary.to_path_buf(),
        components: Vec::new(),
    };
    let mut state = state(&args.cluster.cluster);
    let server = state.server_url();
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let component = |name: &str, role: Role, address: Option<String>, args: Vec<String>| Component {
        name: name.into(),
        role,
        pid: None,
        start_time: None,
        address,
        log: layout.log_file(name),
        args,
    };
    let api_address = format!("127.0.0.1:{}", args.api_port);
    let data_dir = layout.data_dir().to_string_lossy().into_owned();
    let encryption = layout.encryption_config().to_string_lossy().into_owned();
    state.components.push(component(
        "apiserver",
        Role::Apiserver,
        Some(api_address.clone()),
        strings(&[
            "apiserver",
            "--listen",
            &api_address,
            "--data-dir",
            &data_dir,
            "--encryption-provider-config",
            &encryption,
        ]),
    ));
    state.components.push(component(
        "scheduler",
        Role::Scheduler,
        None,
        strings(&["scheduler", "--server", &server]),
    ));
    let grace = format!("{}ms", args.node_monitor_grace_period.as_millis());
    let eviction = args.default_eviction_seconds.to_string();
    state.components.push(component(
        "controller",
        Role::Controller,
        None,
        strings(&[
            "controller",
            "--server",
            &server,
            "--node-monitor-grace-period",
            &grace,
            "--default-eviction-seconds",
            &eviction,
        ]),
    ));
    // Four lease renewals per grace period (Kubernetes: 10 s renewals, 40 s grace).
    let renew = (args.node_monitor_grace_period.as_secs() / 4).clamp(1, 10).to_string();
    for (i, port) in ports.iter().enumerate() {
        let name = format!("node-{}", i + 1);
        let port = port.to_string();
        let root_dir = layout.nodes_dir().join(&name).to_string_lossy().into_owned();
        state.components.push(component(
            &name,
            Role::Agent,
            Some(format!("127.0.0.1:{port}")),
            strings(&[
                "agent",
                "--server",
                &server,
                "--node-name",
                &name,
                "--cluster",
                &args.cluster.cluster,
                "--runtime",
                runtime_name(args.runtime),
                "--port",
                &port,
                "--lease-renew-seconds",
                &renew,
                "--root-dir",
                &root_dir,
            ]),
        ));
    }
    // kube-proxy's place: one proxy container per Service, on the cluster's Docker network.
    if args.runtime == RuntimeKind::Docker {
        state.components.push(component(
            "service-proxy",
            Role::ServiceProxy,
            None,
            strings(&[
                "service-proxy",
                "--cluster",
                &args.cluster.cluster,
                "--apiserver",
                &server,
            ]),
        ));
        // ingress-nginx's place: an HTTP(S) proxy on the host serving Ingresses (src/ingress_cmd.rs).
        let (http, https) = (args.ingress_http_port.to_string(), args.ingress_https_port.to_string());
        state.components.push(component(
            "ingress",
            Role::Ingress,
            Some(format!("127.0.0.1:{http}")),
            strings(&[
                "ingress",
                "--cluster",
                &args.cluster.cluster,
                "--apiserver",
                &server,
                "--http-port",
                &http,
                "--https-port",
                &https,
            ]),
        ));
    }
    Ok(state)
}

/// The flags with `--ingress-http-port 0` / `--ingress-https-port 0` replaced by free ports.
fn with_ingress_ports(args: &UpArgs) -> anyhow::Result<UpArgs> {
    let mut args = args.clone();
    if args.ingress_http_port == 0 {
        args.ingress_http_port = free_port()?;
    }
    if args.ingress_https_port == 0 {
        args.ingress_https_port = free_port()?;
    }
    Ok(args)
}

/// Points the API server at the cluster's network plan (Docker runtime): Services' ClusterIPs
/// come from `service_range` (the upper half of the cluster's subnet, which Docker never gives
/// to pods), and pods reach the API server at `gateway`. Every agent gives its pods
/// `cluster_dns` as their name server (the `kube-dns` Service's address, the 10th of the service
/// range, where the service-proxy manager runs the cluster DNS). Replaces earlier values, since
/// the network may have been made again since the state was saved.
pub fn set_network_flags(state: &mut State, service_range: &str, gateway: &str, cluster_dns: &str) {
    if let Some(api) = state.components.iter_mut().find(|c| c.role == Role::Apiserver) {
        set_flag(&mut api.args, "--service-cluster-ip-range", service_range);
        set_flag(&mut api.args, "--advertise-address", gateway);
    }
    for agent in state.components.iter_mut().filter(|c| c.role == Role::Agent) {
        set_flag(&mut agent.args, "--cluster-dns", cluster_dns);
    }
}

fn set_flag(args: &mut Vec<String>, flag: &str, value: &str) {
    match args.iter().position(|a| a == flag) {
        Some(i) if i + 1 < args.len() => args[i + 1] = value.to_string(),
        _ => args.extend([flag.to_string(), value.to_string()]),
    }
}

/// Fails with a clear message if `address` (`127.0.0.1:6443`) is taken by another program.
/// Writes the cluster's encryption key (a fresh random AES-256 key for Secrets), once: a new key
/// for an existing data directory would leave its Secrets unreadable.
fn ensure_encryption_config(layout: &Layout) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = layout.encryption_config();
    if path.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(&layout.home).with_context(|| format!("creating {}", layout.home.display()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(kubelab_apiserver::store::encryption::generate_config().as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn check_port_free(address: &str, what: &str, flag: &str) -> anyhow::Result<()> {
    match TcpListener::bind(address) {
        Ok(_) => Ok(()),
        Err(e) => Err(anyhow!(
            "{what} cannot listen on {address}: {e}. Another cluster (`kubelab status --cluster NAME`) or \
             program uses it; choose another port with {flag}"
        )),
    }
}

/// Runs `kubelab up`.
pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let began = Instant::now();
    let layout = args.cluster.layout()?;
    let hint = args.cluster.hint_flags();
    let binary = std::env::current_exe().context("cannot find the running kubelab binary")?;

    let previous = State::load(&layout)?;
    let running = previous.as_ref().is_some_and(|s| s.components.iter().any(is_running));
    let mut state = match previous {
        Some(state) if running => {
            println!(
                "Cluster \"{}\" is already running ({} runtime, {} nodes, home {}); starting only what is stopped.",
                state.cluster,
                state.runtime,
                state.nodes,
                layout.home.display()
            );
            if state.nodes != args.nodes
                || state.runtime != runtime_name(args.runtime)
                || state.api_port != args.api_port
            {
                println!("  (its settings are kept: run `kubelab down{hint}` first to change them)");
            }
            state
        }
        _ => {
            let ports = agent_ports(args.agent_port, args.nodes)?;
            let state = plan(&with_ingress_ports(&args)?, &layout, &binary, &ports)?;
            println!(
                "Starting cluster \"{}\": {} node{}, {} runtime, home {}",
                state.cluster,
                state.nodes,
                if state.nodes == 1 { "" } else { "s" },
                state.runtime,
                layout.home.display()
            );
            state
        }
    };
    std::fs::create_dir_all(layout.logs_dir()).with_context(|| format!("creating {}", layout.logs_dir().display()))?;

    if state.runtime == "docker" {
        let sources = crate::images_cmd::sources_next_to(&binary)?;
        let docker = crate::images_cmd::connect_docker().await?;
        let images = kubelab_agent::images::ensure_images(&docker, &sources, false)
            .await
            .context("building the kubelab images")?;
        let described: Vec<String> = images.iter().map(crate::images_cmd::describe).collect();
        println!("  images      {}", described.join(", "));
        // The network first: the API server must know its service range and gateway.
        let network = kubelab_agent::runtime::docker::network::ClusterNetwork::ensure(&docker, &state.cluster)
            .await
            .context("creating the cluster's Docker network")?;
        set_network_flags(
            &mut state,
            &network.service_range.to_string(),
            &network.gateway.to_string(),
            &network.dns_ip().to_string(),
        );
        state.save(&layout)?;
        println!(
            "  network     {} {} (pods {}, services {}, gateway {}, cluster DNS {})",
            network.name,
            network.subnet,
            network.pod_range,
            network.service_range,
            network.gateway,
            network.dns_ip()
        );
    }

    ensure_encryption_config(&layout)?;
    let mut children = HashMap::new();
    let started = start_stopped(&mut state, &layout, &binary, &mut children, args.wait_timeout).await?;
    let server = state.server_url();
    kubelab_client::write_kubeconfig(layout.kubeconfig(), &state.cluster, &server)
        .with_context(|| format!("writing {}", layout.kubeconfig().display()))?;
    wait_for_nodes(&state, &started, &mut children, args.wait_timeout).await?;

    // Everything else must still be running (a scheduler that exited at once would not show
    // in the node check).
    for component in &state.components {
        check_alive(component, &mut children)?;
    }
    println!(
        "Cluster \"{}\" is up ({:.1} s). To use it:\n\n    export KUBECONFIG={}\n    kubectl get nodes\n",
        state.cluster,
        began.elapsed().as_secs_f64(),
        layout.kubeconfig().display()
    );
    if let Some(ingress) = state.component("ingress") {
        let flag = |name: &str| {
            ingress
                .args
                .iter()
                .skip_while(|a| *a != name)
                .nth(1)
                .cloned()
                .unwrap_or_default()
        };
        println!(
            "Ingress: http://127.0.0.1:{} and https://127.0.0.1:{}   (kubectl get ingress)",
            flag("--http-port"),
            flag("--https-port")
        );
    }
    println!("Status:  kubelab status{hint}");
    println!("Logs:    kubelab logs apiserver|scheduler|controller|node-1{hint}");
    println!("Stop:    kubelab down{hint}   (--purge also deletes its data)");
    Ok(())
}

fn is_running(component: &Component) -> bool {
    component
        .pid
        .is_some_and(|pid| process::is_alive(pid, component.start_time))
}

/// An error if a component started by this `up` has exited, with the end of its log.
fn check_alive(component: &Component, children: &mut HashMap<String, Child>) -> anyhow::Result<()> {
    let exited = match children.get_mut(&component.name) {
        Some(child) => child.try_wait().ok().flatten().map(|status| status.to_string()),
        None => (!is_running(component)).then(|| "stopped".to_string()),
    };
    match exited {
        None => Ok(()),
        Some(status) => Err(anyhow!(
            "{} exited ({status}); its log {}:\n{}",
            component.name,
            component.log.display(),
            log_tail(&component.log, 15)
        )),
    }
}

/// Starts every component that is not running, the API server first (waiting for `/readyz`).
/// Returns when each started agent was started (to tell its fresh heartbeat from an old one).
async fn start_stopped(
    state: &mut State,
    layout: &Layout,
    binary: &std::path::Path,
    children: &mut HashMap<String, Child>,
    timeout: Duration,
) -> anyhow::Result<HashMap<String, Time>> {
    let mut started = HashMap::new();
    let names: Vec<String> = state.components.iter().map(|c| c.name.clone()).collect();
    for name in names {
        let Some(component) = state.component(&name).cloned() else {
            continue;
        };
        if is_running(&component) {
            let pid = component.pid.unwrap_or_default();
            println!("  {:<11} already running (pid {pid})", component.name);
            continue;
        }
        if let Some(address) = &component.address {
            let flag = match component.role {
                Role::Apiserver => "--api-port",
                Role::Ingress => "--ingress-http-port",
                _ => "--agent-port",
            };
            check_port_free(address, &component.name, flag)?;
        }
        let (program, args) = process::program_for(binary, &component.args);
        let child = process::spawn_detached(&program, &args, &component.log)
            .with_context(|| format!("starting {}", component.name))?;
        let pid = child.id();
        let start_time = process::start_time(pid);
        started.insert(name.clone(), Time::now());
        children.insert(name.clone(), child);
        if let Some(entry) = state.component_mut(&name) {
            entry.pid = Some(pid);
            entry.start_time = start_time;
        }
        state.save(layout)?;
        let address = component
            .address
            .as_deref()
            .map(|a| format!(", on {a}"))
            .unwrap_or_default();
        println!(
            "  {:<11} started (pid {pid}{address}), log {}",
            name,
            component.log.display()
        );
        if component.role == Role::Apiserver {
            let waited = Instant::now();
            wait_for_apiserver(state, &component, children, timeout).await?;
            println!("  {:<11} ready ({:.1} s)", name, waited.elapsed().as_secs_f64());
        }
    }
    Ok(started)
}

async fn wait_for_apiserver(
    state: &State,
    component: &Component,
    children: &mut HashMap<String, Child>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let url = format!("{}/readyz", state.server_url());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .context("building an HTTP client")?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(response) = http.get(&url).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        check_alive(component, children)?;
        if Instant::now() > deadline {
            bail!(
                "the apiserver is not ready at {url} after {} s; its log {}:\n{}",
                timeout.as_secs(),
                component.log.display(),
                log_tail(&component.log, 15)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Why a node is not (yet) Ready, or `None` if it is. A node whose agent was started by this
/// `up` must also have reported since then: its object may still say `Ready` from before a
/// `down`, which proves nothing about the new agent.
fn not_ready(node: Option<&Node>, started: Option<&Time>) -> Option<String> {
    let Some(node) = node else {
        return Some("not registered yet".into());
    };
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"));
    let Some(ready) = ready else {
        return Some("no Ready condition yet".into());
    };
    if ready.status != "True" {
        return Some(format!("Ready={}", ready.status));
    }
    if let Some(started) = started {
        let heartbeat = ready.last_heartbeat_time.as_ref().map(|t| t.0.timestamp());
        // Timestamps have whole seconds: allow the second the agent started in.
        if heartbeat.is_none_or(|h| h < started.0.timestamp() - 1) {
            return Some("no heartbeat from the new agent yet".into());
        }
    }
    None
}

async fn wait_for_nodes(
    state: &State,
    started: &HashMap<String, Time>,
    children: &mut HashMap<String, Child>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let waited = Instant::now();
    let deadline = waited + timeout;
    let agents: Vec<&Component> = state.components.iter().filter(|c| c.role == Role::Agent).collect();
    loop {
        let nodes = status::fetch_nodes(&state.server_url()).await.unwrap_or_default();
        let mut waiting = Vec::new();
        for agent in &agents {
            check_alive(agent, children)?;
            if let Some(why) = not_ready(nodes.get(&agent.name), started.get(&agent.name)) {
                waiting.push((agent, why));
            }
        }
        if waiting.is_empty() {
            println!(
                "  {:<11} {} of {} Ready ({:.1} s)",
                "nodes",
                agents.len(),
                agents.len(),
                waited.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            let list: Vec<String> = waiting
                .iter()
                .map(|(agent, why)| format!("  {}: {why} (log {})", agent.name, agent.log.display()))
                .collect();
            bail!(
                "not every node is Ready after {} s:\n{}",
                timeout.as_secs(),
                list.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: UpArgs,
    }

    fn parse(args: &[&str]) -> UpArgs {
        Cli::try_parse_from(std::iter::once("up").chain(args.iter().copied()))
            .map(|c| c.args)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn defaults_are_a_three_node_docker_cluster_with_short_timings() {
        let args = parse(&[]);
        assert_eq!(args.nodes, 3);
        assert_eq!(args.runtime, RuntimeKind::Docker);
        assert_eq!(args.api_port, 6443);
        assert_eq!(args.cluster.cluster, "kubelab");
        assert_eq!(args.node_monitor_grace_period, Duration::from_secs(10));
        assert_eq!(args.default_eviction_seconds, 10);
        assert_eq!(agent_ports(10250, 3).unwrap(), [10251, 10252, 10253]);
        assert!(agent_ports(65535, 1).is_err());
    }

    #[test]
    fn a_docker_cluster_runs_the_ingress_controller_on_its_ports() {
        let state = plan(
            &parse(&["--cluster=lab"]),
            &Layout::new("/h"),
            std::path::Path::new("k"),
            &[1, 2, 3],
        )
        .unwrap();
        let ingress = state.component("ingress").unwrap();
        assert_eq!(ingress.role, Role::Ingress);
        assert_eq!(ingress.address.as_deref(), Some("127.0.0.1:18080"));
        assert_eq!(
            ingress.args.join(" "),
            "ingress --cluster lab --apiserver http://127.0.0.1:6443 --http-port 18080 --https-port 18443"
        );
        let free = with_ingress_ports(&parse(&["--ingress-http-port=0", "--ingress-https-port=0"])).unwrap();
        assert!(free.ingress_http_port != 0 && free.ingress_https_port != 0);
        let hollow = plan(
            &parse(&["--runtime=hollow"]),
            &Layout::new("/h"),
            std::path::Path::new("k"),
            &[1, 2, 3],
        )
        .unwrap();
        assert!(
            hollow.component("ingress").is_none(),
            "hollow pods have no addresses to proxy to"
        );
    }

    #[test]
    fn a_docker_cluster_runs_the_service_proxy_manager() {
        let state = plan(
            &parse(&["--cluster=lab"]),
            &Layout::new("/h"),
            std::path::Path::new("k"),
            &[1, 2, 3],
        )
        .unwrap();
        let proxy = state.component("service-proxy").unwrap();
        assert_eq!(proxy.role, Role::ServiceProxy);
        assert_eq!(
            proxy.args.join(" "),
            "service-proxy --cluster lab --apiserver http://127.0.0.1:6443"
        );
        let hollow = plan(
            &parse(&["--runtime=hollow"]),
            &Layout::new("/h"),
            std::path::Path::new("k"),
            &[1, 2, 3],
        )
        .unwrap();
        assert!(
            hollow.component("service-proxy").is_none(),
            "hollow pods have no network to proxy"
        );
    }

    #[test]
    fn the_plan_is_the_readmes_commands() {
        let args = parse(&[
            "--nodes=2",
            "--cluster=lab",
            "--runtime=hollow",
            "--api-port=7000",
            "--node-monitor-grace-period=20s",
            "--default-eviction-seconds=5",
        ]);
        let layout = Layout::new("/h");
        let state = plan(&args, &layout, std::path::Path::new("/bin/kubelab"), &[10251, 10252]).unwrap();
        assert_eq!(state.cluster, "lab");
        assert_eq!(state.runtime, "hollow");
        assert_eq!(state.server_url(), "http://127.0.0.1:7000");
        let names: Vec<&str> = state.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["apiserver", "scheduler", "controller", "node-1", "node-2"]);
        let command = |name: &str| state.component(name).unwrap().args.join(" ");
        assert_eq!(
            command("apiserver"),
            "apiserver --listen 127.0.0.1:7000 --data-dir /h/data --encryption-provider-config /h/encryption.yaml"
        );
        assert_eq!(command("scheduler"), "scheduler --server http://127.0.0.1:7000");
        assert_eq!(
            command("controller"),
            "controller --server http://127.0.0.1:7000 --node-monitor-grace-period 20000ms --default-eviction-seconds 5"
        );
        assert_eq!(
            command("node-2"),
            "agent --server http://127.0.0.1:7000 --node-name node-2 --cluster lab --runtime hollow --port 10252 \
             --lease-renew-seconds 5 --root-dir /h/nodes/node-2"
        );
        let node = state.component("node-1").unwrap();
        assert_eq!(node.address.as_deref(), Some("127.0.0.1:10251"));
        assert_eq!(node.log, std::path::Path::new("/h/logs/node-1.log"));
        assert!(plan(&parse(&["--nodes=0"]), &layout, std::path::Path::new("k"), &[]).is_err());
    }

    #[test]
    fn the_planned_commands_parse_as_the_components_flags() {
        #[derive(Parser)]
        enum Sub {
            Apiserver(crate::apiserver_cmd::ApiserverArgs),
            Scheduler(crate::scheduler_cmd::SchedulerArgs),
            Controller(crate::controller_cmd::ControllerArgs),
            Agent(crate::agent_cmd::AgentArgs),
            ServiceProxy(crate::service_proxy_cmd::ServiceProxyArgs),
            Ingress(crate::ingress_cmd::IngressArgs),
        }
        let state = plan(&parse(&[]), &Layout::new("/h"), std::path::Path::new("k"), &[1, 2, 3]).unwrap();
        for component in &state.components {
            let argv = std::iter::once("kubelab".to_string()).chain(component.args.iter().cloned());
            if let Err(e) = Sub::try_parse_from(argv) {
                panic!("{}: {e}", component.name);
            }
        }
    }

    #[test]
    fn the_network_plan_reaches_the_apiserver_flags_once() {
        let mut state = plan(&parse(&[]), &Layout::new("/h"), std::path::Path::new("k"), &[1, 2, 3]).unwrap();
        set_network_flags(&mut state, "10.130.24.0/21", "10.130.16.1", "10.130.24.10");
        set_network_flags(&mut state, "10.130.40.0/21", "10.130.32.1", "10.130.40.10");
        for agent in ["node-1", "node-2", "node-3"] {
            let command = state.component(agent).unwrap().args.join(" ");
            assert!(command.ends_with("--cluster-dns 10.130.40.10"), "{command}");
            assert_eq!(command.matches("--cluster-dns").count(), 1, "{command}");
        }
        let api = state.component("apiserver").unwrap();
        let command = api.args.join(" ");
        assert!(
            command.ends_with("--service-cluster-ip-range 10.130.40.0/21 --advertise-address 10.130.32.1"),
            "{command}"
        );
        assert_eq!(command.matches("--advertise-address").count(), 1, "{command}");
        #[derive(Parser)]
        struct Api {
            #[command(flatten)]
            args: crate::apiserver_cmd::ApiserverArgs,
        }
        let parsed = Api::try_parse_from(std::iter::once("apiserver".to_string()).chain(api.args[1..].iter().cloned()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.args.service_cluster_ip_range.to_string(), "10.130.40.0/21");
        assert_eq!(parsed.args.advertise_address, Some("10.130.32.1".parse().unwrap()));
    }

    #[test]
    fn stale_ready_conditions_do_not_count() {
        let node: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "node-1"},
            "status": {"conditions": [{"type": "Ready", "status": "True",
                                       "lastHeartbeatTime": "2024-05-01T10:00:00Z"}]}
        }))
        .unwrap();
        assert_eq!(not_ready(Some(&node), None), None);
        let earlier: Time = serde_json::from_value(serde_json::json!("2024-05-01T09:00:00Z")).unwrap();
        assert_eq!(not_ready(Some(&node), Some(&earlier)), None);
        let later: Time = serde_json::from_value(serde_json::json!("2024-05-01T11:00:00Z")).unwrap();
        assert_eq!(
            not_ready(Some(&node), Some(&later)).as_deref(),
            Some("no heartbeat from the new agent yet")
        );
        assert_eq!(not_ready(None, None).as_deref(), Some("not registered yet"));
    }

    #[test]
    fn a_taken_port_is_named() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let message = check_port_free(&address, "apiserver", "--api-port")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains(&address) && message.contains("--api-port"),
            "{message}"
        );
    }
}
