//! End-to-end tests of the Docker runtime against the real Docker engine.
//!
//! Each test makes its own cluster (`t-<unique>`), so tests run in parallel without colliding, and
//! a guard removes everything labelled with that cluster when the test ends, even when it fails.
//! Without Docker (or without the images, when they cannot be built) each test prints a loud
//! `SKIPPED:` line and passes, unless `KUBELAB_REQUIRE_DOCKER=1`, which turns that into a failure.

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bollard::Docker;
use common::docker::{docker_with_images, ClusterGuard, DEMO_IMAGE};
use common::{eventually, free_port};
use futures_util::StreamExt;
use kubelab_agent::runtime::docker::network::{candidate_subnet, network_name};
use kubelab_agent::runtime::docker::{remove_cluster_objects, ClusterNetwork, DockerRuntime};
use kubelab_agent::runtime::{
    labels, ContainerConfig, ContainerRuntime, ContainerState, LogOptions, PortMapping, PullPolicy, RuntimeError,
    SandboxConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DEMO_BINARY: &str = "/bin/kubelab-demo";

// ---------------------------------------------------------------------------------------------
// Set-up: Docker, images and cluster guard from tests/common/docker.rs; one cluster per test
// ---------------------------------------------------------------------------------------------

struct TestCluster {
    docker: Docker,
    cluster: String,
    rt: DockerRuntime,
    _guard: ClusterGuard,
}

/// Docker, the images, and a fresh cluster with its network and one node, `node-a`.
async fn test_cluster() -> Option<TestCluster> {
    let docker = docker_with_images().await?;
    let guard = ClusterGuard::new("t");
    let cluster = guard.name().to_string();
    let network = ClusterNetwork::ensure(&docker, &cluster).await.expect("ensure network");
    let rt = DockerRuntime::connect(&cluster, "node-a", network)
        .await
        .expect("connect");
    Some(TestCluster {
        docker,
        cluster,
        rt,
        _guard: guard,
    })
}

fn sandbox_config(pod: &str, uid: &str) -> SandboxConfig {
    SandboxConfig {
        pod_uid: uid.to_string(),
        namespace: "default".to_string(),
        pod_name: pod.to_string(),
        hostname: pod.to_string(),
        dns_search: vec![
            "default.svc.cluster.local".into(),
            "svc.cluster.local".into(),
            "cluster.local".into(),
        ],
        ..Default::default()
    }
}

fn demo_config(pod: &SandboxConfig, name: &str, args: &[&str]) -> ContainerConfig {
    ContainerConfig {
        pod_uid: pod.pod_uid.clone(),
        namespace: pod.namespace.clone(),
        pod_name: pod.pod_name.clone(),
        name: name.to_string(),
        image: DEMO_IMAGE.to_string(),
        args: args.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

async fn state_of(rt: &DockerRuntime, id: &str) -> Option<ContainerState> {
    rt.list_containers()
        .await
        .expect("list containers")
        .into_iter()
        .find(|c| c.id == id)
        .map(|c| c.state)
}

async fn wait_exited(rt: &DockerRuntime, id: &str) -> ContainerState {
    eventually(Duration::from_secs(15), "the container to exit", || async {
        state_of(rt, id)
            .await
            .filter(|s| matches!(s, ContainerState::Exited { .. }))
    })
    .await
}

async fn all_logs(rt: &DockerRuntime, id: &str, options: &LogOptions) -> String {
    let mut stream = rt.logs(id, options).await.expect("logs");
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.expect("log chunk"));
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn http_get(addr: String) -> Option<String> {
    let mut stream = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr))
        .await
        .ok()?
        .ok()?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut body = String::new();
    tokio::time::timeout(Duration::from_secs(2), stream.read_to_string(&mut body))
        .await
        .ok()?
        .ok()?;
    body.starts_with("HTTP/1.1 200").then_some(body)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn network_is_derived_from_the_name_adopted_and_removed() {
    let Some(docker) = docker_with_images().await else {
        return;
    };
    let guard = ClusterGuard::new("t");
    let cluster = guard.name().to_string();

    let net = ClusterNetwork::ensure(&docker, &cluster).await.expect("ensure");
    assert_eq!(net.name, network_name(&cluster));
    let preferred: Vec<_> = (0..64).map(|a| candidate_subnet(&cluster, a)).collect();
    assert!(
        preferred.contains(&net.subnet),
        "{} is not one of the cluster's candidates",
        net.subnet
    );
    assert_eq!(net.subnet.prefix, 20);
    let (lower, upper) = net.subnet.halves();
    assert_eq!((net.pod_range, net.service_range), (lower, upper));
    assert_eq!(net.gateway, net.subnet.nth(1));

    let inspected = docker.inspect_network(&net.name, None).await.expect("inspect");
    assert_eq!(
        inspected.labels.unwrap_or_default().get(labels::CLUSTER),
        Some(&cluster)
    );
    let ipam = inspected.ipam.and_then(|i| i.config).unwrap_or_default();
    assert_eq!(ipam[0].ip_range.as_deref(), Some(lower.to_string().as_str()));

    // A second ensure (another agent, or a restart) adopts the same network.
    let again = ClusterNetwork::ensure(&docker, &cluster).await.expect("adopt");
    assert_eq!(again, net);

    net.remove(&docker).await.expect("remove");
    assert_eq!(ClusterNetwork::find(&docker, &cluster).await.expect("find"), None);
    net.remove(&docker).await.expect("removing twice is fine");
}

#[tokio::test]
async fn agents_starting_together_end_up_on_one_network() {
    let Some(docker) = docker_with_images().await else {
        return;
    };
    let guard = ClusterGuard::new("t");
    let cluster = guard.name().to_string();
    // Three agents of one cluster starting at the same moment (as `kubelab up` starts them):
    // Docker accepts several networks of one name, so each may create its own.
    let ensures = (0..3).map(|_| ClusterNetwork::ensure(&docker, &cluster));
    let networks = futures_util::future::join_all(ensures).await;
    let ids: Vec<String> = networks.into_iter().map(|n| n.expect("ensure").id).collect();
    assert!(
        ids.iter().all(|id| id == &ids[0]),
        "agents chose different networks: {ids:?}"
    );
    let named: Vec<_> = docker
        .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
        .await
        .expect("list networks")
        .into_iter()
        .filter(|n| n.name.as_deref() == Some(network_name(&cluster).as_str()))
        .collect();
    assert_eq!(named.len(), 1, "duplicate networks were left behind");
}

#[tokio::test]
async fn sandbox_holds_ip_hostname_and_host_port_and_containers_join_it() {
    let Some(t) = test_cluster().await else { return };
    let host_port = free_port();
    let mut pod = sandbox_config("web-1", "aaaabbbb-1111");
    pod.port_mappings = vec![PortMapping {
        container_port: 8080,
        host_port,
        protocol: "TCP".into(),
        host_ip: None,
    }];

    let started = Instant::now();
    let sandbox = t.rt.run_sandbox(&pod).await.expect("run sandbox");
    let sandbox_time = started.elapsed();

    let sandboxes = t.rt.list_sandboxes().await.expect("list sandboxes");
    assert_eq!(sandboxes.len(), 1);
    let s = &sandboxes[0];
    assert_eq!(
        (s.id.as_str(), s.pod_name.as_str(), s.namespace.as_str()),
        (sandbox.as_str(), "web-1", "default")
    );
    assert!(s.ready);
    let ip: Ipv4Addr = s.ip.as_deref().expect("pod ip").parse().expect("an IPv4 address");
    assert!(
        t.rt.network().pod_range.contains(ip),
        "{ip} outside {}",
        t.rt.network().pod_range
    );

    let inspected = t.docker.inspect_container(&sandbox, None).await.expect("inspect");
    let config = inspected.config.expect("config");
    assert_eq!(config.hostname.as_deref(), Some("web-1"));
    let host = inspected.host_config.expect("host config");
    assert_eq!(host.dns_search.unwrap_or_default().len(), 3);
    let name = inspected.name.unwrap_or_default();
    assert!(
        name.starts_with("/k8s_POD_web-1_default_aaaabbbb_") && name.ends_with(&t.cluster),
        "{name}"
    );

    let app = demo_config(&pod, "app", &["web"]);
    t.rt.ensure_image(DEMO_IMAGE, PullPolicy::IfNotPresent)
        .await
        .expect("demo image");
    let started = Instant::now();
    let id = t.rt.create_container(&sandbox, &app).await.expect("create");
    t.rt.start_container(&id).await.expect("start");
    let joined_time = started.elapsed();
    eprintln!("MEASURED: sandbox create+start {sandbox_time:?}; joined container create+start {joined_time:?}");

    // The app answers on the pod IP and on the host port (127.0.0.1), and sees the pod's hostname.
    let body = eventually(Duration::from_secs(10), "the web app on the host port", || {
        http_get(format!("127.0.0.1:{host_port}"))
    })
    .await;
    assert!(body.contains("pod:       web-1"), "{body}");
    let body = eventually(Duration::from_secs(5), "the web app on the pod IP", || {
        http_get(format!("{ip}:8080"))
    })
    .await;
    assert!(body.contains(&format!("ip:        {ip}")), "{body}");

    let containers = t.rt.list_containers().await.expect("list");
    assert_eq!(containers.len(), 1, "the sandbox is not an app container");
    assert_eq!(containers[0].sandbox_id.as_deref(), Some(sandbox.as_str()));
    assert!(matches!(containers[0].state, ContainerState::Running { .. }));
    assert!(containers[0].image_id.starts_with("sha256:"));
}

#[tokio::test]
async fn containers_of_one_pod_share_localhost() {
    let Some(t) = test_cluster().await else { return };
    let pod = sandbox_config("pair", "pair0001");
    let sandbox = t.rt.run_sandbox(&pod).await.expect("sandbox");
    let listen = ["web", "--bind", "127.0.0.1", "--port", "8081"];
    let first =
        t.rt.create_container(&sandbox, &demo_config(&pod, "first", &listen))
            .await
            .expect("create");
    t.rt.start_container(&first).await.expect("start");
    eventually(Duration::from_secs(10), "the first server to listen", || async {
        all_logs(&t.rt, &first, &LogOptions::default())
            .await
            .contains("listening")
            .then_some(())
    })
    .await;

    // The same loopback port in a second container of the pod is taken: one shared localhost.
    let second =
        t.rt.create_container(&sandbox, &demo_config(&pod, "second", &listen))
            .await
            .expect("create");
    t.rt.start_container(&second).await.expect("start");
    match wait_exited(&t.rt, &second).await {
        ContainerState::Exited { exit_code, reason, .. } => assert_eq!((exit_code, reason.as_str()), (1, "Error")),
        other => panic!("{other:?}"),
    }
    let logs = all_logs(&t.rt, &second, &LogOptions::default()).await;
    assert!(logs.contains("cannot listen on 127.0.0.1:8081"), "{logs}");

    // An exec in the first container meets the same taken port.
    let command: Vec<String> = std::iter::once(DEMO_BINARY).chain(listen).map(String::from).collect();
    let out =
        t.rt.exec(&first, &command, Duration::from_secs(10))
            .await
            .expect("exec");
    assert_eq!(out.exit_code, 1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot listen"),
        "{out:?}"
    );

    // Another pod has a localhost of its own: the same port is free there.
    let other_pod = sandbox_config("other", "other001");
    let other_sandbox = t.rt.run_sandbox(&other_pod).await.expect("sandbox");
    let third =
        t.rt.create_container(&other_sandbox, &demo_config(&other_pod, "third", &listen))
            .await
            .expect("create");
    t.rt.start_container(&third).await.expect("start");
    eventually(Duration::from_secs(10), "the other pod's server to listen", || async {
        all_logs(&t.rt, &third, &LogOptions::default())
            .await
            .contains("listening")
            .then_some(())
    })
    .await;
    assert!(matches!(
        state_of(&t.rt, &third).await,
        Some(ContainerState::Running { .. })
    ));
}

#[tokio::test]
async fn exec_reports_output_exit_codes_and_timeouts() {
    let Some(t) = test_cluster().await else { return };
    let pod = sandbox_config("exec", "exec0001");
    let sandbox = t.rt.run_sandbox(&pod).await.expect("sandbox");
    let id =
        t.rt.create_container(&sandbox, &demo_config(&pod, "app", &["sleep"]))
            .await
            .expect("create");
    t.rt.start_container(&id).await.expect("start");

    let cmd = |args: &[&str]| -> Vec<String> { args.iter().map(|s| s.to_string()).collect() };
    let out =
        t.rt.exec(&id, &cmd(&[DEMO_BINARY, "--version"]), Duration::from_secs(10))
            .await
            .expect("exec");
    assert_eq!(out.exit_code, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("kubelab-demo"), "{out:?}");

    let out =
        t.rt.exec(
            &id,
            &cmd(&[DEMO_BINARY, "worker", "--exit-code", "5"]),
            Duration::from_secs(10),
        )
        .await
        .expect("exec");
    assert_eq!(out.exit_code, 5);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("exiting with status 5"),
        "{out:?}"
    );

    let out =
        t.rt.exec(&id, &cmd(&["/bin/no-such-program"]), Duration::from_secs(10))
            .await
            .expect("exec");
    assert_ne!(out.exit_code, 0, "{out:?}");

    let started = Instant::now();
    let late =
        t.rt.exec(&id, &cmd(&[DEMO_BINARY, "sleep"]), Duration::from_millis(500))
            .await;
    assert_eq!(late, Err(RuntimeError::Timeout(Duration::from_millis(500))));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn exit_codes_and_reasons_of_finished_containers() {
    let Some(t) = test_cluster().await else { return };
    let pod = sandbox_config("jobs", "jobs0001");
    let sandbox = t.rt.run_sandbox(&pod).await.expect("sandbox");

    let run = |name: &'static str, args: &'static [&'static str]| {
        let config = demo_config(&pod, name, args);
        let (rt, sandbox) = (&t.rt, &sandbox);
        async move {
            let id = rt.create_container(sandbox, &config).await.expect("create");
            rt.start_container(&id).await.expect("start");
            (id.clone(), wait_exited(rt, &id).await)
        }
    };
    let (failed_id, failed) = run("fail", &["worker", "--exit-after", "0", "--exit-code", "3"]).await;
    match &failed {
        ContainerState::Exited {
            exit_code,
            reason,
            started_at,
            finished_at,
            ..
        } => {
            assert_eq!((*exit_code, reason.as_str()), (3, "Error"));
            let (started_at, finished_at) = (started_at.expect("started"), finished_at.expect("finished"));
            assert!(started_at <= finished_at);
        }
        other => panic!("{other:?}"),
    }
    let (_, done) = run("done", &["worker", "--exit-code", "0"]).await;
    assert!(
        matches!(&done, ContainerState::Exited { exit_code: 0, reason, .. } if reason == "Completed"),
        "{done:?}"
    );
    let (_, crashed) = run("crash", &["worker", "--crash"]).await;
    assert!(
        // Killed by a signal: 128 + its number.
        matches!(&crashed, ContainerState::Exited { exit_code, reason, .. } if *exit_code > 128 && reason == "Error"),
        "{crashed:?}"
    );

    let logs = all_logs(&t.rt, &failed_id, &LogOptions::default()).await;
    assert!(logs.contains("exiting with status 3"), "{logs}");

    // A command that does not exist: starting fails with Docker's words, and the container reads
    // as one that could not run.
    let mut bad = demo_config(&pod, "bad", &[]);
    bad.command = vec!["/bin/no-such-program".into()];
    let id = t.rt.create_container(&sandbox, &bad).await.expect("create");
    match t.rt.start_container(&id).await {
        Err(RuntimeError::InvalidConfig(message)) => {
            assert!(
                message.contains("no-such-program") && message.contains("not found")
                    || message.contains("no such file"),
                "{message}"
            )
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    match state_of(&t.rt, &id).await {
        Some(ContainerState::Exited { reason, message, .. }) => {
            assert_eq!(reason, "ContainerCannotRun");
            assert!(message.unwrap_or_default().contains("no-such-program"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn stop_and_remove_are_quick_and_idempotent() {
    let Some(t) = test_cluster().await else { return };
    let pod = sandbox_config("stop", "stop0001");
    let sandbox = t.rt.run_sandbox(&pod).await.expect("sandbox");
    let id =
        t.rt.create_container(&sandbox, &demo_config(&pod, "app", &["web"]))
            .await
            .expect("create");
    t.rt.start_container(&id).await.expect("start");
    // Until its handler is installed, a PID 1 ignores SIGTERM (and would be killed only after
    // the grace period): wait for the server to be up.
    eventually(Duration::from_secs(10), "the server to listen", || async {
        all_logs(&t.rt, &id, &LogOptions::default())
            .await
            .contains("listening")
            .then_some(())
    })
    .await;

    // Both programs exit on SIGTERM, so a long grace period is not waited out.
    let started = Instant::now();
    t.rt.stop_container(&id, Duration::from_secs(20)).await.expect("stop");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stop took {:?}",
        started.elapsed()
    );
    match state_of(&t.rt, &id).await {
        Some(ContainerState::Exited { exit_code, reason, .. }) => {
            assert_eq!((exit_code, reason.as_str()), (0, "Completed"))
        }
        other => panic!("{other:?}"),
    }
    let started = Instant::now();
    t.rt.stop_sandbox(&sandbox).await.expect("stop sandbox");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "pause stop took {:?}",
        started.elapsed()
    );
    assert!(!t.rt.list_sandboxes().await.expect("list")[0].ready);

    t.rt.stop_container(&id, Duration::from_secs(1))
        .await
        .expect("stopping twice");
    t.rt.stop_sandbox(&sandbox).await.expect("stopping the sandbox twice");
    t.rt.remove_container(&id).await.expect("remove");
    t.rt.remove_container(&id).await.expect("removing twice");
    t.rt.remove_sandbox(&sandbox).await.expect("remove sandbox");
    t.rt.remove_sandbox(&sandbox).await.expect("removing the sandbox twice");
    t.rt.stop_container(&id, Duration::from_secs(1))
        .await
        .expect("stopping what is gone");
    assert!(t.rt.list_containers().await.expect("list").is_empty());
    assert!(t.rt.list_sandboxes().await.expect("list").is_empty());
}

#[tokio::test]
async fn images_are_never_pulled() {
    let Some(t) = test_cluster().await else { return };
    let missing = "kubelab/does-not-exist:never";
    for policy in [PullPolicy::IfNotPresent, PullPolicy::Always, PullPolicy::Never] {
        match t.rt.ensure_image(missing, policy).await {
            Err(RuntimeError::ImageNotFound { image, .. }) => assert_eq!(image, missing),
            other => panic!("{policy:?}: {other:?}"),
        }
    }
    let id =
        t.rt.ensure_image(DEMO_IMAGE, PullPolicy::Always)
            .await
            .expect("a present image is used");
    assert!(id.starts_with("sha256:"));

    let pod = sandbox_config("img", "img00001");
    let sandbox = t.rt.run_sandbox(&pod).await.expect("sandbox");
    let mut config = demo_config(&pod, "app", &[]);
    config.image = missing.to_string();
    match t.rt.create_container(&sandbox, &config).await {
        Err(RuntimeError::ImageNotFound { image, .. }) => assert_eq!(image, missing),
        other => panic!("{other:?}"),
    }
    assert!(t.rt.version().await.expect("version").starts_with("docker://"));
}

#[tokio::test]
async fn a_restarted_agent_adopts_its_objects_by_label() {
    let Some(t) = test_cluster().await else { return };
    let pod = sandbox_config("adopt", "adopt001");
    let sandbox = t.rt.run_sandbox(&pod).await.expect("sandbox");
    let mut config = demo_config(&pod, "app", &["sleep"]);
    config.restart_count = 4;
    let id = t.rt.create_container(&sandbox, &config).await.expect("create");
    t.rt.start_container(&id).await.expect("start");

    // A new runtime instance, as after an agent restart: same cluster and node.
    let again = DockerRuntime::connect_with_network(&t.cluster, "node-a")
        .await
        .expect("reconnect");
    assert_eq!(again.network(), t.rt.network());
    let sandboxes = again.list_sandboxes().await.expect("list");
    assert_eq!(
        sandboxes.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        vec![sandbox.as_str()]
    );
    assert_eq!(sandboxes[0].pod_uid, "adopt001");
    let containers = again.list_containers().await.expect("list");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(
        (c.id.as_str(), c.name.as_str(), c.restart_count),
        (id.as_str(), "app", 4)
    );
    assert_eq!((c.pod_name.as_str(), c.pod_uid.as_str()), ("adopt", "adopt001"));

    // Another node of the same cluster sees none of it.
    let other = DockerRuntime::connect(&t.cluster, "node-b", t.rt.network().clone())
        .await
        .expect("connect");
    assert!(other.list_sandboxes().await.expect("list").is_empty());
    assert!(other.list_containers().await.expect("list").is_empty());

    // The same pod's sandbox made again (the old one died) gets a name of its own.
    let second = t.rt.run_sandbox(&pod).await.expect("a second sandbox for the same pod");
    assert_ne!(second, sandbox);
}

#[tokio::test]
async fn logs_tail_timestamps_and_follow() {
    let Some(t) = test_cluster().await else { return };
    let pod = sandbox_config("logs", "logs0001");
    let sandbox = t.rt.run_sandbox(&pod).await.expect("sandbox");
    let id =
        t.rt.create_container(&sandbox, &demo_config(&pod, "app", &["worker"]))
            .await
            .expect("create");
    t.rt.start_container(&id).await.expect("start");

    // Follow: lines arrive as the worker prints them, once a second.
    let mut stream =
        t.rt.logs(
            &id,
            &LogOptions {
                follow: true,
                ..Default::default()
            },
        )
        .await
        .expect("follow");
    let mut seen = String::new();
    let followed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
            if seen.contains("tick 2") {
                return;
            }
        }
    })
    .await;
    assert!(followed.is_ok(), "no second tick followed: {seen:?}");
    drop(stream);

    let tail = all_logs(
        &t.rt,
        &id,
        &LogOptions {
            tail_lines: Some(1),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(tail.lines().count(), 1, "{tail:?}");
    let stamped = all_logs(
        &t.rt,
        &id,
        &LogOptions {
            timestamps: true,
            tail_lines: Some(1),
            ..Default::default()
        },
    )
    .await;
    assert!(
        stamped.starts_with("20") && stamped.contains("Z worker: tick"),
        "{stamped:?}"
    );

    match t.rt.logs("no-such-container-kubelab", &LogOptions::default()).await {
        Err(RuntimeError::NotFound(_)) => {}
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("logs of a missing container"),
    }
}

#[tokio::test]
async fn cleanup_removes_only_its_own_cluster() {
    let Some(a) = test_cluster().await else { return };
    let Some(b) = test_cluster().await else { return };
    for t in [&a, &b] {
        let pod = sandbox_config("p", "p0000001");
        let sandbox = t.rt.run_sandbox(&pod).await.expect("sandbox");
        let id =
            t.rt.create_container(&sandbox, &demo_config(&pod, "app", &["sleep"]))
                .await
                .expect("create");
        t.rt.start_container(&id).await.expect("start");
    }

    let report = remove_cluster_objects(&a.docker, &a.cluster).await.expect("cleanup");
    assert_eq!((report.containers, report.networks), (2, 1));
    assert!(a.rt.list_sandboxes().await.expect("list").is_empty());
    assert!(a.rt.list_containers().await.expect("list").is_empty());
    assert_eq!(ClusterNetwork::find(&a.docker, &a.cluster).await.expect("find"), None);

    assert_eq!(b.rt.list_sandboxes().await.expect("list").len(), 1);
    assert_eq!(b.rt.list_containers().await.expect("list").len(), 1);
    assert!(ClusterNetwork::find(&b.docker, &b.cluster)
        .await
        .expect("find")
        .is_some());

    let again = remove_cluster_objects(&a.docker, &a.cluster)
        .await
        .expect("cleanup twice");
    assert_eq!((again.containers, again.networks), (0, 0));
}
