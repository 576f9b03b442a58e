//! # App containers: a pod spec's container, translated for Docker
//!
//! An app container is created with `network_mode: container:<pause id>`. Docker then does not
//! give it a network namespace of its own: its processes are placed in the pause container's
//! (and its UTS namespace, so the hostname too). Two containers of one pod therefore see one
//! loopback interface, and a server listening on `127.0.0.1:8080` in one is reached from the
//! other at `localhost:8080`, exactly as two processes on one machine would.
//!
//! The rest is a dictionary from the pod spec to Docker's create request:
//!
//! | pod spec | Docker | why |
//! | --- | --- | --- |
//! | `command` | `Entrypoint` | Kubernetes' `command` replaces the image's ENTRYPOINT |
//! | `args` | `Cmd` | `args` replaces the image's CMD; `args` alone keeps the image's ENTRYPOINT |
//! | `env` | `Env` (`K=V`) | |
//! | `workingDir` | `WorkingDir` | |
//! | volume mounts | `Binds` (`src:dst[:ro]`) | a host path binds that file or directory; a volume name mounts that Docker volume |
//! | `limits.memory` | `Memory` and `MemorySwap` (equal: no swap on top) | |
//! | `limits.cpu` | `CpuQuota` per `CpuPeriod` of 100 ms | 500m = 50 ms of CPU time per 100 ms |
//! | `tty`, `stdin` | `Tty`, `OpenStdin` | |
//!
//! Restart counts live in a label, because Docker's own restart count belongs to Docker's restart
//! policy, which kubelab never uses: the agent restarts containers itself, with back-off, by
//! creating a new container (`..._<restart>_...` in its name) and removing the old one later.

use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions, StopContainerOptions};
use bollard::Docker;

use super::sandbox::identity_labels;
use super::{docker_err, is_status, name_part, uid8, DockerRuntime, Owner};
use crate::runtime::{labels, ContainerConfig, PullPolicy, RuntimeError};

/// The CFS period kubelab uses (Docker's and Linux's default): 100 ms.
pub const CPU_PERIOD_MICROS: i64 = 100_000;
/// Linux refuses a quota below 1 ms.
const MIN_CPU_QUOTA_MICROS: i64 = 1_000;
/// How many name variants `create_named` tries when a name is taken.
const NAME_ATTEMPTS: u32 = 10;

/// The container's name: `k8s_<container>_<pod>_<namespace>_<uid8>_<restart>_<cluster>`; a later
/// `attempt` (the name was taken) adds `-<attempt>` to the restart count.
pub fn container_name(cluster: &str, config: &ContainerConfig, attempt: u32) -> String {
    let restart = if attempt == 0 {
        config.restart_count.to_string()
    } else {
        format!("{}-{attempt}", config.restart_count)
    };
    format!(
        "k8s_{}_{}_{}_{}_{}_{}",
        name_part(&config.name),
        name_part(&config.pod_name),
        name_part(&config.namespace),
        uid8(&config.pod_uid),
        restart,
        name_part(cluster)
    )
}

/// `limits.cpu` in millicores → Docker's CPU quota (µs per [`CPU_PERIOD_MICROS`]).
pub fn cpu_quota(millis: i64) -> i64 {
    (millis.saturating_mul(CPU_PERIOD_MICROS) / 1000).max(MIN_CPU_QUOTA_MICROS)
}

