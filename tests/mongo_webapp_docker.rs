//! The classic "web app + database" example, offline, end to end on Docker, exactly as
//! `examples/mongo-webapp/README.md` walks through it: `kubelab up`, `kubectl-lite apply -f
//! examples/mongo-webapp/offline/`, the web app's URL from `kubelab service webapp-service
//! --url`, two visits counted in the database, the database pod deleted, and the count going on
//! where it was, because the StatefulSet's new `db-0` mounts the same claim (`data-db-0`).
//!
//! A second test checks that the course's own manifests (`examples/mongo-webapp/*.yaml`, written
//! for the public `mongo` and `nanajanashia/k8s-demo-app` images) are accepted by the API server
//! as they are: only an API server runs, so nothing tries to start those images.
//!
//! Without Docker the Docker test prints a loud `SKIPPED:` line and passes, unless
//! `KUBELAB_REQUIRE_DOCKER=1` (set by CI) makes that a failure. The cluster guard runs
//! `kubelab down --purge`, which removes the cluster's containers, network and volumes.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::cluster::{skip_or_fail, workspace_binary, UpCluster};
use common::eventually_ok;
use kubelab_api::core::{PersistentVolumeClaim, Pod};
use kubelab_client::{Api, Client};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mongo-webapp");

/// Runs `kubectl-lite <args>` against the API server the kubeconfig (or `-s`) names.
fn kubectl_lite(args: &[&str]) -> Output {
    let output = Command::new(workspace_binary("kubectl-lite"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running kubectl-lite");
    eprintln!(
        "$ kubectl-lite {} -> {}\n{}{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The count in the web app's answer (`visits:    7`), or why there is none.
fn visits(body: &str) -> Result<u64, String> {
    let line = body
        .lines()
        .find_map(|l| l.strip_prefix("visits:"))
        .ok_or_else(|| format!("no visits line in {body:?}"))?;
    line.trim()
        .parse()
        .map_err(|_| format!("the database did not count: {}", line.trim()))
}

/// One visit to the web app: the count it reports.
async fn visit(http: &reqwest::Client, url: &str) -> Result<u64, String> {
    let response = http.get(url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| format!("GET {url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("GET {url}: {status}: {body}"));
    }
    visits(&body)
}

fn is_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .status
            .as_ref()
            .is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Waits until pod `name` exists, is Ready and, if `not_uid` is given, is another pod than that
/// one (the replacement of a deleted pod); returns its uid.
async fn ready_pod(client: &Client, name: &str, not_uid: Option<&str>) -> String {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    eventually_ok(Duration::from_secs(120), &format!("pod {name} to be Ready"), || async {
        let pod = pods
            .get_opt(name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no such pod yet")?;
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if not_uid == Some(uid.as_str()) {
            return Err("still the old pod".to_string());
        }
        if !is_ready(&pod) {
            return Err(format!("not Ready: {:?}", pod.status));
        }
        Ok(uid)
    })
    .await
}

/// The name of the volume bound to claim `name`.
async fn bound_volume(client: &Client, name: &str) -> String {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    eventually_ok(
        Duration::from_secs(60),
        &format!("claim {name} to be Bound"),
        || async {
            let claim = claims.get(name).await.map_err(|e| e.to_string())?;
            let phase = claim.status.as_ref().and_then(|s| s.phase.clone());
            match (phase.as_deref(), claim.spec.volume_name.clone()) {
                (Some("Bound"), Some(volume)) => Ok(volume),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visits_are_counted_in_a_database_that_survives_its_pod() {
    if let Err(e) = kubelab_agent::runtime::docker::connect_docker().await {
        return skip_or_fail(&format!("Docker is unreachable ({e})"));
    }
    // Fails here, before a cluster starts, if kubectl-lite is not built.
    workspace_binary("kubectl-lite");
    let cluster = UpCluster::new("mongo");
    let up = cluster.up(&["--runtime", "docker", "--nodes", "2"]);
    assert!(up.status.success(), "kubelab up failed");
    let kubeconfig = cluster.kubeconfig();
    let kubeconfig = kubeconfig.to_str().expect("a UTF-8 path");
    let client = cluster.client();

    // kubectl-lite apply -f examples/mongo-webapp/offline/
    let offline = format!("{EXAMPLE}/offline/");
    let applied = kubectl_lite(&["--kubeconfig", kubeconfig, "apply", "-f", &offline]);
    assert!(applied.status.success(), "apply failed");
    let text = stdout(&applied);
    for object in [
        "configmap/db-config created",
        "secret/db-secret created",
        "service/db created",
        "statefulset.apps/db created",
        "service/db-service created",
        "deployment.apps/webapp created",
        "service/webapp-service created",
    ] {
        assert!(text.contains(object), "{object} missing from:\n{text}");
    }

    // kubelab service webapp-service --url
    let service = cluster.kubelab("service", &["webapp-service", "--url"]);
    assert!(service.status.success(), "kubelab service failed");
    let url = stdout(&service).trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "not a URL: {url:?}");

    // Two visits: counted in the database, so the count goes up whichever web pod answers.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client");
    let first = eventually_ok(
        Duration::from_secs(180),
        "the web app to count a visit in the database",
        || visit(&http, &url),
    )
    .await;
    let second = visit(&http, &url).await.expect("a second visit");
    assert_eq!(second, first + 1, "the second visit is counted after the first");

    // The database's data is on its own claim, bound to a provisioned volume.
    let volume = bound_volume(&client, "data-db-0").await;
    let db_uid = ready_pod(&client, "db-0", None).await;

    // kubectl-lite delete pod db-0: the StatefulSet makes a new db-0 with the same claim.
    let deleted = kubectl_lite(&["--kubeconfig", kubeconfig, "delete", "pod", "db-0"]);
    assert!(deleted.status.success(), "delete failed");
    assert!(stdout(&deleted).contains("pod \"db-0\" deleted"));
    let new_uid = ready_pod(&client, "db-0", Some(&db_uid)).await;
    assert_ne!(new_uid, db_uid);
    assert_eq!(
        bound_volume(&client, "data-db-0").await,
        volume,
        "the new db-0 has the same claim and volume"
    );

    // The count goes on from where it was: the data outlived the pod.
    let third = eventually_ok(
        Duration::from_secs(120),
        "the web app to count again once the new db-0 answers",
        || visit(&http, &url),
    )
    .await;
    eprintln!("visits: {first}, {second}; after db-0 was replaced: {third}");
    assert!(
        third > second,
        "the count restarted after the database pod was replaced: {first}, {second}, then {third}"
    );
}

/// The course's manifests, for the public images, as they are: stored and validated by the API
/// server (no node agent runs, so no image is needed).
#[tokio::test]
async fn the_courses_own_manifests_are_accepted() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let server = common::Apiserver::start(data.path()).await;
    let base = server.base_url();
    // A directory without -R: the four files, not the offline/ twin.
    let applied = kubectl_lite(&["-s", &base, "apply", "-f", EXAMPLE]);
    assert!(applied.status.success(), "apply failed");
    let text = stdout(&applied);
    for object in [
        "configmap/mongo-config created",
        "secret/mongo-secret created",
        "deployment.apps/mongo-deployment created",
        "service/mongo-service created",
        "deployment.apps/webapp-deployment created",
        "service/webapp-service created",
    ] {
        assert!(text.contains(object), "{object} missing from:\n{text}");
    }
    assert!(
        !text.contains("statefulset"),
        "the offline twin was applied too:\n{text}"
    );

    let services = stdout(&kubectl_lite(&["-s", &base, "get", "services"]));
    let webapp = services
        .lines()
        .find(|l| l.starts_with("webapp-service"))
        .unwrap_or_else(|| panic!("no webapp-service in:\n{services}"));
    assert!(
        webapp.contains("NodePort") && webapp.contains("3000:30100/TCP"),
        "{webapp}"
    );
    // The Secret's values are base64 of the course's user and password.
    let secret = stdout(&kubectl_lite(&[
        "-s",
        &base,
        "get",
        "secret",
        "mongo-secret",
        "-o",
        "json",
    ]));
    let secret: serde_json::Value = serde_json::from_str(&secret).expect("the Secret as JSON");
    assert_eq!(secret["data"]["mongo-user"], "bW9uZ291c2Vy", "{secret}");
    assert_eq!(secret["data"]["mongo-password"], "bW9uZ29wYXNzd29yZA==", "{secret}");
}
