//! # API errors, and the one place they become `Status` responses
//!
//! Every Kubernetes client understands failures the same way: an HTTP code plus a `Status` body
//! whose `reason` is a machine-readable word (`NotFound`, `Conflict`, `Invalid`...). Clients act
//! on the reason, not the message: a controller that gets `Conflict` re-reads and retries, a
//! watcher that gets `Expired` (410) lists again, kubectl's `apply` treats `NotFound` as "create
//! it". So every handler returns an [`ApiError`], and [`ApiError::to_status`] is the single
//! mapping from error to wire format; nothing else in the server writes an error body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kubelab_api::resource::AdmitError;
use kubelab_api::validation::FieldError;
use kubelab_api::{Status, StatusCause, StatusDetails};

use crate::store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404: no such object. `resource` is the group-qualified plural (`pods`,
    /// `deployments.apps`), as Kubernetes writes it in the message and in `details.kind`.
    #[error("{resource} \"{name}\" not found")]
    NotFound { resource: String, name: String },
    /// 404: the URL names no resource or route we serve.
    #[error("{0}")]
    NoRoute(String),
    /// 409: `create` of a name that is taken.
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists { resource: String, name: String },
    /// 409: a stale `resourceVersion`, a failed precondition, or a state that forbids the
    /// change (a pod already bound). `message` is the full text.
    #[error("{message}")]
    Conflict {
        resource: String,
        name: String,
        message: String,
    },
    /// 422: the object decodes but breaks the rules; one cause per bad field.
    #[error("{kind} \"{name}\" is invalid: {}", join(.errors))]
    Invalid {
        kind: String,
        group: String,
        name: String,
        errors: Vec<FieldError>,
    },
    /// 422 without field causes: a patch that cannot be applied.
    #[error("{0}")]
    Unprocessable(String),
    /// 400: the request itself is malformed (bad JSON or YAML, wrong field types, unknown
    /// fields under Strict validation, a selector that does not parse).
    #[error("{0}")]
    BadRequest(String),
    /// 410 Expired: the revision asked for is older than the kept history.
    #[error("{0}")]
    Gone(String),
    /// 403: the request is understood but not allowed (deleting `default`, creating in a
    /// namespace that is being deleted).
    #[error("{0}")]
    Forbidden(String),
    /// 405: the resource exists but not with this verb.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 413: the body is bigger than the server accepts.
    #[error("{0}")]
    RequestEntityTooLarge(String),
    /// 415: a PATCH with a Content-Type that names no patch format.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 500: the storage backend failed. Only real failures end up here.
    #[error("{0}")]
    Internal(String),
}

