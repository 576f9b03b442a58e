//! What is left behind: a deleted pod's volume directories and memory volumes, and the Docker
//! volumes of PersistentVolumes that no longer exist.
//!
//! A pod's own volumes go with it: right after its containers are removed (see the pod sync),
//! and, for pods that vanished while the agent was down, in the periodic pass here, which removes
//! `<root>/pods/<uid>` for every uid that no pod in the API and no container claims.
//!
//! A PersistentVolume's Docker volume outlives every pod: it is the data. It goes when its PV
//! does (the controller deletes a PV whose claim is gone and whose reclaim policy is `Delete`).
//! The pass lists the cluster's Docker volumes labelled `io.kubelab.pv` that no container uses
//! (never one that is mounted), lists the PVs, and removes those whose PV is not in the list. If
//! the PVs cannot be listed, nothing is removed: deleting data on a guess is not an option.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kubelab_client::Method;
use serde_json::Value;
use tokio::time::MissedTickBehavior;

use crate::pods::Shared;
use crate::runtime::labels;

/// Removes pod `uid`'s volume directories and memory volumes (its containers are gone).
pub async fn remove_pod_volumes(shared: &Shared, uid: &str) {
    if shared.runtime.materializes_volumes() {
        if let Some(dir) = shared.volumes.pod_dir(uid).filter(|d| d.exists()) {
            if let Err(e) = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await {
                tracing::warn!(uid, error = %e, "removing the pod's volume directory failed");
            }
        }
    }
    let Ok(volumes) = shared.runtime.list_volumes().await else {
        return;
    };
    for volume in volumes
        .iter()
        .filter(|v| v.labels.get(labels::POD_UID).is_some_and(|u| u == uid))
    {
        if let Err(e) = shared.runtime.remove_volume(&volume.name).await {
            tracing::debug!(volume = %volume.name, error = %e, "removing a pod's volume failed; the cleanup pass retries");
        }
    }
}

/// Every `period`, removes volumes of pods and PVs that are gone.
pub async fn run(shared: Arc<Shared>, period: Duration) {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(e) = pass(&shared).await {
            tracing::debug!(error = %e, "volume cleanup pass failed");
        }
    }
}

async fn pass(shared: &Shared) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let live: BTreeSet<String> = shared
        .pods
        .list()
        .iter()
        .filter_map(|p| p.metadata.uid.clone())
        .collect();
    let mut claimed = live.clone();
    for object in shared.runtime.relist().await? {
        claimed.insert(object.pod_uid);
    }

    // Pod directories.
    if shared.runtime.materializes_volumes() {
        let pods_dir = shared.volumes.pods_dir();
        if let Ok(entries) = std::fs::read_dir(&pods_dir) {
            for entry in entries.flatten() {
                let uid = entry.file_name().to_string_lossy().into_owned();
                if !claimed.contains(&uid) {
                    tracing::info!(uid = %uid, "removing the volumes of a pod that is gone");
                    let path = entry.path();
                    tokio::task::spawn_blocking(move || std::fs::remove_dir_all(path)).await??;
                }
            }
        }
    }

    let volumes = shared.runtime.list_volumes().await?;
    // Memory emptyDirs of this node's pods that are gone.
    for volume in volumes.iter().filter(|v| !v.in_use) {
        let mine = volume.labels.get(labels::NODE).is_some_and(|n| *n == shared.node_name);
        if let Some(uid) = volume.labels.get(labels::POD_UID) {
            if mine && !claimed.contains(uid) {
                shared.runtime.remove_volume(&volume.name).await?;
            }
        }
    }
    // PersistentVolumes' Docker volumes whose PV is gone.
    let unused_pv_volumes: Vec<(&str, &str)> = volumes
        .iter()
        .filter(|v| !v.in_use)
        .filter_map(|v| Some((v.name.as_str(), v.labels.get(labels::PV)?.as_str())))
        .collect();
    if unused_pv_volumes.is_empty() {
        return Ok(());
    }
    let list: Value = shared
        .client
        .request(Method::GET, "/api/v1/persistentvolumes", None)
        .await?;
    let Some(items) = list["items"].as_array() else {
        return Ok(());
    };
    let existing: BTreeSet<&str> = items.iter().filter_map(|pv| pv["metadata"]["name"].as_str()).collect();
    for (volume, pv) in unused_pv_volumes {
        if !existing.contains(pv) {
            tracing::info!(
                volume,
                pv,
                "removing the Docker volume of a PersistentVolume that is gone"
            );
            shared.runtime.remove_volume(volume).await?;
        }
    }
    Ok(())
}
