//! # `pods/{name}/exec`: the API server as an upgrade-aware proxy to the node agent
//!
//! `kubectl exec` opens a WebSocket (subprotocol `v5.channel.k8s.io`) to the API server, which
//! checks the request and then gets out of the way, as Kubernetes' `UpgradeAwareProxy` does:
//!
//! ```text
//! kubectl ──GET pods/web/exec?command=sh&stdin=true&tty=true, Upgrade: websocket──▶ apiserver
//!           1. read pod web: the container (the only one, or ?container=), its node, its phase
//!           2. read that Node: InternalIP and status.daemonEndpoints.kubeletEndpoint.Port
//!           3. GET http://<ip>:<port>/exec/default/web/app?command=sh&..., same upgrade ──▶ agent
//!           4. the agent answers 101 Switching Protocols: pass the 101 back to kubectl
//! kubectl ◀═══════════ then bytes both ways, untouched, until either side closes ═══════════▶ agent
//! ```
//!
//! The API server never reads the frames: the channel protocol is between kubectl and the agent
//! (see `kubelab_client::exec::protocol`). What it does check, before anything is upgraded, is
//! what Kubernetes checks, with its wording: the pod exists (404), the container is one of the
//! pod's (`container web is not valid for pod x`), the pod has a node and is not finished, the
//! container is running (`unable to upgrade connection: container not found ("web")`), and
//! the node's address is one the proxy may contact (loopback or a kubelab network; see the log
//! proxy). A request that is not a WebSocket upgrade (kubectl's SPDY fallback, a plain `curl`)
//! gets a 400 `Status` that says what is needed.

use std::net::IpAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use kubelab_api::meta::Status;
use serde_json::Value;

use super::log::{allowed_agent_address, choose_container};
use crate::error::{status_response, ApiError};
use crate::registry::Target;
use crate::state::AppState;

/// How long connecting to an agent may take before the node counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest error body read back from an agent that refused the upgrade.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The stream parameters, each with the kubelet's older name.
const STREAMS: [(&str, &str); 4] = [
    ("stdin", "input"),
    ("stdout", "output"),
    ("stderr", "error"),
    ("tty", "tty"),
];

/// Headers of the WebSocket handshake passed through in each direction.
const CLIENT_HANDSHAKE: [&str; 4] = [
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];
const SERVER_HANDSHAKE: [&str; 3] = [
    "sec-websocket-accept",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];

/// What an exec request asks for, read from its query (where `command` repeats, in order).
#[derive(Debug, PartialEq, Eq)]
pub struct ExecQuery {
    pub command: Vec<String>,
    pub container: Option<String>,
    /// `stdin`, `stdout`, `stderr`, `tty` that are on.
    pub streams: Vec<&'static str>,
}

/// Parses and checks the query as Kubernetes' validation does.
pub fn parse_query(raw: Option<&str>) -> Result<ExecQuery, ApiError> {
    let decode = |text: &str| {
        let spaced = text.replace('+', " ");
        urlencoding::decode(&spaced).map(|s| s.into_owned()).unwrap_or(spaced)
    };
    let pairs: Vec<(String, String)> = raw
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect();
    let last = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let mut streams = Vec::new();
    for (name, old) in STREAMS {
        for key in [name, old] {
            if let Some(value) = last(key).filter(|v| !v.is_empty()) {
                let on = crate::request::parse_bool(value).ok_or_else(|| {
                    ApiError::BadRequest(format!("invalid value for {key}: {value:?} is not a boolean"))
                })?;
                if on && !streams.contains(&name) {
                    streams.push(name);
                }
            }
        }
    }
    let command: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    if command.is_empty() {
        return Err(ApiError::BadRequest(
            "you must specify at least 1 command for the container (command=...)".into(),
        ));
    }
    if !streams.iter().any(|s| *s != "tty") {
        return Err(ApiError::BadRequest(
            "you must specify at least 1 of stdin, stdout, stderr".into(),
        ));
    }
    Ok(ExecQuery {
        command,
        container: last("container").filter(|c| !c.is_empty()).map(String::from),
        streams,
    })
}

