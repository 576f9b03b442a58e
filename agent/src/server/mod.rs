//! # The agent's own port: container logs and exec (the kubelet's server)
//!
//! `kubectl logs` never talks to a node. It asks the API server for `pods/{name}/log`; the API
//! server finds the pod's node, reads the node's address and `daemonEndpoints.kubeletEndpoint`
//! port from the Node object, and forwards the request here. So this server is small:
//!
//! | route | what it does |
//! | --- | --- |
//! | `GET /containerLogs/{namespace}/{pod}/{container}` | the container's output; `follow`, `tailLines`, `sinceSeconds`, `timestamps`, `previous` |
//! | `POST /exec/{namespace}/{pod}/{container}?command=ls&command=-l` | runs a command (no terminal), answers `{"stdout","stderr","exitCode"}` |
//! | `GET /exec/{namespace}/{pod}/{container}?command=sh&stdin=true&stdout=true&tty=true`, WebSocket | `kubectl exec` (also `-i`, `-t`): the streams over `v5.channel.k8s.io`, see [`exec`] |
//! | `GET /healthz` | `ok` |
//!
//! The paths and parameters are the kubelet's. The JSON `POST` form is for scripts and tests;
//! interactive exec (`-i`, `-t`) needs the WebSocket form, and the `POST` form says so.
//!
//! The server has no authentication, so it listens on loopback only: it runs commands in
//! containers, and nothing outside this machine may reach it. Errors are plain text with the
//! HTTP code that fits; the API server wraps them in a `Status`.

pub mod exec;
pub mod lookup;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;

use crate::runtime::{ContainerRuntime, LogOptions, RuntimeError};
use lookup::{pick_instance, LookupError};

/// How long a non-interactive exec may run when the request names no `timeout` (seconds).
const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// What the handlers share.
#[derive(Clone)]
pub struct ServerState {
    pub runtime: Arc<dyn ContainerRuntime>,
}

/// The routes, testable without a socket (`Router::oneshot`).
pub fn app(runtime: Arc<dyn ContainerRuntime>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/containerLogs/{namespace}/{pod}/{container}", get(container_logs))
        .route("/exec/{namespace}/{pod}/{container}", get(exec::stream).post(exec))
        .with_state(ServerState { runtime })
}

/// The addresses to listen on: always `127.0.0.1`, and the node's address too when it is
/// another loopback address (several agents on one machine as `127.0.0.2`, `127.0.0.3`...).
/// Never a non-loopback address: the server has no authentication.
pub fn listen_addresses(node_ip: &str, port: u16) -> Vec<SocketAddr> {
    let mut addresses = vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)];
    if let Ok(ip) = node_ip.parse::<IpAddr>() {
        if ip.is_loopback() && ip != IpAddr::V4(Ipv4Addr::LOCALHOST) {
            addresses.push(SocketAddr::new(ip, port));
        }
    }
    addresses
}

/// Binds the agent's port on every address of [`listen_addresses`]. With port 0 the first bind
/// picks a free port and the others use the same one. Returns the listeners and the port.
pub async fn bind(node_ip: &str, port: u16) -> std::io::Result<(Vec<tokio::net::TcpListener>, u16)> {
    let mut listeners = Vec::new();
    let mut port = port;
    for address in listen_addresses(node_ip, port) {
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(address.ip(), port)).await?;
        port = listener.local_addr()?.port();
        listeners.push(listener);
    }
    Ok((listeners, port))
}

