//! # Service ClusterIPs and NodePorts: handed out once, never twice
//!
//! A Service of type ClusterIP, NodePort or LoadBalancer gets a virtual IP from
//! `--service-cluster-ip-range`, and a NodePort Service a port per service port from
//! `--service-node-port-range`. The API server hands them out as part of the create or update
//! that needs them, as kube-apiserver does: a client may ask for a particular value (honoured
//! if free and in range, else 422 with Kubernetes' words), or leave it out and get a free one.
//!
//! ## Where the allocation lives, and why it cannot hand a value out twice
//!
//! Kubernetes keeps a bitmap per range in etcd (a `RangeAllocation` object) and repairs it
//! against the Services every few minutes, because an allocation and the Service's write are
//! two writes and a crash can fall between them. kubelab avoids the second write altogether:
//! **the stored Services are the allocation.** An IP is in use exactly when a stored Service
//! holds it. Every Service write that may allocate (create, update, patch, apply) takes one
//! lock, lists the stored Services to see what the *others* hold, picks or checks its values,
//! and writes the Service, all before releasing the lock. So:
//!
//! - two writes never pick the same value: the second one's list sees the first one's Service;
//! - a crash between picking and writing loses nothing: nothing was recorded but the Service;
//! - a restart needs no rebuild: the next write lists the Services again;
//! - a delete frees the values with nothing else to do: the Service is no longer listed. Deletes
//!   do not take the lock, which is safe because they only ever free.
//!
//! The price is one list of the Services per Service write (a few milliseconds for thousands of
//! Services; pods, the busy kind, are untouched). The lock is per process: several API servers
//! over one shared store (etcd) would need the allocation checked inside the store's
//! transaction, which is not built.
//!
//! ## The `kubernetes` Service
//!
//! [`bootstrap`] makes sure `default/kubernetes` exists at start, with the range's first address,
//! as kube-apiserver's bootstrap controller does.

pub mod bootstrap;
pub mod range;
pub mod service;

use std::net::Ipv4Addr;

use kubelab_api::ResourceInfo;
use serde_json::Value;
use tokio::sync::{Mutex, MutexGuard};

use crate::error::ApiError;
use crate::registry::keys;
use crate::registry::update::Part;
use crate::state::AppState;
use crate::store::Update;
pub use range::{Ipv4Cidr, PortRange, RangeError};
use service::{AllocError, Taken};

/// The ranges Services draw from (the apiserver's `--service-cluster-ip-range` and
/// `--service-node-port-range`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRanges {
    pub cluster_ips: Ipv4Cidr,
    pub node_ports: PortRange,
}

/// The default ClusterIP range when none is given (kubeadm uses 10.96.0.0/12).
pub const DEFAULT_CLUSTER_IP_RANGE: &str = "10.96.0.0/16";

impl Default for ServiceRanges {
    fn default() -> Self {
        ServiceRanges {
            cluster_ips: DEFAULT_CLUSTER_IP_RANGE.parse().unwrap_or(Ipv4Cidr {
                network: Ipv4Addr::new(10, 96, 0, 0),
                prefix: 16,
            }),
            node_ports: PortRange::default(),
        }
    }
}

impl ServiceRanges {
    /// The first usable address: the `kubernetes` Service's.
    pub fn first_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.cluster_ips.network) + 1)
    }
}

/// The allocator an API server shares between its requests.
#[derive(Debug, Default)]
pub struct ServiceAllocator {
    pub ranges: ServiceRanges,
    /// Held from the list of Services through the write of the one being allocated for.
    lock: Mutex<()>,
}

impl ServiceAllocator {
    pub fn new(ranges: ServiceRanges) -> Self {
        ServiceAllocator {
            ranges,
            lock: Mutex::new(()),
        }
    }
}

fn is_service(info: &ResourceInfo) -> bool {
    info.group.is_empty() && info.kind == "Service"
}

fn to_api_error(err: AllocError, service: &Value) -> ApiError {
    match err {
        AllocError::Invalid(field) => ApiError::Invalid {
            kind: "Service".into(),
            group: String::new(),
            name: service
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            errors: vec![field],
        },
        // Kubernetes' answer: the request is fine, the cluster is out of addresses.
        AllocError::Full(message) => ApiError::Internal(format!("Internal error occurred: {message}")),
    }
}

/// What every stored Service but `except` (a store key) holds.
async fn taken_by_others(state: &AppState, info: &ResourceInfo, except: Option<&str>) -> Result<Taken, ApiError> {
    let listed = state.store.list(&keys::collection_prefix(info, None)).await?;
    let mut taken = Taken::default();
    for item in listed.items.iter().filter(|i| Some(i.key.as_str()) != except) {
        taken.add(item.value());
    }
    Ok(taken)
}

/// The lock a Service create or update holds until its write is done; `None` for other kinds.
pub type Held<'a> = Option<MutexGuard<'a, ()>>;

/// Gives a Service being created what it needs. Returns the object and the lock to hold until
/// the store has written it (or refused to).
pub async fn on_create<'a>(
    state: &'a AppState,
    info: &ResourceInfo,
    mut object: Value,
) -> Result<(Value, Held<'a>), ApiError> {
    if !is_service(info) {
        return Ok((object, None));
    }
    let allocator = &state.services;
    let guard = allocator.lock.lock().await;
    let taken = taken_by_others(state, info, None).await?;
    let ranges = &allocator.ranges;
    service::allocate(
        &mut object,
        None,
        &ranges.cluster_ips,
        &ranges.node_ports,
        &taken,
        range::random_seed(),
    )
    .map_err(|e| to_api_error(e, &object))?;
    Ok((object, Some(guard)))
}

/// The Service part of an update: active for writes to a Service (not to its `/status`).
pub struct UpdateHook<'a> {
    active: Option<(MutexGuard<'a, ()>, Taken, &'a ServiceRanges)>,
}

impl<'a> UpdateHook<'a> {
    /// Locks and reads what the other Services hold, if this update is a Service's.
    pub async fn start(state: &'a AppState, info: &ResourceInfo, key: &str, part: Part) -> Result<Self, ApiError> {
        if !is_service(info) || part != Part::Main {
            return Ok(UpdateHook { active: None });
        }
        let guard = state.services.lock.lock().await;
        let taken = taken_by_others(state, info, Some(key)).await?;
        Ok(UpdateHook {
            active: Some((guard, taken, &state.services.ranges)),
        })
    }

    /// Before admission: drop what the new type does not use, keep what was allocated.
    pub fn prepare(&self, stored: &Value, mut candidate: Value) -> Value {
        if self.active.is_some() {
            service::prepare_update(stored, &mut candidate);
        }
        candidate
    }

    /// After admission: allocate what the admitted object newly needs.
    pub fn allocate(&self, stored: &Value, decision: Update) -> Result<Update, ApiError> {
        let Some((_, taken, ranges)) = &self.active else {
            return Ok(decision);
        };
        let mut object = match decision {
            Update::Write(object) => object,
            other => return Ok(other),
        };
        service::allocate(
            &mut object,
            Some(stored),
            &ranges.cluster_ips,
            &ranges.node_ports,
            taken,
            range::random_seed(),
        )
        .map_err(|e| to_api_error(e, &object))?;
        Ok(Update::Write(object))
    }
}