fn join(errors: &[FieldError]) -> String {
    match errors {
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

impl ApiError {
    pub fn not_found(resource: impl Into<String>, name: impl Into<String>) -> Self {
        ApiError::NotFound {
            resource: resource.into(),
            name: name.into(),
        }
    }

    /// Kubernetes' optimistic-concurrency message, word for word: clients and people both
    /// recognise it.
    pub fn stale(resource: &str, name: &str) -> Self {
        ApiError::Conflict {
            resource: resource.to_string(),
            name: name.to_string(),
            message: format!(
                "Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
        }
    }

    /// Maps an admission failure for `kind` (`Pod`) in `group`.
    pub fn from_admit(err: AdmitError, group: &str) -> Self {
        match err {
            AdmitError::Decode { .. } | AdmitError::WrongKind(_) => ApiError::BadRequest(err.to_string()),
            AdmitError::Invalid { kind, name, errors } => ApiError::Invalid {
                kind: kind.to_string(),
                group: group.to_string(),
                name,
                errors,
            },
        }
    }

    /// Maps a store failure that has no better meaning where it happened.
    pub fn from_store(err: StoreError, resource: &str, name: &str) -> Self {
        match err {
            StoreError::NotFound(_) => ApiError::not_found(resource, name),
            StoreError::AlreadyExists(_) => ApiError::AlreadyExists {
                resource: resource.into(),
                name: name.into(),
            },
            StoreError::Conflict { .. } => ApiError::stale(resource, name),
            StoreError::Gone { requested, oldest } => ApiError::gone(requested, oldest),
            StoreError::WatcherTooSlow => ApiError::Gone(err.to_string()),
            StoreError::Corrupt { .. } | StoreError::UnknownKey { .. } | StoreError::Backend(_) => {
                ApiError::Internal(err.to_string())
            }
        }
    }

    /// 410 with Kubernetes' wording, which client-go's reflector matches on.
    pub fn gone(requested: u64, oldest: u64) -> Self {
        ApiError::Gone(format!("too old resource version: {requested} ({oldest})"))
    }

    pub fn code(&self) -> StatusCode {
        match self {
            ApiError::NotFound { .. } | ApiError::NoRoute(_) => StatusCode::NOT_FOUND,
            ApiError::AlreadyExists { .. } | ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Invalid { .. } | ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RequestEntityTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `reason` word clients switch on.
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::NoRoute(_) => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Invalid { .. } | ApiError::Unprocessable(_) => "Invalid",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Gone(_) => "Expired",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::MethodNotAllowed(_) => "MethodNotAllowed",
            ApiError::RequestEntityTooLarge(_) => "RequestEntityTooLarge",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::Internal(_) => "InternalError",
        }
    }

    /// The `Status` body for this error.
    pub fn to_status(&self) -> Status {
        let mut status = Status::failure(self.code().as_u16(), self.reason(), self.to_string());
        status.details = match self {
            ApiError::NotFound { resource, name }
            | ApiError::AlreadyExists { resource, name }
            | ApiError::Conflict { resource, name, .. } => Some(details_for(resource, name)),
            ApiError::Invalid {
                kind,
                group,
                name,
                errors,
            } => Some(StatusDetails {
                name: Some(name.clone()),
                group: (!group.is_empty()).then(|| group.clone()),
                kind: Some(kind.clone()),
                causes: errors
                    .iter()
                    .map(|e| StatusCause {
                        reason: e.kind.reason().into(),
                        message: e.message(),
                        field: e.field.clone(),
                    })
                    .collect(),
                ..Default::default()
            }),
            _ => None,
        };
        status
    }
}

/// `details` for errors about one object: Kubernetes puts the plural in `kind` and the group
/// apart (`deployments.apps` → kind `deployments`, group `apps`).
fn details_for(resource: &str, name: &str) -> StatusDetails {
    let (kind, group) = match resource.split_once('.') {
        Some((plural, group)) => (plural.to_string(), Some(group.to_string())),
        None => (resource.to_string(), None),
    };
    StatusDetails {
        name: Some(name.to_string()),
        group,
        kind: Some(kind),
        ..Default::default()
    }
}

impl From<StoreError> for ApiError {
    /// Used where the key alone is all we know; handlers prefer [`ApiError::from_store`].
    fn from(err: StoreError) -> Self {
        ApiError::from_store(err, "", "")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, ApiError::Internal(_)) {
            tracing::error!(error = %self, "internal error");
        }
        status_response(self.code(), &self.to_status())
    }
}

/// A JSON response with the given code.
pub fn status_response(code: StatusCode, status: &Status) -> Response {
    let body = serde_json::to_vec(status).unwrap_or_default();
    json_bytes(code, body)
}

/// A response carrying JSON bytes that are already encoded.
pub fn json_bytes(code: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = code;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_names_the_plural_and_group() {
        let status = ApiError::not_found("deployments.apps", "web").to_status();
        assert_eq!(status.code, 404);
        assert_eq!(status.reason, "NotFound");
        assert_eq!(status.message, "deployments.apps \"web\" not found");
        let details = status.details.unwrap();
        assert_eq!(details.kind.as_deref(), Some("deployments"));
        assert_eq!(details.group.as_deref(), Some("apps"));
    }

    #[test]
    fn invalid_has_one_cause_per_field() {
        let err = ApiError::Invalid {
            kind: "Pod".into(),
            group: String::new(),
            name: "Web".into(),
            errors: vec![
                FieldError::required("spec.containers"),
                FieldError::invalid("metadata.name", "Web", "bad"),
            ],
        };
        let status = err.to_status();
        assert_eq!(status.code, 422);
        assert!(
            status.message.starts_with("Pod \"Web\" is invalid: ["),
            "{}",
            status.message
        );
        let causes = status.details.unwrap().causes;
        assert_eq!(causes.len(), 2);
        assert_eq!(causes[0].reason, "FieldValueRequired");
        assert_eq!(causes[1].field, "metadata.name");
    }

    #[test]
    fn stale_uses_kubernetes_wording() {
        let status = ApiError::stale("pods", "web").to_status();
        assert_eq!(status.code, 409);
        assert_eq!(
            status.message,
            "Operation cannot be fulfilled on pods \"web\": the object has been modified; please apply your changes to the latest version and try again"
        );
    }
}
