//! `--advertise-address`: the API server also listens on the address the cluster's pods reach it
//! at (in a cluster, the Docker network's gateway), on the port of `--listen`. Here 127.0.0.2
//! plays that address; an address that is not this machine's is a clear startup error.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Kills the server when dropped, however the test ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

async fn ready(http: &reqwest::Client, url: &str) -> bool {
    http.get(url).send().await.is_ok_and(|r| r.status().is_success())
}

#[tokio::test]
async fn the_server_also_listens_on_the_advertise_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_kubelab-apiserver"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--advertise-address",
            "127.0.0.2",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .expect("start kubelab-apiserver");
    let _server = Server(child);
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !ready(&http, &format!("http://127.0.0.1:{port}/readyz")).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the apiserver did not become ready within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Same API on the advertise address, same port.
    let pods = http
        .get(format!("http://127.0.0.2:{port}/api/v1/namespaces/default/pods"))
        .send()
        .await
        .expect("the advertise address answers");
    assert_eq!(pods.status(), 200);
    let list: serde_json::Value = pods.json().await.expect("a pod list");
    assert_eq!(list["kind"], "PodList");
}

#[tokio::test]
async fn an_advertise_address_that_is_not_ours_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubelab-apiserver"))
        .args(["--listen", "127.0.0.1:0", "--advertise-address", "192.0.2.1"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kubelab-apiserver");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the apiserver kept running with an advertise address it cannot bind");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        use std::io::Read;
        let _ = err.read_to_string(&mut stderr);
    }
    assert!(!status.success());
    assert!(stderr.contains("192.0.2.1"), "stderr: {stderr}");
    assert!(stderr.contains("advertise address"), "stderr: {stderr}");
}
