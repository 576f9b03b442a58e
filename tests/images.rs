//! # Images built with no registry, run on real Docker
//!
//! Builds `kubelab/pause` and `kubelab/demo` from this build's own binaries, then runs them the
//! way a node agent will: the demo web app answers its health check on a published port, and the
//! pause container stops at once on `docker stop` (SIGTERM) with status 0 — the reason it exists
//! rather than a shell's `sleep`, which ignores SIGTERM as PID 1.
//!
//! Every container made here carries `io.kubelab.cluster=<a name unique to this run>` and is
//! removed by that label at the end, whether the test passed or not. Without Docker the test is
//! skipped loudly, unless `KUBELAB_REQUIRE_DOCKER=1` (as in CI) makes that a failure.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{CreateContainerOptionsBuilder, LogsOptionsBuilder, StopContainerOptionsBuilder};
use bollard::Docker;
use common::docker::{docker_or_skip, ClusterGuard};
use common::free_port;
use futures_util::StreamExt;
use kubelab_agent::images::{
    ensure_image, ensure_images, ImageSources, DEMO_IMAGE, MANAGED_LABEL, PAUSE_IMAGE, SOURCE_HASH_LABEL,
};

const CLUSTER_LABEL: &str = "io.kubelab.cluster";

fn sources() -> ImageSources {
    ImageSources {
        pause_binary: PathBuf::from(env!("CARGO_BIN_EXE_kubelab-pause")),
        demo_binary: PathBuf::from(env!("CARGO_BIN_EXE_kubelab-demo")),
    }
}

/// Creates and starts a container of the test's cluster; returns its id.
async fn run(docker: &Docker, cluster: &str, name: &str, body: ContainerCreateBody) -> String {
    let mut labels = body.labels.clone().unwrap_or_default();
    labels.insert(CLUSTER_LABEL.to_string(), cluster.to_string());
    let body = ContainerCreateBody {
        labels: Some(labels),
        ..body
    };
    let options = CreateContainerOptionsBuilder::new()
        .name(&format!("{cluster}-{name}"))
        .build();
    let created = docker
        .create_container(Some(options), body)
        .await
        .expect("create container");
    docker
        .start_container(&created.id, None)
        .await
        .expect("start container");
    created.id
}