/// The agent's path and query for the checked request.
pub fn agent_path(namespace: &str, pod: &str, container: &str, query: &ExecQuery) -> String {
    let path = [namespace, pod, container]
        .map(|p| urlencoding::encode(p).into_owned())
        .join("/");
    let mut params: Vec<String> = query
        .command
        .iter()
        .map(|word| format!("command={}", urlencoding::encode(word)))
        .collect();
    params.extend(query.streams.iter().map(|s| format!("{s}=true")));
    format!("/exec/{path}?{}", params.join("&"))
}

/// The agent's address in a Node object: its InternalIP and kubelet port.
pub fn agent_address(node: &Value) -> Option<(IpAddr, u16)> {
    let ip = node["status"]["addresses"]
        .as_array()?
        .iter()
        .find(|a| a["type"] == "InternalIP")?["address"]
        .as_str()?
        .parse::<IpAddr>()
        .ok()?;
    let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)?;
    Some((ip, port))
}

/// Whether the pod's status reports `container` running (app or init container).
pub fn container_running(pod: &Value, container: &str) -> bool {
    ["containerStatuses", "initContainerStatuses"].iter().any(|field| {
        pod["status"][*field].as_array().is_some_and(|list| {
            list.iter()
                .any(|s| s["name"] == container && s["state"]["running"].is_object())
        })
    })
}

/// Whether the request asks to switch to WebSocket.
fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    let has = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has(header::CONNECTION, "upgrade") && has(header::UPGRADE, "websocket")
}

