//! # Health checks
//!
//! `/livez` says the process runs; `/readyz` says it can serve, which for an API server means
//! its store answers; `/healthz` is the older name both used to share. Orchestrators (and
//! `kubelab up`) poll them before sending traffic.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// `GET /healthz`, `GET /livez`.
pub async fn live() -> Response {
    (StatusCode::OK, "ok").into_response()
}

/// `GET /readyz`: ok once the store answers a read.
pub async fn ready(State(state): State<AppState>) -> Response {
    if state.is_shutting_down() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    match state.store.get("/registry/namespaces/default").await {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(err) => (StatusCode::SERVICE_UNAVAILABLE, format!("store: {err}")).into_response(),
    }
}
