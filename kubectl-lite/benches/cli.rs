//! How fast kubectl-lite answers, measured as a user sees it: the time from starting the
//! process to its exit.
//!
//! - `version --client`: start-up alone (no kubeconfig read, no connection);
//! - `get pods` with 1,000 pods in the namespace: discovery, one LIST as a server Table, and
//!   printing it.
//!
//! The API server runs in this process on a free loopback port (the same one the tests use),
//! with its data in a temporary directory. Run with a release build:
//!
//! ```sh
//! cargo bench -p kubectl-lite --bench cli -- [--runs 50] [--pods 1000] [--json]
//! ```

use std::time::{Duration, Instant};

use kubelab_apiserver::testing::InProcessApiserver;
use kubelab_client::{Client, Config, Method, RequestBody};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-lite");

struct Options {
    runs: usize,
    pods: usize,
    json: bool,
}

fn options() -> Options {
    let mut o = Options {
        runs: 50,
        pods: 1000,
        json: false,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--json" => o.json = true,
            "--runs" => {
                i += 1;
                o.runs = args.get(i).and_then(|v| v.parse().ok()).unwrap_or(o.runs);
            }
            "--pods" => {
                i += 1;
                o.pods = args.get(i).and_then(|v| v.parse().ok()).unwrap_or(o.pods);
            }
            _ => {} // cargo bench passes --bench
        }
        i += 1;
    }
    o
}

/// Runs the binary `runs` times and returns each wall-clock duration, sorted.
async fn time_runs(args: &[&str], kubeconfig: &std::path::Path, runs: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let out = tokio::process::Command::new(BIN)
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .output()
            .await
            .expect("run kubectl-lite");
        times.push(start.elapsed());
        assert!(
            out.status.success(),
            "kubectl-lite {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    times.sort();
    times
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let o = options();
    let server = InProcessApiserver::start().await.expect("start the API server");
    let dir = tempfile::tempdir().expect("temporary directory");
    let kubeconfig = dir.path().join("kubeconfig");
    kubelab_client::write_kubeconfig(&kubeconfig, "bench", &server.url).expect("kubeconfig");
    let client = Client::new(Config::new(&server.url)).expect("client");
    for i in 0..o.pods {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("web-{i:05}"), "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "kubelab/demo:latest"}]}
        });
        let _: serde_json::Value = client
            .request(
                Method::POST,
                "/api/v1/namespaces/default/pods",
                Some(RequestBody::json(&pod).unwrap()),
            )
            .await
            .expect("create a pod");
    }
    let startup = time_runs(&["version", "--client"], &kubeconfig, o.runs).await;
    let get = time_runs(&["get", "pods"], &kubeconfig, o.runs).await;
    let report = json!({
        "runs": o.runs,
        "pods": o.pods,
        "version_client_ms": {"p50": percentile(&startup, 0.5), "p99": percentile(&startup, 0.99)},
        "get_pods_ms": {"p50": percentile(&get, 0.5), "p99": percentile(&get, 0.99)},
    });
    if o.json {
        println!("{report}");
    } else {
        println!("kubectl-lite, {} runs each, {} pods:", o.runs, o.pods);
        println!(
            "  version --client   p50 {:.2} ms   p99 {:.2} ms",
            percentile(&startup, 0.5),
            percentile(&startup, 0.99)
        );
        println!(
            "  get pods           p50 {:.2} ms   p99 {:.2} ms",
            percentile(&get, 0.5),
            percentile(&get, 0.99)
        );
    }
}
