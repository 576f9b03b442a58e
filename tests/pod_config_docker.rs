//! End-to-end tests of what pods consume, on real Docker: env from ConfigMaps and Secrets,
//! ConfigMap files that follow updates, a missing key and the recovery when it appears,
//! `emptyDir` (disk and memory) shared by two containers, `hostPath`, and a claim on a
//! PersistentVolume whose data outlives the pod.
//!
//! Each test starts an API server process and an agent in this process on its own cluster
//! (`pc-<unique>`: its own Docker network and labels) with its own root directory, and a guard
//! removes every container, network and volume labelled with that cluster when the test ends,
//! even when it fails. The containers run `kubelab-demo show`, which prints env variables and
//! files (and prints a file again when it changes), so what a pod got is read from its logs
//! through the API server. Without Docker each test prints a loud `SKIPPED:` line and passes,
//! unless `KUBELAB_REQUIRE_DOCKER=1`, which makes it fail. Every wait has a deadline.

mod common;

use std::ops::Deref;
use std::path::PathBuf;
use std::time::Duration;

use common::docker::{
    container_status, fast_agent_config, running, DockerCluster, DEMO_IMAGE as DEMO, POD_LIMIT as LIMIT,
};
use common::eventually;
use kubelab_agent::runtime::docker::connect_docker;
use kubelab_agent::runtime::docker::volume::list as list_volumes;
use serde_json::{json, Value};

const NODE: &str = "node-a";

// ---------------------------------------------------------------------------------------------
// Set-up: the shared Docker cluster (tests/common/docker.rs) with an agent in this process
// ---------------------------------------------------------------------------------------------

/// One test's world, with the agent's root directory (where pods' volumes live).
struct Env {
    cluster: DockerCluster,
    root_dir: PathBuf,
}

impl Deref for Env {
    type Target = DockerCluster;

    fn deref(&self) -> &DockerCluster {
        &self.cluster
    }
}

async fn env() -> Option<Env> {
    let mut cluster = DockerCluster::start("pc").await?;
    let root_dir = cluster.dir.path().join("agent");
    let mut config = fast_agent_config(NODE, &cluster.name);
    config.root_dir = root_dir.clone();
    config.volume_refresh_interval = Duration::from_millis(500);
    config.volume_cleanup_interval = Duration::from_millis(500);
    cluster.start_agent(config).await;
    Some(Env { cluster, root_dir })
}

