//! # Metrics: what the API server is doing, in Prometheus' text format
//!
//! The names are kube-apiserver's, so dashboards and habits carry over:
//!
//! - `apiserver_request_total{verb,resource,code}`: requests, by Kubernetes verb (`list` and
//!   `watch` are both GETs, but cost very differently, so the verb is what matters);
//! - `apiserver_request_duration_seconds{verb,resource}`: latency histogram (for a watch, the
//!   time to start streaming, not the life of the stream);
//! - `apiserver_registered_watchers{resource}`: watches open now;
//! - `kubelab_store_*`: the store's revision, compacted revision, object count and size,
//!   read from the store at scrape time.
//!
//! A middleware records every request, so no handler has to remember to.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::request::{parse_route, Query, Route};
use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    verb: String,
    resource: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    verb: String,
    resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WatchLabels {
    resource: String,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 8 s.
    Histogram::new(exponential_buckets(0.00025, 2.0, 16))
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<DurationLabels, Histogram, fn() -> Histogram>,
    watchers: Family<WatchLabels, Gauge>,
    store_revision: Gauge,
    store_compacted: Gauge,
    store_objects: Gauge,
    store_size: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<DurationLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let watchers = Family::<WatchLabels, Gauge>::default();
        let (store_revision, store_compacted, store_objects, store_size) =
            (Gauge::default(), Gauge::default(), Gauge::default(), Gauge::default());
        registry.register(
            "apiserver_request",
            "Requests by verb, resource and HTTP code",
            requests.clone(),
        );
        registry.register(
            "apiserver_request_duration_seconds",
            "Request latency by verb and resource",
            durations.clone(),
        );
        registry.register(
            "apiserver_registered_watchers",
            "Open watches by resource",
            watchers.clone(),
        );
        registry.register(
            "kubelab_store_revision",
            "The store's latest revision",
            store_revision.clone(),
        );
        registry.register(
            "kubelab_store_compacted_revision",
            "Oldest revision a watch can resume from",
            store_compacted.clone(),
        );
        registry.register("kubelab_store_objects", "Objects in the store", store_objects.clone());
        registry.register(
            "kubelab_store_size_bytes",
            "Bytes the store uses on disk",
            store_size.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
            watchers,
            store_revision,
            store_compacted,
            store_objects,
            store_size,
        }
    }

    fn observe(&self, verb: &str, resource: &str, code: u16, seconds: f64) {
        let labels = RequestLabels {
            verb: verb.into(),
            resource: resource.into(),
            code: code.to_string(),
        };
        self.requests.get_or_create(&labels).inc();
        self.durations
            .get_or_create(&DurationLabels {
                verb: verb.into(),
                resource: resource.into(),
            })
            .observe(seconds);
    }

    /// Counts one open watch of `resource` until the guard is dropped.
    pub fn watcher_guard(&self, resource: &str) -> WatcherGuard {
        let gauge = self
            .watchers
            .get_or_create(&WatchLabels {
                resource: resource.into(),
            })
            .clone();
        gauge.inc();
        WatcherGuard { gauge }
    }

    /// The text exposition, with the store's numbers read now.
    pub fn render(&self, stats: &crate::store::StoreStats) -> String {
        self.store_revision.set(stats.revision as i64);
        self.store_compacted.set(stats.compacted_revision as i64);
        self.store_objects.set(stats.object_count as i64);
        self.store_size.set(stats.size_bytes as i64);
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Keeps `apiserver_registered_watchers` up while a watch is open.
pub struct WatcherGuard {
    gauge: Gauge,
}

impl Drop for WatcherGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// `GET /metrics`.
pub async fn scrape(State(state): State<AppState>) -> Response {
    let body = state.metrics.render(&state.store.stats());
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// The middleware that counts and times every request, and logs it at debug level.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let (verb, resource) = classify(&method, &uri);
    let response = next.run(request).await;
    let code = response.status().as_u16();
    let elapsed = started.elapsed();
    state.metrics.observe(&verb, &resource, code, elapsed.as_secs_f64());
    tracing::debug!(%method, %uri, verb, code, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "request");
    response
}

/// Kubernetes' verb and the resource (`pods`, `deployments/scale`) of a request; plain HTTP
/// method and an empty resource for everything else, so label values stay few.
fn classify(method: &axum::http::Method, uri: &axum::http::Uri) -> (String, String) {
    let query = Query::parse(uri.query());
    match parse_route(method, uri.path(), &query) {
        Ok(Route::Resource(info))
            if kubelab_api::resource::find(&info.group, &info.version, &info.resource).is_some() =>
        {
            let resource = match &info.subresource {
                Some(sub) => format!("{}/{sub}", info.resource),
                None => info.resource.clone(),
            };
            (info.verb.as_str().to_string(), resource)
        }
        _ => (method.as_str().to_ascii_lowercase(), String::new()),
    }
}
