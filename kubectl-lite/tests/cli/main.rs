//! kubectl-lite end to end: the built binary, run as a user runs it, against a real API server
//! (in this process, on a free loopback port, with its own temporary store) through a
//! kubeconfig. Nothing here needs containers; `logs` is tested with real pods in the
//! workspace's `tests/kubectl_lite_cluster.rs`.

mod apply;
mod config;
mod describe;
mod edit;
mod get;
mod harness;
mod mutate;
mod rollout;
