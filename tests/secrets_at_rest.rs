//! Secrets are encrypted at rest: with `--encryption-provider-config`, no byte of a Secret's
//! value reaches the data directory in clear (neither the object nor the event log), the API
//! still serves it in clear (base64 on the wire, as Kubernetes), it survives a restart with the
//! key, and without the key it cannot be read at all.

mod common;

use std::path::Path;

use base64::Engine;
use common::Apiserver;
use serde_json::{json, Value};

const PASSWORD: &str = "correct-horse-battery-staple-4c1d";

/// Every file under `dir` that contains `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read the data directory") {
                stack.push(entry.expect("a directory entry").path());
            }
        } else if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

async fn read_secret(server: &Apiserver) -> reqwest::Response {
    reqwest::get(format!("{}/api/v1/namespaces/default/secrets/db", server.base_url()))
        .await
        .expect("GET the secret")
}

#[tokio::test]
async fn secrets_never_reach_the_disk_in_clear() {
    let home = tempfile::tempdir().expect("a temporary directory");
    let data = home.path().join("data");
    let config = home.path().join("encryption.yaml");
    std::fs::write(&config, kubelab_apiserver::store::encryption::generate_config()).expect("write the config");
    let config_flag = ["--encryption-provider-config", config.to_str().expect("a UTF-8 path")];

    let server = Apiserver::start_with(&data, &config_flag).await;
    let http = reqwest::Client::new();
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "labels": {"app": "db"}},
        "stringData": {"password": PASSWORD},
    });
    let created = http
        .post(format!("{}/api/v1/namespaces/default/secrets", server.base_url()))
        .json(&secret)
        .send()
        .await
        .expect("POST the secret");
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap_or_default());
    // An update too, so the event log holds a `prev` as well.
    let patched = http
        .patch(format!("{}/api/v1/namespaces/default/secrets/db", server.base_url()))
        .header("Content-Type", "application/merge-patch+json")
        .body(r#"{"metadata":{"labels":{"tier":"data"}}}"#)
        .send()
        .await
        .expect("PATCH the secret");
    assert_eq!(patched.status(), 200);
    let encoded = base64::engine::general_purpose::STANDARD.encode(PASSWORD);
    let served: Value = read_secret(&server).await.json().await.expect("a Secret");
    assert_eq!(
        served["data"]["password"],
        encoded.as_str(),
        "served as base64, like Kubernetes"
    );
    server.stop().await;

    for needle in [PASSWORD.as_bytes(), encoded.as_bytes(), b"\"tier\":\"data\""] {
        let found = files_containing(&data, needle);
        assert!(
            found.is_empty(),
            "{:?} found in clear in {found:?}",
            String::from_utf8_lossy(needle)
        );
    }

    // With the key, after a restart: the secret is there.
    let server = Apiserver::start_with(&data, &config_flag).await;
    let served: Value = read_secret(&server).await.json().await.expect("a Secret");
    assert_eq!(served["data"]["password"], encoded.as_str());
    server.stop().await;

    // Without it: the server starts (other objects are fine) but cannot open the secret.
    let server = Apiserver::start(&data).await;
    let reply = read_secret(&server).await;
    assert_eq!(reply.status(), 500);
    let status: Value = reply.json().await.expect("a Status");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.contains("key1"), "the error names the missing key: {message}");
    assert!(!message.contains(PASSWORD));
    // The event history it can no longer open was compacted at start: a watch from before it is
    // told to list again (410), not handed an error mid-stream.
    let watch = reqwest::get(format!(
        "{}/api/v1/namespaces/default/secrets?watch=true&resourceVersion=1&timeoutSeconds=1",
        server.base_url()
    ))
    .await
    .expect("watch secrets")
    .text()
    .await
    .expect("the watch body");
    assert!(watch.contains("\"code\":410"), "{watch}");
    server.stop().await;
}

#[tokio::test]
async fn a_broken_encryption_config_stops_the_server_with_the_field_named() {
    let home = tempfile::tempdir().expect("a temporary directory");
    let config = home.path().join("encryption.yaml");
    std::fs::write(
        &config,
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n\
         - resources: [secrets]\n  providers:\n  - aesgcm:\n      keys:\n      - name: key1\n        secret: dG9vIHNob3J0\n",
    )
    .expect("write the config");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kubelab-apiserver"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(home.path().join("data"))
        .arg("--encryption-provider-config")
        .arg(&config)
        .output()
        .expect("run the apiserver");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("resources[0].providers[0].aesgcm.keys[0].secret: must be 32 bytes"),
        "{stderr}"
    );
}
