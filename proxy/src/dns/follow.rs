//! # Following the cluster: informers on every Service and Endpoints, a new snapshot per change
//!
//! Two informers (list, then watch, re-listing by themselves after a lost watch) keep every
//! Service and every Endpoints object of all namespaces in memory. Each change only pokes a
//! [`Notify`]; one loop then rebuilds the [`Snapshot`] from both stores and publishes it on a
//! `watch` channel, which the serving loops read. A burst of changes (a Deployment of fifty pods
//! becoming ready) costs one rebuild per turn of that loop, not fifty: `Notify` keeps at most one
//! wake-up.
//!
//! Nothing is published before both informers have listed once: until then the server answers
//! SERVFAIL ("try again"), not NXDOMAIN, which a resolver may cache as "this name does not exist".

use std::collections::BTreeSet;
use std::sync::Arc;

use kubelab_api::core::{Endpoints, Service};
use kubelab_client::{Api, Client, Informer, ListParams};
use tokio::sync::{watch, Notify};

use super::snapshot::Snapshot;

/// Follows the cluster forever, publishing each new snapshot on `snapshots`.
pub async fn follow(client: Client, snapshots: watch::Sender<Option<Arc<Snapshot>>>) {
    let changed = Arc::new(Notify::new());
    let mut services = Informer::new(Api::<Service>::all(client.clone()), ListParams::default());
    let mut endpoints = Informer::new(Api::<Endpoints>::all(client), ListParams::default());
    {
        let changed = changed.clone();
        services.on_event(move |_| changed.notify_one());
    }
    {
        let changed = changed.clone();
        endpoints.on_event(move |_| changed.notify_one());
    }
    let (service_store, endpoint_store) = (services.store(), endpoints.store());
    let tasks = [tokio::spawn(services.run()), tokio::spawn(endpoints.run())];
    let _abort_on_drop = AbortOnDrop(tasks);
    service_store.wait_for_sync().await;
    endpoint_store.wait_for_sync().await;
    tracing::info!(
        services = service_store.len(),
        endpoints = endpoint_store.len(),
        "cluster DNS: informers synced, answering"
    );
    let mut serial: u32 = 0;
    let mut reported: BTreeSet<String> = BTreeSet::new();
    loop {
        serial = serial.wrapping_add(1);
        let (services, endpoints) = (service_store.list(), endpoint_store.list());
        let snapshot = Snapshot::build(
            services.iter().map(|s| s.as_ref()),
            endpoints.iter().map(|e| e.as_ref()),
            serial,
        );
        // Each odd object is reported once, not on every rebuild.
        let skipped: BTreeSet<String> = snapshot.skipped.iter().cloned().collect();
        for reason in skipped.difference(&reported) {
            tracing::warn!("cluster DNS: {reason}");
        }
        reported = skipped;
        tracing::debug!(serial, services = snapshot.services.len(), "cluster DNS: new snapshot");
        if snapshots.send(Some(Arc::new(snapshot))).is_err() {
            return;
        }
        changed.notified().await;
    }
}

/// Aborts the informer tasks when the follower is dropped (or aborted).
struct AbortOnDrop([tokio::task::JoinHandle<()>; 2]);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