impl Env {
    /// The container's log through the API server.
    async fn logs(&self, pod: &str, container: &str) -> String {
        let url = format!(
            "{}/api/v1/namespaces/default/pods/{pod}/log?container={container}",
            self.base
        );
        match self.http.get(url).send().await {
            Ok(r) if r.status().is_success() => r.text().await.unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// Waits until the container's log has a line equal to `line`; returns the log.
    async fn wait_log_line(&self, pod: &str, container: &str, line: &str) -> String {
        eventually(LIMIT, &format!("{pod}/{container} to print {line:?}"), || async {
            let log = self.logs(pod, container).await;
            log.lines().any(|l| l == line).then_some(log)
        })
        .await
    }

    /// PATCH `path` with a JSON merge patch, expecting success.
    async fn merge_patch(&self, path: &str, patch: Value) {
        let response = self
            .http
            .patch(format!("{}{path}", self.base))
            .header("Content-Type", "application/merge-patch+json")
            .body(patch.to_string())
            .send()
            .await
            .expect("patch");
        let status = response.status();
        assert!(
            status.is_success(),
            "PATCH {path}: {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// Deletes the pod and waits until it is gone from the API.
    async fn delete_pod(&self, name: &str) {
        let path = format!("/api/v1/namespaces/default/pods/{name}");
        let (status, body) = self.send(reqwest::Method::DELETE, &path, None).await;
        assert!(status == 200 || status == 202, "DELETE {path}: {status} {body}");
        eventually(LIMIT, &format!("pod {name} to be gone"), || async {
            self.pod(name).await.is_none().then_some(())
        })
        .await
    }

    /// Messages of the pod's events with `reason`.
    async fn events(&self, pod: &str, reason: &str) -> Vec<String> {
        let list = self
            .get_json("/api/v1/namespaces/default/events")
            .await
            .unwrap_or_default();
        list["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|e| e["involvedObject"]["name"] == pod && e["reason"] == reason)
                    .filter_map(|e| e["message"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The pod's uid.
    async fn uid(&self, pod: &str) -> String {
        let p = self.pod(pod).await.expect("pod");
        p["metadata"]["uid"].as_str().expect("uid").to_string()
    }
}

fn show(name: &str, args: &[&str]) -> Value {
    let mut all = vec!["show"];
    all.extend_from_slice(args);
    json!({"name": name, "image": DEMO, "imagePullPolicy": "Never", "args": all})
}

fn pod(name: &str, containers: Vec<Value>, volumes: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 2, "containers": containers, "volumes": volumes}
    })
}

fn waiting(pod: &Value, container: &str) -> Option<(String, String)> {
    let w = &container_status(pod, container)?["state"]["waiting"];
    Some((
        w["reason"].as_str()?.to_string(),
        w["message"].as_str().unwrap_or_default().to_string(),
    ))
}

const PODS: &str = "/api/v1/namespaces/default/pods";
const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

/// Env from a ConfigMap, a Secret and Services; ConfigMap and Secret files; a file that follows
/// its ConfigMap's update while the env stays as it started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_and_files_from_configmaps_and_secrets() {
    let Some(env) = env().await else { return };
    env.create(
        CONFIGMAPS,
        json!({"metadata": {"name": "app-config"}, "data": {
            "db_url": "postgres://db:5432", "MODE": "fast", "app.yaml": "color: blue\nsize: 3", "9lives": "x"
        }}),
    )
    .await;
    env.create(
        "/api/v1/namespaces/default/secrets",
        json!({"metadata": {"name": "creds"}, "stringData": {"password": "hunter2", "user": "admin"}}),
    )
    .await;
    let service = env
        .create(
            "/api/v1/namespaces/default/services",
            json!({"metadata": {"name": "cache-db"}, "spec": {"ports": [{"name": "redis", "port": 6379}]}}),
        )
        .await;

    let app = json!({
        "name": "app", "image": DEMO, "imagePullPolicy": "Never",
        "args": ["show", "--env", "DB_", "--env", "PASSWORD", "--env", "CFG_", "--env", "CACHE_DB_",
                 "--env", "ALL", "--env", "KUBERNETES_SERVICE_", "--file", "/etc/config/app.yaml", "--file", "/etc/secret/pw",
                 "--every-ms", "200"],
        "env": [
            {"name": "DB_URL", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "db_url"}}},
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
            {"name": "DB_OPTIONAL", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": true}}},
            {"name": "ALL", "value": "$(DB_URL) as $(CFG_MODE)"}
        ],
        "envFrom": [{"configMapRef": {"name": "app-config"}, "prefix": "CFG_"}, {"configMapRef": {"name": "app-config"}}],
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/config"},
            {"name": "secret", "mountPath": "/etc/secret"}
        ]
    });
    env.create(
        PODS,
        pod(
            "configured",
            vec![app],
            json!([
                {"name": "config", "configMap": {"name": "app-config"}},
                {"name": "secret", "secret": {"secretName": "creds", "items": [{"key": "password", "path": "pw", "mode": 256}]}}
            ]),
        ),
    )
    .await;
    env.wait_pod("configured", "running", |p| running(p, "app")).await;
    let log = env
        .wait_log_line("configured", "app", "file /etc/config/app.yaml: color: blue\\nsize: 3")
        .await;
    eprintln!("the container's log:\n{log}");
    let lines: Vec<&str> = log.lines().collect();
    for expected in [
        "env DB_URL=postgres://db:5432",
        "env PASSWORD=hunter2",
        "env CFG_MODE=fast",
        "env CFG_9lives=x",
        "env ALL=postgres://db:5432 as fast",
        "file /etc/secret/pw: hunter2",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in:\n{log}");
    }
    assert!(
        !log.contains("DB_OPTIONAL"),
        "an optional missing key sets nothing:\n{log}"
    );
    let skipped = env.events("configured", "InvalidEnvironmentVariableNames").await;
    assert!(
        skipped
            .iter()
            .any(|m| m.starts_with("Keys [9lives] from the EnvFrom configmap default/app-config were skipped")),
        "{skipped:?}"
    );
    // Service variables: the Service existed before the pod, so its variables are there if the
    // API server gave it a cluster IP, and absent if it did not.
    match service["spec"]["clusterIP"]
        .as_str()
        .filter(|ip| !ip.is_empty() && *ip != "None")
    {
        Some(ip) => {
            assert!(
                lines.contains(&format!("env CACHE_DB_SERVICE_HOST={ip}").as_str()),
                "{log}"
            );
            assert!(lines.contains(&"env CACHE_DB_SERVICE_PORT=6379"), "{log}");
            assert!(lines.contains(&"env CACHE_DB_SERVICE_PORT_REDIS=6379"), "{log}");
            assert!(
                lines.contains(&format!("env CACHE_DB_PORT_6379_TCP=tcp://{ip}:6379").as_str()),
                "{log}"
            );
        }
        None => assert!(!log.contains("CACHE_DB_SERVICE_HOST"), "{log}"),
    }
    // Likewise the API server's own Service, `kubernetes` in `default`, if there is one.
    let kubernetes = env.get_json("/api/v1/namespaces/default/services/kubernetes").await;
    match kubernetes.as_ref().and_then(|s| s["spec"]["clusterIP"].as_str()) {
        Some(ip) => assert!(
            lines.contains(&format!("env KUBERNETES_SERVICE_HOST={ip}").as_str()),
            "{log}"
        ),
        None => assert!(!log.contains("KUBERNETES_SERVICE_HOST"), "{log}"),
    }

    // On the node: the kubelet's layout, files as links through ..data, the Secret's mode.
    let uid = env.uid("configured").await;
    let volume = env
        .root_dir
        .join("pods")
        .join(&uid)
        .join("volumes/kubernetes.io~configmap/config");
    assert_eq!(
        std::fs::read_link(volume.join("app.yaml")).expect("a link"),
        PathBuf::from("..data/app.yaml")
    );
    let secret_file = env
        .root_dir
        .join("pods")
        .join(&uid)
        .join("volumes/kubernetes.io~secret/secret/pw");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&secret_file)
        .expect("secret file")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o400);

