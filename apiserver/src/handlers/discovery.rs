//! # Discovery: how clients learn what this server serves
//!
//! kubectl hard-codes no resource list: before every command it asks the server. `/api` and
//! `/apis` list the API groups and versions, `/api/v1` and `/apis/{group}/{version}` list each
//! resource with its kind, scope, verbs and short names. That is how `kubectl get deploy` knows
//! `deploy` means `deployments` in `apps/v1`, namespaced. `/version` tells kubectl which
//! Kubernetes release to behave like.
//!
//! kubectl first asks for the newer *aggregated* discovery format in its Accept header; it
//! accepts this plain (legacy) format as an answer too, which is all kubelab serves.

use axum::http::StatusCode;
use axum::response::Response;
use kubelab_api::resource::{group_versions, RESOURCES};
use kubelab_api::ResourceInfo;
use serde_json::{json, Value};

use crate::error::{json_bytes, ApiError};
use crate::state::AppState;

fn respond(value: &Value) -> Response {
    json_bytes(StatusCode::OK, serde_json::to_vec(value).unwrap_or_default())
}

/// `GET /api`.
pub fn core_versions(state: &AppState) -> Response {
    respond(&json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": state.options.server_address}],
    }))
}

fn group_entry(group: &str) -> Option<Value> {
    let versions: Vec<Value> = group_versions()
        .into_iter()
        .filter(|(g, _)| *g == group)
        .map(|(g, v)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first()?.clone();
    Some(json!({"name": group, "versions": versions, "preferredVersion": preferred}))
}

/// `GET /apis`.
pub fn groups() -> Response {
    let mut names: Vec<&str> = Vec::new();
    for (group, _) in group_versions() {
        if !group.is_empty() && !names.contains(&group) {
            names.push(group);
        }
    }
    let groups: Vec<Value> = names.into_iter().filter_map(group_entry).collect();
    respond(&json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
}

/// `GET /apis/{group}`.
pub fn group(group: &str) -> Result<Response, ApiError> {
    let mut entry = group_entry(group).ok_or_else(|| {
        ApiError::NoRoute(format!(
            "the server could not find the requested resource (group {group})"
        ))
    })?;
    entry["kind"] = json!("APIGroup");
    entry["apiVersion"] = json!("v1");
    Ok(respond(&entry))
}

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// The discovery entries of one resource: itself, then its subresources.
fn resource_entries(info: &ResourceInfo) -> Vec<Value> {
    let mut out = vec![json!({
        "name": info.plural,
        "singularName": info.singular,
        "namespaced": info.namespaced,
        "kind": info.kind,
        "verbs": VERBS,
        "shortNames": info.short_names,
        "categories": info.categories,
    })];
    for sub in info.subresources {
        let entry = match *sub {
            "status" => {
                json!({"name": format!("{}/status", info.plural), "singularName": "", "namespaced": info.namespaced, "kind": info.kind, "verbs": ["get", "patch", "update"]})
            }
            "scale" => {
                json!({"name": format!("{}/scale", info.plural), "singularName": "", "namespaced": info.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]})
            }
            "binding" => {
                json!({"name": format!("{}/binding", info.plural), "singularName": "", "namespaced": info.namespaced, "kind": "Binding", "verbs": ["create"]})
            }
            "log" => {
                json!({"name": format!("{}/log", info.plural), "singularName": "", "namespaced": info.namespaced, "kind": info.kind, "verbs": ["get"]})
            }
            other => {
                json!({"name": format!("{}/{other}", info.plural), "singularName": "", "namespaced": info.namespaced, "kind": info.kind, "verbs": ["get"]})
            }
        };
        out.push(entry);
    }
    out
}

/// `GET /api/v1`, `GET /apis/{group}/{version}`.
pub fn group_version(_state: &AppState, group: &str, version: &str) -> Result<Response, ApiError> {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .flat_map(resource_entries)
        .collect();
    if resources.is_empty() {
        return Err(ApiError::NoRoute(format!(
            "the server could not find the requested resource (group version {group}/{version})"
        )));
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Ok(respond(
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    ))
}

/// `GET /version`: a Kubernetes 1.32 version, so kubectl's version dispatcher picks kubectl 1.32.
pub fn version() -> Response {
    respond(&json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-kubelab",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    }))
}

/// Go's name for the CPU architecture, as Kubernetes reports it.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}