/// `GET|POST /api/v1/namespaces/{namespace}/pods/{name}/exec`.
pub async fn handle(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    request: Request,
) -> Response {
    match proxy(state, namespace, name, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn read_object(state: &AppState, target: &Target, name: &str) -> Result<Option<Value>, ApiError> {
    let key = target.key(name)?;
    let stored = state
        .store
        .get(&key)
        .await
        .map_err(|e| ApiError::from_store(e, &target.qualified(), name))?;
    stored
        .map(|s| serde_json::from_slice(&s.raw).map_err(|e| ApiError::Internal(format!("decoding {key}: {e}"))))
        .transpose()
}

fn unavailable(message: String) -> Response {
    status_response(
        StatusCode::SERVICE_UNAVAILABLE,
        &Status::failure(503, "ServiceUnavailable", message),
    )
}

async fn proxy(state: AppState, namespace: String, name: String, mut request: Request) -> Result<Response, ApiError> {
    if request.method() != Method::GET && request.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed(format!(
            "the server does not allow this method on the requested resource ({} pods/exec)",
            request.method()
        )));
    }
    let query = parse_query(request.uri().query())?;
    let resource = |plural: &str| {
        kubelab_api::resource::find("", "v1", plural)
            .ok_or_else(|| ApiError::Internal(format!("the {plural} resource is not registered")))
    };
    let pods = Target::new(resource("pods")?, Some(namespace.clone()));
    let pod = read_object(&state, &pods, &name)
        .await?
        .ok_or_else(|| pods.not_found(&name))?;
    let container = choose_container(&pod, &name, query.container.as_deref())?;
    if let Some(phase @ ("Succeeded" | "Failed")) = pod["status"]["phase"].as_str() {
        return Err(ApiError::BadRequest(format!(
            "cannot exec into a container in a completed pod; current phase is {phase}"
        )));
    }
    let Some(node_name) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) else {
        return Err(ApiError::BadRequest(format!(
            "pod {name} does not have a host assigned"
        )));
    };
    // The agent checks this too, and its word is final; checking the reported status here as
    // well gives kubectl's SPDY retry (after a refused WebSocket) the same answer.
    if !container_running(&pod, &container) {
        return Err(ApiError::BadRequest(format!(
            "unable to upgrade connection: container not found ({container:?})"
        )));
    }
    let Some(node) = read_object(&state, &Target::new(resource("nodes")?, None), node_name).await? else {
        return Ok(unavailable(format!(
            "cannot exec in pod {name}: its node {node_name} does not exist"
        )));
    };
    let Some((ip, port)) = agent_address(&node) else {
        return Ok(unavailable(format!(
            "node {node_name} does not serve exec: it reports no InternalIP address or no kubelet port"
        )));
    };
    if !allowed_agent_address(ip) {
        return Err(ApiError::Forbidden(format!(
            "node {node_name}'s address {ip} is neither a loopback address nor on a kubelab network; \
             the API server does not proxy to it"
        )));
    }

    // Checked last, so that kubectl's SPDY retry after a refused WebSocket shows the same error.
    if !is_websocket_upgrade(request.headers()) {
        return Err(ApiError::BadRequest(
            "Upgrade request required: kubelab serves exec over WebSocket (v5.channel.k8s.io or \
             v4.channel.k8s.io); SPDY is not supported, use kubectl 1.30 or newer"
                .into(),
        ));
    }

    // Ask the agent for the same upgrade.
    let address = std::net::SocketAddr::new(ip, port);
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(address)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => {
            return Ok(unavailable(format!(
                "cannot reach the agent of node {node_name} at {address}: {e}"
            )))
        }
        Err(_) => {
            return Ok(unavailable(format!(
                "cannot reach the agent of node {node_name} at {address}: no answer within {CONNECT_TIMEOUT:?}"
            )))
        }
    };
    let _ = tcp.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(tcp))
        .await
        .map_err(|e| ApiError::Internal(format!("talking to the agent of node {node_name}: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            tracing::debug!(error = %e, "an exec connection to an agent ended with an error");
        }
    });
    let mut forward = axum::http::Request::builder()
        .method(Method::GET)
        .uri(agent_path(&namespace, &name, &container, &query))
        .header(header::HOST, address.to_string())
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket");
    for name in CLIENT_HANDSHAKE {
        if let Some(value) = request.headers().get(name) {
            forward = forward.header(name, value.clone());
        }
    }
    let forward = forward
        .body(Body::empty())
        .map_err(|e| ApiError::Internal(format!("building the agent request: {e}")))?;
    let answer = sender
        .send_request(forward)
        .await
        .map_err(|e| ApiError::Internal(format!("the agent of node {node_name} failed: {e}")))?;

    if answer.status() != StatusCode::SWITCHING_PROTOCOLS {
        let code = answer.status();
        let body = axum::body::to_bytes(Body::new(answer.into_body()), MAX_ERROR_BODY)
            .await
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body).trim().to_string();
        return Err(if code.is_client_error() {
            ApiError::BadRequest(format!("unable to upgrade connection: {text}"))
        } else {
            ApiError::Internal(format!("the agent of node {node_name} failed: {text}"))
        });
    }

    let mut reply = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, HeaderValue::from_static("Upgrade"))
        .header(header::UPGRADE, HeaderValue::from_static("websocket"));
    for name in SERVER_HANDSHAKE {
        if let Some(value) = answer.headers().get(name) {
            reply = reply.header(name, value.clone());
        }
    }
    let reply = reply
        .body(Body::empty())
        .map_err(|e| ApiError::Internal(format!("building the upgrade answer: {e}")))?;
    let client_side = hyper::upgrade::on(&mut request);
    let agent_side = hyper::upgrade::on(answer);
    let stopping = state.shutdown_signal();
    tokio::spawn(async move {
        let (client, agent) = match tokio::try_join!(client_side, agent_side) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::debug!(error = %e, "an exec upgrade did not complete");
                return;
            }
        };
        let (mut client, mut agent) = (TokioIo::new(client), TokioIo::new(agent));
        tokio::select! {
            copied = tokio::io::copy_bidirectional(&mut client, &mut agent) => {
                if let Err(e) = copied {
                    tracing::debug!(error = %e, "an exec stream ended with an error");
                }
            }
            () = stopping => {}
        }
    });
    Ok(reply)
}

#[cfg(test)]
mod tests;
