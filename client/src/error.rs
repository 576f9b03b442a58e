//! Everything that can go wrong when talking to the API server, in one enum.
//!
//! Kubernetes clients meet two very different kinds of failure:
//!
//! - the server **answered**, but said no: the object is not there (404), someone else changed it
//!   first (409 Conflict), the watch history it asked for is gone (410). The answer is a `Status`
//!   object, and callers branch on it: a controller treats "not found" as "already deleted" and a
//!   conflict as "read again and retry". That is [`ClientError::Api`], with the helpers
//!   [`ClientError::is_not_found`], [`ClientError::is_conflict`] and [`ClientError::is_gone`]
//!   (client-go's `apierrors.IsNotFound` and friends).
//! - the server could not be **reached**, or answered something we could not read: the
//!   connection was refused, a body was not JSON. These are [`ClientError::Http`] and
//!   [`ClientError::Decode`]; the usual reaction is to back off and try again.

use kubelab_api::Status;

use crate::config::ConfigError;

/// An error from the kubelab client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a non-2xx code. The body was a Kubernetes `Status`; when it was
    /// not (a proxy's HTML page, say) one is made up from the HTTP code and the body's text.
    /// (Boxed because a `Status` is large, and every `Result` would otherwise carry its size.)
    #[error("{} ({} {})", .0.message, .0.code, .0.reason)]
    Api(Box<Status>),

    /// The request never got an answer: connection refused, reset, timed out.
    #[error("request to {url} failed: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// The server answered, but the body could not be decoded. `context` says what we were
    /// decoding and from where (`Pod from GET /api/v1/namespaces/default/pods/web`).
    #[error("could not decode {context}: {source}")]
    Decode {
        context: String,
        #[source]
        source: serde_json::Error,
    },

    /// The kubeconfig could not be read or does not say how to reach a cluster.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// The request could not even be built: a namespaced object without a namespace, an object
    /// without a name. A bug in the caller, not a problem with the server.
    #[error("invalid request: {0}")]
    Request(String),
}

impl ClientError {
    /// The server's `Status`, if the server answered with one.
    pub fn status(&self) -> Option<&Status> {
        match self {
            ClientError::Api(status) => Some(status),
            _ => None,
        }
    }

    /// The HTTP code the server answered with, if it answered.
    pub fn code(&self) -> Option<u16> {
        self.status().map(|s| s.code)
    }

    /// 404: the object (or the namespace, or the resource) does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }

    /// 409 because the update carried a stale `resourceVersion` (reason `Conflict`): read the
    /// object again and retry. A create of an existing name is also a 409 but with reason
    /// `AlreadyExists`; see [`ClientError::is_already_exists`].
    pub fn is_conflict(&self) -> bool {
        matches!(self.status(), Some(s) if s.code == 409 && s.reason != "AlreadyExists")
    }

    /// 409 AlreadyExists: a create named an object that is already there.
    pub fn is_already_exists(&self) -> bool {
        matches!(self.status(), Some(s) if s.code == 409 && s.reason == "AlreadyExists")
    }

    /// 410 Gone (reason `Expired` or `Gone`): the `resourceVersion` a watch asked for is older
    /// than the history the server keeps. The only way forward is to list again.
    pub fn is_gone(&self) -> bool {
        self.code() == Some(410)
    }

    /// 422 Invalid: the object broke a validation rule; `details.causes` names the fields.
    pub fn is_invalid(&self) -> bool {
        self.code() == Some(422)
    }
}

/// Makes a `Status` for a non-2xx answer whose body was not one.
pub(crate) fn synthesize_status(code: u16, body: &str) -> Status {
    let reason = match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    };
    let text = body.trim();
    let message = if text.is_empty() {
        format!("the server answered HTTP {code} with an empty body")
    } else {
        // A whole HTML error page is no use in a one-line error; keep the start of it.
        let short: String = text.chars().take(300).collect();
        format!("the server answered HTTP {code}: {short}")
    };
    Status::failure(code, reason, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_read_the_status() {
        let not_found = ClientError::Api(Box::new(Status::failure(404, "NotFound", "pods \"web\" not found")));
        assert!(not_found.is_not_found());
        assert!(!not_found.is_conflict());
        assert_eq!(not_found.to_string(), "pods \"web\" not found (404 NotFound)");

        let conflict = ClientError::Api(Box::new(Status::failure(409, "Conflict", "stale")));
        assert!(conflict.is_conflict() && !conflict.is_already_exists());
        let exists = ClientError::Api(Box::new(Status::failure(409, "AlreadyExists", "exists")));
        assert!(exists.is_already_exists() && !exists.is_conflict());
        assert!(ClientError::Api(Box::new(Status::failure(410, "Expired", "too old"))).is_gone());
        assert!(!ClientError::Request("x".into()).is_not_found());
    }

    #[test]
    fn synthesized_status_keeps_code_and_text() {
        let status = synthesize_status(503, "<html>down</html>");
        assert_eq!(status.code, 503);
        assert_eq!(status.reason, "ServiceUnavailable");
        assert!(status.message.contains("down"));
        assert!(synthesize_status(418, "").message.contains("empty body"));
    }
}
