//! Service ClusterIPs and NodePorts as the real API server process hands them out: a small range
//! runs out with Kubernetes' error, a crash and restart (data kept) never hands out an IP or a
//! port that a stored Service holds, and a delete frees them. Also `kubelab service` against it.

mod common;

use std::collections::HashSet;
use std::process::Command;

use common::{get_json, Apiserver};
use serde_json::{json, Value};

const SERVICES: &str = "/api/v1/namespaces/default/services";

async fn post(http: &reqwest::Client, base: &str, body: Value) -> (u16, Value) {
    let response = http.post(format!("{base}{SERVICES}")).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn web(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
           "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}})
}

fn ip(object: &Value) -> String {
    object["spec"]["clusterIP"].as_str().expect("clusterIP").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocations_survive_a_crash_and_restart_and_deletes_free_them() {
    let data = tempfile::tempdir().expect("tempdir");
    let flags = [
        "--service-cluster-ip-range",
        "10.0.0.0/29",
        "--service-node-port-range",
        "30000-30001",
    ];
    let server = Apiserver::start_with(data.path(), &flags).await;
    let base = server.base_url();
    let http = reqwest::Client::new();

    // The bootstrap Service holds the first address.
    let kubernetes = get_json(&http, &format!("{base}{SERVICES}/kubernetes")).await;
    assert_eq!(ip(&kubernetes), "10.0.0.1");
    let mut ips: HashSet<String> = HashSet::from([ip(&kubernetes)]);

    // One NodePort Service takes both node ports; four more take the rest of the /29.
    let (code, np) = post(
        &http,
        &base,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"},
               "spec": {"type": "NodePort", "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}}),
    )
    .await;
    assert_eq!(code, 201, "{np}");
    assert!(ips.insert(ip(&np)));
    let node_ports: HashSet<u64> = (0..2)
        .map(|i| np["spec"]["ports"][i]["nodePort"].as_u64().unwrap())
        .collect();
    assert_eq!(node_ports, HashSet::from([30000, 30001]));
    for i in 1..=4 {
        let (code, created) = post(&http, &base, web(&format!("s{i}"))).await;
        assert_eq!(code, 201, "{created}");
        assert!(ips.insert(ip(&created)), "handed out twice: {}", ip(&created));
    }
    let (code, full) = post(&http, &base, web("s5")).await;
    assert_eq!(code, 500, "{full}");
    assert_eq!(
        full["message"],
        "Internal error occurred: failed to allocate a serviceIP: range is full"
    );

    // Crash (no clean shutdown), restart on the same data.
    server.kill_9();
    let server = Apiserver::start_with(data.path(), &flags).await;
    let base = server.base_url();
    let (code, still_full) = post(&http, &base, web("s5")).await;
    assert_eq!(code, 500, "nothing is handed out twice after a restart: {still_full}");
    // A delete frees the IP for the next Service.
    let s2 = get_json(&http, &format!("{base}{SERVICES}/s2")).await;
    let status = http
        .delete(format!("{base}{SERVICES}/s2"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200);
    // A NodePort Service whose port is taken is refused, and takes nothing (not the freed IP).
    let (code, clash) = post(
        &http,
        &base,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np2"},
               "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30001}]}}),
    )
    .await;
    assert_eq!(code, 422, "{clash}");
    assert!(clash["message"]
        .as_str()
        .unwrap()
        .ends_with("spec.ports[0].nodePort: Invalid value: 30001: provided port is already allocated"));

    let (code, s5) = post(&http, &base, web("s5")).await;
    assert_eq!(code, 201, "{s5}");
    assert_eq!(ip(&s5), ip(&s2));

    // `kubelab service` prints the node ports' URLs, and explains a ClusterIP Service.
    let kubeconfig = data.path().join("kubeconfig");
    kubelab_client::write_kubeconfig(&kubeconfig, "test", &base).expect("kubeconfig");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kubelab"))
            .arg("service")
            .args(args)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run kubelab service")
    };
    let urls = run(&["np", "--url"]);
    assert!(urls.status.success(), "{}", String::from_utf8_lossy(&urls.stderr));
    let printed = String::from_utf8_lossy(&urls.stdout);
    let mut lines: Vec<&str> = printed.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["http://127.0.0.1:30000", "http://127.0.0.1:30001"]);
    let internal = run(&["s1"]);
    assert!(!internal.status.success());
    let error = String::from_utf8_lossy(&internal.stderr);
    assert!(error.contains("not exposed outside the cluster"), "{error}");
    let missing = run(&["nope"]);
    assert!(!missing.status.success());
    let error = String::from_utf8_lossy(&missing.stderr);
    assert!(
        error.contains("service \"nope\" not found in namespace \"default\""),
        "{error}"
    );
    server.stop().await;
}