    // The ConfigMap changes: the file follows, the env does not.
    let path = format!("{CONFIGMAPS}/app-config");
    env.merge_patch(&path, json!({"data": {"app.yaml": "color: green", "MODE": "slow"}}))
        .await;
    let log = env
        .wait_log_line("configured", "app", "file /etc/config/app.yaml: color: green")
        .await;
    assert!(
        !log.contains("CFG_MODE=slow"),
        "env stays as the container started:\n{log}"
    );
    let pod = env.pod("configured").await.expect("pod");
    assert_eq!(container_status(&pod, "app").unwrap()["restartCount"], 0);
}

/// A missing ConfigMap, then a missing key: the container waits with the kubelet's reason and
/// message; once the key exists, it starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_key_then_recovery() {
    let Some(env) = env().await else { return };
    let app = json!({
        "name": "app", "image": DEMO, "imagePullPolicy": "Never", "args": ["show", "--env", "DB_URL"],
        "env": [{"name": "DB_URL", "valueFrom": {"configMapKeyRef": {"name": "late-config", "key": "db_url"}}}]
    });
    env.create(PODS, pod("late", vec![app], json!([]))).await;
    let is_config_error = |expected: &'static str| {
        move |p: &Value| {
            waiting(p, "app")
                .is_some_and(|(reason, message)| reason == "CreateContainerConfigError" && message == expected)
        }
    };
    env.wait_pod(
        "late",
        "CreateContainerConfigError: not found",
        is_config_error("configmap \"late-config\" not found"),
    )
    .await;
    env.create(
        CONFIGMAPS,
        json!({"metadata": {"name": "late-config"}, "data": {"other": "1"}}),
    )
    .await;
    env.wait_pod(
        "late",
        "CreateContainerConfigError: missing key",
        is_config_error("couldn't find key db_url in ConfigMap default/late-config"),
    )
    .await;
    let failed = env.events("late", "Failed").await;
    assert!(
        failed.iter().any(|m| m == "Error: configmap \"late-config\" not found"),
        "{failed:?}"
    );
    env.merge_patch(
        &format!("{CONFIGMAPS}/late-config"),
        json!({"data": {"db_url": "postgres://late"}}),
    )
    .await;
    env.wait_pod("late", "running", |p| running(p, "app")).await;
    env.wait_log_line("late", "app", "env DB_URL=postgres://late").await;
}

