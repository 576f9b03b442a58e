//! # OpenAPI: just enough for `kubectl apply`
//!
//! kubectl downloads the server's OpenAPI documents before `apply` and `create`, to learn two
//! things: which kinds exist at which PATCH paths, and whether the server validates fields
//! itself (the `fieldValidation` query parameter). With both, it sends the manifest as is and
//! lets the server reject misspelt fields (`fieldValidation=Strict`). kubelab serves a minimal
//! v3 document per group version: one PATCH path per kind, tagged with its group, version and
//! kind, and no schemas (kubectl builds strategic merge patches from its own built-in types).
//! `/openapi/v2` is asked for only as protobuf, so it is a 404.

use axum::http::StatusCode;
use axum::response::Response;
use kubelab_api::resource::{group_versions, RESOURCES};
use serde_json::{json, Map, Value};

use crate::error::{json_bytes, ApiError};

/// The hash part of each document's URL; clients cache documents by it.
fn hash() -> String {
    format!("kubelab-{}", env!("CARGO_PKG_VERSION"))
}

fn path_of(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `GET /openapi/v3`: the index of documents.
pub fn index() -> Response {
    let mut paths = Map::new();
    for (group, version) in group_versions() {
        let path = path_of(group, version);
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={}", hash())}),
        );
    }
    json_bytes(
        StatusCode::OK,
        serde_json::to_vec(&json!({"paths": paths})).unwrap_or_default(),
    )
}

/// `GET /openapi/v3/{api/v1 | apis/group/version}`.
pub fn document(rest: &str) -> Result<Response, ApiError> {
    let (group, version) = group_versions()
        .into_iter()
        .find(|(g, v)| path_of(g, v) == rest.trim_matches('/'))
        .ok_or_else(|| ApiError::NoRoute(format!("no OpenAPI document at /openapi/v3/{rest}")))?;
    let mut paths = Map::new();
    for info in RESOURCES.iter().filter(|r| r.group == group && r.version == version) {
        let base = format!("/{}", path_of(group, version));
        let path = if info.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", info.plural)
        } else {
            format!("{base}/{}/{{name}}", info.plural)
        };
        paths.insert(
            path,
            json!({"patch": {
                "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": info.kind},
                "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "OK"}},
            }}),
        );
    }
    let doc: Value = json!({
        "openapi": "3.0.0",
        "info": {"title": "kubelab", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {"schemas": {}},
    });
    Ok(json_bytes(StatusCode::OK, serde_json::to_vec(&doc).unwrap_or_default()))
}
