//! # kubelab-agent: the node agent (Kubernetes' kubelet)
//!
//! An agent makes a machine a node: it registers a Node object, keeps it alive with a Lease, and
//! runs every pod the scheduler bound to it through a [`runtime::ContainerRuntime`] — real Docker
//! containers, or the in-memory hollow runtime for scale tests.

pub mod runtime;
