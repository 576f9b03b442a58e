//! End to end on Docker: `kubelab up` starts the ingress controller with the cluster; two demo
//! web Deployments behind Services, one Ingress routing by host and path, and requests from this
//! test to `127.0.0.1:<ingress port>` with Host headers reach the right pods (the demo app
//! answers with its pod's name). `kubelab down --purge` at the end, also when an assertion fails.
//!
//! Without Docker the test prints a loud `SKIPPED:` line and passes, unless
//! `KUBELAB_REQUIRE_DOCKER=1` (set by CI) makes that a failure.

mod common;

use std::time::Duration;

use common::cluster::UpCluster as Cluster;
use common::docker::docker_or_skip;
use common::{eventually_ok, free_port};
use kubelab_api::apps::Deployment;
use kubelab_api::core::Service;
use kubelab_api::networking::Ingress;
use kubelab_client::Api;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One HTTP/1.1 request with this Host header; returns the status code and body.
async fn get(port: u16, host: &str, path: &str) -> Result<(u16, String), String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .map_err(|_| "no answer in 10 s".to_string())?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Waits until `host` + `path` answers `status` with a body containing `needle`.
async fn wait_for(cluster: &Cluster, port: u16, host: &str, path: &str, status: u16, needle: &str) -> String {
    let what = format!("{host}{path} to answer {status} with {needle:?}");
    eventually_ok(Duration::from_secs(120), &what, || async {
        match get(port, host, path).await {
            Ok((got, body)) if got == status && body.contains(needle) => Ok(body),
            last => Err(format!("{last:?}\ningress log:\n{}", cluster.log("ingress"))),
        }
    })
    .await
}

fn deployment(name: &str, replicas: u32) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "kubelab/demo:latest", "imagePullPolicy": "Never",
                    "ports": [{"containerPort": 8080, "name": "http"}],
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1}}]}
            }
        }
    }))
    .expect("a deployment")
}

fn service(name: &str, port: i32) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": port, "targetPort": "http"}]}
    }))
    .expect("a service")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_routes_by_host_and_path_to_pods_on_docker() {
    if docker_or_skip().await.is_none() {
        return;
    }
    let cluster = Cluster::new("ing");
    let (http_port, https_port) = (free_port(), free_port());
    let (http, https) = (http_port.to_string(), https_port.to_string());
    let up = cluster.up(&[
        "--runtime",
        "docker",
        "--nodes",
        "1",
        "--wait-timeout",
        "90s",
        "--ingress-http-port",
        &http,
        "--ingress-https-port",
        &https,
    ]);
    assert!(up.status.success(), "kubelab up failed");
    assert!(
        String::from_utf8_lossy(&up.stdout).contains(&format!("http://127.0.0.1:{http_port}")),
        "up does not say where the ingress is"
    );

    let client = cluster.client();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    deployments
        .create(&deployment("hello", 2))
        .await
        .expect("creating hello");
    deployments
        .create(&deployment("world", 1))
        .await
        .expect("creating world");
    services
        .create(&service("hello", 80))
        .await
        .expect("creating service hello");
    services
        .create(&service("world", 8080))
        .await
        .expect("creating service world");
    let ingress: Ingress = serde_json::from_value(json!({
        "metadata": {"name": "demo"},
        "spec": {"rules": [
            {"host": "hello.test", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "hello", "port": {"number": 80}}}}]}},
            {"host": "shop.test", "http": {"paths": [
                {"path": "/env", "pathType": "Prefix", "backend": {"service": {"name": "world", "port": {"name": "http"}}}},
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "hello", "port": {"name": "http"}}}}]}}
        ]}
    }))
    .expect("an ingress");
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), "default");
    ingresses.create(&ingress).await.expect("creating the ingress");

    // By host, and by path within a host; the demo app names the pod that answered.
    let body = wait_for(&cluster, http_port, "hello.test", "/", 200, "pod:       hello-").await;
    assert!(body.contains("Hello from kubelab-demo!"), "{body}");
    // (The path goes to the pod unchanged: /env is the demo app's list of its environment.)
    wait_for(&cluster, http_port, "shop.test", "/env", 200, "HOSTNAME=world-").await;
    let headers = wait_for(
        &cluster,
        http_port,
        "shop.test:80",
        "/headers",
        200,
        "x-forwarded-host: shop.test:80",
    )
    .await;
    assert!(headers.contains("x-forwarded-proto: http\n"), "{headers}");
    assert!(headers.contains("x-forwarded-for: 127.0.0.1"), "{headers}");
    // Both hello pods get requests (round-robin over the ready endpoints). The second pod may
    // become ready after the first answered, so keep asking until both have, with a deadline.
    let pods = std::cell::RefCell::new(std::collections::BTreeSet::new());
    eventually_ok(Duration::from_secs(60), "requests reaching both hello pods", || {
        let pods = &pods;
        async move {
            let (_, body) = get(http_port, "hello.test", "/").await?;
            let mut pods = pods.borrow_mut();
            if let Some(line) = body.lines().find(|l| l.starts_with("pod:")) {
                pods.insert(line.to_string());
            }
            if pods.len() == 2 {
                Ok(())
            } else {
                Err(format!("{pods:?}"))
            }
        }
    })
    .await;
    // No rule for this host, no default backend.
    let (status, body) = get(http_port, "nobody.test", "/")
        .await
        .expect("a request to nobody.test");
    assert_eq!(status, 404, "{body}");

    // The status shows where the Ingress is served (kubectl get ing: ADDRESS).
    eventually_ok(Duration::from_secs(30), "status.loadBalancer", || async {
        let demo = ingresses.get("demo").await.expect("reading the ingress");
        let ip = demo
            .status
            .and_then(|s| s.load_balancer.ingress.first().and_then(|i| i.ip.clone()));
        match ip.as_deref() {
            Some("127.0.0.1") => Ok(()),
            _ => Err(format!("{ip:?}")),
        }
    })
    .await;
    let down = cluster.kubelab("down", &["--purge"]);
    assert!(down.status.success(), "down failed");
    assert!(
        get(http_port, "hello.test", "/").await.is_err(),
        "the ingress still answers after down"
    );
}
