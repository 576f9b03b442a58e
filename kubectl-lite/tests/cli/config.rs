//! `config`, `api-resources`, `version`, `cluster-info`, and what happens when the server is
//! not there.

use crate::harness::Lab;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_commands_read_and_change_the_kubeconfig() {
    let lab = Lab::start().await;
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: {}
- name: far
  cluster:
    server: http://127.0.0.1:1
contexts:
- name: lab
  context:
    cluster: lab
    user: lab
    namespace: default
- name: far
  context:
    cluster: far
    user: someone
current-context: lab
users:
- name: lab
  user: {{}}
- name: someone
  user:
    token: s3cret
",
        lab.server.url
    );
    std::fs::write(&lab.kubeconfig, text).unwrap();

    assert_eq!(lab.run(&["config", "current-context"]).await.ok(), "lab\n");
    let contexts = lab.run(&["config", "get-contexts"]).await;
    assert_eq!(
        contexts.ok(),
        "CURRENT   NAME   CLUSTER   AUTHINFO   NAMESPACE\n*         lab    lab       lab        default\n          far    far       someone    \n"
    );
    let view = lab.run(&["config", "view"]).await;
    assert!(
        view.ok().contains("token: REDACTED") && !view.stdout.contains("s3cret"),
        "{}",
        view.stdout
    );
    let raw = lab.run(&["config", "view", "--raw"]).await;
    assert!(raw.ok().contains("token: s3cret"), "{}", raw.stdout);
    let minified = lab.run(&["config", "view", "--minify"]).await;
    assert!(!minified.ok().contains("far"), "{}", minified.stdout);

    assert_eq!(
        lab.run(&["config", "use-context", "far"]).await.ok(),
        "Switched to context \"far\".\n"
    );
    assert_eq!(lab.run(&["config", "current-context"]).await.ok(), "far\n");
    let refused = lab.run(&["get", "pods"]).await;
    assert_eq!(
        refused.fails(),
        "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?\n"
    );
    assert!(lab
        .run(&["get", "pods", "--context", "lab"])
        .await
        .stderr
        .contains("No resources found"));
    let nope = lab.run(&["config", "use-context", "nope"]).await;
    assert_eq!(nope.fails(), "error: no context exists with the name: \"nope\"\n");
    // The file still loads, with everything in it.
    assert_eq!(
        lab.run(&["config", "use-context", "lab"]).await.ok(),
        "Switched to context \"lab\".\n"
    );
    let back = lab.run(&["config", "view", "--raw"]).await;
    assert!(
        back.ok().contains("server: http://127.0.0.1:1") && back.stdout.contains("token: s3cret"),
        "{}",
        back.stdout
    );
    // --server and --kubeconfig.
    let other = lab.path("other-kubeconfig");
    kubelab_client::write_kubeconfig(&other, "x", "http://127.0.0.1:1").unwrap();
    let out = lab
        .run(&[
            "--kubeconfig",
            other.to_str().unwrap(),
            "--server",
            &lab.server.url,
            "get",
            "ns",
            "-o",
            "name",
        ])
        .await;
    assert!(out.ok().contains("namespace/default\n"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_version_and_cluster_info() {
    let lab = Lab::start().await;
    let out = lab.run(&["api-resources"]).await;
    let text = out.ok();
    assert!(text.starts_with("NAME "), "{text}");
    let deploy_line = text
        .lines()
        .find(|l| l.starts_with("deployments "))
        .expect("deployments listed");
    let cells: Vec<&str> = deploy_line.split_whitespace().collect();
    assert_eq!(cells, ["deployments", "deploy", "apps/v1", "true", "Deployment"]);
    assert!(!text.contains("pods/log"), "subresources are not listed");
    let names = lab.run(&["api-resources", "-o", "name", "--namespaced=false"]).await;
    assert!(
        names.ok().contains("nodes\n") && !names.stdout.contains("pods\n"),
        "{}",
        names.stdout
    );

    let client = lab
        .run_with(&["version", "--client"], &[("KUBECONFIG", "no-such-kubeconfig")], None)
        .await;
    assert_eq!(
        client.ok(),
        format!("Client Version: v1.32.0-kubectl-lite.{}\n", env!("CARGO_PKG_VERSION"))
    );
    let both = lab.run(&["version"]).await;
    assert!(both.ok().contains("\nServer Version: v1.32"), "{}", both.stdout);
    let json = lab.run(&["version", "-o", "json"]).await;
    let v: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    assert_eq!(v["serverVersion"]["minor"], "32");

    let info = lab.run(&["cluster-info"]).await;
    assert!(
        info.ok()
            .starts_with(&format!("Kubernetes control plane is running at {}\n", lab.server.url)),
        "{}",
        info.stdout
    );
    let usage = lab.run(&["get", "--frobnicate"]).await;
    assert!(usage.fails().contains("--frobnicate"), "{}", usage.stderr);
}
