//! The volume controller: binds claims to volumes, provisions volumes, reclaims released ones.
//!
//! Kubernetes' `persistentvolume-binder` controller, with kubelab's own provisioner built in.
//! It watches PersistentVolumeClaims, PersistentVolumes and StorageClasses and drives two
//! state machines that meet in the binding:
//!
//! ```text
//!  claim:   Pending ──(volume found or provisioned, bound)──▶ Bound ──(volume deleted)──▶ Lost
//!  volume:  Pending ─▶ Available ──(bound)──▶ Bound ──(claim deleted)──▶ Released ─┬─ Retain: stays
//!                                                                                 └─ Delete: deleted
//! ```
//!
//! - [`claims`]: a pending claim gets the default class if it names none ([`provision`]), then
//!   the best existing volume ([`matching`]), or else a new one if its class's provisioner is
//!   `kubelab.io/docker-volume`; then the binding is written in Kubernetes' order — volume
//!   `claimRef`, volume phase `Bound`, claim `volumeName` (+ `pv.kubernetes.io/bind-completed`),
//!   claim status `Bound` with capacity and access modes. Each step is idempotent, so a crash
//!   between two steps is finished by the next reconcile.
//! - [`volumes`]: a volume with no claim is `Available`; one whose claim is gone is `Released`,
//!   then deleted (`reclaimPolicy: Delete`; the node agent removes the Docker volume of a
//!   PersistentVolume that no longer exists) or kept (`Retain`).
//!
//! At start it makes sure the StorageClass `standard` exists (default class, provisioner
//! `kubelab.io/docker-volume`). That is the controller manager's job rather than the API
//! server's because which storage a cluster offers is an add-on decision (minikube's
//! `default-storageclass` add-on makes the same class), and the class names this controller's
//! own provisioner. Deleting it is allowed; it comes back at the next start.
//!
//! `volumeBindingMode: WaitForFirstConsumer` is treated as `Immediate`: Docker volumes exist on
//! every node of a kubelab cluster alike, so there is no topology to wait for.

pub mod claims;
pub mod matching;
pub mod provision;
pub mod volumes;

use std::sync::Arc;
use std::time::Duration;

use kubelab_api::core::{Namespace, PersistentVolume, PersistentVolumeClaim};
use kubelab_api::storage::StorageClass;
use kubelab_client::{object_key, Api, Client, ClientError, Informer, InformerEvent, ListParams, Store, WorkQueue};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::events::Recorder;
use crate::runtime::{self, run_workers, stopped, Action, Reconciler};

/// The name events are reported under (Kubernetes' binder reports as this too).
pub const COMPONENT: &str = "persistentvolume-controller";

/// Queue keys: `claim:<namespace>/<name>` and `volume:<name>`.
const CLAIM_PREFIX: &str = "claim:";
const VOLUME_PREFIX: &str = "volume:";

/// Settings of the volume controller.
#[derive(Clone, Debug)]
pub struct VolumeConfig {
    /// How many claims and volumes are reconciled at once.
    pub workers: usize,
}

impl Default for VolumeConfig {
    fn default() -> Self {
        VolumeConfig { workers: 2 }
    }
}

/// What can go wrong in a reconcile (each is retried with back-off).
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// A request to the API server failed.
    #[error("{action}: {source}")]
    Api {
        action: String,
        #[source]
        source: ClientError,
    },
    /// The queue held a key of neither form (a bug).
    #[error("unknown queue key {0:?}: expected claim:<namespace>/<name> or volume:<name>")]
    BadKey(String),
}

impl VolumeError {
    pub(crate) fn api(action: impl Into<String>) -> impl FnOnce(ClientError) -> VolumeError {
        let action = action.into();
        move |source| VolumeError::Api { action, source }
    }
}

/// The caches a reconcile reads, and where it writes.
pub(crate) struct VolumeController {
    client: Client,
    claims: Store<PersistentVolumeClaim>,
    volumes: Store<PersistentVolume>,
    classes: Store<StorageClass>,
    queue: WorkQueue,
    recorder: Recorder,
    /// The start of `kube-system`'s uid: makes Docker volume names unique per cluster.
    cluster_id: String,
}

