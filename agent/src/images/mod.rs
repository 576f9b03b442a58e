//! # Images with no registry
//!
//! Kubernetes pulls every image from a registry, even its own `pause` image. kubelab must run on a
//! laptop with no internet access and no registry, so it builds the images it needs itself, through
//! Docker's build API, from its own compiled binaries:
//!
//! - `kubelab/pause:latest`, the pod's first container. It holds the pod's network namespace (its
//!   IP, hostname and ports) so app containers can join it, crash and restart without the pod
//!   losing its address. Its program does nothing but reap zombies and exit on SIGTERM.
//! - `kubelab/demo:latest`, one small app with several personalities (`web`, `kv`, `worker`,
//!   `sleep`) for the labs.
//! - `kubelab/proxy:latest`, a Service's proxy (`kubelab-proxy`): built with
//!   [`ensure_image`]`(docker, PROXY_IMAGE, proxy_binary, None, force)` by the service-proxy
//!   manager, which is the only one that runs it.
//!
//! Each image is `FROM scratch` plus the binary and the shared libraries it loads (see
//! [`context`]). It is labelled with a hash of that content, so `ensure_images` rebuilds exactly
//! when a binary changed, and with `io.kubelab.managed=true`, so cleanup can find it.
//!
//! Several processes (parallel tests, two clusters) may ensure the same image at once. Each builds
//! under a tag of its own and then moves the shared tag onto its result: moving a tag is atomic in
//! Docker, and both results have the same content, so whoever is last wins harmlessly.

pub mod context;

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::query_parameters::{BuildImageOptionsBuilder, TagImageOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;

pub use context::{content_hash, BuildContext};

/// The image that holds each pod's network namespace.
pub const PAUSE_IMAGE: &str = "kubelab/pause:latest";
/// The multi-purpose demo app.
pub const DEMO_IMAGE: &str = "kubelab/demo:latest";
/// The service proxy, one container per Service with a ClusterIP.
pub const PROXY_IMAGE: &str = "kubelab/proxy:latest";
/// Label carrying the hash of an image's build context.
pub const SOURCE_HASH_LABEL: &str = "io.kubelab.image-source-hash";
/// Label marking every Docker object kubelab made.
pub const MANAGED_LABEL: &str = "io.kubelab.managed";

/// Where the binaries to put into images are.
#[derive(Debug, Clone)]
pub struct ImageSources {
    /// The `kubelab-pause` binary.
    pub pause_binary: PathBuf,
    /// The `kubelab-demo` binary.
    pub demo_binary: PathBuf,
}

/// What `ensure_images` did for one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    /// The image's name and tag, e.g. `kubelab/pause:latest`.
    pub name: String,
    /// Docker's image ID (`sha256:...`).
    pub id: String,
    /// The image's size in bytes, as Docker reports it.
    pub size: u64,
    /// The content hash it is labelled with.
    pub source_hash: String,
    /// `true` if it was built now, `false` if an up-to-date image was already there.
    pub built: bool,
}

/// Why an image could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A binary to put into an image does not exist (it has not been built yet).
    #[error("{} not found: run cargo build first", path.display())]
    MissingBinary {
        /// The path that was looked at.
        path: PathBuf,
    },
    /// A binary or library exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `ldd` could not list a binary's shared libraries.
    #[error("cannot list the shared libraries of {}: {message}", path.display())]
    Ldd {
        /// The binary.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The build context could not be assembled.
    #[error("cannot assemble the build context: {0}")]
    Context(String),
    /// Docker refused or failed a request (unreachable daemon included).
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
    /// The build ran but reported an error.
    #[error("building {image} failed: {message}")]
    Build {
        /// The image being built.
        image: String,
        /// Docker's message.
        message: String,
    },
}

/// Makes sure `kubelab/pause:latest` and `kubelab/demo:latest` exist and match the given
/// binaries, building what is missing or stale (everything, if `force`). Safe to call from several
/// processes at once.
pub async fn ensure_images(
    docker: &Docker,
    sources: &ImageSources,
    force: bool,
) -> Result<Vec<BuiltImage>, ImageError> {
    let pause = ensure_image(docker, PAUSE_IMAGE, &sources.pause_binary, None, force).await?;
    let demo = ensure_image(docker, DEMO_IMAGE, &sources.demo_binary, Some(&["web"]), force).await?;
    Ok(vec![pause, demo])
}

