//! # kubelab: the all-in-one binary
//!
//! `kubelab` runs any one component of the cluster (`kubelab apiserver ...`) and the tools
//! around it (`kubelab bench apiserver`). Each component is a library crate with a `run`
//! entry point; this crate only turns command-line flags into their configuration.

pub mod agent_cmd;
pub mod apiserver_cmd;
pub mod bench;
pub mod cluster;
pub mod controller_cmd;
pub mod flags;
pub mod images_cmd;
pub mod ingress_cmd;
pub mod logging;
pub mod scheduler_cmd;
pub mod service_cmd;
pub mod service_proxy_cmd;
pub mod shutdown;

/// The memory allocator of every kubelab binary. An API server allocates and frees many small
/// JSON values per request; glibc's malloc spent about a third of the server's CPU on that under
/// load (`perf record` during `kubelab bench apiserver`), mimalloc much less.
pub type Allocator = mimalloc::MiMalloc;
