//! kubectl-lite against a whole cluster on Docker, through the README's tour: `kubelab up`, apply
//! the web Deployment, wait for its rollout, see its pods spread over the nodes with `-o wide`,
//! read a pod's log through the API server, scale down, and delete it — then `kubelab down
//! --purge` (the guard does it also when an assertion fails).
//!
//! kubectl-lite is the built binary, run as a user runs it, with the kubeconfig `up` wrote. Without Docker the test prints a loud
//! `SKIPPED:` line, unless `KUBELAB_REQUIRE_DOCKER=1` makes that a failure.

mod common;

use std::time::{Duration, Instant};

use common::cluster::{skip_or_fail, workspace_binary, UpCluster};

/// What one kubectl-lite command printed, and its exit code.
struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

async fn kubectl_lite(kubeconfig: &std::path::Path, args: &[&str]) -> Run {
    kubectl_lite_with_input(kubeconfig, args, b"").await
}

/// As [`kubectl_lite`], with `input` on its standard input.
async fn kubectl_lite_with_input(kubeconfig: &std::path::Path, args: &[&str], input: &[u8]) -> Run {
    use tokio::io::AsyncWriteExt;
    let mut command = tokio::process::Command::new(workspace_binary("kubectl-lite"));
    command
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("kubectl-lite runs");
    let mut stdin = child.stdin.take().expect("its stdin");
    stdin.write_all(input).await.expect("write its stdin");
    drop(stdin);
    let output = child.wait_with_output().await.expect("kubectl-lite finishes");
    let run = Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap_or(-1),
    };
    eprintln!("$ kubectl-lite {args:?} -> {}\n{}{}", run.code, run.stdout, run.stderr);
    run
}

