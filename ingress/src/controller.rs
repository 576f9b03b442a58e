//! The controller half: watch the objects, rebuild the snapshot, report status.
//!
//! Five informers (Ingresses, IngressClasses, Services, Endpoints, Secrets) fill local caches;
//! any change to any of them only *wakes* the loop here, which then rebuilds the whole
//! [`Snapshot`] from the caches and hands it to the proxy. A burst of changes (a Deployment
//! rolling, say) coalesces into one rebuild, and rebuilding everything keeps the logic free of
//! "which route did this Endpoints change touch?". A kubelab cluster has a handful of Ingresses,
//! so a rebuild costs microseconds; a periodic rebuild also retries what failed (a status write).
//!
//! At start, the controller makes sure its IngressClass exists (`kubelab`, controller
//! `kubelab.io/ingress`), marked as the cluster's default so Ingresses that name no class are
//! served. It never takes over a class of the same name that belongs to another controller.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kubelab_api::core::{Endpoints, Secret, Service};
use kubelab_api::networking::{is_default_class, Ingress, IngressClass, IngressClassSpec, DEFAULT_CLASS_ANNOTATION};
use kubelab_api::ObjectMeta;
use kubelab_client::{Api, Client, ClientError, Informer, ListParams, Patch, Store};
use tokio::sync::Notify;

use crate::proxy::Shared;
use crate::snapshot::{build, desired_status, is_served, Sources};
use crate::tls::SniResolver;

/// The controller name kubelab's IngressClass carries.
pub const CONTROLLER_NAME: &str = "kubelab.io/ingress";

/// How often the snapshot is rebuilt (and failed status writes retried) without any change.
const RESYNC: Duration = Duration::from_secs(30);

/// Why the controller could not do its part.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("IngressClass \"{class}\" belongs to controller \"{controller}\", not {CONTROLLER_NAME}")]
    ForeignClass { class: String, controller: String },
    #[error("talking to the API server: {0}")]
    Client(#[from] ClientError),
}

/// Creates the IngressClass `class` (the default class) if it is missing; errors if a class of that
/// name belongs to someone else.
pub async fn ensure_class(client: &Client, class: &str) -> Result<(), ControllerError> {
    let api: Api<IngressClass> = Api::all(client.clone());
    if let Some(existing) = api.get_opt(class).await? {
        return if existing.spec.controller == CONTROLLER_NAME {
            Ok(())
        } else {
            Err(ControllerError::ForeignClass {
                class: class.to_string(),
                controller: existing.spec.controller,
            })
        };
    }
    let object = IngressClass {
        metadata: ObjectMeta {
            name: Some(class.to_string()),
            annotations: BTreeMap::from([(DEFAULT_CLASS_ANNOTATION.to_string(), "true".to_string())]),
            ..Default::default()
        },
        spec: IngressClassSpec {
            controller: CONTROLLER_NAME.into(),
            parameters: None,
        },
        ..Default::default()
    };
    match api.create(&object).await {
        Ok(_) => {
            tracing::info!(class, "created IngressClass (the cluster's default)");
            Ok(())
        }
        Err(e) if e.is_already_exists() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Caches of everything the proxy reads.
struct Caches {
    ingresses: Store<Ingress>,
    classes: Store<IngressClass>,
    services: Store<Service>,
    endpoints: Store<Endpoints>,
    secrets: Store<Secret>,
}

fn informer<T: kubelab_api::Object>(
    client: &Client,
    wake: &Arc<Notify>,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Store<T> {
    let mut informer = Informer::new(Api::<T>::all(client.clone()), ListParams::default());
    let wake = wake.clone();
    informer.on_event(move |_| wake.notify_one());
    let store = informer.store();
    tasks.spawn(informer.run());
    store
}

/// What the loop needs to know about the proxy it feeds.
pub struct Target {
    pub shared: Arc<Shared>,
    pub resolver: Arc<SniResolver>,
    pub class: String,
    /// The address written into each served Ingress's status (`127.0.0.1`).
    pub address: String,
    /// The ports the proxy listens on, written into the status.
    pub ports: Vec<u16>,
}

/// Runs the controller until the future is dropped (the informers stop with it).
pub async fn run(client: Client, target: Target) {
    let wake = Arc::new(Notify::new());
    let mut tasks = tokio::task::JoinSet::new();
    let caches = Caches {
        ingresses: informer(&client, &wake, &mut tasks),
        classes: informer(&client, &wake, &mut tasks),
        services: informer(&client, &wake, &mut tasks),
        endpoints: informer(&client, &wake, &mut tasks),
        secrets: informer(&client, &wake, &mut tasks),
    };
    caches.ingresses.wait_for_sync().await;
    caches.classes.wait_for_sync().await;
    caches.services.wait_for_sync().await;
    caches.endpoints.wait_for_sync().await;
    caches.secrets.wait_for_sync().await;
    tracing::info!("caches synced; serving Ingresses of class {}", target.class);
    let api: Api<Ingress> = Api::all(client.clone());
    let mut last_problems = Vec::new();
    loop {
        let served = rebuild(&caches, &target, &mut last_problems);
        write_statuses(&api, &served, &target).await;
        let _ = tokio::time::timeout(RESYNC, wake.notified()).await;
    }
}

/// Rebuilds and installs the snapshot; returns the Ingresses served.
fn rebuild(caches: &Caches, target: &Target, last_problems: &mut Vec<String>) -> Vec<Arc<Ingress>> {
    let class_is_default = caches
        .classes
        .get(&target.class)
        .is_some_and(|c| c.spec.controller == CONTROLLER_NAME && is_default_class(&c));
    let served: Vec<Arc<Ingress>> = caches
        .ingresses
        .list()
        .into_iter()
        .filter(|i| is_served(i, &target.class, class_is_default))
        .collect();
    let refs: Vec<&Ingress> = served.iter().map(|i| i.as_ref()).collect();
    let service = |key: &str| caches.services.get(key);
    let endpoints = |key: &str| caches.endpoints.get(key);
    let secret = |key: &str| caches.secrets.get(key);
    let snapshot = build(
        &refs,
        &Sources {
            service: &service,
            endpoints: &endpoints,
            secret: &secret,
        },
    );
    if snapshot.problems != *last_problems {
        for problem in &snapshot.problems {
            tracing::warn!("{problem}");
        }
        *last_problems = snapshot.problems.clone();
    }
    tracing::debug!(ingresses = snapshot.served.len(), "snapshot rebuilt");
    target.resolver.set(snapshot.certs.clone());
    target.shared.set_snapshot(snapshot);
    served
}

/// Writes `status.loadBalancer` into each served Ingress whose status is not already right.
async fn write_statuses(api: &Api<Ingress>, served: &[Arc<Ingress>], target: &Target) {
    let want = desired_status(&target.address, &target.ports);
    for ingress in served {
        if ingress.status.as_ref() == Some(&want) {
            continue;
        }
        let namespaced = Api::<Ingress>::namespaced(api.client().clone(), ingress.metadata.namespace());
        let patch = Patch::Merge(serde_json::json!({ "status": want }));
        if let Err(e) = namespaced.patch_status(ingress.metadata.name(), &patch).await {
            if !e.is_not_found() {
                tracing::warn!(ingress = %ingress.metadata.name(), error = %e, "writing the Ingress status failed");
            }
        }
    }
}
