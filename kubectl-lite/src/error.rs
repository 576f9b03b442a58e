//! What can go wrong in a command, and how kubectl words it.
//!
//! kubectl users read its errors every day, so kubectl-lite prints them the same way:
//!
//! - the server said no: `Error from server (NotFound): pods "x" not found` (the `Status`'s
//!   `reason` in brackets, then its `message`), sometimes with what was being done in front of
//!   the message (`error when creating "web.yaml": ...`);
//! - the server could not be reached: `The connection to the server 127.0.0.1:6443 was refused -
//!   did you specify the right host or port?`;
//! - everything else (bad flags, unreadable files, unknown kinds): `error: ...`.
//!
//! Every error ends the command with exit code 1, as kubectl's do.

use kubelab_client::ClientError;

/// An error of a kubectl-lite command, displayed exactly as kubectl would print it.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The API server answered with a `Status` saying no. `doing` is what was being attempted,
    /// put in front of the message (`error when creating "web.yaml": `), or empty.
    #[error("Error from server{}: {doing}{message}", reason_part(.reason))]
    Server {
        reason: String,
        doing: String,
        message: String,
    },
    /// The API server could not be reached at all.
    #[error("The connection to the server {0} was refused - did you specify the right host or port?")]
    Unreachable(String),
    /// Any other failure, already worded for the user (printed after `error: `).
    #[error("error: {0}")]
    Msg(String),
}

fn reason_part(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

impl CliError {
    /// An `error: ...` with the given text.
    pub fn msg(text: impl Into<String>) -> Self {
        CliError::Msg(text.into())
    }

    /// A client error, with what was being done put in front of the server's message.
    pub fn doing(err: ClientError, doing: impl Into<String>) -> Self {
        match CliError::from(err) {
            CliError::Server { reason, message, .. } => CliError::Server {
                reason,
                doing: doing.into(),
                message,
            },
            other => other,
        }
    }

    /// Whether this is the server's 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CliError::Server { reason, .. } if reason == "NotFound")
    }
}

impl From<ClientError> for CliError {
    fn from(err: ClientError) -> Self {
        match err {
            ClientError::Api(status) => CliError::Server {
                reason: status.reason.clone(),
                doing: String::new(),
                message: status.message.clone(),
            },
            ClientError::Http { url, source } if source.is_connect() => CliError::Unreachable(host_of(&url)),
            ClientError::Http { url, source } => CliError::Msg(format!("request to {url} failed: {source}")),
            ClientError::Config(e) => CliError::Msg(e.to_string()),
            other => CliError::Msg(other.to_string()),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        CliError::Msg(err.to_string())
    }
}

/// `127.0.0.1:6443` out of `http://127.0.0.1:6443/api/v1/pods`.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worded_as_kubectl() {
        let e = CliError::Server {
            reason: "NotFound".into(),
            doing: String::new(),
            message: "pods \"x\" not found".into(),
        };
        assert_eq!(e.to_string(), "Error from server (NotFound): pods \"x\" not found");
        assert!(e.is_not_found());
        let e = CliError::Server {
            reason: "BadRequest".into(),
            doing: "error when creating \"a.yaml\": ".into(),
            message: "bad".into(),
        };
        assert_eq!(
            e.to_string(),
            "Error from server (BadRequest): error when creating \"a.yaml\": bad"
        );
        assert_eq!(CliError::msg("nope").to_string(), "error: nope");
        assert_eq!(host_of("http://127.0.0.1:6443/api/v1"), "127.0.0.1:6443");
    }
}
