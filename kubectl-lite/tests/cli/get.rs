//! `get` in every output form, with selectors, all namespaces, several kinds, and `-w`.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::harness::{deployment, pod, Lab, BIN};

async fn seeded() -> Lab {
    let lab = Lab::start().await;
    lab.apply(&format!(
        "{}---\n{}---\n{}",
        pod("web-1", "{app: web, tier: front}"),
        pod("db-1", "{app: db}"),
        deployment("web", 2, "kubelab/demo:latest")
    ))
    .await
    .ok();
    lab.run(&["create", "namespace", "team-b"]).await.ok();
    lab.run_with(
        &["apply", "-n", "team-b", "-f", "-"],
        &[],
        Some(&pod("other", "{app: web}")),
    )
    .await
    .ok();
    lab
}

fn first_cells(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_as_kubectl_prints_them() {
    let lab = seeded().await;
    let out = lab.run(&["get", "pods"]).await;
    let text = out.ok();
    let header = text.lines().next().unwrap();
    assert!(header.starts_with("NAME    READY   STATUS    RESTARTS   AGE"), "{text}");
    assert_eq!(first_cells(text), ["NAME", "db-1", "web-1"]);

    let wide = lab.run(&["get", "po", "-o", "wide"]).await;
    assert!(
        wide.ok().lines().next().unwrap().contains("IP") && wide.stdout.contains("NODE"),
        "{}",
        wide.stdout
    );

    let labels = lab.run(&["get", "pods", "--show-labels", "-l", "app=web"]).await;
    let text = labels.ok();
    assert!(text.lines().next().unwrap().ends_with("LABELS"), "{text}");
    assert!(
        text.contains("web-1") && text.ends_with("app=web,tier=front\n") && !text.contains("db-1"),
        "{text}"
    );

    let all_ns = lab.run(&["get", "pods", "-A"]).await;
    let text = all_ns.ok();
    assert!(text.starts_with("NAMESPACE   NAME"), "{text}");
    assert_eq!(first_cells(text), ["NAMESPACE", "default", "default", "team-b"]);

    let named = lab.run(&["get", "pod", "web-1", "db-1", "--no-headers"]).await;
    assert_eq!(first_cells(named.ok()), ["web-1", "db-1"]);

    let several = lab.run(&["get", "deploy,po"]).await;
    let text = several.ok();
    let blocks: Vec<&str> = text.split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{text}");
    assert!(
        blocks[0].starts_with("NAME                  READY   UP-TO-DATE   AVAILABLE   AGE\ndeployment.apps/web   0/2"),
        "{text}"
    );
    assert!(
        blocks[1].contains("\npod/db-1 ") && blocks[1].contains("\npod/web-1 "),
        "{text}"
    );

    let all = lab.run(&["get", "all"]).await;
    assert!(
        all.ok().contains("pod/web-1") && all.stdout.contains("deployment.apps/web"),
        "{}",
        all.stdout
    );

    let nodes = lab.run(&["get", "nodes"]).await;
    assert_eq!((nodes.ok(), nodes.stderr.as_str()), ("", "No resources found\n"));
    let empty = lab.run(&["get", "pods", "-n", "kube-system"]).await;
    assert_eq!(
        (empty.ok(), empty.stderr.as_str()),
        ("", "No resources found in kube-system namespace.\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_as_yaml_json_and_names() {
    let lab = seeded().await;
    let names = lab.run(&["get", "pods,deploy", "-o", "name"]).await;
    assert_eq!(names.ok(), "pod/db-1\npod/web-1\ndeployment.apps/web\n");

    let yaml = lab.run(&["get", "pod", "web-1", "-o", "yaml"]).await;
    let text = yaml.ok();
    assert!(text.starts_with("apiVersion: v1\nkind: Pod\nmetadata:\n"), "{text}");
    let back: Value = serde_saphyr::from_str(text).expect("the YAML reads back");
    assert_eq!(back["metadata"]["labels"]["tier"], "front");
    assert_eq!(back["spec"]["containers"][0]["name"], "main");

    let list = lab.run(&["get", "pods", "-o", "json"]).await;
    let list: Value = serde_json::from_str(list.ok()).expect("JSON");
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["items"][0]["kind"], "Pod");
    assert_eq!(list["items"][0]["apiVersion"], "v1");

    let list_yaml = lab.run(&["get", "deploy", "-o", "yaml"]).await;
    let back: Value = serde_saphyr::from_str(list_yaml.ok()).expect("YAML list");
    assert_eq!(back["items"][0]["kind"], "Deployment");

    let missing = lab.run(&["get", "pods", "web-1", "nope"]).await;
    assert_eq!(
        missing.fails(),
        "Error from server (NotFound): pods \"nope\" not found\n"
    );
    assert!(missing.stdout.contains("web-1"), "{}", missing.stdout);
    let bad_kind = lab.run(&["get", "frobs"]).await;
    assert_eq!(
        bad_kind.fails(),
        "error: the server doesn't have a resource type \"frobs\"\n"
    );
    let bad_format = lab.run(&["get", "pods", "-o", "xml"]).await;
    assert!(bad_format.fails().contains("\"xml\""), "{}", bad_format.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_the_list_then_every_change() {
    let lab = seeded().await;
    let mut child = tokio::process::Command::new(BIN)
        .args(["get", "pods", "-w"])
        .env("KUBECONFIG", &lab.kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start get -w");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("a line within 30 s")
            .expect("read")
            .expect("the watch is still open")
    };
    assert!(next().await.starts_with("NAME"));
    assert!(next().await.starts_with("db-1"));
    assert!(next().await.starts_with("web-1"));
    lab.apply(&pod("late", "{app: late}")).await.ok();
    let row = next().await;
    assert!(row.starts_with("late ") && row.contains("Pending"), "{row}");
    lab.run(&["label", "pod", "late", "seen=yes"]).await.ok();
    assert!(next().await.starts_with("late "));
    child.kill().await.expect("stop get -w");
}