/// Runs the volume controller until `shutdown` is `true`.
pub async fn run(client: Client, config: VolumeConfig, mut shutdown: watch::Receiver<bool>) -> Result<(), VolumeError> {
    let Some(cluster_id) = startup(&client, &mut shutdown).await else {
        return Ok(());
    };
    let queue: WorkQueue = WorkQueue::new();
    let mut claim_informer = Informer::new(Api::<PersistentVolumeClaim>::all(client.clone()), ListParams::default());
    let mut volume_informer = Informer::new(Api::<PersistentVolume>::all(client.clone()), ListParams::default());
    let mut class_informer = Informer::new(Api::<StorageClass>::all(client.clone()), ListParams::default());
    let (claims, volumes, classes) = (claim_informer.store(), volume_informer.store(), class_informer.store());
    {
        let (queue, volumes) = (queue.clone(), volumes.clone());
        claim_informer.on_event(move |event| on_claim_event(event, &queue, &volumes));
    }
    {
        let (queue, claims) = (queue.clone(), claims.clone());
        volume_informer.on_event(move |event| on_volume_event(event, &queue, &claims));
    }
    {
        // A new default class may serve claims that are waiting for one.
        let (queue, claims) = (queue.clone(), claims.clone());
        class_informer.on_event(move |_| enqueue_pending_claims(&queue, &claims));
    }
    let mut informers = JoinSet::new();
    informers.spawn(claim_informer.run());
    informers.spawn(volume_informer.run());
    informers.spawn(class_informer.run());
    if !runtime::wait_for_sync(
        vec![
            Box::pin(claims.wait_for_sync()),
            Box::pin(volumes.wait_for_sync()),
            Box::pin(classes.wait_for_sync()),
        ],
        &mut shutdown,
    )
    .await
    {
        return Ok(());
    }
    tracing::info!(cluster_id = %cluster_id, "volume controller: caches synced, starting workers");
    let controller = Arc::new(VolumeController {
        recorder: Recorder::new(client.clone(), COMPONENT),
        client,
        claims,
        volumes,
        classes,
        queue: queue.clone(),
        cluster_id,
    });
    run_workers("volume", controller, queue, config.workers, shutdown).await;
    Ok(())
}

/// Reads the cluster id and makes sure the `standard` class exists, retrying until the API
/// server answers. `None` if asked to stop first.
async fn startup(client: &Client, shutdown: &mut watch::Receiver<bool>) -> Option<String> {
    loop {
        match try_startup(client).await {
            Ok(id) => return Some(id),
            Err(e) => tracing::warn!(error = %e, "volume controller: cannot start yet; retrying"),
        }
        tokio::select! {
            _ = stopped(shutdown) => return None,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn try_startup(client: &Client) -> Result<String, VolumeError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let kube_system = namespaces
        .get("kube-system")
        .await
        .map_err(VolumeError::api("reading namespace kube-system"))?;
    let classes: Api<StorageClass> = Api::all(client.clone());
    match classes.create(&provision::standard_class()).await {
        Ok(_) => tracing::info!("volume controller: created the default StorageClass standard"),
        Err(e) if e.is_already_exists() => {}
        Err(source) => {
            return Err(VolumeError::Api {
                action: "creating StorageClass standard".into(),
                source,
            })
        }
    }
    Ok(provision::cluster_id(kube_system.metadata.uid.as_deref().unwrap_or("")))
}

fn claim_key(namespace: &str, name: &str) -> String {
    format!("{CLAIM_PREFIX}{namespace}/{name}")
}

fn volume_key(name: &str) -> String {
    format!("{VOLUME_PREFIX}{name}")
}

/// Every claim still waiting for a volume.
fn enqueue_pending_claims(queue: &WorkQueue, claims: &Store<PersistentVolumeClaim>) {
    for claim in claims.list() {
        if claim.spec.volume_name.as_deref().is_none_or(str::is_empty) {
            queue.add(format!("{CLAIM_PREFIX}{}", object_key(&claim.metadata)));
        }
    }
}

fn on_claim_event(event: &InformerEvent<PersistentVolumeClaim>, queue: &WorkQueue, volumes: &Store<PersistentVolume>) {
    let claim = event.object();
    queue.add(format!("{CLAIM_PREFIX}{}", event.key()));
    if let InformerEvent::Deleted(_) = event {
        // The volume's own object did not change: tell it its claim is gone.
        if let Some(volume) = claim.spec.volume_name.as_deref().filter(|v| !v.is_empty()) {
            queue.add(volume_key(volume));
        }
        for volume in volumes.list() {
            if matching::is_reserved_for(&volume, claim) {
                queue.add(volume_key(volume.metadata.name()));
            }
        }
    }
}

fn on_volume_event(event: &InformerEvent<PersistentVolume>, queue: &WorkQueue, claims: &Store<PersistentVolumeClaim>) {
    let volume = event.object();
    queue.add(volume_key(volume.metadata.name()));
    match volume.spec.claim_ref.as_ref() {
        Some(reference) => {
            if let (Some(ns), Some(name)) = (reference.namespace.as_deref(), reference.name.as_deref()) {
                queue.add(claim_key(ns, name));
            }
        }
        // A free volume may be what a pending claim was waiting for.
        None if !matches!(event, InformerEvent::Deleted(_)) => enqueue_pending_claims(queue, claims),
        None => {}
    }
    if let InformerEvent::Deleted(_) = event {
        // A claim bound to it is now Lost.
        for claim in claims.list() {
            if claim.spec.volume_name.as_deref() == Some(volume.metadata.name()) {
                queue.add(format!("{CLAIM_PREFIX}{}", object_key(&claim.metadata)));
            }
        }
    }
}

impl Reconciler for VolumeController {
    type Error = VolumeError;

    async fn reconcile(&self, key: &str) -> Result<Action, VolumeError> {
        if let Some(claim) = key.strip_prefix(CLAIM_PREFIX) {
            self.sync_claim(claim).await
        } else if let Some(volume) = key.strip_prefix(VOLUME_PREFIX) {
            self.sync_volume(volume).await
        } else {
            Err(VolumeError::BadKey(key.to_string()))
        }
    }
}
