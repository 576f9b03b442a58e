//! # kubelab-client: the client-go of kubelab
//!
//! Every kubelab component except the API server is a client of it: the scheduler, the
//! controllers, the node agents and the CLI all list, watch and write objects through its REST
//! API. This crate is what they share, in the same layers as Kubernetes' `client-go`:
//!
//! | layer | module | client-go |
//! | --- | --- | --- |
//! | where the cluster is | [`config`] | `clientcmd` (kubeconfig) |
//! | HTTP, errors as `Status` | [`client`], [`error`] | `rest.RESTClient`, `apierrors` |
//! | verbs on one kind | [`api`] (typed), [`dynamic`] (JSON) | clientset, `dynamic.Interface` |
//! | one watch | [`watch`] | `watch.Interface` |
//! | a watch that resumes and re-lists | [`watcher`] | `Reflector` + `ListWatch` |
//! | a local cache with change handlers | [`informer`], [`store`] | `SharedInformer`, `Indexer` |
//! | keys to reconcile, with back-off | [`workqueue`] | `workqueue` |
//! | one active replica among several | [`leader`] | `leaderelection` |
//!
//! Reading order for a newcomer: `api.rs` (what a request looks like), `watch.rs` (how a watch
//! is read), `watcher.rs`, `store.rs`, `informer.rs`, then `workqueue.rs`.

pub mod accept;
pub mod api;
pub mod backoff;
pub mod client;
pub mod config;
pub mod dynamic;
pub mod error;
pub mod exec;
pub mod informer;
pub mod leader;
pub mod params;
pub mod raw;
pub mod shared;
pub mod store;
pub mod watch;
pub mod watcher;
pub mod workqueue;

pub use api::{Api, Scale, ScaleSpec, ScaleStatus};
pub use backoff::Backoff;
pub use client::{Client, Method, RequestBody};
pub use config::{write_kubeconfig, Config, ConfigError};
pub use dynamic::DynamicApi;
pub use error::ClientError;
pub use informer::Informer;
pub use leader::{LeaderElectionConfig, LeaderElector};
pub use params::{DeleteParams, ListParams, Patch, PatchParams, Preconditions, PropagationPolicy};
pub use raw::{DeleteResponse, ResourceRef};
pub use shared::{SharedInformer, SharedInformers};
pub use store::{object_key, split_key, InformerEvent, Store};
pub use watch::WatchEvent;
pub use watcher::{watcher, WatcherEvent};
pub use workqueue::WorkQueue;
