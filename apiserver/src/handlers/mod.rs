//! # HTTP handlers
//!
//! Every resource URL goes through [`resource`]: it parses the path into a verb on a resource
//! ([`crate::request`]), checks the resource exists and the URL's scope fits it (a namespaced
//! kind needs a namespace, except to list or watch across all of them), reads the body within
//! the size limit, and hands a [`Call`] to the handler for that verb and subresource. The
//! handlers translate between HTTP and the registry; the semantics live in
//! [`crate::registry`].

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use kubelab_api::codec::FieldValidation;

use crate::error::{json_bytes, ApiError};
use crate::protobuf;
use crate::registry::{Target, WriteOptions};
use crate::request::{parse_route, Query, RequestInfo, Route, Verb};
use crate::state::AppState;

pub mod binding;
pub mod discovery;
pub mod exec;
pub mod health;
pub mod list;
pub mod log;
pub mod objects;
pub mod openapi;
pub mod patch;
pub mod scale;
pub mod watch;

/// One resource request, parsed.
pub struct Call {
    pub state: AppState,
    pub target: Target,
    pub request: RequestInfo,
    pub query: Query,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Call {
    /// The object name of the URL (the dispatcher only routes named verbs with one).
    pub fn name(&self) -> Result<&str, ApiError> {
        self.request
            .name
            .as_deref()
            .ok_or_else(|| ApiError::MethodNotAllowed("a name is required".into()))
    }

    /// `fieldValidation` and `dryRun` of a write.
    pub fn write_options(&self) -> Result<WriteOptions, ApiError> {
        let validation = match self.query.get("fieldValidation") {
            None => FieldValidation::Strict,
            Some(text) => FieldValidation::parse(text).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "fieldValidation parameter {text:?} is unsupported: supported values are \"Ignore\", \"Warn\", \"Strict\""
                ))
            })?,
        };
        Ok(WriteOptions {
            validation,
            dry_run: dry_run(&self.query)?,
        })
    }
}

/// `dryRun=All` (the only value Kubernetes defines).
pub fn dry_run(query: &Query) -> Result<bool, ApiError> {
    match query.get("dryRun") {
        None => Ok(false),
        Some("All") => Ok(true),
        Some(other) => Err(ApiError::BadRequest(format!(
            "unsupported dry run value {other:?}: only \"All\" is supported"
        ))),
    }
}

/// The entry point for everything under `/api/` and `/apis/`.
pub async fn resource(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match dispatch(state, method, uri, headers, body).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn dispatch(
    state: AppState,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let query = Query::parse(uri.query());
    let request = match parse_route(&method, uri.path(), &query)? {
        Route::GroupVersion { group, version } => {
            only_get(&method)?;
            return discovery::group_version(&state, &group, &version);
        }
        Route::Group { group } => {
            only_get(&method)?;
            return discovery::group(&group);
        }
        Route::Resource(request) => request,
    };
    let info = kubelab_api::resource::find(&request.group, &request.version, &request.resource).ok_or_else(|| {
        ApiError::NoRoute(format!(
            "the server could not find the requested resource (path {})",
            uri.path()
        ))
    })?;
    if let Some(sub) = request.subresource.as_deref() {
        if !info.has_subresource(sub) {
            return Err(ApiError::NoRoute(format!(
                "the server could not find the requested resource (path {})",
                uri.path()
            )));
        }
    }
    check_scope(info, &request, uri.path())?;
    let body = match method {
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE => read_body(&state, &headers, body).await?,
        _ => Bytes::new(),
    };
    let target = Target::new(info, request.namespace.clone());
    let call = Call {
        state,
        target,
        request,
        query,
        headers,
        body,
    };
    let sub = call.request.subresource.clone();
    match (sub.as_deref(), call.request.verb) {
        (None, Verb::Get) => objects::get(&call).await,
        (None, Verb::List) => list::list(&call).await,
        (None, Verb::Watch) => watch::watch(&call).await,
        (None, Verb::Create) if call.request.name.is_none() => objects::create(&call).await,
        (None, Verb::Update) => objects::update(&call).await,
        (None, Verb::Patch) => patch::patch(&call).await,
        (None, Verb::Delete) => objects::delete(&call).await,
        (None, Verb::DeleteCollection) => objects::delete_collection(&call).await,
        (Some("status"), Verb::Get) => objects::get(&call).await,
        (Some("status"), Verb::Update) => objects::update(&call).await,
        (Some("status"), Verb::Patch) => patch::patch(&call).await,
        (Some("binding"), Verb::Create) => binding::bind(&call).await,
        (Some("log"), Verb::Get) => log::get(&call).await,
        (Some("scale"), Verb::Get) => scale::get(&call).await,
        (Some("scale"), Verb::Update) => scale::update(&call).await,
        (Some("scale"), Verb::Patch) => patch::patch(&call).await,
        (_, verb) => Err(ApiError::MethodNotAllowed(format!(
            "the server does not allow this method on the requested resource ({} {})",
            verb.as_str(),
            uri.path()
        ))),
    }
}

fn only_get(method: &Method) -> Result<(), ApiError> {
    if *method == Method::GET || *method == Method::HEAD {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed(format!(
            "the server does not allow this method on the requested resource ({method})"
        )))
    }
}

