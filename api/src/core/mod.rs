//! The core API group (`apiVersion: v1`): the kinds Kubernetes started with.
//!
//! | kind | what it is for |
//! | --- | --- |
//! | [`Pod`] | containers that run together on one node |
//! | [`Node`] | a machine that runs pods |
//! | [`Namespace`] | a scope for names |
//! | [`Service`], [`Endpoints`] | a stable address for a set of pods, and the pods behind it |
//! | [`ConfigMap`], [`Secret`] | configuration and credentials, kept out of images |
//! | [`Event`] | a record of something that happened to an object |
//! | [`PersistentVolumeClaim`] | a request for durable storage |
//! | [`PersistentVolume`] | durable storage itself, bound to one claim |
//! | [`Binding`] | the scheduler's decision, posted to `pods/{name}/binding` (not stored) |

pub mod configmap;
pub mod endpoints;
pub mod event;
pub mod namespace;
pub mod node;
pub mod pod;
pub mod pv;
pub mod pvc;
pub mod reference;
pub mod secret;
pub mod service;
#[cfg(test)]
mod tests;

pub use configmap::ConfigMap;
pub use endpoints::{EndpointAddress, EndpointPort, EndpointSubset, Endpoints};
pub use event::{Event, EventSeries, EventSource};
pub use namespace::{Namespace, NamespaceCondition, NamespaceSpec, NamespaceStatus};
pub use node::{
    AttachedVolume, ContainerImage, DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec,
    NodeStatus, NodeSystemInfo, Taint,
};
pub use pod::*;
pub use pv::{
    CsiPersistentVolumeSource, PersistentVolume, PersistentVolumeSpec, PersistentVolumeStatus, VolumeNodeAffinity,
};
pub use pvc::{
    PersistentVolumeClaim, PersistentVolumeClaimCondition, PersistentVolumeClaimSpec, PersistentVolumeClaimStatus,
    VolumeResourceRequirements,
};
pub use reference::{Binding, LocalObjectReference, ObjectReference, TypedLocalObjectReference, TypedObjectReference};
pub use secret::Secret;
pub use service::{
    ClientIpConfig, Condition, LoadBalancerIngress, LoadBalancerStatus, PortStatus, Service, ServicePort, ServiceSpec,
    ServiceStatus, SessionAffinityConfig,
};
