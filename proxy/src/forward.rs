//! # Forwarding: accept on a Service port, splice bytes to the chosen pod
//!
//! One listener per Service port. Each accepted connection asks the routing stack for a backend
//! connection, then copies bytes both ways until either side closes. The proxy never parses
//! what it forwards (it is a layer-4 proxy, as kube-proxy is); an HTTP-aware layer would go here.
//!
//! A connection that gets no backend is closed with a TCP reset (SO_LINGER 0), so the client
//! sees "connection reset" at once, the nearest a user-space proxy that already accepted can
//! come to the "connection refused" of kube-proxy's iptables REJECT rule.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tower::{Service, ServiceExt};

use crate::backend::{Backend, ConnectRequest};
use crate::route::RouteError;

/// Accepts connections on `listener` forever, forwarding each through `route`.
pub async fn serve<R>(listener: TcpListener, route: R)
where
    R: Service<ConnectRequest, Response = Backend, Error = RouteError> + Clone + Send + 'static,
    R::Future: Send,
{
    loop {
        let (inbound, client) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait a little instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let route = route.clone();
        tokio::spawn(async move { forward(inbound, client, route).await });
    }
}

/// [`serve`] on a socket opened outside this runtime ([`crate::listen`]): it joins this
/// runtime's `epoll` first, so its connections are served by the thread that runs this task.
pub async fn serve_std<R>(listener: std::net::TcpListener, route: R)
where
    R: Service<ConnectRequest, Response = Backend, Error = RouteError> + Clone + Send + 'static,
    R::Future: Send,
{
    match TcpListener::from_std(listener) {
        Ok(listener) => serve(listener, route).await,
        Err(e) => tracing::error!(error = %e, "cannot watch the listening socket"),
    }
}

async fn forward<R>(mut inbound: TcpStream, client: SocketAddr, route: R)
where
    R: Service<ConnectRequest, Response = Backend, Error = RouteError>,
{
    let _ = inbound.set_nodelay(true);
    match route.oneshot(ConnectRequest { client }).await {
        Ok(mut backend) => {
            if let Err(e) = tokio::io::copy_bidirectional(&mut inbound, &mut backend.stream).await {
                tracing::trace!(%client, backend = %backend.addr, error = %e, "connection ended with an error");
            }
        }
        Err(e) => {
            tracing::debug!(%client, error = %e, "no backend: resetting the connection");
            reset(inbound);
        }
    }
}

/// Closes with RST instead of FIN: linger zero makes the close discard and reset (with linger
/// zero the close never blocks, which is why tokio allows this one linger setting).
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}
