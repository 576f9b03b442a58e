//! # kubelab-controller: the controller manager
//!
//! A Kubernetes cluster is a set of *desired states* (objects users wrote: "3 replicas of this
//! pod template") and *observed states* (what really exists: these 2 pods, one not ready yet).
//! A **controller** is a loop that looks at both and acts to bring the second closer to the
//! first: create a pod, delete one, scale a ReplicaSet, write a status.
//!
//! Controllers here are **level-triggered**: a change only tells them *which* object to look at
//! (its key goes into a [`WorkQueue`](kubelab_client::WorkQueue)); `reconcile(key)` then reads
//! the whole current state from the informer caches and decides from that alone, not from the
//! event. Missed, repeated or reordered events therefore do no harm: the next reconcile sees the
//! same world and makes the same decision. That is also why every reconcile is idempotent.
//!
//! | controller | module | Kubernetes |
//! | --- | --- | --- |
//! | the shared loop (informers → queue → workers) | [`runtime`] | `controller-runtime`-like helpers |
//! | ReplicaSet: N pods from a template | [`replicaset`] | `pkg/controller/replicaset` |
//! | Deployment: ReplicaSets per template, rollouts | [`deployment`] | `pkg/controller/deployment` |
//! | Endpoints: the ready pods behind each Service | [`endpoints`] | `pkg/controller/endpoint` |
//! | events (`kubectl describe`) | [`events`] | `record.EventRecorder` |
//! | Node lifecycle: unreachable nodes, evictions | [`node_lifecycle`] | `pkg/controller/nodelifecycle` |
//! | Garbage collector: ownerReferences | [`gc`] | `pkg/controller/garbagecollector` |
//! | Namespace: emptying a deleted namespace | [`namespace`] | `pkg/controller/namespace` |
//! | Volumes: binding claims, provisioning, reclaiming | [`volume`] | `pkg/controller/volume/persistentvolume` |
//! | StatefulSet: ordered pods with stable names and storage | [`statefulset`] | `pkg/controller/statefulset` |
//! | all of them under one leader | [`manager`] | `kube-controller-manager` |

pub mod deployment;
pub mod endpoints;
pub mod events;
pub mod gc;
pub mod manager;
pub mod namespace;
pub mod node_lifecycle;
pub mod replicaset;
pub mod runtime;
pub mod statefulset;
pub mod volume;

pub use manager::{ManagerConfig, ManagerError};
