//! The proxy itself: accept HTTP (and HTTPS) connections, route each request, forward it.
//!
//! For every request: take the host (the `Host` header, or the authority of an absolute URI),
//! find the route in the current [`Snapshot`], pick the next ready address of that Service port
//! (round-robin), and forward the request there over HTTP/1.1, streaming both bodies (neither is
//! ever held whole in memory). Connections on both sides are kept alive and reused; the client's
//! `Host` is passed on unchanged, and `X-Forwarded-For`, `-Host` and `-Proto` tell the backend
//! who really asked, as ingress-nginx does.
//!
//! Answers of the proxy's own: **404** when no rule matches and there is no default backend,
//! **503** when the Service has no ready endpoints (or does not exist), **502** when the chosen
//! endpoint cannot be reached. Each with a one-line plain-text body saying why.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_TYPE, HOST};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::routes::Route;
use crate::snapshot::Snapshot;

/// The body of every response the proxy sends.
pub type Body = BoxBody<Bytes, hyper::Error>;

/// What every connection shares: the current snapshot and the pool of upstream connections.
pub struct Shared {
    snapshot: RwLock<Arc<Snapshot>>,
    client: Client<HttpConnector, Incoming>,
}

impl Shared {
    pub fn new() -> Arc<Shared> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(std::time::Duration::from_secs(5)));
        Arc::new(Shared {
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// Serves `snapshot` from the next request on.
    pub fn set_snapshot(&self, snapshot: Snapshot) {
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snapshot);
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Accepts plain-HTTP connections until the future is dropped (which closes them all).
pub async fn serve_http(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(serve_connection(TokioIo::new(stream), peer, "http", shared.clone()));
        while connections.try_join_next().is_some() {}
    }
}

/// Accepts TLS connections (certificates from `config`'s resolver) until dropped.
pub async fn serve_https(listener: TcpListener, config: Arc<rustls::ServerConfig>, shared: Arc<Shared>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (acceptor, shared) = (acceptor.clone(), shared.clone());
        connections.spawn(async move {
            match acceptor.accept(stream).await {
                Ok(tls) => serve_connection(TokioIo::new(tls), peer, "https", shared).await,
                Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
            }
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn serve_connection<I>(io: I, peer: SocketAddr, scheme: &'static str, shared: Arc<Shared>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle(request, peer, scheme, &shared).await) }
    });
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service)
        .await
    {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// The answer for a route whose backend is a `resource` rather than a Service.
const RESOURCE_BACKEND: &str =
    "this route's backend is a resource, not a Service: kubelab's ingress only proxies to Services\n";

fn no_rule_message(host: &str, path: &str) -> String {
    format!("no Ingress rule matches host \"{host}\" and path \"{path}\", and there is no default backend\n")
}

/// Routes and forwards one request.
pub async fn handle(request: Request<Incoming>, peer: SocketAddr, scheme: &str, shared: &Shared) -> Response<Body> {
    let host = request_host(&request);
    let path = request.uri().path().to_string();
    let snapshot = shared.snapshot();
    let backend = match snapshot.routes.route(&host, &path) {
        None => return text(StatusCode::NOT_FOUND, no_rule_message(&host, &path)),
        Some(Route::Unsupported) => return text(StatusCode::SERVICE_UNAVAILABLE, RESOURCE_BACKEND.into()),
        Some(Route::Backend(backend)) => backend,
    };
    let address = match snapshot.upstreams.get(backend) {
        Some(Ok(upstream)) => upstream.pick(),
        Some(Err(why)) => return text(StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
        None => None,
    };
    let Some(address) = address else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("service \"{backend}\" has no ready endpoints\n"),
        );
    };
    let upstream = match upstream_request(request, address, &host, peer, scheme) {
        Ok(r) => r,
        Err(why) => return text(StatusCode::BAD_REQUEST, format!("{why}\n")),
    };
    match shared.client.request(upstream).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            remove_hop_by_hop(&mut parts.headers);
            Response::from_parts(parts, body.boxed())
        }
        Err(e) => {
            tracing::info!(%backend, %address, error = %e, "the endpoint did not answer");
            text(
                StatusCode::BAD_GATEWAY,
                format!("endpoint {address} of service \"{backend}\" did not answer: {e}\n"),
            )
        }
    }
}

/// The request's host: the `Host` header, or the authority of an absolute-form URI.
fn request_host<B>(request: &Request<B>) -> String {
    request
        .uri()
        .host()
        .map(str::to_string)
        .or_else(|| {
            request
                .headers()
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// The request as it goes to `address`: same method, path, headers and body, plus X-Forwarded-*.
fn upstream_request(
    request: Request<Incoming>,
    address: SocketAddr,
    host: &str,
    peer: SocketAddr,
    scheme: &str,
) -> Result<Request<Incoming>, String> {
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    parts.uri = format!("http://{address}{path}")
        .parse::<Uri>()
        .map_err(|e| format!("bad request path {path:?}: {e}"))?;
    parts.version = hyper::Version::HTTP_11;
    remove_hop_by_hop(&mut parts.headers);
    let headers = &mut parts.headers;
    if !headers.contains_key(HOST) {
        if let Ok(value) = HeaderValue::from_str(host) {
            headers.insert(HOST, value);
        }
    }
    let forwarded_for = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(earlier) => format!("{earlier}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    set("x-forwarded-for", &forwarded_for);
    set("x-forwarded-host", host);
    set("x-forwarded-proto", scheme);
    Ok(Request::from_parts(parts, body))
}

/// Removes the headers that describe one connection, not the message (RFC 9110, 7.6.1).
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect();
    for name in named {
        headers.remove(name.as_str());
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

/// A plain-text answer of the proxy's own.
fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_dropped_and_others_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive, x-secret"));
        headers.insert("x-secret", HeaderValue::from_static("1"));
        headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        headers.insert("x-app", HeaderValue::from_static("kept"));
        remove_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert_eq!(headers["x-app"], "kept");
    }

    #[test]
    fn the_host_comes_from_the_header_or_an_absolute_uri() {
        let r = Request::builder()
            .uri("/x")
            .header(HOST, "shop.example.com:8080")
            .body(())
            .unwrap();
        assert_eq!(request_host(&r), "shop.example.com:8080");
        let r = Request::builder()
            .uri("http://a.example.com/x")
            .header(HOST, "b")
            .body(())
            .unwrap();
        assert_eq!(request_host(&r), "a.example.com");
        let r = Request::builder().uri("/x").body(()).unwrap();
        assert_eq!(request_host(&r), "");
    }
}
