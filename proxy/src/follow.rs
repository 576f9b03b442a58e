//! # Following the Service and its Endpoints through the API server
//!
//! The proxy is a client like any other component: it lists and watches its own Service and the
//! Endpoints of the same name (a field selector on `metadata.name`, so it hears about nothing
//! else), and turns every change into a fresh [`Plan`]. The watchers resume and re-list by
//! themselves (see `kubelab_client::watcher`), so a restarted API server only delays updates.
//!
//! A plan is published only once both objects have been listed: before that, "no Endpoints
//! seen yet" would be indistinguishable from "no endpoints", and connections would be refused
//! during the proxy's first milliseconds for no reason.

use futures_util::StreamExt;
use kubelab_api::core::{Endpoints, Service};
use kubelab_api::Object;
use kubelab_client::{watcher, Api, Client, ListParams, WatcherEvent};
use tokio::sync::watch;

use crate::plan::{plan, Plan};

/// Follows `namespace/name` forever, publishing each new plan on `plans`.
pub async fn follow(client: Client, namespace: &str, name: &str, plans: watch::Sender<Option<Plan>>) {
    let params = ListParams::default().fields(&format!("metadata.name={name}"));
    let mut services = watcher(Api::<Service>::namespaced(client.clone(), namespace), params.clone());
    let mut endpoints = watcher(Api::<Endpoints>::namespaced(client, namespace), params);
    let (mut service, mut eps): (Tracked<Service>, Tracked<Endpoints>) = (Tracked::default(), Tracked::default());
    loop {
        tokio::select! {
            Some(event) = services.next() => match event {
                Ok(event) => service.apply(event, name),
                Err(e) => tracing::warn!(error = %e, "watching the Service"),
            },
            Some(event) = endpoints.next() => match event {
                Ok(event) => eps.apply(event, name),
                Err(e) => tracing::warn!(error = %e, "watching the Endpoints"),
            },
            else => return,
        }
        if service.listed && eps.listed {
            let next = plan(service.object.as_ref(), eps.object.as_ref());
            plans.send_if_modified(|current| {
                if current.as_ref() == Some(&next) {
                    false
                } else {
                    *current = Some(next);
                    true
                }
            });
        }
    }
}

/// The latest version of one object, and whether it has been listed at least once.
struct Tracked<T> {
    object: Option<T>,
    listed: bool,
}

impl<T> Default for Tracked<T> {
    fn default() -> Self {
        Tracked {
            object: None,
            listed: false,
        }
    }
}

impl<T: Object> Tracked<T> {
    fn apply(&mut self, event: WatcherEvent<T>, name: &str) {
        match event {
            WatcherEvent::Restarted(list) => {
                self.object = list.into_iter().find(|o| o.metadata().name() == name);
                self.listed = true;
            }
            WatcherEvent::Added(o) | WatcherEvent::Modified(o) if o.metadata().name() == name => self.object = Some(o),
            WatcherEvent::Deleted(o) if o.metadata().name() == name => self.object = None,
            _ => {}
        }
    }
}
