//! # The `kubernetes` Service: how a pod finds the API server
//!
//! Every Kubernetes cluster has `default/kubernetes`, a Service with the first address of the
//! service range, kept by kube-apiserver's bootstrap controller (no selector: the API server
//! writes its Endpoints itself, listing its own address). Pods reach the API at
//! `kubernetes.default.svc` or through `KUBERNETES_SERVICE_HOST`/`PORT`, whatever the cluster.
//!
//! kubelab's API server speaks plain HTTP, but the Service keeps Kubernetes' shape, `port: 443`
//! named `https`, because clients look for that port by name. What makes it work is the
//! `targetPort`: the service proxy forwards `ClusterIP:443` to each endpoint at `targetPort`,
//! which is the port the API server really listens on. The Endpoints name that port too.
//!
//! The endpoint address is the `--advertise-address` (the cluster network's gateway, which
//! `kubelab up` passes). Without one, the listen address is used if a pod could reach it; a
//! loopback or wildcard address could not be, so then there are no Endpoints at all (and any
//! stale ones are removed): an honest "no endpoints" rather than an address that cannot work.

use std::net::{IpAddr, SocketAddr};

use serde_json::{json, Value};

use crate::error::ApiError;
use crate::registry::create::create;
use crate::registry::update::{update, Part};
use crate::registry::{Target, WriteOptions};
use crate::state::AppState;

/// The Service's name, namespace and port, as in Kubernetes.
pub const NAME: &str = "kubernetes";
pub const NAMESPACE: &str = "default";
pub const SERVICE_PORT: u16 = 443;

/// The address pods should use to reach this API server, if there is one.
pub fn endpoint_address(advertise: Option<IpAddr>, listen: SocketAddr) -> Option<IpAddr> {
    advertise.or_else(|| Some(listen.ip()).filter(|ip| !ip.is_loopback() && !ip.is_unspecified()))
}

fn service_ports(api_port: u16) -> Value {
    json!([{"name": "https", "port": SERVICE_PORT, "protocol": "TCP", "targetPort": api_port}])
}

fn subsets(address: IpAddr, api_port: u16) -> Value {
    json!([{"addresses": [{"ip": address.to_string()}],
            "ports": [{"name": "https", "port": api_port, "protocol": "TCP"}]}])
}

fn target(plural: &str) -> Result<Target, ApiError> {
    let info = kubelab_api::resource::find("", "v1", plural)
        .ok_or_else(|| ApiError::Internal(format!("the resource table has no core/v1 {plural}")))?;
    Ok(Target::new(info, Some(NAMESPACE.into())))
}

/// Creates or corrects `default/kubernetes` and its Endpoints. `api_port` is the port the API
/// server listens on; `address` the endpoint address ([`endpoint_address`]).
pub async fn ensure_kubernetes_service(
    state: &AppState,
    api_port: u16,
    address: Option<IpAddr>,
) -> Result<(), ApiError> {
    let services = target("services")?;
    let ports = service_ports(api_port);
    match state.store.get(&services.key(NAME)?).await? {
        None => {
            let mut service = json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": NAME, "namespace": NAMESPACE,
                             "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"type": "ClusterIP", "clusterIP": state.services.ranges.first_ip().to_string(),
                         "ports": ports, "sessionAffinity": "None"},
            });
            if let Err(error) = create(state, &services, service.clone(), WriteOptions::default()).await {
                // Someone holds the first address: take any, rather than have no Service at all.
                tracing::warn!(%error, "the kubernetes Service cannot have the range's first address; allocating another");
                if let Some(spec) = service.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.remove("clusterIP");
                }
                create(state, &services, service, WriteOptions::default()).await?;
            }
        }
        Some(stored) if stored.value().pointer("/spec/ports") != Some(&ports) => {
            update(state, &services, NAME, Part::Main, WriteOptions::default(), |current| {
                let mut next = current.clone();
                next["spec"]["ports"] = ports.clone();
                Ok(next)
            })
            .await?;
        }
        Some(_) => {}
    }

    let endpoints = target("endpoints")?;
    let key = endpoints.key(NAME)?;
    let stored = state.store.get(&key).await?;
    match (address, stored) {
        (Some(address), None) => {
            let object = json!({
                "apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": NAME, "namespace": NAMESPACE,
                             "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                "subsets": subsets(address, api_port),
            });
            create(state, &endpoints, object, WriteOptions::default()).await?;
        }
        (Some(address), Some(stored)) => {
            let wanted = subsets(address, api_port);
            if stored.value().get("subsets") != Some(&wanted) {
                update(
                    state,
                    &endpoints,
                    NAME,
                    Part::Main,
                    WriteOptions::default(),
                    |current| {
                        let mut next = current.clone();
                        next["subsets"] = wanted.clone();
                        Ok(next)
                    },
                )
                .await?;
            }
        }
        (None, Some(_)) => {
            state.store.delete(&key, None).await?;
        }
        (None, None) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_the_advertised_address_or_a_reachable_listen_address() {
        let gateway: IpAddr = "10.130.16.1".parse().unwrap();
        let loopback: SocketAddr = "127.0.0.1:6443".parse().unwrap();
        let wildcard: SocketAddr = "0.0.0.0:6443".parse().unwrap();
        let specific: SocketAddr = "192.168.1.10:6443".parse().unwrap();
        assert_eq!(endpoint_address(Some(gateway), loopback), Some(gateway));
        assert_eq!(endpoint_address(None, loopback), None);
        assert_eq!(endpoint_address(None, wildcard), None);
        assert_eq!(endpoint_address(None, specific), Some(specific.ip()));
    }
}
