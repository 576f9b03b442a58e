//! One informer per kind the collector watches, behind one metadata-only view.
//!
//! The garbage collector does not care what a Pod or a Secret contains, only about `metadata`:
//! uid, owner references, finalizers, deletion timestamp. Informers are typed, so each kind gets
//! its own, of [`MetadataOnly`] objects (the rest of each object is skipped as it is decoded),
//! and [`MetaCache`] erases the type: "give me the metadata of `ns/name`". Kubernetes' collector
//! does the same with metadata-only informers over every resource discovery lists.
//!
//! Events are not collected: they are the most numerous objects and nothing owns them.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use kubelab_api::apps::{Deployment, ReplicaSet, StatefulSet};
use kubelab_api::coordination::Lease;
use kubelab_api::core::{ConfigMap, Endpoints, Namespace, Node, PersistentVolumeClaim, Pod, Secret, Service};
use kubelab_api::resource::find_by_kind;
use kubelab_api::{Object, ObjectMeta, ResourceInfo};
use kubelab_client::{Api, Client, Informer, InformerEvent, ListParams, Store, WorkQueue};
use tokio::task::JoinSet;

use super::graph::{Graph, ItemKey};
use super::metadata_only::MetadataOnly;

/// The metadata of cached objects of one kind.
pub trait MetaCache: Send + Sync {
    /// `namespace` is `""` for a cluster-scoped kind.
    fn get(&self, namespace: &str, name: &str) -> Option<ObjectMeta>;
}

impl<T: Object> MetaCache for Store<T> {
    fn get(&self, namespace: &str, name: &str) -> Option<ObjectMeta> {
        let key = if namespace.is_empty() {
            name.to_string()
        } else {
            format!("{namespace}/{name}")
        };
        Store::get(self, &key).map(|o| o.metadata().clone())
    }
}

/// A watched kind: where it is served and its cache.
#[derive(Clone)]
pub struct Kind {
    pub info: &'static ResourceInfo,
    pub cache: Arc<dyn MetaCache>,
}

/// Every watched kind, by kind name.
#[derive(Clone, Default)]
pub struct Caches {
    kinds: HashMap<&'static str, Kind>,
}

impl Caches {
    pub fn kind(&self, kind: &str) -> Option<&Kind> {
        self.kinds.get(kind)
    }

    /// The kind an owner reference names. Matched on group and kind, so a reference written
    /// with another version of the same group still finds its owner.
    pub fn resolve(&self, api_version: &str, kind: &str) -> Option<&Kind> {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        self.kinds.get(kind).filter(|k| k.info.group == group)
    }

    pub fn meta(&self, key: &ItemKey) -> Option<ObjectMeta> {
        self.kinds.get(key.kind)?.cache.get(&key.namespace, &key.name)
    }
}

type SyncFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The informers, started: their caches, their tasks and a future per kind that completes once
/// its first list is loaded.
pub struct Watching {
    pub caches: Caches,
    pub tasks: JoinSet<()>,
    pub synced: Vec<SyncFuture>,
}

/// Starts one informer per collected kind. Their handlers update `graph` and queue the keys
/// the change concerns.
pub fn watch_all(client: &Client, graph: &Arc<Mutex<Graph>>, queue: &WorkQueue<ItemKey>) -> Watching {
    let mut w = Watching {
        caches: Caches::default(),
        tasks: JoinSet::new(),
        synced: Vec::new(),
    };
    w.add::<Pod>(client, graph, queue);
    w.add::<ReplicaSet>(client, graph, queue);
    w.add::<Deployment>(client, graph, queue);
    w.add::<StatefulSet>(client, graph, queue);
    w.add::<ConfigMap>(client, graph, queue);
    w.add::<Secret>(client, graph, queue);
    w.add::<Service>(client, graph, queue);
    w.add::<Endpoints>(client, graph, queue);
    w.add::<PersistentVolumeClaim>(client, graph, queue);
    w.add::<Lease>(client, graph, queue);
    w.add::<Node>(client, graph, queue);
    w.add::<Namespace>(client, graph, queue);
    w
}

impl Watching {
    fn add<T: Object>(&mut self, client: &Client, graph: &Arc<Mutex<Graph>>, queue: &WorkQueue<ItemKey>) {
        let Some(info) = find_by_kind(T::API_VERSION, T::KIND) else {
            return;
        };
        let api = Api::<MetadataOnly<T>>::all(client.clone());
        let mut informer = Informer::new(api, ListParams::default());
        let graph = graph.clone();
        let queue = queue.clone();
        informer.on_event(move |event| {
            let key = ItemKey::new(T::KIND, event.object().metadata());
            let wake = {
                let mut graph = graph.lock().unwrap_or_else(|p| p.into_inner());
                match event {
                    InformerEvent::Deleted(_) => graph.remove(&key),
                    _ => graph.upsert(key, event.object().metadata()),
                }
            };
            for key in wake {
                queue.add(key);
            }
        });
        let store = informer.store();
        let waiting = store.clone();
        self.synced.push(Box::pin(async move { waiting.wait_for_sync().await }));
        self.tasks.spawn(informer.run());
        self.caches.kinds.insert(
            T::KIND,
            Kind {
                info,
                cache: Arc::new(store),
            },
        );
    }
}
