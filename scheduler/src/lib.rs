//! # kubelab-scheduler: which node should this pod run on?
//!
//! A pod is created with an empty `spec.nodeName`. Nothing runs it until a scheduler picks a node
//! and POSTs a `Binding`; from then on the node's agent owns it. kube-scheduler, and this small
//! copy of it, decide in a loop, one pod at a time:
//!
//! ```text
//!   informers ──▶ SchedulingQueue ──pop──▶ filter every node ──▶ score the ones that fit
//!   (pods, nodes)   (active, back-off,          │ none fits               │ best score, then name
//!        │            unschedulable)             ▼                         ▼
//!        │                ▲            PodScheduled=False,           assume in the cache,
//!        └──▶ Cache ◀─────┘            FailedScheduling event,       bind (POST .../binding),
//!         (NodeInfo:        requeue     back-off                      Scheduled event
//!          node + pods)
//! ```
//!
//! Reading order: [`framework`] (the two plugin traits and how a decision is made),
//! [`node_info`] (what a plugin sees of a node), the [`plugins`] (one file each), [`queue`] (who
//! gets scheduled next, and when a pod that did not fit is tried again), [`cache`] (why the
//! scheduler "assumes" a pod before the API server confirms it), then [`scheduler`] (the loop)
//! and [`election`] (why only one of several replicas schedules).

pub mod cache;
pub mod election;
pub mod events;
pub mod framework;
pub mod node_info;
pub mod plugins;
pub mod queue;
pub mod scheduler;

pub use framework::{FilterPlugin, FitError, Framework, ScorePlugin, Unfit};
pub use node_info::{HostPort, NodeInfo, PodInfo, Resources};
pub use queue::{BackoffConfig, SchedulingQueue};
pub use scheduler::{run, SchedulerConfig, SchedulerError, DEFAULT_SCHEDULER_NAME};
