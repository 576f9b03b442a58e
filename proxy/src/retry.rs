//! # Retries: a failed connect goes to another pod
//!
//! Between a pod dying and its removal from Endpoints there is a window (the kubelet must notice,
//! the endpoints controller must write, the watch must deliver) in which the balancer may still
//! pick it. The connect then fails at once (connection refused) or after
//! [`crate::backend::CONNECT_TIMEOUT`]; trying again lets the balancer pick again. Nothing was
//! sent to the pod yet, so a retry can never do a request twice: only connects are retried,
//! never forwarded bytes.

use std::future::{ready, Ready};

use tower::retry::Policy;
use tower::BoxError;

use crate::backend::{Backend, ConnectRequest};

/// How many times a failed connect is tried again, by default.
pub const DEFAULT_RETRIES: u32 = 2;

/// Retry a failed connect up to `remaining` more times.
#[derive(Clone, Copy, Debug)]
pub struct RetryConnect {
    pub remaining: u32,
}

impl Default for RetryConnect {
    fn default() -> Self {
        RetryConnect {
            remaining: DEFAULT_RETRIES,
        }
    }
}

impl Policy<ConnectRequest, Backend, BoxError> for RetryConnect {
    type Future = Ready<()>;

    fn retry(&mut self, _req: &mut ConnectRequest, result: &mut Result<Backend, BoxError>) -> Option<Ready<()>> {
        match result {
            Err(e) if self.remaining > 0 => {
                tracing::debug!(error = %e, "connect failed, trying another backend");
                self.remaining -= 1;
                Some(ready(()))
            }
            _ => None,
        }
    }

    fn clone_request(&mut self, req: &ConnectRequest) -> Option<ConnectRequest> {
        Some(*req)
    }
}
