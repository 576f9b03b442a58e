//! Carrying out a volume plan: directories, files, host path checks and runtime volumes.
//!
//! Every step is safe to repeat: an existing directory or volume is kept (with its data), files
//! are rewritten only when they differ. So preparing again before each container start costs
//! little and repairs whatever was lost. On the hollow runtime nothing touches the disk (see
//! [`crate::runtime::ContainerRuntime::materializes_volumes`]); runtime volumes are still
//! "made", in the hollow runtime's memory.

use std::path::PathBuf;

use super::hostpath;
use super::plan::{PlannedVolume, Prepare};
use super::writer::write_atomic;
use super::{SetUpError, VolumeError};
use crate::runtime::ContainerRuntime;

/// Makes every planned volume ready.
pub async fn prepare(runtime: &dyn ContainerRuntime, planned: &[PlannedVolume]) -> Result<(), SetUpError> {
    let materialize = runtime.materializes_volumes();
    for volume in planned {
        prepare_one(runtime, materialize, &volume.prepare)
            .await
            .map_err(|error| SetUpError {
                volume: volume.name.clone(),
                error,
            })?;
    }
    Ok(())
}

async fn prepare_one(runtime: &dyn ContainerRuntime, materialize: bool, prepare: &Prepare) -> Result<(), VolumeError> {
    match prepare {
        Prepare::RuntimeVolume(config) => runtime.ensure_volume(config).await?,
        _ if !materialize => {}
        Prepare::Dir(path) => std::fs::create_dir_all(path).map_err(|e| VolumeError::io(path, e))?,
        Prepare::Payload { dir, files } => {
            let (dir, files) = (dir.clone(), files.clone());
            tokio::task::spawn_blocking(move || write_atomic(&dir, &files).map_err(|e| VolumeError::io(&dir, e)))
                .await
                .map_err(|e| VolumeError::Unsupported(format!("writing volume files (task failed: {e})")))??;
        }
        Prepare::HostPath { path, type_ } => hostpath::check(path, *type_)?,
    }
    Ok(())
}

/// Makes the subPath directories a container's mounts need.
pub fn make_dirs(runtime: &dyn ContainerRuntime, dirs: &[PathBuf]) -> Result<(), VolumeError> {
    if !runtime.materializes_volumes() {
        return Ok(());
    }
    for dir in dirs {
        std::fs::create_dir_all(dir).map_err(|e| VolumeError::io(dir, e))?;
    }
    Ok(())
}
