//! # kubelab-api: Kubernetes objects as Rust types
//!
//! Every kind kubelab serves is a plain serde struct with Kubernetes' own field names
//! (`apiVersion`, `metadata.ownerReferences`, `spec.template.spec.containers[].ports`), so a
//! manifest written for Kubernetes decodes here unchanged. This crate does no I/O: it only says
//! what an object looks like ([`core`], [`apps`], [`coordination`]), what it defaults to when a
//! field is left out ([`Object::set_defaults`]), what makes it invalid ([`validation`]), and how a
//! request body is decoded strictly enough to name a misspelt field ([`codec`]).
//!
//! The API server, the controllers, the agents and the CLI all share these types, just as
//! Kubernetes' components share `k8s.io/api`.

pub mod apps;
pub mod autoscaling;
pub mod codec;
pub mod coordination;
pub mod core;
pub mod intstr;
pub mod meta;
pub mod microtime;
pub mod names;
pub mod networking;
pub mod object;
pub mod options;
pub mod quantity;
pub mod resource;
pub mod selector;
pub mod storage;
#[cfg(test)]
mod testutil;
pub mod validation;

pub use meta::{LabelSelector, ListMeta, ObjectMeta, OwnerReference, Status, StatusCause, StatusDetails, Time};
pub use object::{List, Object};
pub use resource::{ResourceInfo, RESOURCES};