/// Two containers share an emptyDir on disk and one in memory (a tmpfs); a hostPath directory
/// is mounted; a hostPath of the wrong type holds its pod back with a FailedMount event; the
/// pod's volumes go with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_dirs_and_host_paths() {
    let Some(env) = env().await else { return };
    let host_dir = env.dir.path().join("host-data");
    std::fs::create_dir_all(&host_dir).expect("host dir");
    std::fs::write(host_dir.join("greeting"), "from the host").expect("host file");
    let host = host_dir.to_string_lossy().into_owned();

    let writer = json!({
        "name": "writer", "image": DEMO, "imagePullPolicy": "Never",
        "args": ["show", "--write", "/shared/msg=written by writer", "--write", "/mem/msg=in memory"],
        "volumeMounts": [{"name": "shared", "mountPath": "/shared"}, {"name": "mem", "mountPath": "/mem"}]
    });
    let reader = json!({
        "name": "reader", "image": DEMO, "imagePullPolicy": "Never",
        "args": ["show", "--file", "/from/msg", "--file", "/mem/msg", "--file", "/host/greeting",
                 "--file", "/sub/dir-made", "--every-ms", "200"],
        "volumeMounts": [
            {"name": "shared", "mountPath": "/from", "readOnly": true},
            {"name": "mem", "mountPath": "/mem"},
            {"name": "host", "mountPath": "/host"},
            {"name": "shared", "mountPath": "/sub", "subPath": "made/by/agent"}
        ]
    });
    env.create(
        PODS,
        pod(
            "sharing",
            vec![writer, reader],
            json!([
                {"name": "shared", "emptyDir": {}},
                {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
                {"name": "host", "hostPath": {"path": host, "type": "Directory"}}
            ]),
        ),
    )
    .await;
    env.wait_pod("sharing", "both running", |p| {
        running(p, "writer") && running(p, "reader")
    })
    .await;
    env.wait_log_line("sharing", "reader", "file /from/msg: written by writer")
        .await;
    env.wait_log_line("sharing", "reader", "file /mem/msg: in memory").await;
    env.wait_log_line("sharing", "reader", "file /host/greeting: from the host")
        .await;

    // The memory emptyDir is one Docker volume, a tmpfs, labelled with the cluster.
    let docker = connect_docker().await.expect("docker");
    let uid = env.uid("sharing").await;
    let volumes = list_volumes(&docker, &env.name).await.expect("volumes");
    let mem = volumes
        .iter()
        .find(|v| v.labels.get("io.kubelab.pod-uid") == Some(&uid))
        .expect("the memory emptyDir's volume");
    let inspected = docker.inspect_volume(&mem.name).await.expect("inspect");
    assert_eq!(inspected.options.get("type").map(String::as_str), Some("tmpfs"));
    assert_eq!(inspected.options.get("o").map(String::as_str), Some("size=16777216"));
    let pod_dir = env.root_dir.join("pods").join(&uid);
    assert!(pod_dir
        .join("volumes/kubernetes.io~empty-dir/shared/made/by/agent")
        .is_dir());

    // A hostPath that must be a file but is not there: the pod waits, the event says why.
    let missing = env.dir.path().join("no-such-file").to_string_lossy().into_owned();
    let app = json!({
        "name": "app", "image": DEMO, "imagePullPolicy": "Never", "args": ["show"],
        "volumeMounts": [{"name": "f", "mountPath": "/f"}]
    });
    env.create(
        PODS,
        pod(
            "wrong-type",
            vec![app],
            json!([{"name": "f", "hostPath": {"path": missing, "type": "File"}}]),
        ),
    )
    .await;
    env.wait_pod("wrong-type", "ContainerCreating", |p| {
        waiting(p, "app").is_some_and(|(reason, _)| reason == "ContainerCreating")
    })
    .await;
    let expected =
        format!("MountVolume.SetUp failed for volume \"f\" : hostPath type check failed: {missing} is not a file");
    eventually(LIMIT, "the FailedMount event", || async {
        env.events("wrong-type", "FailedMount")
            .await
            .contains(&expected)
            .then_some(())
    })
    .await;

    // Deleting the pod removes its directory and its memory volume.
    env.delete_pod("sharing").await;
    eventually(LIMIT, "the pod's volumes to be removed", || async {
        let volumes = list_volumes(&docker, &env.name).await.ok()?;
        let gone = !pod_dir.exists() && !volumes.iter().any(|v| v.labels.get("io.kubelab.pod-uid") == Some(&uid));
        gone.then_some(())
    })
    .await;
    assert!(
        host_dir.join("greeting").exists(),
        "a hostPath is the node's: never removed"
    );
}

