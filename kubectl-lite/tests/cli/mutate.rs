//! `create`, `delete`, `scale`, `label` and `annotate`.

use crate::harness::{deployment, pod, Lab};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_and_delete() {
    let lab = Lab::start().await;
    assert_eq!(
        lab.run(&["create", "namespace", "lab-a"]).await.ok(),
        "namespace/lab-a created\n"
    );
    let out = lab
        .run(&[
            "create",
            "deployment",
            "api",
            "--image=kubelab/demo:latest",
            "--replicas=2",
            "-n",
            "lab-a",
        ])
        .await;
    assert_eq!(out.ok(), "deployment.apps/api created\n");
    let api = lab.json(&["get", "deploy", "api", "-n", "lab-a"]).await;
    assert_eq!(api["spec"]["replicas"], 2);
    assert_eq!(api["spec"]["template"]["spec"]["containers"][0]["name"], "demo");

    let file = lab.file(
        "pods.yaml",
        &format!(
            "{}---\n{}---\n{}",
            pod("a", "{app: x}"),
            pod("b", "{app: x}"),
            pod("c", "{app: z}")
        ),
    );
    assert_eq!(
        lab.run(&["create", "-f", &file]).await.ok(),
        "pod/a created\npod/b created\npod/c created\n"
    );
    let again = lab.run(&["create", "-f", &file]).await;
    assert!(
        again.fails().starts_with(&format!(
            "Error from server (AlreadyExists): error when creating \"{file}\": pods \"a\" already exists"
        )),
        "{}",
        again.stderr
    );

    assert_eq!(
        lab.run(&["delete", "pods", "-l", "app=x"]).await.ok(),
        "pod \"a\" deleted\npod \"b\" deleted\n"
    );
    assert_eq!(lab.run(&["get", "pods", "-o", "name"]).await.ok(), "pod/c\n");
    let missing = lab.run(&["delete", "pod", "a"]).await;
    assert_eq!(missing.fails(), "Error from server (NotFound): pods \"a\" not found\n");
    assert_eq!(lab.run(&["delete", "pod", "a", "--ignore-not-found"]).await.ok(), "");
    let none = lab.run(&["delete", "pods", "-l", "app=nothing"]).await;
    assert_eq!((none.ok(), none.stderr.as_str()), ("", "No resources found\n"));

    lab.apply(&pod("d", "{}")).await.ok();
    assert_eq!(
        lab.run(&["delete", "pods", "--all", "--wait=false", "--grace-period=0"])
            .await
            .ok(),
        "pod \"c\" deleted\npod \"d\" deleted\n"
    );
    assert_eq!(lab.run(&["delete", "-f", &file, "--ignore-not-found"]).await.ok(), "");
    assert_eq!(
        lab.run(&["delete", "deploy/api", "-n", "lab-a"]).await.ok(),
        "deployment.apps \"api\" deleted\n"
    );
    let no_name = lab.run(&["delete", "pods"]).await;
    assert!(no_name.fails().contains("no name was specified"), "{}", no_name.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_label_and_annotate() {
    let lab = Lab::start().await;
    lab.apply(&format!(
        "{}---\n{}",
        deployment("web", 1, "img"),
        pod("p", "{app: web}")
    ))
    .await
    .ok();
    assert_eq!(
        lab.run(&["scale", "deploy/web", "--replicas=4"]).await.ok(),
        "deployment.apps/web scaled\n"
    );
    assert_eq!(
        lab.run(&["scale", "deployment", "web", "--replicas", "2"]).await.ok(),
        "deployment.apps/web scaled\n"
    );
    assert_eq!(lab.json(&["get", "deploy", "web"]).await["spec"]["replicas"], 2);
    let missing = lab.run(&["scale", "deploy/nope", "--replicas=1"]).await;
    assert!(
        missing.fails().starts_with("Error from server (NotFound)"),
        "{}",
        missing.stderr
    );

    assert_eq!(
        lab.run(&["label", "pod", "p", "tier=front"]).await.ok(),
        "pod/p labeled\n"
    );
    let clash = lab.run(&["label", "pod", "p", "app=api"]).await;
    assert_eq!(
        clash.fails(),
        "error: 'app' already has a value (web), and --overwrite is false\n"
    );
    assert_eq!(
        lab.run(&["label", "pod/p", "app=api", "--overwrite"]).await.ok(),
        "pod/p labeled\n"
    );
    assert_eq!(
        lab.run(&["label", "pod", "p", "app=api"]).await.ok(),
        "pod/p not labeled\n"
    );
    assert_eq!(lab.run(&["label", "pod", "p", "tier-"]).await.ok(), "pod/p labeled\n");
    let labels = lab.json(&["get", "pod", "p"]).await["metadata"]["labels"].clone();
    assert_eq!(labels, serde_json::json!({"app": "api"}));
    assert_eq!(
        lab.run(&["label", "pods", "--all", "all=yes"]).await.ok(),
        "pod/p labeled\n"
    );

    assert_eq!(
        lab.run(&["annotate", "deploy", "web", "note=hello world"]).await.ok(),
        "deployment.apps/web annotated\n"
    );
    let again = lab.run(&["annotate", "deploy", "web", "note=other"]).await;
    assert!(again.fails().contains("--overwrite is false"), "{}", again.stderr);
    assert_eq!(
        lab.run(&["annotate", "deploy", "web", "note-"]).await.ok(),
        "deployment.apps/web annotated\n"
    );
    let annotations = lab.json(&["get", "deploy", "web"]).await["metadata"]["annotations"].clone();
    assert!(annotations.get("note").is_none(), "{annotations}");
    let nothing = lab.run(&["label", "pod", "p"]).await;
    assert_eq!(nothing.fails(), "error: at least one label update is required\n");
}
