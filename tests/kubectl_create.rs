//! The real kubectl's imperative generators — `kubectl create deployment|service|secret|
//! configmap|namespace|ingress` — against a real `kubelab up` cluster. kubectl sends these
//! bodies as Kubernetes protobuf, not JSON (see `apiserver/src/protobuf/`); this checks that
//! each command works as on Kubernetes and that what is stored is what was asked for. The
//! cluster runs hollow nodes, so no Docker is needed: the Deployment still rolls out.
//!
//! Without kubectl the test prints a loud SKIPPED line, unless `KUBELAB_REQUIRE_DOCKER=1` (CI).

mod common;

use common::cluster::{skip_or_fail, UpCluster};
use common::kubectl::{kubectl_installed, Kubectl};
use serde_json::Value;

fn get_json(kubectl: &Kubectl, args: &[&str]) -> Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend(["-o", "json"]);
    serde_json::from_str(&kubectl.ok(&all)).expect("kubectl -o json prints JSON")
}

#[test]
fn kubectl_create_generators_work_and_store_what_was_asked() {
    if !kubectl_installed() {
        return skip_or_fail("kubectl is not installed");
    }
    let cluster = UpCluster::new("kcreate");
    let up = cluster.up(&["--runtime", "hollow", "--nodes", "2"]);
    assert!(up.status.success(), "kubelab up failed");
    let kubectl = Kubectl::new(cluster.kubeconfig());

    // A namespace, and everything else in it.
    assert!(kubectl
        .ok(&["create", "namespace", "shop"])
        .contains("namespace/shop created"));
    let ns = ["-n", "shop"];
    let create = |args: &[&str]| kubectl.ok(&[&["create"][..], &ns[..], args].concat());

    // create deployment: replicas, a port and a command; it rolls out like any Deployment.
    let out = create(&[
        "deployment",
        "web",
        "--image=kubelab/demo:latest",
        "--replicas=3",
        "--port=8080",
    ]);
    assert!(out.contains("deployment.apps/web created"), "{out}");
    let rolled = kubectl.ok(&["rollout", "status", "deployment/web", "-n", "shop", "--timeout=60s"]);
    assert!(rolled.contains("successfully rolled out"), "{rolled}");
    let web = get_json(&kubectl, &["deployment", "web", "-n", "shop"]);
    assert_eq!(web["spec"]["replicas"], 3);
    assert_eq!(web["spec"]["selector"]["matchLabels"]["app"], "web");
    let container = &web["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "kubelab/demo:latest");
    assert_eq!(container["ports"][0]["containerPort"], 8080);
    assert_eq!(web["status"]["readyReplicas"], 3);

    // --replicas=0 is a pointer field set to zero: it must stay 0, not become the default 1.
    create(&[
        "deployment",
        "idle",
        "--image=kubelab/demo:latest",
        "--replicas=0",
        "--",
        "kubelab-demo",
        "web",
    ]);
    let idle = get_json(&kubectl, &["deployment", "idle", "-n", "shop"]);
    assert_eq!(idle["spec"]["replicas"], 0);
    let command = &idle["spec"]["template"]["spec"]["containers"][0]["command"];
    assert_eq!(command, &serde_json::json!(["kubelab-demo", "web"]));

    // create service: a ClusterIP and a NodePort, with allocated addresses.
    assert!(create(&["service", "clusterip", "web", "--tcp=80:8080"]).contains("service/web created"));
    let svc = get_json(&kubectl, &["service", "web", "-n", "shop"]);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    assert!(
        svc["spec"]["clusterIP"].as_str().is_some_and(|ip| ip.contains('.')),
        "{svc}"
    );
    create(&["service", "nodeport", "web-np", "--tcp=80:http"]);
    let np = get_json(&kubectl, &["service", "web-np", "-n", "shop"]);
    assert_eq!(np["spec"]["type"], "NodePort");
    assert_eq!(np["spec"]["ports"][0]["targetPort"], "http");
    let node_port = np["spec"]["ports"][0]["nodePort"].as_i64().unwrap_or_default();
    assert!((30000..=32767).contains(&node_port), "{np}");

    // create secret generic / configmap: the data comes back as sent.
    create(&[
        "secret",
        "generic",
        "db",
        "--from-literal=user=admin",
        "--from-literal=password=s3cr3t pass",
    ]);
    let secret = get_json(&kubectl, &["secret", "db", "-n", "shop"]);
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(
        secret["data"]["password"], "czNjcjN0IHBhc3M=",
        "base64 of 's3cr3t pass'"
    );
    create(&[
        "configmap",
        "settings",
        "--from-literal=color=blue",
        "--from-literal=empty=",
    ]);
    let settings = get_json(&kubectl, &["configmap", "settings", "-n", "shop"]);
    assert_eq!(settings["data"], serde_json::json!({"color": "blue", "empty": ""}));

    // create ingress: rules with an exact and a prefix path, and TLS.
    create(&[
        "ingress",
        "shop",
        "--rule=shop.test/api*=web:80",
        "--rule=shop.test/=web:http,tls=shop-cert",
    ]);
    let ing = get_json(&kubectl, &["ingress", "shop", "-n", "shop"]);
    let paths = &ing["spec"]["rules"][0]["http"]["paths"];
    assert_eq!(paths[0]["path"], "/api");
    assert_eq!(paths[0]["pathType"], "Prefix");
    assert_eq!(paths[0]["backend"]["service"]["port"]["number"], 80);
    assert_eq!(ing["spec"]["tls"][0]["secretName"], "shop-cert");

    // The same name twice: kubectl's own AlreadyExists message, nothing replaced.
    let again = kubectl.run(&[
        "create",
        "secret",
        "generic",
        "db",
        "-n",
        "shop",
        "--from-literal=user=other",
    ]);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already exists"), "{stderr}");
    let secret = get_json(&kubectl, &["secret", "db", "-n", "shop"]);
    assert_eq!(secret["data"]["user"], "YWRtaW4=", "admin, unchanged");
}