/// A claim on a PersistentVolume (a Docker volume, `csi.driver: kubelab.io/docker-volume`):
/// the pod waits while the claim is unbound, runs once it is bound, and its data survives the
/// pod's deletion; the Docker volume goes once the PV does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_keep_data_across_pods() {
    let Some(env) = env().await else { return };
    let handle = format!("kubelab-{}-pv-data", env.name);
    env.create(
        "/api/v1/persistentvolumes",
        json!({"metadata": {"name": "pv-data"}, "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "manual",
            "csi": {"driver": "kubelab.io/docker-volume", "volumeHandle": handle}
        }}),
    )
    .await;
    let claims = "/api/v1/namespaces/default/persistentvolumeclaims";
    env.create(
        claims,
        json!({"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "storageClassName": "manual", "volumeName": "pv-data",
            "resources": {"requests": {"storage": "1Gi"}}
        }}),
    )
    .await;
    let writer = |name: &str, args: &[&str]| {
        let mut c = show(name, args);
        c["volumeMounts"] = json!([{"name": "data", "mountPath": "/data"}]);
        c
    };
    let volumes = json!([{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]);
    env.create(
        PODS,
        pod(
            "first",
            vec![writer("app", &["--write", "/data/note=kept across pods"])],
            volumes.clone(),
        ),
    )
    .await;
    env.wait_pod("first", "ContainerCreating while the claim is unbound", |p| {
        waiting(p, "app").is_some_and(|(reason, _)| reason == "ContainerCreating")
    })
    .await;
    let expected = "MountVolume.SetUp failed for volume \"data\" : persistentvolumeclaim \"data\" is not bound to a \
                    PersistentVolume yet";
    eventually(LIMIT, "the FailedMount event naming the claim", || async {
        env.events("first", "FailedMount")
            .await
            .iter()
            .any(|m| m == expected)
            .then_some(())
    })
    .await;

    // Bound by hand, as the volume controller would: the claim's status.
    let mut claim = env.get_json(&format!("{claims}/data")).await.expect("claim");
    claim["status"] = json!({"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}});
    let (status, body) = env
        .send(reqwest::Method::PUT, &format!("{claims}/data/status"), Some(claim))
        .await;
    assert_eq!(status, 200, "{body}");
    env.wait_pod("first", "running", |p| running(p, "app")).await;
    env.wait_log_line("first", "app", "wrote /data/note").await;

    let docker = connect_docker().await.expect("docker");
    let inspected = docker.inspect_volume(&handle).await.expect("the PV's Docker volume");
    assert_eq!(
        inspected.labels.get("io.kubelab.pv").map(String::as_str),
        Some("pv-data")
    );
    assert_eq!(inspected.labels.get("io.kubelab.cluster"), Some(&env.name));

    env.delete_pod("first").await;
    env.create(
        PODS,
        pod("second", vec![writer("app", &["--file", "/data/note"])], volumes),
    )
    .await;
    env.wait_log_line("second", "app", "file /data/note: kept across pods")
        .await;
    env.delete_pod("second").await;

    // The claim and its PV go (reclaim policy Delete): the agent's cleanup removes the volume.
    let (status, _) = env.send(reqwest::Method::DELETE, &format!("{claims}/data"), None).await;
    assert!(status == 200 || status == 202);
    let (status, _) = env
        .send(reqwest::Method::DELETE, "/api/v1/persistentvolumes/pv-data", None)
        .await;
    assert!(status == 200 || status == 202);
    eventually(LIMIT, "the Docker volume of the deleted PV to be removed", || async {
        docker.inspect_volume(&handle).await.is_err().then_some(())
    })
    .await;
}