/// Runs a command until `done` accepts its output, or fails after `limit`.
async fn eventually(
    kubeconfig: &std::path::Path,
    args: &[&str],
    limit: Duration,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let run = kubectl_lite(kubeconfig, args).await;
        if run.code == 0 && done(&run.stdout) {
            return run.stdout;
        }
        assert!(
            Instant::now() < deadline,
            "kubectl-lite {args:?} never gave the expected output: {}",
            run.stdout
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The NODE column of `get pods -o wide`, for the rows that are Running.
fn running_nodes(wide: &str) -> Vec<String> {
    let mut lines = wide.lines();
    let header = lines.next().unwrap_or("");
    let node_at = header.find("NODE").unwrap_or(0);
    lines
        .filter(|l| l.split_whitespace().nth(2) == Some("Running"))
        .filter_map(|l| {
            l.get(node_at..)
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_string)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_tour_with_kubectl_lite() {
    if let Err(e) = kubelab_agent::runtime::docker::connect_docker().await {
        return skip_or_fail(&format!("Docker is unreachable ({e})"));
    }
    let cluster = UpCluster::new("klite");
    let up = cluster.up(&["--runtime", "docker", "--nodes", "2"]);
    assert!(up.status.success(), "kubelab up (docker) failed");
    let kc = cluster.kubeconfig();
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/web-deployment.yaml");

    let nodes = kubectl_lite(&kc, &["get", "nodes"]).await;
    assert_eq!(nodes.code, 0);
    assert_eq!(nodes.stdout.matches(" Ready ").count(), 2, "{}", nodes.stdout);

    let apply = kubectl_lite(&kc, &["apply", "-f", manifest]).await;
    assert_eq!(
        (apply.code, apply.stdout.as_str()),
        (0, "deployment.apps/web created\n"),
        "{}",
        apply.stderr
    );
    let again = kubectl_lite(&kc, &["apply", "-f", manifest]).await;
    assert_eq!(again.stdout, "deployment.apps/web unchanged\n", "{}", again.stderr);

    let status = kubectl_lite(&kc, &["rollout", "status", "deploy/web", "--timeout=180s"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.ends_with("deployment \"web\" successfully rolled out\n"),
        "{}",
        status.stdout
    );

    // Three pods, Running, spread over both nodes, each with an IP.
    let wide = eventually(
        &kc,
        &["get", "pods", "-o", "wide", "-l", "app=web"],
        Duration::from_secs(60),
        |text| running_nodes(text).len() == 3,
    )
    .await;
    let mut nodes = running_nodes(&wide);
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes, ["node-1", "node-2"], "{wide}");

    let logs = eventually(&kc, &["logs", "deploy/web"], Duration::from_secs(30), |text| {
        !text.trim().is_empty()
    })
    .await;
    assert!(logs.contains("8080"), "{logs}");

    // The rest of kubectl-lite's commands, on the live cluster.
    let pod = wide
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .expect("a pod")
        .to_string();
    let tail = kubectl_lite(&kc, &["logs", &pod, "--tail=1"]).await;
    assert_eq!((tail.code, tail.stdout.lines().count()), (0, 1), "{}", tail.stdout);
    let described = kubectl_lite(&kc, &["describe", "pod", &pod]).await;
    for field in ["Name:", "Node:", "IP:", "Containers:", "Conditions:", "Events:"] {
        assert!(described.stdout.contains(field), "no {field}:\n{}", described.stdout);
    }
    let exec = kubectl_lite(
        &kc,
        &["exec", &pod, "--", "kubelab-demo", "get", "http://localhost:8080/"],
    )
    .await;
    assert_eq!(exec.code, 0, "{}", exec.stderr);
    assert!(
        exec.stdout.contains(&pod),
        "the pod's web server names it: {}",
        exec.stdout
    );
    let failing = kubectl_lite(
        &kc,
        &["exec", &pod, "--", "kubelab-demo", "sh", "-c", "echo out; exit 3"],
    )
    .await;
    assert_eq!(failing.code, 3, "the remote exit code is kubectl-lite's");
    assert_eq!(failing.stdout, "out\n");
    assert!(
        failing.stderr.contains("command terminated with exit code 3"),
        "{}",
        failing.stderr
    );
    let echoed = kubectl_lite_with_input(
        &kc,
        &["exec", "-i", &pod, "--", "kubelab-demo", "sh", "-c", "cat"],
        b"through stdin\n",
    )
    .await;
    assert_eq!(
        (echoed.code, echoed.stdout.as_str()),
        (0, "through stdin\n"),
        "{}",
        echoed.stderr
    );
    let missing = kubectl_lite(&kc, &["exec", "ghost", "--", "true"]).await;
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr,
        "Error from server (NotFound): pods \"ghost\" not found\n"
    );
    let labeled = kubectl_lite(&kc, &["label", "pod", &pod, "lab=one"]).await;
    assert_eq!(labeled.stdout, format!("pod/{pod} labeled\n"), "{}", labeled.stderr);
    let annotated = kubectl_lite(&kc, &["annotate", "deploy", "web", "course=k8s-101"]).await;
    assert_eq!(
        annotated.stdout, "deployment.apps/web annotated\n",
        "{}",
        annotated.stderr
    );
    let all = kubectl_lite(&kc, &["get", "all"]).await;
    for kind in [
        "pod/",
        "deployment.apps/web",
        "replicaset.apps/web-",
        "service/kubernetes",
    ] {
        assert!(all.stdout.contains(kind), "get all shows no {kind}:\n{}", all.stdout);
    }
    for (args, expected) in [
        (&["cluster-info"][..], "is running at"),
        (&["version"][..], "Server Version"),
        (&["api-resources"][..], "deployments"),
        (&["config", "current-context"][..], ""),
        (&["config", "view"][..], "clusters:"),
    ] {
        let run = kubectl_lite(&kc, args).await;
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert!(run.stdout.contains(expected), "{args:?}: {}", run.stdout);
    }
    let namespace = kubectl_lite(&kc, &["create", "namespace", "lab"]).await;
    assert_eq!(namespace.stdout, "namespace/lab created\n", "{}", namespace.stderr);
    // A new revision, then back: restart, history, undo.
    let restart = kubectl_lite(&kc, &["rollout", "restart", "deploy/web"]).await;
    assert_eq!(restart.stdout, "deployment.apps/web restarted\n", "{}", restart.stderr);
    let status = kubectl_lite(&kc, &["rollout", "status", "deploy/web", "--timeout=180s"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    let history = kubectl_lite(&kc, &["rollout", "history", "deploy/web"]).await;
    assert!(
        history.stdout.contains("REVISION") && history.stdout.contains("\n2 "),
        "{}",
        history.stdout
    );
    let undo = kubectl_lite(&kc, &["rollout", "undo", "deploy/web"]).await;
    assert_eq!(undo.stdout, "deployment.apps/web rolled back\n", "{}", undo.stderr);
    let status = kubectl_lite(&kc, &["rollout", "status", "deploy/web", "--timeout=180s"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    let wide = eventually(
        &kc,
        &["get", "pods", "-o", "wide", "-l", "app=web"],
        Duration::from_secs(90),
        |text| running_nodes(text).len() == 3 && !text.contains("Terminating"),
    )
    .await;

    // A pod on a node is deleted gracefully (the agent stops its containers first): delete
    // waits until it is really gone, and the ReplicaSet makes a new one.
    let victim = wide
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .expect("a pod")
        .to_string();
    let delete = kubectl_lite(&kc, &["delete", "pod", &victim]).await;
    assert_eq!(
        delete.stdout,
        format!("pod \"{victim}\" deleted\n"),
        "{}",
        delete.stderr
    );
    let gone = kubectl_lite(&kc, &["get", "pod", &victim]).await;
    assert_eq!(
        gone.stderr,
        format!("Error from server (NotFound): pods \"{victim}\" not found\n")
    );
    eventually(
        &kc,
        &["get", "pods", "-o", "wide", "-l", "app=web"],
        Duration::from_secs(60),
        |text| running_nodes(text).len() == 3,
    )
    .await;

    let scale = kubectl_lite(&kc, &["scale", "deploy", "web", "--replicas", "1"]).await;
    assert_eq!(scale.stdout, "deployment.apps/web scaled\n");
    eventually(
        &kc,
        &["get", "pods", "-l", "app=web", "-o", "name"],
        Duration::from_secs(60),
        |text| text.lines().count() == 1,
    )
    .await;
    let status = kubectl_lite(&kc, &["rollout", "status", "deploy/web", "--timeout=60s"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);

    let delete = kubectl_lite(&kc, &["delete", "-f", manifest]).await;
    assert_eq!(
        (delete.code, delete.stdout.as_str()),
        (0, "deployment.apps \"web\" deleted\n"),
        "{}",
        delete.stderr
    );
    eventually(&kc, &["get", "pods", "-o", "name"], Duration::from_secs(60), |text| {
        text.is_empty()
    })
    .await;
    let gone = kubectl_lite(&kc, &["get", "deploy", "web"]).await;
    assert_eq!(
        (gone.code, gone.stderr.as_str()),
        (1, "Error from server (NotFound): deployments.apps \"web\" not found\n")
    );
    drop(cluster);
}