/// A namespaced kind needs a namespace in the URL, except to list or watch across all of them;
/// a cluster-scoped kind must not have one.
fn check_scope(info: &kubelab_api::ResourceInfo, request: &RequestInfo, path: &str) -> Result<(), ApiError> {
    let not_found = || {
        ApiError::NoRoute(format!(
            "the server could not find the requested resource (path {path})"
        ))
    };
    match (info.namespaced, request.namespace.is_some()) {
        (false, true) => Err(not_found()),
        (true, false) => match (request.verb, &request.name) {
            (Verb::List | Verb::Watch, None) => Ok(()),
            (_, Some(_)) => Err(not_found()),
            _ => Err(ApiError::MethodNotAllowed(format!(
                "{} must be {} in a namespace: use .../namespaces/{{namespace}}/{}",
                info.plural,
                request.verb.as_str(),
                info.plural
            ))),
        },
        _ => Ok(()),
    }
}

/// Reads the whole body, refusing more than the configured limit with 413.
async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let limit = state.options.max_body_bytes;
    let too_large =
        || ApiError::RequestEntityTooLarge(format!("the request body is larger than the limit of {limit} bytes"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let media_type = body_media_type(headers);
    if media_type.as_deref() == Some("application/cbor") {
        return Err(ApiError::UnsupportedMediaType(
            "the body of the request was in an unknown format - accepted media types include: \
             application/json, application/yaml, application/vnd.kubernetes.protobuf (not application/cbor)"
                .into(),
        ));
    }
    // The only way reading a body with a limit fails, besides the limit, is a client that went
    // away; nobody reads the answer then, so 413 is as good as any.
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    if media_type.as_deref() == Some(protobuf::MEDIA_TYPE) {
        return protobuf_to_json(&bytes);
    }
    Ok(bytes)
}

/// The body's media type, lower case, without parameters (`application/json`).
fn body_media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

/// kubectl's `create` generators send protobuf (see [`crate::protobuf`]); everything after this
/// point reads JSON. A broken body is 400; a kind or field kubelab cannot read is 415, in
/// kube-apiserver's words, naming what it could not read.
fn protobuf_to_json(bytes: &[u8]) -> Result<Bytes, ApiError> {
    match protobuf::to_json(bytes) {
        Ok(json) => Ok(Bytes::from(json)),
        Err(err) if err.is_malformed() => Err(ApiError::BadRequest(format!("error decoding the protobuf body: {err}"))),
        Err(err) => Err(ApiError::UnsupportedMediaType(format!(
            "the body of the request was in an unknown format - {err}"
        ))),
    }
}

/// An object (or list) response from JSON bytes, with any admission warnings as `Warning`
/// headers (`299 - "unknown field \"spec.foo\""`), which kubectl prints.
pub fn object_response(code: StatusCode, raw: impl Into<Body>, warnings: &[String]) -> Response {
    let mut response = json_bytes(code, raw);
    for warning in warnings {
        let escaped = warning.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(value) = HeaderValue::from_str(&format!("299 - \"{escaped}\"")) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    response
}

/// 404 for paths outside the API.
pub async fn not_found(uri: Uri) -> Response {
    ApiError::NoRoute(format!(
        "the server could not find the requested resource (path {})",
        uri.path()
    ))
    .into_response()
}
