//! The `apps` API group (`apiVersion: apps/v1`): controllers that keep pods running.
//!
//! | kind | what it is for |
//! | --- | --- |
//! | [`Deployment`] | stateless apps, updated by rolling from one ReplicaSet to the next |
//! | [`ReplicaSet`] | N identical pods |
//! | [`StatefulSet`] | numbered pods with their own storage and DNS names |

pub mod deployment;
pub mod replicaset;
pub mod statefulset;
#[cfg(test)]
mod tests;
mod workload;

pub use deployment::{
    Deployment, DeploymentCondition, DeploymentSpec, DeploymentStatus, DeploymentStrategy, RollingUpdateDeployment,
};
pub use replicaset::{ReplicaSet, ReplicaSetCondition, ReplicaSetSpec, ReplicaSetStatus};
pub use statefulset::{
    RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetCondition, StatefulSetOrdinals,
    StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec, StatefulSetStatus, StatefulSetUpdateStrategy,
};