/// Makes sure the image `name` (`repo:tag`) holds `binary` as its entrypoint, with `cmd` as its
/// default arguments.
pub async fn ensure_image(
    docker: &Docker,
    name: &str,
    binary: &std::path::Path,
    cmd: Option<&[&str]>,
    force: bool,
) -> Result<BuiltImage, ImageError> {
    // Reading and tarring ~10 MB of files is blocking work: keep it off the async threads.
    let (binary_owned, cmd_owned) = (
        binary.to_path_buf(),
        cmd.map(|c| c.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
    );
    let (tar_bytes, hash) = tokio::task::spawn_blocking(move || {
        let cmd_refs: Option<Vec<&str>> = cmd_owned.as_ref().map(|c| c.iter().map(String::as_str).collect());
        let ctx = BuildContext::for_binary(&binary_owned, cmd_refs.as_deref())?;
        let tar_bytes = ctx.to_tar()?;
        let hash = content_hash(&tar_bytes);
        Ok::<_, ImageError>((tar_bytes, hash))
    })
    .await
    .map_err(|e| ImageError::Context(e.to_string()))??;

    if !force {
        if let Some(existing) = inspect(docker, name).await? {
            if existing.source_hash == hash {
                return Ok(existing);
            }
        }
    }
    // `force` still lets Docker's build cache apply: it is keyed on the files' content, so a
    // cached result is exactly what a fresh build would make.
    build(docker, name, tar_bytes, &hash).await?;
    let mut image = inspect(docker, name).await?.ok_or_else(|| ImageError::Build {
        image: name.to_string(),
        message: "the built image is not there".into(),
    })?;
    image.built = true;
    Ok(image)
}

/// Removes the image a rebuild replaced, so stale copies do not pile up. Docker refuses while a
/// container still uses it (a running pod keeps its image) or another tag names it: then it
/// stays, and that is fine.
async fn remove_superseded(docker: &Docker, id: &str) {
    match docker
        .remove_image(id, None::<bollard::query_parameters::RemoveImageOptions>, None)
        .await
    {
        Ok(_) => tracing::debug!(image = id, "removed the superseded image"),
        Err(e) => tracing::debug!(image = id, "superseded image kept: {e}"),
    }
}

/// The image `name` as kubelab describes it, `None` if Docker has no such image.
pub async fn inspect(docker: &Docker, name: &str) -> Result<Option<BuiltImage>, ImageError> {
    match docker.inspect_image(name).await {
        Ok(info) => {
            let source_hash = info
                .config
                .as_ref()
                .and_then(|c| c.labels.as_ref())
                .and_then(|l| l.get(SOURCE_HASH_LABEL))
                .cloned()
                .unwrap_or_default();
            Ok(Some(BuiltImage {
                name: name.to_string(),
                id: info.id.unwrap_or_default(),
                size: info.size.unwrap_or(0).max(0) as u64,
                source_hash,
                built: false,
            }))
        }
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The labels every kubelab image carries.
pub fn image_labels(hash: &str) -> HashMap<String, String> {
    HashMap::from([
        (SOURCE_HASH_LABEL.to_string(), hash.to_string()),
        (MANAGED_LABEL.to_string(), "true".to_string()),
    ])
}

/// Splits `repo:tag` (the tag defaults to `latest`; a registry port's colon is not a tag).
pub fn split_name(name: &str) -> (&str, &str) {
    match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (name, "latest"),
    }
}

async fn build(docker: &Docker, name: &str, tar_bytes: Vec<u8>, hash: &str) -> Result<(), ImageError> {
    let (repo, tag) = split_name(name);
    // A tag of our own, so a concurrent build of the same image never sees half of ours.
    let temp_tag = format!("build-{}-{}", std::process::id(), unique());
    let temp_name = format!("{repo}:{temp_tag}");
    let options = BuildImageOptionsBuilder::new()
        .dockerfile("Dockerfile")
        .t(&temp_name)
        .rm(true)
        .forcerm(true)
        .labels(&image_labels(hash))
        .build();
    let body = bollard::body_full(tar_bytes.into());
    let mut stream = docker.build_image(options, None, Some(body));
    let mut failure = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(detail) = info.error_detail {
                    failure = Some(detail.message.unwrap_or_else(|| "unknown error".into()));
                }
                if let Some(line) = info.stream {
                    tracing::debug!(image = name, "{}", line.trim_end());
                }
            }
            Err(bollard::errors::Error::DockerStreamError { error }) => failure = Some(error),
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(message) = failure {
        return Err(ImageError::Build {
            image: name.to_string(),
            message,
        });
    }
    // Whatever the shared tag names now (an older build, or a concurrent one's result) is replaced
    // by ours and removed below, so no untagged copy is left behind.
    let previous = docker.inspect_image(name).await.ok().and_then(|i| i.id);
    let ours = docker.inspect_image(&temp_name).await.ok().and_then(|i| i.id);
    let tagged = docker
        .tag_image(
            &temp_name,
            Some(TagImageOptionsBuilder::new().repo(repo).tag(tag).build()),
        )
        .await;
    // The temporary tag goes whatever happened. If a concurrent build moved the shared tag past
    // ours, our image has no tag left and goes too, with its (untagged, unshared) parent layers;
    // otherwise this only untags.
    let removed = docker
        .remove_image(&temp_name, None::<bollard::query_parameters::RemoveImageOptions>, None)
        .await;
    tagged?;
    if let Err(e) = removed {
        tracing::warn!(image = %temp_name, "cannot remove the temporary tag: {e}");
    }
    if let Some(previous) = previous.filter(|p| ours.as_ref() != Some(p)) {
        remove_superseded(docker, &previous).await;
    }
    Ok(())
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (u64::from(nanos) << 16) ^ COUNTER.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_labelled_with_their_hash_and_as_managed() {
        let labels = image_labels("0123456789abcdef");
        assert_eq!(
            labels.get("io.kubelab.image-source-hash").map(String::as_str),
            Some("0123456789abcdef")
        );
        assert_eq!(labels.get("io.kubelab.managed").map(String::as_str), Some("true"));
        assert_eq!(labels.len(), 2);
    }

    #[test]
    fn names_split_into_repo_and_tag() {
        assert_eq!(split_name("kubelab/pause:latest"), ("kubelab/pause", "latest"));
        assert_eq!(split_name("kubelab/demo"), ("kubelab/demo", "latest"));
        assert_eq!(split_name("localhost:5000/x"), ("localhost:5000/x", "latest"));
        assert_eq!(split_name("localhost:5000/x:v1"), ("localhost:5000/x", "v1"));
    }

    #[test]
    fn temporary_tags_differ() {
        assert_ne!(unique(), unique());
    }
}