/// Serves `app(runtime)` on `listeners` until the task is aborted.
pub async fn serve(listeners: Vec<tokio::net::TcpListener>, runtime: Arc<dyn ContainerRuntime>) {
    let app = app(runtime);
    let mut tasks = tokio::task::JoinSet::new();
    for listener in listeners {
        let app = app.clone();
        tasks.spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "the agent's server stopped");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// A failed request: an HTTP code and a message for people.
#[derive(Debug)]
pub struct ServerError(pub StatusCode, pub String);

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let mut response = (self.0, format!("{}\n", self.1)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}

impl From<LookupError> for ServerError {
    fn from(e: LookupError) -> Self {
        let code = match e {
            LookupError::NotAvailable { .. } => StatusCode::NOT_FOUND,
            LookupError::NoPrevious { .. } => StatusCode::BAD_REQUEST,
        };
        ServerError(code, e.to_string())
    }
}

impl From<RuntimeError> for ServerError {
    fn from(e: RuntimeError) -> Self {
        let code = match e {
            RuntimeError::NotFound(_) => StatusCode::NOT_FOUND,
            RuntimeError::InvalidConfig(_) => StatusCode::BAD_REQUEST,
            RuntimeError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ServerError(code, e.to_string())
    }
}

/// Query parameters in order; a name may repeat (`command=ls&command=-l`).
pub fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    let decode = |text: &str| {
        let spaced = text.replace('+', " ");
        urlencoding::decode(&spaced).map(|s| s.into_owned()).unwrap_or(spaced)
    };
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

fn last<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// A boolean parameter as Go reads it (`true`, `1`, `True`...); absent is false.
fn flag(query: &[(String, String)], name: &str) -> Result<bool, ServerError> {
    match last(query, name).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(false),
        Some("true" | "1" | "t" | "yes") => Ok(true),
        Some("false" | "0" | "f" | "no") => Ok(false),
        Some(other) => Err(ServerError(
            StatusCode::BAD_REQUEST,
            format!("invalid value for {name}: {other:?} is not a boolean"),
        )),
    }
}

/// A non-negative integer parameter.
fn number(query: &[(String, String)], name: &str) -> Result<Option<u64>, ServerError> {
    last(query, name)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                ServerError(
                    StatusCode::BAD_REQUEST,
                    format!("invalid value for {name}: {v:?} is not a non-negative integer"),
                )
            })
        })
        .transpose()
}

/// The log options of a request (also used to check them before anything is looked up).
pub fn log_options(query: &[(String, String)]) -> Result<(LogOptions, bool), ServerError> {
    let options = LogOptions {
        follow: flag(query, "follow")?,
        tail_lines: number(query, "tailLines")?,
        since_seconds: number(query, "sinceSeconds")?,
        timestamps: flag(query, "timestamps")?,
    };
    Ok((options, flag(query, "previous")?))
}

async fn container_logs(
    State(state): State<ServerState>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ServerError> {
    let query = parse_query(raw.as_deref());
    let (mut options, previous) = log_options(&query)?;
    let (_, containers) = state.runtime.list_pod(&namespace, &pod).await?;
    let instance = pick_instance(&containers, &namespace, &pod, &container, previous)?;
    // A dead instance writes nothing more: following it would hang until the client gives up.
    options.follow &= !previous;
    let stream = state.runtime.logs(&instance.id, &options).await?;
    let mut response = Response::new(Body::from_stream(
        stream.map(|chunk| chunk.map_err(std::io::Error::other)),
    ));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}

/// What a non-interactive exec answers.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ExecResult {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

async fn exec(
    State(state): State<ServerState>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ServerError> {
    let query = parse_query(raw.as_deref());
    if flag(&query, "tty")? || flag(&query, "stdin")? {
        return Err(ServerError(
            StatusCode::NOT_IMPLEMENTED,
            "interactive exec (tty or stdin) needs a streaming connection: \
             use GET with a WebSocket upgrade (v5.channel.k8s.io)"
                .to_string(),
        ));
    }
    let command: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    if command.is_empty() {
        return Err(ServerError(
            StatusCode::BAD_REQUEST,
            "you must specify at least one command for the container (command=...)".to_string(),
        ));
    }
    let timeout = number(&query, "timeout")?.map_or(DEFAULT_EXEC_TIMEOUT, Duration::from_secs);
    let (_, containers) = state.runtime.list_pod(&namespace, &pod).await?;
    let instance = pick_instance(&containers, &namespace, &pod, &container, false)?;
    if !matches!(instance.state, crate::runtime::ContainerState::Running { .. }) {
        return Err(ServerError(
            StatusCode::BAD_REQUEST,
            format!("container {container:?} in pod {namespace}/{pod} is not running"),
        ));
    }
    let output = state.runtime.exec(&instance.id, &command, timeout).await?;
    let result = ExecResult {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        exit_code: output.exit_code,
    };
    let body = serde_json::to_vec(&result)
        .map_err(|e| ServerError(StatusCode::INTERNAL_SERVER_ERROR, format!("encoding the result: {e}")))?;
    let mut response = Response::new(Body::from(body));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

#[cfg(test)]
mod tests;
