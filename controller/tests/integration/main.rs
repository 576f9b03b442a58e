//! Integration tests of the controller manager against a real API server in-process, with the
//! real scheduler and hollow node agents making pods run.

mod common;
mod deployment;
mod leader;
mod replicaset;
mod statefulset;
mod volume;
