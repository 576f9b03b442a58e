//! Following every change to a set of objects, in the order the API server made them: a watch
//! from a list's revision that, when the server ends it, is started again from the last revision
//! it saw, so no change is missed and none is seen twice. Tests use it to check what happened in
//! between two of their own looks (the lowest number of Ready pods during a rollout, the order in
//! which a StatefulSet's pods came up).

use std::time::Duration;

use futures_util::StreamExt;
use kubelab_api::Object;
use kubelab_client::{Api, ListParams, WatchEvent};

use super::AbortOnDrop;

/// Calls `on_change(object, deleted)` for each change to the objects `lp` selects after
/// `resource_version` (a list's), resuming the watch whenever the server ends it; a watch error
/// from the server (`410 Gone`, ...) fails the test. Stops when the returned task is dropped.
pub fn follow<T: Object>(
    api: Api<T>,
    lp: ListParams,
    mut resource_version: String,
    mut on_change: impl FnMut(T, bool) + Send + 'static,
) -> AbortOnDrop {
    AbortOnDrop(tokio::spawn(async move {
        loop {
            let mut stream = match api.watch(&lp, &resource_version).await {
                Ok(stream) => stream,
                Err(e) => {
                    eprintln!("watching {}: {e}; again", T::PLURAL);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            while let Some(event) = stream.next().await {
                let (object, deleted) = match event {
                    Ok(WatchEvent::Added(o) | WatchEvent::Modified(o)) => (o, false),
                    Ok(WatchEvent::Deleted(o)) => (o, true),
                    Ok(WatchEvent::Bookmark { resource_version: rv }) => {
                        resource_version = rv;
                        continue;
                    }
                    Ok(WatchEvent::Error(status)) => panic!("the {} watch failed: {status:?}", T::PLURAL),
                    Err(e) => {
                        eprintln!("the {} watch broke: {e}; again", T::PLURAL);
                        break;
                    }
                };
                resource_version = object.metadata().resource_version.clone().unwrap_or_default();
                on_change(object, deleted);
            }
        }
    }))
}
