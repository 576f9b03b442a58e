//! An informer: a [`watcher`] feeding a [`Store`], with handlers told of every change.
//!
//! This is the heart of every Kubernetes controller (client-go's `SharedInformer`):
//!
//! ```text
//!  API server ──list+watch──▶ watcher ──events──▶ Store (local cache) ──▶ handlers
//!                                                      ▲                     │ enqueue key
//!                                  reconcile reads ────┘                     ▼
//!                                                                        WorkQueue
//! ```
//!
//! Handlers should be quick and only *enqueue a key*; the real work happens in a worker that
//! takes the key from a [`WorkQueue`](crate::WorkQueue) and reads the object from the store. That
//! split is what lets a controller coalesce ten quick changes into one reconcile, retry with
//! back-off, and never work on one object from two workers at once.
//!
//! ```ignore
//! let queue = WorkQueue::new();
//! let mut informer = Informer::new(Api::<Pod>::all(client), ListParams::default());
//! let q = queue.clone();
//! informer.on_event(move |event| q.add(event.key()));
//! let pods = informer.store();
//! tokio::spawn(informer.run());
//! pods.wait_for_sync().await;
//! ```

use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::StreamExt;
use kubelab_api::Object;

use crate::api::Api;
use crate::params::ListParams;
use crate::store::{InformerEvent, Store};
use crate::watcher::watcher;

pub(crate) type Handler<T> = Box<dyn Fn(&InformerEvent<T>) + Send + Sync>;

/// The handlers of one informer. Shared so handlers can be added while it runs (see
/// [`crate::shared`]); the run loop holds the lock while it calls them.
pub(crate) type Handlers<T> = Arc<Mutex<Vec<Handler<T>>>>;

/// Locks the handlers; a handler that panicked does not stop the others from being called.
pub(crate) fn lock<T>(handlers: &Handlers<T>) -> MutexGuard<'_, Vec<Handler<T>>> {
    handlers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keeps a [`Store`] in step with the server and calls handlers on each change.
pub struct Informer<T> {
    api: Api<T>,
    params: ListParams,
    store: Store<T>,
    handlers: Handlers<T>,
}

impl<T: Object> Informer<T> {
    /// An informer for the objects of `api` that match `params` (selectors narrow it down).
    pub fn new(api: Api<T>, params: ListParams) -> Self {
        Informer {
            api,
            params,
            store: Store::new(),
            handlers: Handlers::default(),
        }
    }

    /// The cache this informer fills. Take it before [`Informer::run`]; clones share the data.
    pub fn store(&self) -> Store<T> {
        self.store.clone()
    }

    /// Calls `handler` on every change, after the store has been updated (so a handler that reads
    /// the store sees the change). Handlers run on the informer's task: keep them short.
    pub fn on_event(&mut self, handler: impl Fn(&InformerEvent<T>) + Send + Sync + 'static) -> &mut Self {
        lock(&self.handlers).push(Box::new(handler));
        self
    }

    /// Calls `handler` for new objects.
    pub fn on_add(&mut self, handler: impl Fn(&Arc<T>) + Send + Sync + 'static) -> &mut Self {
        self.on_event(move |event| {
            if let InformerEvent::Added(object) = event {
                handler(object)
            }
        })
    }

    /// Calls `handler` with the old and new state of changed objects.
    pub fn on_update(&mut self, handler: impl Fn(&Arc<T>, &Arc<T>) + Send + Sync + 'static) -> &mut Self {
        self.on_event(move |event| {
            if let InformerEvent::Updated { old, new } = event {
                handler(old, new)
            }
        })
    }

    /// Calls `handler` with the last known state of deleted objects.
    pub fn on_delete(&mut self, handler: impl Fn(&Arc<T>) + Send + Sync + 'static) -> &mut Self {
        self.on_event(move |event| {
            if let InformerEvent::Deleted(object) = event {
                handler(object)
            }
        })
    }

    /// The handler list, for a [`crate::shared::SharedInformer`] to add to while this runs.
    pub(crate) fn handlers(&self) -> Handlers<T> {
        self.handlers.clone()
    }

    /// Runs forever: lists, watches, resumes, re-lists, updating the store and calling the
    /// handlers. Errors are logged; the watcher retries them with back-off. Spawn it:
    /// `tokio::spawn(informer.run())`, and abort the task to stop.
    pub async fn run(self) {
        let Informer {
            api,
            params,
            store,
            handlers,
        } = self;
        let mut events = watcher(api, params);
        while let Some(item) = events.next().await {
            match item {
                Ok(event) => {
                    store.apply_with(event, |change| {
                        lock(&handlers).iter().for_each(|handler| handler(change))
                    });
                }
                Err(e) => tracing::warn!(kind = T::KIND, error = %e, "informer: list/watch failed, retrying"),
            }
        }
    }
}