/// Waits until the container's output has a line containing `needle`.
async fn wait_for_log_line(docker: &Docker, id: &str, needle: &str, within: Duration) {
    let options = LogsOptionsBuilder::new().follow(true).stdout(true).stderr(true).build();
    let mut logs = docker.logs(id, Some(options));
    let mut seen = String::new();
    let found = tokio::time::timeout(within, async {
        while let Some(Ok(chunk)) = logs.next().await {
            seen.push_str(&chunk.to_string());
            if seen.contains(needle) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        found,
        Ok(true),
        "no {needle:?} in the output of {id} within {within:?}: {seen:?}"
    );
}

async fn exit_code(docker: &Docker, id: &str) -> (bool, Option<i64>) {
    let info = docker.inspect_container(id, None).await.expect("inspect container");
    let state = info.state.unwrap_or_default();
    (state.running.unwrap_or(false), state.exit_code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_build_and_run_without_a_registry() {
    let Some(docker) = docker_or_skip().await else { return };
    let guard = ClusterGuard::new("images-test");
    let cluster = guard.name().to_string();
    // Two builds at once (as two parallel tests would) must both succeed; `force` makes both
    // really build, even when the images are already there.
    let sources = sources();
    let (a, b) = tokio::join!(
        ensure_images(&docker, &sources, true),
        ensure_images(&docker, &sources, true)
    );
    let (a, b) = (a.expect("first ensure_images"), b.expect("concurrent ensure_images"));
    assert_eq!(
        a.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        vec![PAUSE_IMAGE, DEMO_IMAGE]
    );
    assert_eq!(a[0].source_hash, b[0].source_hash);
    assert!(a.iter().chain(&b).all(|i| i.built), "{a:?} {b:?}");

    // Unchanged binaries: nothing to do.
    let again = ensure_images(&docker, &sources, false)
        .await
        .expect("ensure_images again");
    assert!(again.iter().all(|i| !i.built), "{again:?}");
    for image in &again {
        let info = docker.inspect_image(&image.name).await.expect("inspect image");
        let labels = info.config.and_then(|c| c.labels).unwrap_or_default();
        assert_eq!(labels.get(MANAGED_LABEL).map(String::as_str), Some("true"));
        assert_eq!(labels.get(SOURCE_HASH_LABEL), Some(&image.source_hash));
        assert!(image.size > 0);
    }

    // A changed binary means a new image; the one it replaces is removed.
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("kubelab-pause");
    // Content of its own (bytes past the end of an ELF file are ignored when it runs), so this
    // image shares nothing with kubelab/pause.
    let mut bytes = std::fs::read(&sources.pause_binary).expect("read the pause binary");
    bytes.extend_from_slice(cluster.as_bytes());
    std::fs::write(&binary, bytes).expect("write");
    let name = format!("kubelab/{cluster}:latest");
    let first = ensure_image(&docker, &name, &binary, None, false)
        .await
        .expect("first build");
    let mut bytes = std::fs::read(&binary).expect("read");
    bytes.extend_from_slice(b"a change");
    std::fs::write(&binary, bytes).expect("write");
    let second = ensure_image(&docker, &name, &binary, None, false).await;
    let removed = docker
        .remove_image(&name, None::<bollard::query_parameters::RemoveImageOptions>, None)
        .await;
    let second = second.expect("rebuild");
    assert!(
        second.built && second.source_hash != first.source_hash,
        "{first:?} {second:?}"
    );
    assert!(
        docker.inspect_image(&first.id).await.is_err(),
        "the superseded image {} is still there",
        first.id
    );
    removed.expect("remove the test image");

    // The demo web app answers on a published port.
    let port = free_port();
    let web = ContainerCreateBody {
        image: Some(DEMO_IMAGE.to_string()),
        cmd: Some(vec!["web".into()]),
        env: Some(vec!["POD_NAME=images-test-pod".into()]),
        exposed_ports: Some(vec!["8080/tcp".into()]),
        host_config: Some(HostConfig {
            port_bindings: Some(HashMap::from([(
                "8080/tcp".to_string(),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".into()),
                    host_port: Some(port.to_string()),
                }]),
            )])),
            ..Default::default()
        }),
        ..Default::default()
    };
    let web_id = run(&docker, &cluster, "web", web).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("http client");
    let deadline = Instant::now() + Duration::from_secs(20);
    let health = loop {
        match client.get(format!("http://127.0.0.1:{port}/healthz")).send().await {
            Ok(resp) => break resp,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the web container never answered: {e}"),
        }
    };
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.expect("body"), "ok\n");
    let index = client
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .expect("GET /");
    let text = index.text().await.expect("body");
    assert!(text.contains("images-test-pod"), "{text}");

    // The pause container exits at once on SIGTERM, with status 0.
    let pause = ContainerCreateBody {
        image: Some(PAUSE_IMAGE.to_string()),
        ..Default::default()
    };
    let pause_id = run(&docker, &cluster, "pause", pause).await;
    // A PID 1 misses a SIGTERM sent before it has asked for it: wait until it says it has.
    wait_for_log_line(&docker, &pause_id, "kubelab-pause: ready", Duration::from_secs(10)).await;
    let started = Instant::now();
    let stop = StopContainerOptionsBuilder::new().t(10).build();
    docker.stop_container(&pause_id, Some(stop)).await.expect("stop pause");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "pause took {took:?} to stop: it ignored SIGTERM"
    );
    assert_eq!(exit_code(&docker, &pause_id).await, (false, Some(0)));

    // So does the web app.
    let started = Instant::now();
    let stop = StopContainerOptionsBuilder::new().t(10).build();
    docker.stop_container(&web_id, Some(stop)).await.expect("stop web");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "web took {:?} to stop",
        started.elapsed()
    );
    assert_eq!(exit_code(&docker, &web_id).await, (false, Some(0)));
}
