//! # `kubelab images`: build the images kubelab needs, with no registry
//!
//! A Kubernetes node pulls even its pause image from a registry. kubelab runs offline, so this
//! command builds `kubelab/pause:latest` and `kubelab/demo:latest` through Docker's API from the
//! `kubelab-pause` and `kubelab-demo` binaries installed next to `kubelab` itself (what `cargo
//! build` puts in `target/debug` or `target/release`). An image whose content has not changed is
//! left alone, so running it again is cheap; `--force` rebuilds anyway.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use kubelab_agent::images::{ensure_images, BuiltImage, ImageSources};

/// Flags of `kubelab images`.
#[derive(Debug, clap::Args)]
pub struct ImagesArgs {
    /// Rebuild the images even if they are up to date.
    #[arg(long)]
    pub force: bool,
}

/// The binaries next to `exe`, checked to exist.
pub fn sources_next_to(exe: &Path) -> anyhow::Result<ImageSources> {
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow!("{} has no directory", exe.display()))?;
    let find = |name: &str| -> anyhow::Result<PathBuf> {
        let path = dir.join(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(anyhow!(
                "{name} not found next to kubelab (looked for {}): run cargo build first",
                path.display()
            ))
        }
    };
    Ok(ImageSources {
        pause_binary: find("kubelab-pause")?,
        demo_binary: find("kubelab-demo")?,
    })
}

/// Connects to the local Docker engine, with an error that says what to check.
pub async fn connect_docker() -> anyhow::Result<bollard::Docker> {
    let hint = "is Docker running, and may this user use its socket (DOCKER_HOST or /var/run/docker.sock)?";
    let docker =
        bollard::Docker::connect_with_local_defaults().with_context(|| format!("cannot reach Docker: {hint}"))?;
    let docker = docker
        .negotiate_version()
        .await
        .with_context(|| format!("cannot reach Docker: {hint}"))?;
    Ok(docker)
}

/// One line about one image, e.g. `kubelab/pause:latest built (3.1 MB)`.
pub fn describe(image: &BuiltImage) -> String {
    let what = if image.built { "built" } else { "up to date" };
    format!("{} {what} ({})", image.name, human_size(image.size))
}

/// A size in megabytes with one decimal, as Docker prints image sizes.
pub fn human_size(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    } else {
        format!("{:.1} kB", bytes as f64 / 1_000.0)
    }
}

/// Runs `kubelab images`.
pub async fn run(args: ImagesArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find the running kubelab binary")?;
    let sources = sources_next_to(&exe)?;
    let docker = connect_docker().await?;
    let images = ensure_images(&docker, &sources, args.force).await?;
    for image in &images {
        println!("{}", describe(image));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_what_was_done() {
        let image = BuiltImage {
            name: "kubelab/pause:latest".into(),
            id: "sha256:abc".into(),
            size: 3_141_592,
            source_hash: "0".into(),
            built: true,
        };
        assert_eq!(describe(&image), "kubelab/pause:latest built (3.1 MB)");
        let image = BuiltImage {
            built: false,
            size: 512,
            ..image
        };
        assert_eq!(describe(&image), "kubelab/pause:latest up to date (0.5 kB)");
    }

    #[test]
    fn missing_binaries_say_to_build_first() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("kubelab");
        let err = sources_next_to(&exe).unwrap_err().to_string();
        assert!(err.contains("kubelab-pause") && err.contains("cargo build"), "{err}");
        std::fs::write(dir.path().join("kubelab-pause"), b"").unwrap();
        std::fs::write(dir.path().join("kubelab-demo"), b"").unwrap();
        let sources = sources_next_to(&exe).unwrap();
        assert_eq!(sources.demo_binary, dir.path().join("kubelab-demo"));
    }
}
