//! Requests that ask for a particular representation with their `Accept` header.
//!
//! Most clients want the object itself as JSON, and [`Client::request`] always asks for
//! `application/json`. A few want the server to render it differently: `kubectl get` asks for a
//! server-side **Table** (`application/json;as=Table;v=v1;g=meta.k8s.io,application/json`), so
//! the columns of every kind are decided by the API server, not the CLI; a server that cannot
//! make a Table falls back to the last type listed, plain JSON.
//!
//! These functions send such a request and hand back the raw body (all at once, or chunk by
//! chunk for a watch), leaving the decoding to the caller. Errors are read as everywhere else: a
//! non-2xx answer becomes [`ClientError::Api`] with the server's `Status`.

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};

use crate::client::{Client, Method, RequestBody};
use crate::error::ClientError;

/// kubectl's `Accept` header for `get`: a Table if the server can make one, else JSON.
pub const TABLE_ACCEPT: &str =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

impl Client {
    /// Sends a request with the given `Accept` header and returns the whole body.
    pub async fn request_accept(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        body: Option<RequestBody>,
    ) -> Result<Bytes, ClientError> {
        let url = self.url(path);
        let response = self.send(method, &url, accept, body, true).await?;
        response
            .bytes()
            .await
            .map_err(|source| ClientError::Http { url, source })
    }

    /// A GET whose answer is a long stream (a watch, a followed log), asked for with the given
    /// `Accept` header: no overall timeout, the body handed over chunk by chunk.
    pub async fn stream_accept(
        &self,
        path: &str,
        accept: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, ClientError>>, ClientError> {
        let url = self.url(path);
        let response = self.send(Method::GET, &url, accept, None, false).await?;
        let stream = response.bytes_stream().map(move |chunk| {
            chunk.map_err(|source| ClientError::Http {
                url: url.clone(),
                source,
            })
        });
        Ok(stream.boxed())
    }
}
