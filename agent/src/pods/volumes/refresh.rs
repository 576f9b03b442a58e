//! Keeping ConfigMap and Secret volumes of running pods up to date.
//!
//! Edit a ConfigMap and, within seconds, the files in every pod that mounts it change (env
//! variables do not: a process's environment is fixed when it starts). The kubelet notices
//! changes by watching each referenced object; kubelab's agent re-reads them instead: every
//! `period` (2 s by default) it GETs each ConfigMap and Secret that a volume of a pod on this
//! node names, once per round however many pods share it, and rewrites a volume's files
//! (atomically, see [`super::writer`]) only when they differ.
//!
//! Why polling and not a watch per object: it is a handful of small GETs per node per period,
//! there is no watch to start, stop and resume as pods come and go, and a missed change is
//! impossible by construction. The price is the delay (up to one period plus the write), well
//! inside "a few seconds". A volume whose object disappeared keeps its last files, as in
//! Kubernetes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kubelab_api::core::{ConfigMap, Pod, Secret};
use kubelab_client::{Api, ClientError};
use tokio::time::MissedTickBehavior;

use super::plan::{plan_volume, Prepare};
use super::writer::write_atomic;
use crate::pods::objects::{references, PodObjects};
use crate::pods::Shared;

/// Objects read in this round, by namespace and name.
#[derive(Default)]
struct Round {
    config_maps: HashMap<(String, String), Option<ConfigMap>>,
    secrets: HashMap<(String, String), Option<Secret>>,
}

/// Refreshes ConfigMap and Secret volumes every `period`, until aborted.
pub async fn run(shared: Arc<Shared>, period: Duration) {
    if !shared.runtime.materializes_volumes() {
        return;
    }
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let mut round = Round::default();
        for pod in shared.pods.list() {
            if let Err(e) = refresh_pod(&shared, &pod, &mut round).await {
                tracing::debug!(pod = %pod.metadata.name(), error = %e, "volume refresh: cannot read the objects");
            }
        }
    }
}

async fn refresh_pod(shared: &Shared, pod: &Pod, round: &mut Round) -> Result<(), ClientError> {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    if pod.metadata.deletion_timestamp.is_some() {
        return Ok(());
    }
    // Only pods whose volumes were made: the others are prepared by their next sync.
    let Some(pod_dir) = shared.volumes.pod_dir(uid) else {
        return Ok(());
    };
    let refs = references(pod, true);
    if (refs.config_maps.is_empty() && refs.secrets.is_empty()) || !pod_dir.exists() {
        return Ok(());
    }
    let namespace = pod.metadata.namespace().to_string();
    let mut objects = PodObjects::default();
    for name in &refs.config_maps {
        let key = (namespace.clone(), name.clone());
        if !round.config_maps.contains_key(&key) {
            let api: Api<ConfigMap> = Api::namespaced(shared.client.clone(), &namespace);
            round.config_maps.insert(key.clone(), api.get_opt(name).await?);
        }
        objects
            .config_maps
            .insert(name.clone(), round.config_maps[&key].clone());
    }
    for name in &refs.secrets {
        let key = (namespace.clone(), name.clone());
        if !round.secrets.contains_key(&key) {
            let api: Api<Secret> = Api::namespaced(shared.client.clone(), &namespace);
            round.secrets.insert(key.clone(), api.get_opt(name).await?);
        }
        objects.secrets.insert(name.clone(), round.secrets[&key].clone());
    }
    for volume in pod
        .spec
        .volumes
        .iter()
        .filter(|v| v.config_map.is_some() || v.secret.is_some())
    {
        // A volume whose object is gone (or lost a key) keeps its last files.
        let Ok(planned) = plan_volume(pod, volume, &objects, &shared.volumes) else {
            continue;
        };
        let Prepare::Payload { dir, files } = planned.prepare else {
            continue;
        };
        if !dir.exists() {
            continue;
        }
        let shown = dir.clone();
        match tokio::task::spawn_blocking(move || write_atomic(&dir, &files)).await {
            Ok(Ok(true)) => tracing::info!(
                pod = %pod.metadata.name(), volume = %volume.name, dir = %shown.display(), "volume files updated"
            ),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!(volume = %volume.name, error = %e, "volume refresh: writing failed"),
            Err(e) => tracing::warn!(volume = %volume.name, error = %e, "volume refresh: task failed"),
        }
    }
    Ok(())
}
