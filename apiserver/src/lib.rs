//! # kubelab-apiserver: Kubernetes' REST API over a durable, revisioned store
//!
//! The API server is the only component that touches storage; the scheduler, the controllers,
//! the node agents and kubectl are all its clients. It does four things:
//!
//! 1. **Serves objects at Kubernetes' paths** ([`request`], [`handlers`]): create, read,
//!    update, patch, delete, list and watch, for every kind in `kubelab_api::RESOURCES`.
//! 2. **Enforces object semantics** ([`registry`]): identity, generation, optimistic
//!    concurrency through `resourceVersion`, spec/status separation, finalizers, graceful
//!    deletion, namespaces.
//! 3. **Streams changes** ([`handlers::watch`]): every component keeps its view of the cluster
//!    current by watching, and resumes from the last revision it saw after a disconnect.
//! 4. **Describes itself** ([`handlers::discovery`], [`handlers::openapi`], [`metrics`]).
//!
//! [`app`] builds the router (handlers are tested through it without a socket); [`run`]
//! opens the store and serves it.

pub mod allocator;
pub mod config;
pub mod error;
pub mod filter;
pub mod handlers;
pub mod metrics;
pub mod patch;
pub mod protobuf;
pub mod registry;
pub mod request;
pub mod server;
pub mod state;
pub mod store;
pub mod table;
pub mod testing;

#[cfg(test)]
mod tests;

use axum::routing::{any, get};
use axum::Router;

pub use config::Config;
pub use error::ApiError;
pub use server::{run, ServerError};
pub use state::{AppState, Options};

/// The whole HTTP API as a router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/api", get(|axum::extract::State(state): axum::extract::State<AppState>| async move {
            handlers::discovery::core_versions(&state)
        }))
        .route("/apis", get(|| async { handlers::discovery::groups() }))
        .route("/api/{*rest}", any(handlers::resource))
        .route("/apis/{*rest}", any(handlers::resource))
        .route("/api/v1/namespaces/{namespace}/pods/{name}/exec", any(handlers::exec::handle))
        .route("/version", get(|| async { handlers::discovery::version() }))
        .route("/openapi/v3", get(|| async { handlers::openapi::index() }))
        .route(
            "/openapi/v3/{*rest}",
            get(|axum::extract::Path(rest): axum::extract::Path<String>| async move { handlers::openapi::document(&rest) }),
        )
        .route("/healthz", get(handlers::health::live))
        .route("/livez", get(handlers::health::live))
        .route("/readyz", get(handlers::health::ready))
        .route("/metrics", get(metrics::scrape))
        .fallback(handlers::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
}
