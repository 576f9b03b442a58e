//! # Routing: the outermost layer, deciding before any balancing
//!
//! For each new connection to a Service port, [`Route`] decides what kind of answer it gets:
//!
//! - **no ready backend**: an error at once, and the listener resets the client's connection.
//!   A client must learn "nothing serves this" immediately, not hang until its own timeout;
//! - **session affinity**: a client that has a backend (and that backend is still ready) goes
//!   straight to it, bypassing the balancer;
//! - otherwise the connection goes down the balanced, retrying stack of [`crate::balance`].
//!
//! This is where a service mesh's routing rules (by header, by weight, canaries) would sit:
//! they decide *which* pool, before the pool decides which pod.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::watch;
use tower::{BoxError, Service, ServiceExt};

use crate::affinity::Affinity;
use crate::backend::{connect, Backend, ConnectRequest, CONNECT_TIMEOUT};

/// Why a connection got no backend.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// The Service has no ready endpoints (none selected, none ready, or no Endpoints object).
    #[error("service port has no ready endpoints")]
    NoEndpoints,
    /// Every attempt failed (the balancer's retries included).
    #[error("no backend accepted the connection: {0}")]
    Connect(BoxError),
    /// The balancer did not answer in time (the last backend left while this connection waited).
    #[error("no backend within {0:?}")]
    Timeout(Duration),
}

/// How long a connection may wait for the balancer before it is given up.
const ROUTE_TIMEOUT: Duration = Duration::from_secs(4);

/// The routing layer over a balanced service `S`.
#[derive(Clone)]
pub struct Route<S> {
    inner: S,
    backends: watch::Receiver<Arc<BTreeSet<SocketAddr>>>,
    affinity: Arc<Affinity>,
}

impl<S> Route<S> {
    pub fn new(inner: S, backends: watch::Receiver<Arc<BTreeSet<SocketAddr>>>, affinity: Arc<Affinity>) -> Self {
        Route {
            inner,
            backends,
            affinity,
        }
    }
}

impl<S> Service<ConnectRequest> for Route<S>
where
    S: Service<ConnectRequest, Response = Backend, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Backend;
    type Error = RouteError;
    type Future = Pin<Box<dyn Future<Output = Result<Backend, RouteError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), RouteError>> {
        // Readiness is the balancer's business, per connection (see `call`).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ConnectRequest) -> Self::Future {
        let backends = self.backends.borrow().clone();
        let (inner, affinity) = (self.inner.clone(), self.affinity.clone());
        Box::pin(async move {
            if backends.is_empty() {
                return Err(RouteError::NoEndpoints);
            }
            let ip = request.client.ip();
            if let Some(pinned) = affinity.get(ip) {
                if backends.contains(&pinned) {
                    match connect(pinned).await {
                        Ok(backend) => return Ok(backend),
                        Err(e) => tracing::debug!(%pinned, error = %e, "sticky backend failed, balancing"),
                    }
                }
                affinity.forget(ip);
            }
            let backend = tokio::time::timeout(ROUTE_TIMEOUT, inner.oneshot(request))
                .await
                .map_err(|_| RouteError::Timeout(ROUTE_TIMEOUT))?
                .map_err(RouteError::Connect)?;
            affinity.insert(ip, backend.addr);
            Ok(backend)
        })
    }
}

/// The route's deadline leaves room for the first connect and every retry's.
const _: () = assert!(ROUTE_TIMEOUT.as_secs() > CONNECT_TIMEOUT.as_secs() * 3);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::Pool;
    use tokio::net::TcpListener;

    async fn listener() -> (TcpListener, SocketAddr) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        (l, a)
    }

    #[tokio::test]
    async fn no_backends_is_an_error_at_once() {
        let pool = Pool::new();
        let route = Route::new(pool.service(), pool.subscribe(), Arc::default());
        let client = "127.0.0.1:5".parse().unwrap();
        let err = route.oneshot(ConnectRequest { client }).await.unwrap_err();
        assert!(matches!(err, RouteError::NoEndpoints), "{err}");
    }

    #[tokio::test]
    async fn client_ip_affinity_sticks_and_moves_when_the_backend_leaves() {
        let (_l1, a1) = listener().await;
        let (_l2, a2) = listener().await;
        let (_l3, a3) = listener().await;
        let pool = Pool::new();
        pool.set_backends(&[a1, a2, a3].into());
        let affinity = Arc::new(Affinity::default());
        affinity.set_timeout(Some(Duration::from_secs(60)));
        let route = Route::new(pool.service(), pool.subscribe(), affinity);
        let client: SocketAddr = "127.0.0.1:5".parse().unwrap();
        let first = route.clone().oneshot(ConnectRequest { client }).await.unwrap();
        let mut held = vec![];
        for _ in 0..10 {
            let b = route.clone().oneshot(ConnectRequest { client }).await.unwrap();
            assert_eq!(b.addr, first.addr);
            held.push(b);
        }
        let rest: BTreeSet<_> = [a1, a2, a3].into_iter().filter(|a| *a != first.addr).collect();
        pool.set_backends(&rest);
        let moved = route.clone().oneshot(ConnectRequest { client }).await.unwrap();
        assert_ne!(moved.addr, first.addr);
        let again = route.oneshot(ConnectRequest { client }).await.unwrap();
        assert_eq!(again.addr, moved.addr);
    }
}
