//! # LIST: every object of a kind, filtered and paged
//!
//! A list answers with `metadata.resourceVersion`: the store revision it was read at. That
//! number is what makes list-then-watch work: a client that watches from it sees every change
//! after the list and none before, so its cache never misses an event (client-go's reflector,
//! and kubelab's informer, do exactly this).
//!
//! Paging: with `limit`, the answer carries a `continue` token holding the revision and the
//! key to go on from. Unlike kube-apiserver (which reads every page from the same etcd
//! snapshot), kubelab reads each page from the *current* state, so objects changed between two
//! pages may be seen in their newer state or missed if deleted; a token older than the kept
//! history gets 410 Expired, as in Kubernetes.
//!
//! The JSON is assembled from each object's stored bytes rather than re-encoded: for a list of
//! thousands of pods that is most of the work saved.

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use bytes::Bytes;
use kubelab_api::ResourceInfo;
use serde_json::json;

use super::{object_response, Call};
use crate::error::ApiError;
use crate::filter::Filter;

/// GET on a collection.
pub async fn list(call: &Call) -> Result<Response, ApiError> {
    let info = call.target.info;
    let filter = Filter::parse(info, call.query.get("labelSelector"), call.query.get("fieldSelector"))?;
    let limit = call.query.number("limit")?.filter(|l| *l > 0).map(|l| l as usize);
    let table = crate::table::negotiate(&call.headers, &call.query)?;
    let start = match call.query.get("continue") {
        Some(token) => {
            let token = Token::decode(token)?;
            let compacted = call.state.store.stats().compacted_revision;
            if token.rv < compacted {
                return Err(ApiError::Gone(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.".into(),
                ));
            }
            Some(token.start)
        }
        None => None,
    };
    let listed = call
        .state
        .store
        .list(&call.target.prefix())
        .await
        .map_err(|e| ApiError::from_store(e, &call.target.qualified(), ""))?;
    let mut matching = listed
        .items
        .iter()
        .filter(|item| start.as_deref().is_none_or(|s| item.key.as_str() >= s))
        .filter(|item| filter.matches_stored(item));
    let mut items = Vec::new();
    let mut next = None;
    for item in matching.by_ref() {
        if limit.is_some_and(|l| items.len() >= l) {
            next = Some(item.key.clone());
            break;
        }
        items.push(item);
    }
    let token = next.map(|start| {
        Token {
            rv: listed.revision,
            start,
        }
        .encode()
    });
    if let Some(table) = table {
        let objects: Vec<&serde_json::Value> = items.iter().map(|item| item.value()).collect();
        let rv = listed.revision.to_string();
        return Ok(table.response(&table.build(info, &objects, &rv, token.as_deref(), chrono::Utc::now())));
    }
    let items: Vec<Bytes> = items.iter().map(|item| item.raw.clone()).collect();
    Ok(object_response(
        StatusCode::OK,
        list_body(info, listed.revision, token.as_deref(), &items),
        &[],
    ))
}

/// `{"kind":"PodList","apiVersion":"v1","metadata":{...},"items":[...]}` from stored bytes.
pub fn list_body(info: &ResourceInfo, revision: u64, continue_token: Option<&str>, items: &[Bytes]) -> Vec<u8> {
    let mut metadata = json!({"resourceVersion": revision.to_string()});
    if let Some(token) = continue_token {
        metadata["continue"] = json!(token);
    }
    let head = json!({"kind": format!("{}List", info.kind), "apiVersion": info.api_version(), "metadata": metadata});
    let mut out = serde_json::to_vec(&head).unwrap_or_else(|_| b"{}".to_vec());
    out.pop(); // the closing brace; items follow
    out.extend_from_slice(b",\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.extend_from_slice(b"]}");
    out
}

/// What a `continue` token holds: the revision of the first page, and the key to start from.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Token {
    rv: u64,
    start: String,
}

impl Token {
    fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(text: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::BadRequest(format!("continue key is not valid: {text:?}"));
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        let token = Token {
            rv: 42,
            start: "/registry/pods/default/b".into(),
        };
        assert_eq!(Token::decode(&token.encode()).unwrap(), token);
        assert!(matches!(Token::decode("!!!"), Err(ApiError::BadRequest(_))));
        assert!(matches!(Token::decode("aGVsbG8"), Err(ApiError::BadRequest(_))));
    }

    #[test]
    fn empty_lists_have_items() {
        let pods = kubelab_api::resource::find("", "v1", "pods").unwrap();
        let body: serde_json::Value = serde_json::from_slice(&list_body(pods, 7, None, &[])).unwrap();
        assert_eq!(
            body,
            json!({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[]})
        );
    }
}
