//! One reconcile of one Service's Endpoints (see the module docs in `mod.rs`): read the caches,
//! compute the subsets, write only a difference.

use std::collections::BTreeMap;

use kubelab_api::core::Endpoints;
use kubelab_api::ObjectMeta;
use kubelab_client::{split_key, Api, DeleteParams};

use super::subsets::compute_subsets;
use super::{EndpointsController, EndpointsError};
use crate::runtime::{Action, Reconciler};

/// The label Kubernetes puts on the Endpoints of a headless Service.
const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

impl Reconciler for EndpointsController {
    type Error = EndpointsError;

    async fn reconcile(&self, key: &str) -> Result<Action, EndpointsError> {
        let (namespace, name) = split_key(key);
        let namespace = namespace.unwrap_or("default");
        let api: Api<Endpoints> = Api::namespaced(self.client.clone(), namespace);
        let Some(service) = self.services.get(key) else {
            // The Service is gone: so are its Endpoints.
            if self.endpoints.get(key).is_some() {
                match api.delete(name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(source) => {
                        return Err(EndpointsError::Api {
                            action: format!("deleting endpoints {key}"),
                            source,
                        })
                    }
                }
            }
            return Ok(Action::Done);
        };
        if service.spec.selector.is_empty() {
            // No selector: the user manages these Endpoints.
            return Ok(Action::Done);
        }
        let pods = self.pods.list();
        let subsets = compute_subsets(&service, pods.iter().map(|p| p.as_ref()));
        // The Service's labels, as Kubernetes copies them, plus the headless marker.
        let mut labels: BTreeMap<String, String> = service.metadata.labels.clone();
        if service.spec.is_headless() {
            labels.insert(HEADLESS_LABEL.into(), String::new());
        }
        match self.endpoints.get(key) {
            Some(current) if current.subsets == subsets && current.metadata.labels == labels => Ok(Action::Done),
            Some(current) => {
                let mut next = current.as_ref().clone();
                next.subsets = subsets;
                next.metadata.labels = labels;
                // Carries the cached resourceVersion: a stale cache loses with 409 and retries.
                api.replace(name, &next).await.map_err(|source| EndpointsError::Api {
                    action: format!("updating endpoints {key}"),
                    source,
                })?;
                Ok(Action::Done)
            }
            None => {
                let object = Endpoints {
                    api_version: Some("v1".into()),
                    kind: Some("Endpoints".into()),
                    metadata: ObjectMeta {
                        name: Some(name.to_string()),
                        namespace: Some(namespace.to_string()),
                        labels,
                        ..Default::default()
                    },
                    subsets,
                };
                match api.create(&object).await {
                    Ok(_) => Ok(Action::Done),
                    // The cache had not seen it yet: the informer event will bring us back.
                    Err(e) if e.is_already_exists() => Ok(Action::Done),
                    Err(source) => Err(EndpointsError::Api {
                        action: format!("creating endpoints {key}"),
                        source,
                    }),
                }
            }
        }
    }
}
