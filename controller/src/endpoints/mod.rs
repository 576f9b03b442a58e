//! The Endpoints controller: for every Service with a selector, an Endpoints object of the same
//! name listing the pods behind it.
//!
//! A Service is a stable name and IP; the pods behind it come and go. Something has to turn
//! "pods labelled `app=web`" into "10.130.16.5:8080, 10.130.16.9:8080", and keep that list
//! current as pods start, become ready, fail their probes and die. That is this controller. The
//! service proxy and DNS read the Endpoints, never the pods, so they stay simple.
//!
//! The loop is the usual one (see [`crate::runtime`]):
//!
//! 1. informers on Services, Pods and Endpoints; every event only enqueues the key of each
//!    Service that may care (a pod event: every Service in its namespace whose selector matches
//!    its old or its new labels);
//! 2. `reconcile(namespace/name)` ([`sync`]) reads the Service and the pods from the caches,
//!    computes the subsets with a pure function ([`subsets::compute_subsets`]) and writes the
//!    Endpoints only if they differ;
//! 3. a Service without a selector is left alone: its user writes its Endpoints (that is how a
//!    Service points at something outside the cluster). A deleted Service's Endpoints are deleted
//!    by this controller (Endpoints have no ownerReference in Kubernetes, so the garbage collector
//!    would not).

pub mod subsets;
mod sync;

use std::sync::Arc;

use kubelab_api::core::{Endpoints, Pod, Service};
use kubelab_client::{
    object_key, Api, Client, ClientError, Informer, InformerEvent, ListParams, SharedInformers, Store, WorkQueue,
};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::runtime::{self, run_workers};

/// Settings of the Endpoints controller.
#[derive(Clone, Debug)]
pub struct EndpointsConfig {
    /// How many Services are reconciled at once (Kubernetes' `--concurrent-endpoint-syncs`).
    pub workers: usize,
}

impl Default for EndpointsConfig {
    fn default() -> Self {
        EndpointsConfig { workers: 5 }
    }
}

/// What can go wrong in a reconcile (retried with back-off).
#[derive(Debug, thiserror::Error)]
pub enum EndpointsError {
    /// A request to the API server failed.
    #[error("{action}: {source}")]
    Api {
        action: String,
        #[source]
        source: ClientError,
    },
}

/// The caches a reconcile reads, and where it writes.
pub(crate) struct EndpointsController {
    client: Client,
    services: Store<Service>,
    pods: Store<Pod>,
    endpoints: Store<Endpoints>,
}

/// Runs the Endpoints controller until `shutdown` is `true`.
/// Its Pod informer comes from `shared`, which the other controllers of the manager use too.
pub async fn run(
    client: Client,
    config: EndpointsConfig,
    mut shutdown: watch::Receiver<bool>,
    shared: Arc<SharedInformers>,
) -> Result<(), EndpointsError> {
    let queue = WorkQueue::new();
    let mut service_informer = Informer::new(Api::<Service>::all(client.clone()), ListParams::default());
    let pod_informer = shared.get::<Pod>();
    let mut endpoints_informer = Informer::new(Api::<Endpoints>::all(client.clone()), ListParams::default());
    let services = service_informer.store();
    let pods = pod_informer.store();
    let endpoints = endpoints_informer.store();
    {
        let queue = queue.clone();
        service_informer.on_event(move |event| queue.add(event.key()));
    }
    {
        let (queue, services) = (queue.clone(), services.clone());
        pod_informer.on_event(move |event| {
            for key in services_for_pod_event(event, &services) {
                queue.add(key);
            }
        });
    }
    {
        // Someone edited or deleted an Endpoints object: put it back as it should be.
        let queue = queue.clone();
        endpoints_informer.on_event(move |event| queue.add(event.key()));
    }
    let mut informers = JoinSet::new();
    informers.spawn(service_informer.run());
    informers.spawn(endpoints_informer.run());
    if !runtime::wait_for_sync(
        vec![
            Box::pin(services.wait_for_sync()),
            Box::pin(pods.wait_for_sync()),
            Box::pin(endpoints.wait_for_sync()),
        ],
        &mut shutdown,
    )
    .await
    {
        return Ok(());
    }
    tracing::info!("endpoints controller: caches synced, starting workers");
    let controller = Arc::new(EndpointsController {
        client,
        services,
        pods,
        endpoints,
    });
    run_workers("endpoints", controller, queue, config.workers, shutdown).await;
    Ok(())
}

/// The Services a pod change may matter to: those selecting the pod before or after.
fn services_for_pod_event(event: &InformerEvent<Pod>, services: &Store<Service>) -> Vec<String> {
    let pods: Vec<&Pod> = match event {
        InformerEvent::Added(pod) | InformerEvent::Deleted(pod) => vec![pod.as_ref()],
        InformerEvent::Updated { old, new } => vec![old.as_ref(), new.as_ref()],
    };
    let mut keys: Vec<String> = services
        .list()
        .into_iter()
        .filter(|svc| pods.iter().any(|pod| subsets::selects(svc, pod)))
        .map(|svc| object_key(&svc.metadata))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}