/// Docker's create request for an app container joining `sandbox_id` (pure, so it is unit tested).
pub fn create_body(owner: &Owner, sandbox_id: &str, config: &ContainerConfig) -> ContainerCreateBody {
    let mut all_labels = identity_labels(
        owner,
        &config.pod_uid,
        &config.namespace,
        &config.pod_name,
        &config.labels,
    );
    all_labels.insert(labels::CONTAINER.to_string(), config.name.clone());
    all_labels.insert(labels::RESTART_COUNT.to_string(), config.restart_count.to_string());

    // Kubernetes: `command` replaces ENTRYPOINT (and then the image's CMD is not used either);
    // `args` replaces CMD. Docker merges the same way when Entrypoint is given.
    let entrypoint = (!config.command.is_empty()).then(|| config.command.clone());
    let cmd = (!config.args.is_empty()).then(|| config.args.clone());

    let binds: Vec<String> = config
        .mounts
        .iter()
        .map(|m| {
            if m.read_only {
                format!("{}:{}:ro", m.source, m.target)
            } else {
                format!("{}:{}", m.source, m.target)
            }
        })
        .collect();
    let joined = format!("container:{sandbox_id}");

    ContainerCreateBody {
        image: Some(config.image.clone()),
        entrypoint,
        cmd,
        env: (!config.env.is_empty()).then(|| config.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        working_dir: config.working_dir.clone().filter(|d| !d.is_empty()),
        labels: Some(all_labels),
        tty: Some(config.tty),
        open_stdin: Some(config.stdin),
        host_config: Some(HostConfig {
            network_mode: Some(joined.clone()),
            ipc_mode: Some(joined),
            binds: (!binds.is_empty()).then_some(binds),
            memory: config.memory_limit_bytes,
            memory_swap: config.memory_limit_bytes,
            cpu_period: config.cpu_limit_millis.map(|_| CPU_PERIOD_MICROS),
            cpu_quota: config.cpu_limit_millis.map(cpu_quota),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Makes sure `image` is present and returns its ID. kubelab has no registry, so nothing is ever
/// pulled: a present image is used whatever the policy, and a missing one is `ImageNotFound`.
pub async fn ensure_image(docker: &Docker, image: &str, policy: PullPolicy) -> Result<String, RuntimeError> {
    match docker.inspect_image(image).await {
        Ok(found) => {
            if policy == PullPolicy::Always {
                tracing::debug!(
                    image,
                    "imagePullPolicy Always: kubelab has no registry, using the local image"
                );
            }
            Ok(found.id.unwrap_or_default())
        }
        Err(e) if is_status(&e, 404) => {
            let message = match policy {
                PullPolicy::Never => "it is not on this node and imagePullPolicy is Never".to_string(),
                _ => "kubelab has no registry to pull from; build it locally (kubelab images, or docker build)"
                    .to_string(),
            };
            Err(RuntimeError::ImageNotFound {
                image: image.to_string(),
                message,
            })
        }
        Err(e) => Err(docker_err(e, &format!("image {image}"))),
    }
}

/// Creates a container named by `name(attempt)`, trying the next attempt while the name is taken
/// (a sandbox made again for the same pod, an agent that crashed between create and record).
pub(crate) async fn create_named(
    docker: &Docker,
    body: ContainerCreateBody,
    what: &str,
    name: impl Fn(u32) -> String,
) -> Result<String, RuntimeError> {
    let image = body.image.clone().unwrap_or_default();
    for attempt in 0..NAME_ATTEMPTS {
        let options = CreateContainerOptions {
            name: Some(name(attempt)),
            ..Default::default()
        };
        match docker.create_container(Some(options), body.clone()).await {
            Ok(created) => {
                for warning in created.warnings.iter().filter(|w| !w.is_empty()) {
                    tracing::warn!(what, warning = %warning, "Docker warned while creating a container");
                }
                return Ok(created.id);
            }
            Err(e) if is_status(&e, 409) => continue,
            Err(e) if is_status(&e, 404) => {
                return Err(RuntimeError::ImageNotFound {
                    image,
                    message: "it is not on this node and kubelab has no registry to pull from".to_string(),
                })
            }
            Err(e) => return Err(docker_err(e, &format!("creating {what}"))),
        }
    }
    Err(RuntimeError::Runtime(format!(
        "creating {what}: all {NAME_ATTEMPTS} names are taken"
    )))
}

/// Creates an app container inside a sandbox; returns its id.
pub async fn create(rt: &DockerRuntime, sandbox_id: &str, config: &ContainerConfig) -> Result<String, RuntimeError> {
    crate::runtime::validate_mounts(&config.mounts)?;
    let body = create_body(&rt.owner(), sandbox_id, config);
    let what = format!(
        "container {} of pod {}/{}",
        config.name, config.namespace, config.pod_name
    );
    create_named(rt.docker(), body, &what, |attempt| {
        container_name(rt.cluster(), config, attempt)
    })
    .await
}

pub async fn start(docker: &Docker, id: &str) -> Result<(), RuntimeError> {
    match docker.start_container(id, None).await {
        Ok(()) => Ok(()),
        // 304: already running.
        Err(e) if is_status(&e, 304) => Ok(()),
        Err(e) => Err(docker_err(e, &format!("starting container {id}"))),
    }
}

/// SIGTERM (or the image's STOPSIGNAL), up to `grace` to exit, then SIGKILL: Docker's own stop.
pub async fn stop(docker: &Docker, id: &str, grace: Duration) -> Result<(), RuntimeError> {
    let seconds = grace.as_secs() + u64::from(grace.subsec_nanos() > 0);
    let options = StopContainerOptions {
        t: Some(i32::try_from(seconds).unwrap_or(i32::MAX)),
        signal: None,
    };
    // Docker answers a stop only once the container is gone, so the request may take the whole
    // grace period: give the client that long, and some more.
    let patient = docker
        .clone()
        .with_timeout(Duration::from_secs(seconds.saturating_add(30).max(120)));
    match patient.stop_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        // 304: already stopped; 404: already gone.
        Err(e) if is_status(&e, 304) || is_status(&e, 404) => Ok(()),
        Err(e) => Err(docker_err(e, &format!("stopping container {id}"))),
    }
}

/// Removes a container (killing it if it still runs) and its anonymous volumes. Succeeds if it
/// is already gone.
pub async fn remove(docker: &Docker, id: &str) -> Result<(), RuntimeError> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        link: false,
    };
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if is_status(&e, 404) => Ok(()),
        // 409 "removal already in progress": someone else is doing it.
        Err(e) if is_status(&e, 409) && e.to_string().contains("already in progress") => Ok(()),
        Err(e) => Err(docker_err(e, &format!("removing container {id}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{Mount, MountKind};

    fn owner() -> Owner<'static> {
        Owner {
            cluster: "c1",
            node: "node-a",
            network: "kubelab-c1",
        }
    }

    fn config() -> ContainerConfig {
        ContainerConfig {
            pod_uid: "0123456789abcdef".into(),
            namespace: "default".into(),
            pod_name: "web".into(),
            name: "app".into(),
            image: "kubelab/demo:latest".into(),
            restart_count: 2,
            ..Default::default()
        }
    }

    #[test]
    fn names_carry_restart_count_and_cluster() {
        assert_eq!(container_name("c1", &config(), 0), "k8s_app_web_default_01234567_2_c1");
        assert_eq!(
            container_name("c1", &config(), 3),
            "k8s_app_web_default_01234567_2-3_c1"
        );
    }

    #[test]
    fn command_and_args_follow_kubernetes() {
        let body = |command: &[&str], args: &[&str]| {
            let mut c = config();
            c.command = command.iter().map(|s| s.to_string()).collect();
            c.args = args.iter().map(|s| s.to_string()).collect();
            let b = create_body(&owner(), "pause1", &c);
            (b.entrypoint, b.cmd)
        };
        assert_eq!(body(&[], &[]), (None, None));
        assert_eq!(body(&["/bin/x"], &[]), (Some(vec!["/bin/x".to_string()]), None));
        assert_eq!(body(&[], &["-v"]), (None, Some(vec!["-v".to_string()])));
        assert_eq!(
            body(&["/bin/x"], &["-v"]),
            (Some(vec!["/bin/x".to_string()]), Some(vec!["-v".to_string()]))
        );
    }

    #[test]
    fn body_joins_the_sandbox_with_limits_env_mounts_and_labels() {
        let mut c = config();
        c.env = vec![("A".into(), "1".into()), ("B".into(), "x=y".into())];
        c.working_dir = Some("/data".into());
        c.mounts = vec![
            Mount {
                source: "/srv/a".into(),
                target: "/a".into(),
                read_only: true,
                kind: MountKind::Bind,
            },
            Mount {
                source: "vol".into(),
                target: "/b".into(),
                read_only: false,
                kind: MountKind::Volume,
            },
        ];
        c.memory_limit_bytes = Some(64 << 20);
        c.cpu_limit_millis = Some(250);
        c.tty = true;
        let b = create_body(&owner(), "pause1", &c);
        assert_eq!(b.env, Some(vec!["A=1".to_string(), "B=x=y".to_string()]));
        assert_eq!(b.working_dir.as_deref(), Some("/data"));
        assert_eq!(b.tty, Some(true));
        assert_eq!(b.hostname, None, "a joined container takes the sandbox's hostname");
        let h = b.host_config.unwrap();
        assert_eq!(h.network_mode.as_deref(), Some("container:pause1"));
        assert_eq!(h.binds, Some(vec!["/srv/a:/a:ro".to_string(), "vol:/b".to_string()]));
        assert_eq!((h.memory, h.memory_swap), (Some(64 << 20), Some(64 << 20)));
        assert_eq!((h.cpu_period, h.cpu_quota), (Some(100_000), Some(25_000)));
        let l = b.labels.unwrap();
        assert_eq!(l[labels::CONTAINER], "app");
        assert_eq!(l[labels::RESTART_COUNT], "2");
        assert_eq!(l[labels::CLUSTER], "c1");
        assert!(!l.contains_key(labels::SANDBOX));
    }

    #[test]
    fn cpu_quota_has_a_floor() {
        assert_eq!(cpu_quota(1000), 100_000);
        assert_eq!(cpu_quota(1500), 150_000);
        assert_eq!(cpu_quota(1), 1_000);
        assert_eq!(cpu_quota(0), 1_000);
    }
}
