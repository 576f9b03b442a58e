//! `rollout history | undo | restart | pause | resume | status`, with the ReplicaSets a
//! Deployment controller would have made written by hand (no controller runs here).

use serde_json::{json, Value};

use crate::harness::{deployment, Lab};

async fn replicaset(lab: &Lab, owner: &Value, revision: u32, image: &str, cause: Option<&str>) {
    let mut annotations = json!({"deployment.kubernetes.io/revision": revision.to_string()});
    if let Some(c) = cause {
        annotations["kubernetes.io/change-cause"] = json!(c);
    }
    let hash = format!("h{revision}");
    lab.raw(
        "POST",
        "/apis/apps/v1/namespaces/default/replicasets",
        Some(json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {
                "name": format!("web-{hash}"), "annotations": annotations,
                "labels": {"app": "web", "pod-template-hash": hash},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                     "uid": owner["metadata"]["uid"], "controller": true}]
            },
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "web", "pod-template-hash": hash}},
                "template": {
                    "metadata": {"labels": {"app": "web", "pod-template-hash": hash}},
                    "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 8080}]}]}
                }
            }
        })),
    )
    .await;
}

fn image(lab_deploy: &Value) -> &str {
    lab_deploy["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_undo_restart_pause_resume() {
    let lab = Lab::start().await;
    lab.apply(&deployment("web", 2, "demo:v2")).await.ok();
    let owner = lab.json(&["get", "deploy", "web"]).await;
    replicaset(&lab, &owner, 1, "demo:v1", None).await;
    replicaset(&lab, &owner, 2, "demo:v2", Some("kubectl-lite apply demo:v2")).await;

    let out = lab.run(&["rollout", "history", "deployment/web"]).await;
    assert_eq!(
        out.ok(),
        "deployment.apps/web\nREVISION  CHANGE-CAUSE\n1         <none>\n2         kubectl-lite apply demo:v2\n\n"
    );
    let out = lab.run(&["rollout", "history", "deploy/web", "--revision=1"]).await;
    assert!(
        out.ok()
            .starts_with("deployment.apps/web with revision #1\nPod Template:\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("image: demo:v1") && !out.stdout.contains("pod-template-hash"),
        "{}",
        out.stdout
    );

    assert_eq!(
        lab.run(&["rollout", "undo", "deploy/web"]).await.ok(),
        "deployment.apps/web rolled back\n"
    );
    let live = lab.json(&["get", "deploy", "web"]).await;
    assert_eq!(image(&live), "demo:v1");
    assert!(live["spec"]["template"]["metadata"]["labels"]
        .get("pod-template-hash")
        .is_none());
    let same = lab.run(&["rollout", "undo", "deploy/web", "--to-revision=1"]).await;
    assert_eq!(
        same.ok(),
        "deployment.apps/web skipped rollback (current template already matches revision 1)\n"
    );
    let nowhere = lab.run(&["rollout", "undo", "deploy/web", "--to-revision=9"]).await;
    assert_eq!(
        nowhere.fails(),
        "error: unable to find specified revision 9 in history\n"
    );

    assert_eq!(
        lab.run(&["rollout", "restart", "deploy/web"]).await.ok(),
        "deployment.apps/web restarted\n"
    );
    let live = lab.json(&["get", "deploy", "web"]).await;
    assert!(live["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].is_string());

    assert_eq!(
        lab.run(&["rollout", "pause", "deploy/web"]).await.ok(),
        "deployment.apps/web paused\n"
    );
    assert_eq!(lab.json(&["get", "deploy", "web"]).await["spec"]["paused"], true);
    let twice = lab.run(&["rollout", "pause", "deploy/web"]).await;
    assert_eq!(twice.fails(), "error: deployments.apps \"web\" is already paused\n");
    let restart = lab.run(&["rollout", "restart", "deploy/web"]).await;
    assert!(
        restart.fails().contains("can't restart paused deployment"),
        "{}",
        restart.stderr
    );
    assert_eq!(
        lab.run(&["rollout", "resume", "deploy/web"]).await.ok(),
        "deployment.apps/web resumed\n"
    );
    assert!(lab.json(&["get", "deploy", "web"]).await["spec"]
        .get("paused")
        .is_none_or(|p| p == false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_follows_kubectls_rules() {
    let lab = Lab::start().await;
    lab.apply(&deployment("web", 3, "demo:v1")).await.ok();
    let out = lab.run(&["rollout", "status", "deploy/web", "--watch=false"]).await;
    assert_eq!(out.ok(), "Waiting for deployment spec update to be observed...\n");

    let mut live = lab.json(&["get", "deploy", "web"]).await;
    live["status"] = json!({"observedGeneration": live["metadata"]["generation"], "replicas": 3, "updatedReplicas": 3, "availableReplicas": 1});
    lab.raw(
        "PUT",
        "/apis/apps/v1/namespaces/default/deployments/web/status",
        Some(live.clone()),
    )
    .await;
    let out = lab.run(&["rollout", "status", "deploy/web", "--watch=false"]).await;
    assert_eq!(
        out.ok(),
        "Waiting for deployment \"web\" rollout to finish: 1 of 3 updated replicas are available...\n"
    );

    // With --watch, it waits for the status to change: make it complete while it waits.
    let waiting = tokio::spawn({
        let kubeconfig = lab.kubeconfig.clone();
        async move {
            tokio::process::Command::new(crate::harness::BIN)
                .args(["rollout", "status", "deploy/web", "--timeout=60s"])
                .env("KUBECONFIG", kubeconfig)
                .output()
                .await
                .expect("run rollout status")
        }
    });
    // Until the first line is printed, a status written now might be read by its first GET
    // instead: either way the final line must be the success message.
    let mut live = lab.json(&["get", "deploy", "web"]).await;
    live["status"]["availableReplicas"] = json!(3);
    lab.raw(
        "PUT",
        "/apis/apps/v1/namespaces/default/deployments/web/status",
        Some(live),
    )
    .await;
    let output = waiting.await.expect("join");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.ends_with("deployment \"web\" successfully rolled out\n"), "{text}");

    let missing = lab.run(&["rollout", "status", "deploy/nope"]).await;
    assert!(
        missing.fails().starts_with("Error from server (NotFound)"),
        "{}",
        missing.stderr
    );
}
