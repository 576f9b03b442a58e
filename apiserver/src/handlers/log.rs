//! # `GET .../pods/{name}/log`: the API server as a proxy to the node agent
//!
//! Container output lives on the node that runs the container, not in storage. So `kubectl logs`
//! asks the API server, and the API server, like Kubernetes', forwards the request:
//!
//! ```text
//! kubectl ──GET pods/web/log?container=app&follow=true──▶ apiserver
//!            1. read pod web: which container (the only one, or ?container=), which node
//!            2. read that Node: its InternalIP and status.daemonEndpoints.kubeletEndpoint.Port
//!            3. GET http://<ip>:<port>/containerLogs/default/web/app?follow=true ──▶ agent
//! kubectl ◀──────── text/plain, streamed chunk by chunk as the agent sends it ────────┘
//! ```
//!
//! The address comes from a Node object that any client allowed to write Nodes can change, so
//! the proxy only connects to a loopback address or to one in the range kubelab's Docker
//! networks use: it must never become a way to make the API server call arbitrary hosts.
//! Failures are `Status` objects with Kubernetes' wording where it has one.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use futures_util::StreamExt;
use kubelab_api::meta::Status;
use serde_json::Value;

use super::Call;
use crate::error::{status_response, ApiError};
use crate::registry::Target;

/// Where kubelab's Docker networks take their subnets (`10.128.0.0/9`, see the agent's
/// `runtime::docker::network`): a node address there is the host's side of a kubelab network.
const KUBELAB_NETWORKS: (Ipv4Addr, u32) = (Ipv4Addr::new(10, 128, 0, 0), 9);

/// How long connecting to an agent may take before the node counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The parameters passed on to the agent, checked here so a typo is a 400 from the API server.
const FLAGS: [&str; 3] = ["follow", "timestamps", "previous"];
const NUMBERS: [&str; 2] = ["tailLines", "sinceSeconds"];

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .unwrap_or_default()
    })
}

/// Whether the proxy may connect to `ip` (loopback, or a kubelab network).
pub fn allowed_agent_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let (base, prefix) = KUBELAB_NETWORKS;
            let mask = u32::MAX << (32 - prefix);
            v4.is_loopback() || (u32::from(v4) & mask) == u32::from(base)
        }
        IpAddr::V6(v6) => v6.is_loopback(),
    }
}

/// The container a log request means: `?container=`, or the pod's only container.
pub fn choose_container(pod: &Value, pod_name: &str, asked: Option<&str>) -> Result<String, ApiError> {
    let names = |field: &str| -> Vec<String> {
        pod["spec"][field]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|c| c["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (containers, init) = (names("containers"), names("initContainers"));
    match asked {
        Some(name) if containers.iter().chain(&init).any(|c| c == name) => Ok(name.to_string()),
        Some(name) => Err(ApiError::BadRequest(format!(
            "container {name} is not valid for pod {pod_name}"
        ))),
        None if containers.len() == 1 => Ok(containers[0].clone()),
        None => {
            let mut message = format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                containers.join(" ")
            );
            if !init.is_empty() {
                message.push_str(&format!(" or one of the init containers: [{}]", init.join(" ")));
            }
            Err(ApiError::BadRequest(message))
        }
    }
}

/// A 503 `Status`: the node's agent cannot serve the request.
fn unavailable(message: String) -> Response {
    status_response(
        StatusCode::SERVICE_UNAVAILABLE,
        &Status::failure(503, "ServiceUnavailable", message),
    )
}

async fn read(call: &Call, target: &Target, name: &str) -> Result<Option<Value>, ApiError> {
    let key = target.key(name)?;
    let stored = call
        .state
        .store
        .get(&key)
        .await
        .map_err(|e| ApiError::from_store(e, &target.qualified(), name))?;
    stored
        .map(|s| serde_json::from_slice(&s.raw).map_err(|e| ApiError::Internal(format!("decoding {key}: {e}"))))
        .transpose()
}

/// `GET /api/v1/namespaces/{ns}/pods/{name}/log`.
pub async fn get(call: &Call) -> Result<Response, ApiError> {
    let name = call.name()?;
    // Check every parameter before anything else, as Kubernetes' validation does.
    let mut forward: Vec<(&str, String)> = Vec::new();
    for flag in FLAGS {
        if call.query.flag(flag)? {
            forward.push((flag, "true".into()));
        }
    }
    for number in NUMBERS {
        if let Some(n) = call.query.number(number)? {
            let (minimum, rule) = match number {
                "sinceSeconds" => (1, "must be greater than 0"),
                _ => (0, "must be greater than or equal to 0"),
            };
            if n < minimum {
                return Err(ApiError::BadRequest(format!("{number}: Invalid value: {n}: {rule}")));
            }
            forward.push((number, n.to_string()));
        }
    }

    let pod = read(call, &call.target, name)
        .await?
        .ok_or_else(|| call.target.not_found(name))?;
    let container = choose_container(&pod, name, call.query.get("container"))?;
    let Some(node_name) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) else {
        return Err(ApiError::BadRequest(format!(
            "pod {name} does not have a host assigned"
        )));
    };

    let nodes = kubelab_api::resource::find("", "v1", "nodes")
        .ok_or_else(|| ApiError::Internal("the nodes resource is not registered".into()))?;
    let Some(node) = read(call, &Target::new(nodes, None), node_name).await? else {
        return Ok(unavailable(format!(
            "cannot get the logs of pod {name}: its node {node_name} does not exist"
        )));
    };
    let address = node["status"]["addresses"]
        .as_array()
        .and_then(|list| list.iter().find(|a| a["type"] == "InternalIP"))
        .and_then(|a| a["address"].as_str())
        .and_then(|a| a.parse::<IpAddr>().ok());
    let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0);
    let (Some(ip), Some(port)) = (address, port) else {
        return Ok(unavailable(format!(
            "node {node_name} does not serve logs: it reports no InternalIP address or no kubelet port"
        )));
    };
    if !allowed_agent_address(ip) {
        return Err(ApiError::Forbidden(format!(
            "node {node_name}'s address {ip} is neither a loopback address nor on a kubelab network; \
             the API server does not proxy to it"
        )));
    }

    let namespace = pod["metadata"]["namespace"].as_str().unwrap_or("default");
    let host = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    let path = [namespace, name, container.as_str()]
        .map(|p| urlencoding::encode(p).into_owned())
        .join("/");
    let query: Vec<String> = forward.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let url = format!("http://{host}:{port}/containerLogs/{path}?{}", query.join("&"));
    let response = match http().get(&url).send().await {
        Ok(response) => response,
        Err(e) => {
            return Ok(unavailable(format!(
                "cannot reach the agent of node {node_name} at {host}:{port}: {e}"
            )))
        }
    };
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        let text = text.trim();
        return Err(if status.is_client_error() {
            ApiError::BadRequest(text.to_string())
        } else {
            ApiError::Internal(format!("the agent of node {node_name} failed: {text}"))
        });
    }
    let stream = response
        .bytes_stream()
        .map(|chunk| chunk.map_err(std::io::Error::other));
    let mut reply = Response::new(Body::from_stream(stream));
    reply
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(reply)
}

#[cfg(test)]
mod tests;
