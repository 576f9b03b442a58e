//! The HTTP layer: one [`Client`] shared by every [`Api`](crate::Api) of a program.
//!
//! Kubernetes' API is plain REST over HTTP: a GET, POST, PUT, PATCH or DELETE on a path such as
//! `/api/v1/namespaces/default/pods/web`, with JSON bodies. [`Client`] knows only that much: the
//! server's base URL, the default namespace, and how to turn an answer into either a decoded
//! body or a [`ClientError`]. Which path names which object is [`Api`](crate::Api)'s business.
//!
//! Two rules every Kubernetes client follows live here:
//!
//! - **A non-2xx answer carries a `Status`** (`{"kind":"Status","code":404,"reason":"NotFound",
//!   ...}`). It becomes [`ClientError::Api`], so callers can ask `err.is_not_found()`.
//! - **Watches have no overall timeout.** An ordinary request gives up after
//!   [`Config::request_timeout`]; a watch stays open as long as the server keeps it (the server
//!   ends it after `timeoutSeconds`), so only the connection itself has a timeout.
//!
//! `Client` is cheap to clone (reqwest's client is a handle to a shared connection pool), so
//! pass clones to every task instead of wrapping it in an `Arc`.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use reqwest::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::Config;
use crate::error::{synthesize_status, ClientError};

/// What every request asks for unless it says otherwise (see `accept.rs` for the others).
const JSON: &str = "application/json";

pub use reqwest::Method;

/// A connection to one API server.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    server: String,
    namespace: String,
    request_timeout: std::time::Duration,
}

/// A request body with its `Content-Type`.
#[derive(Clone, Debug)]
pub struct RequestBody {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl RequestBody {
    /// A JSON body (`application/json`).
    pub fn json<B: Serialize + ?Sized>(body: &B) -> Result<Self, ClientError> {
        Self::json_as("application/json", body)
    }

    /// A JSON body sent under another content type (the patch types are all JSON).
    pub fn json_as<B: Serialize + ?Sized>(content_type: &'static str, body: &B) -> Result<Self, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|source| ClientError::Decode {
            context: "the request body".into(),
            source,
        })?;
        Ok(RequestBody { content_type, bytes })
    }
}

impl Client {
    /// A client for `config`'s server. Fails only for a server URL it cannot talk to
    /// (`https://`, or not a URL at all).
    pub fn new(config: Config) -> Result<Self, ClientError> {
        config.check_server()?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .tcp_nodelay(true)
            .build()
            .map_err(|source| ClientError::Http {
                url: config.server.clone(),
                source,
            })?;
        Ok(Client {
            http,
            inner: Arc::new(Inner {
                server: config.server,
                namespace: config.namespace,
                request_timeout: config.request_timeout,
            }),
        })
    }

    /// A client for the cluster of the usual kubeconfig (see [`Config::infer`]).
    pub fn infer() -> Result<Self, ClientError> {
        Self::new(Config::infer()?)
    }

    /// The namespace `Api::default_namespaced` uses (the kubeconfig context's).
    pub fn default_namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// The server's base URL (`http://127.0.0.1:6443`).
    pub fn server(&self) -> &str {
        &self.inner.server
    }

    /// Sends a request and decodes the JSON answer as `R` (use `serde_json::Value` to keep it
    /// untyped). `path` starts with `/` and may carry a query string.
    pub async fn request<R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<RequestBody>,
    ) -> Result<R, ClientError> {
        let context = format!("{} from {method} {path}", std::any::type_name::<R>());
        let bytes = self.request_bytes(method, path, body).await?;
        serde_json::from_slice(&bytes).map_err(|source| ClientError::Decode { context, source })
    }

    /// Sends a request and returns the body as text (for `pods/{name}/log`).
    pub async fn request_text(&self, method: Method, path: &str) -> Result<String, ClientError> {
        let bytes = self.request_bytes(method, path, None).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Sends a request and returns the raw body once it has all arrived.
    pub async fn request_bytes(
        &self,
        method: Method,
        path: &str,
        body: Option<RequestBody>,
    ) -> Result<Bytes, ClientError> {
        self.request_accept(method, path, JSON, body).await
    }

    /// Sends a GET whose answer is a long stream (a watch, a followed log): no overall timeout,
    /// and the body is handed over chunk by chunk as it arrives.
    pub async fn request_stream(
        &self,
        path: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, ClientError>>, ClientError> {
        self.stream_accept(path, JSON).await
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.inner.server, path)
    }

    /// Sends one request asking for `accept`; a non-2xx answer becomes [`ClientError::Api`].
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        accept: &str,
        body: Option<RequestBody>,
        with_timeout: bool,
    ) -> Result<reqwest::Response, ClientError> {
        tracing::trace!(%method, url, "request");
        let mut request = self
            .http
            .request(method, url)
            .header(ACCEPT, accept)
            .header(USER_AGENT, concat!("kubelab-client/", env!("CARGO_PKG_VERSION")));
        if with_timeout {
            request = request.timeout(self.inner.request_timeout);
        }
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, body.content_type).body(body.bytes);
        }
        let response = request.send().await.map_err(|source| ClientError::Http {
            url: url.to_string(),
            source,
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(error_from_response(response).await)
    }
}

/// Turns a non-2xx answer into [`ClientError::Api`], reading its `Status` body.
async fn error_from_response(response: reqwest::Response) -> ClientError {
    let code = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    ClientError::Api(Box::new(status_from_body(code, &text)))
}

/// The `Status` in an error body, or one made up from the code and the text.
pub(crate) fn status_from_body(code: u16, text: &str) -> kubelab_api::Status {
    match serde_json::from_str::<kubelab_api::Status>(text) {
        Ok(mut status) if status.kind == "Status" || !status.reason.is_empty() => {
            if status.code == 0 {
                status.code = code;
            }
            status
        }
        _ => synthesize_status(code, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bodies_are_parsed_or_synthesized() {
        let body = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","message":"pods \"x\" not found","code":404}"#;
        let status = status_from_body(404, body);
        assert_eq!(status.reason, "NotFound");
        assert_eq!(status.message, "pods \"x\" not found");

        let status = status_from_body(502, "Bad Gateway");
        assert_eq!(status.code, 502);
        assert!(status.message.contains("Bad Gateway"));

        // JSON that is not a Status (an object was expected to be one) is not mistaken for one.
        let status = status_from_body(500, r#"{"kind":"Pod"}"#);
        assert_eq!(status.reason, "InternalError");
    }

    #[test]
    fn https_is_refused_clearly() {
        let err = Client::new(Config::new("https://127.0.0.1:6443")).unwrap_err();
        assert!(err.to_string().contains("TLS is not supported"), "{err}");
        assert!(Client::new(Config::new("http://127.0.0.1:6443/")).is_ok());
    }
}
