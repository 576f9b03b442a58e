//! Shared informers: one list+watch and one cache per kind for every controller of a process.
//!
//! The controller manager runs many controllers, and five of them need every Pod: ReplicaSet,
//! Deployment, StatefulSet, Endpoints and node lifecycle. With an informer each, every pod
//! change would be sent by the API server five times, decoded five times and kept five times.
//! client-go's `SharedInformerFactory` gives each kind one informer that all controllers hang
//! their handlers on; [`SharedInformers`] is that factory.
//!
//! A controller may add its handler after the informer has started (they start at different
//! moments): the handler is first told of every object already in the cache, as `Added`, and
//! then of every change, so it misses nothing. (It may hear of one object twice: as a
//! controller handler only queues a key, that is harmless.)
//!
//! ```ignore
//! let informers = SharedInformers::new(client);
//! let pods = informers.get::<Pod>();
//! pods.on_event(move |event| queue.add(event.key()));
//! pods.store().wait_for_sync().await;
//! ```

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kubelab_api::Object;
use tokio::task::AbortHandle;

use crate::api::Api;
use crate::client::Client;
use crate::informer::{lock, Handlers, Informer};
use crate::params::ListParams;
use crate::store::{InformerEvent, Store};

/// One informer per kind, started on first use, stopped when the factory is dropped.
pub struct SharedInformers {
    client: Client,
    kinds: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl SharedInformers {
    pub fn new(client: Client) -> Self {
        SharedInformers {
            client,
            kinds: Mutex::default(),
            tasks: Mutex::default(),
        }
    }

    /// The informer of every `T` in the cluster, started (on the current Tokio runtime) by the
    /// first caller.
    pub fn get<T: Object>(&self) -> SharedInformer<T> {
        let mut kinds = self.kinds.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let existing = kinds
            .get(&TypeId::of::<T>())
            .and_then(|shared| shared.downcast_ref::<SharedInformer<T>>());
        if let Some(shared) = existing {
            return shared.clone();
        }
        let informer = Informer::new(Api::<T>::all(self.client.clone()), ListParams::default());
        let shared = SharedInformer {
            store: informer.store(),
            handlers: informer.handlers(),
        };
        let task = tokio::spawn(informer.run());
        self.tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(task.abort_handle());
        kinds.insert(TypeId::of::<T>(), Box::new(shared.clone()));
        shared
    }
}

impl Drop for SharedInformers {
    fn drop(&mut self) {
        let tasks = self.tasks.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        for task in tasks.drain(..) {
            task.abort();
        }
    }
}

/// A handle on one shared informer: its cache and a way to add handlers.
pub struct SharedInformer<T> {
    store: Store<T>,
    handlers: Handlers<T>,
}

impl<T> Clone for SharedInformer<T> {
    fn clone(&self) -> Self {
        SharedInformer {
            store: self.store.clone(),
            handlers: self.handlers.clone(),
        }
    }
}

impl<T: Object> SharedInformer<T> {
    /// The shared cache.
    pub fn store(&self) -> Store<T> {
        self.store.clone()
    }

    /// Calls `handler` with an `Added` for every object already cached, then on every change.
    pub fn on_event(&self, handler: impl Fn(&InformerEvent<T>) + Send + Sync + 'static) {
        // Holding the lock, no change can be handed out between the replay and the push.
        let mut handlers = lock(&self.handlers);
        for object in self.store.list() {
            handler(&InformerEvent::Added(object));
        }
        handlers.push(Box::new(handler));
    }

    /// Calls `handler` with the last known state of deleted objects.
    pub fn on_delete(&self, handler: impl Fn(&Arc<T>) + Send + Sync + 'static) {
        self.on_event(move |event| {
            if let InformerEvent::Deleted(object) = event {
                handler(object)
            }
        });
    }
}
