//! # One backend: a TCP connector that counts the connections it holds open
//!
//! The bottom layer of the proxy's tower stack. A "request" is a wish for a connection
//! ([`ConnectRequest`]); the response is an open TCP connection to one pod ([`Backend`]).
//!
//! Least-connections balancing needs to know how many connections each backend holds *now*,
//! not how many connects are in flight. tower's `PendingRequests` counts a request as pending
//! until its completion handle is dropped; by default that happens when the response future
//! resolves (the connect). [`HoldUntilClosed`] moves the handle into the [`Backend`] instead, so
//! the count drops only when the forwarded connection is closed: power-of-two-choices over that
//! count is "pick two pods at random, send the connection to the one with fewer open".
//!
//! A pod whose last connect failed within [`FAILURE_MEMORY`] compares as worse than any pod
//! that did not fail, whatever its count: a passive health check, so that in the moment between
//! a pod dying and its leaving the Endpoints, retries go elsewhere instead of back to it.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tower::load::completion::{TrackCompletion, TrackCompletionFuture};
use tower::load::pending_requests::{Count, Handle, PendingRequests};
use tower::load::Load;
use tower::Service;

/// How long a failed connect makes a backend the balancer's last choice.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(2);

/// How long a connect to a pod may take before it counts as failed (and is retried elsewhere).
/// Pods are on the same bridge: a live one answers in microseconds.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A wish for a connection to some backend of one Service port, on behalf of `client`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectRequest {
    /// Who connected to the Service (used by session affinity and logs).
    pub client: SocketAddr,
}

/// An open connection to one backend.
#[derive(Debug)]
pub struct Backend {
    pub stream: TcpStream,
    /// The pod address it goes to.
    pub addr: SocketAddr,
    /// Keeps this connection counted in its backend's load until dropped.
    load: Option<Handle>,
}

/// Connects to one fixed address, remembering when that last failed.
#[derive(Clone, Debug)]
pub struct Connector {
    pub addr: SocketAddr,
    last_failure: Arc<Mutex<Option<Instant>>>,
}

impl Connector {
    pub fn new(addr: SocketAddr) -> Self {
        Connector {
            addr,
            last_failure: Arc::new(Mutex::new(None)),
        }
    }

    fn failed_recently(&self) -> bool {
        let last = *self.last_failure.lock().unwrap_or_else(|e| e.into_inner());
        last.is_some_and(|t| t.elapsed() < FAILURE_MEMORY)
    }
}

impl Service<ConnectRequest> for Connector {
    type Response = Backend;
    type Error = io::Error;
    type Future = BoxFuture<'static, Result<Backend, io::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: ConnectRequest) -> Self::Future {
        let (addr, last_failure) = (self.addr, self.last_failure.clone());
        Box::pin(async move {
            let result = connect(addr).await;
            if result.is_err() {
                *last_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
            }
            result
        })
    }
}

/// Opens a connection to `addr` with [`CONNECT_TIMEOUT`], Nagle off (the proxy forwards what it
/// reads at once; batching is the endpoints' business).
pub async fn connect(addr: SocketAddr) -> io::Result<Backend> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("connecting to {addr} timed out")))??;
    stream.set_nodelay(true)?;
    Ok(Backend {
        stream,
        addr,
        load: None,
    })
}

/// Attaches the load handle to the connection (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct HoldUntilClosed;

impl TrackCompletion<Handle, Backend> for HoldUntilClosed {
    type Output = Backend;

    fn track_completion(&self, handle: Handle, mut backend: Backend) -> Backend {
        backend.load = Some(handle);
        backend
    }
}

/// A backend as the balancer sees it: a connector whose load is (failed recently, open
/// connections), compared in that order.
pub struct Endpoint {
    inner: PendingRequests<Connector, HoldUntilClosed>,
    connector: Connector,
}

/// The balancer's view of `addr`.
pub fn endpoint(addr: SocketAddr) -> Endpoint {
    let connector = Connector::new(addr);
    Endpoint {
        inner: PendingRequests::new(connector.clone(), HoldUntilClosed),
        connector,
    }
}

impl Load for Endpoint {
    type Metric = (bool, Count);

    fn load(&self) -> (bool, Count) {
        (self.connector.failed_recently(), self.inner.load())
    }
}

impl Service<ConnectRequest> for Endpoint {
    type Response = Backend;
    type Error = io::Error;
    type Future = TrackCompletionFuture<BoxFuture<'static, Result<Backend, io::Error>>, HoldUntilClosed, Handle>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: ConnectRequest) -> Self::Future {
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_load_counts_open_connections_not_connects_in_flight() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut ep = endpoint(addr);
        assert_eq!(ep.load(), (false, Count::default()));
        let a = ep
            .ready()
            .await
            .unwrap()
            .call(ConnectRequest { client: addr })
            .await
            .unwrap();
        let b = ep
            .ready()
            .await
            .unwrap()
            .call(ConnectRequest { client: addr })
            .await
            .unwrap();
        assert_eq!(a.addr, addr);
        let two = ep.load();
        drop(a);
        let one = ep.load();
        assert!(one < two, "{one:?} < {two:?}");
        drop(b);
        assert_eq!(ep.load(), (false, Count::default()));
    }

    #[tokio::test]
    async fn a_closed_port_fails_fast() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let mut ep = endpoint(addr);
        let err = ep
            .ready()
            .await
            .unwrap()
            .call(ConnectRequest { client: addr })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert!(ep.load().0, "a failed connect makes the backend the last choice");
    }
}
