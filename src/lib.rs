//! # kubelab: the all-in-one binary
//!
//! `kubelab` runs any one component of the cluster (`kubelab apiserver ...`) and the tools
//! around it (`kubelab bench apiserver`). Each component is a library crate with a `run`
//! entry point; this crate only turns command-line flags into their configuration.

pub mod apiserver_cmd;
pub mod bench;
pub mod logging;
pub mod shutdown;
