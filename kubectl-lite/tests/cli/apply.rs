//! `apply`: created, unchanged despite server defaults, configured after an edit, removed
//! fields deleted, directories, and a bad manifest reported without losing the others.

use crate::harness::{deployment, pod, Lab};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_creates_then_is_unchanged_then_configured() {
    let lab = Lab::start().await;
    let file = lab.file("web.yaml", &deployment("web", 3, "kubelab/demo:latest"));
    assert_eq!(
        lab.run(&["apply", "-f", &file]).await.ok(),
        "deployment.apps/web created\n"
    );
    // The server added defaults (imagePullPolicy, protocol, strategy...): still unchanged.
    assert_eq!(
        lab.run(&["apply", "-f", &file]).await.ok(),
        "deployment.apps/web unchanged\n"
    );
    let live = lab.json(&["get", "deploy", "web"]).await;
    let annotation = live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .expect("last-applied annotation");
    assert!(annotation.contains("\"replicas\":3"), "{annotation}");

    // An edit of the file is sent; the next apply is unchanged again.
    let file = lab.file("web.yaml", &deployment("web", 5, "kubelab/demo:v2"));
    assert_eq!(
        lab.run(&["apply", "-f", &file]).await.ok(),
        "deployment.apps/web configured\n"
    );
    let live = lab.json(&["get", "deploy", "web"]).await;
    assert_eq!(live["spec"]["replicas"], 5);
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "kubelab/demo:v2"
    );
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"],
        "TCP"
    );
    assert_eq!(
        lab.run(&["apply", "-f", &file]).await.ok(),
        "deployment.apps/web unchanged\n"
    );

    // A label removed from the file is removed from the object; one added by hand stays.
    lab.run(&["label", "deploy", "web", "by-hand=yes"]).await.ok();
    let without = deployment("web", 5, "kubelab/demo:v2")
        .replace("  labels:\n    app: web\nspec:", "  labels:\n    tier: web\nspec:");
    let file = lab.file("web.yaml", &without);
    assert_eq!(
        lab.run(&["apply", "-f", &file]).await.ok(),
        "deployment.apps/web configured\n"
    );
    let live = lab.json(&["get", "deploy", "web"]).await;
    assert_eq!(live["metadata"]["labels"].get("app"), None, "{}", live["metadata"]);
    assert_eq!(live["metadata"]["labels"]["by-hand"], "yes");
    assert_eq!(live["metadata"]["labels"]["tier"], "web");

    // A change made on the server to an applied field is put back.
    lab.run(&["scale", "deploy/web", "--replicas=1"]).await.ok();
    assert_eq!(
        lab.run(&["apply", "-f", &file]).await.ok(),
        "deployment.apps/web configured\n"
    );
    assert_eq!(lab.json(&["get", "deploy", "web"]).await["spec"]["replicas"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_of_a_directory_reports_a_bad_manifest_and_keeps_the_rest() {
    let lab = Lab::start().await;
    lab.file("manifests/a-pod.yaml", &pod("one", "{app: one}"));
    let typo = deployment("typo", 1, "x").replace("matchLabels", "matchLables");
    lab.file("manifests/b-typo.yaml", &typo);
    lab.file(
        "manifests/c-more.yaml",
        &format!(
            "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: \"on\"\n",
            pod("two", "{app: two}")
        ),
    );
    lab.file(
        "manifests/nested/d.json",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"}}"#,
    );
    lab.file("manifests/README.txt", "not a manifest");
    let dir = lab.path("manifests").display().to_string();

    let out = lab.run(&["apply", "-f", &dir]).await;
    let stderr = out.fails();
    assert_eq!(
        out.stdout,
        "pod/one created\npod/two created\nconfigmap/settings created\n"
    );
    let typo_path = lab.path("manifests/b-typo.yaml").display().to_string();
    assert!(
        stderr.starts_with(&format!(
            "Error from server (BadRequest): error when creating \"{typo_path}\": "
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("unknown field \\\"spec.selector.matchLables\\\"")
            || stderr.contains("unknown field \"spec.selector.matchLables\""),
        "{stderr}"
    );
    let missing = lab.run(&["get", "deploy", "typo"]).await;
    assert_eq!(
        missing.fails(),
        "Error from server (NotFound): deployments.apps \"typo\" not found\n"
    );

    // -R also reads subdirectories; what exists is unchanged.
    let out = lab.run(&["apply", "-R", "-f", &dir]).await;
    out.fails();
    assert_eq!(
        out.stdout,
        "pod/one unchanged\npod/two unchanged\nconfigmap/settings unchanged\nconfigmap/deep created\n"
    );
    assert_eq!(lab.json(&["get", "cm", "settings"]).await["data"]["mode"], "on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_errors_name_the_file_and_the_problem() {
    let lab = Lab::start().await;
    let missing = lab.run(&["apply", "-f", "no-such-file.yaml"]).await;
    assert_eq!(
        missing.fails(),
        "error: the path \"no-such-file.yaml\" does not exist\n"
    );
    let unknown = lab.file("frob.yaml", "apiVersion: v1\nkind: Frob\nmetadata:\n  name: x\n");
    let err = lab.run(&["apply", "-f", &unknown]).await;
    assert!(
        err.fails().contains("no matches for kind \"Frob\" in version \"v1\""),
        "{}",
        err.stderr
    );
    let nameless = lab.file("nameless.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {}\n");
    let err = lab.run(&["apply", "-f", &nameless]).await;
    assert!(err.fails().contains("metadata.name not set"), "{}", err.stderr);
    let broken = lab.file("broken.yaml", "apiVersion: v1\nkind: [\n");
    let err = lab.run(&["apply", "-f", &broken]).await;
    assert!(err.fails().starts_with("error: error parsing"), "{}", err.stderr);
    // -n that disagrees with the object's namespace.
    let other = lab.file(
        "other.yaml",
        &pod("p", "{}").replace("  name: p\n", "  name: p\n  namespace: kube-system\n"),
    );
    let err = lab.run(&["apply", "-n", "default", "-f", &other]).await;
    assert!(
        err.fails().contains("does not match the namespace \"default\""),
        "{}",
        err.stderr
    );
    // JSON on stdin, -o name.
    let out = lab
        .run_with(
            &["apply", "-f", "-", "-o", "name"],
            &[],
            Some(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"from-stdin"}}"#),
        )
        .await;
    assert_eq!(out.ok(), "configmap/from-stdin\n");
}
