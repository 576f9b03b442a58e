//! # Balancing: power of two choices over open connections, fed by the Endpoints watch
//!
//! Each Service port has a [`Pool`]: tower's p2c `Balance` over one [`Endpoint`] per ready pod.
//! For every new connection it picks two pods at random and takes the one holding fewer open
//! connections (see [`crate::backend`]). This is the choice Kubernetes' IPVS mode offers as
//! `lc` and what Envoy and linkerd do by default: nearly as good as asking every backend, at
//! the cost of asking two.
//!
//! The balancer learns about pods through tower's `Discover`: [`Pool::set_backends`] diffs the
//! new set against the last one and sends `Insert`/`Remove` changes down a channel. The balancer
//! reads that channel before every pick, so a pod that leaves the Endpoints gets no new
//! connection from the moment the watch event arrives (connections already open stay open, as
//! with kube-proxy).
//!
//! The stack of one pool, outside in: [`crate::retry`] (try another pod when a connect fails) →
//! `Buffer` (shares the one balancer among all connection tasks) → p2c `Balance` → endpoints.
//! Each layer is a plain tower `Service`, so a later layer (latency-aware Peak-EWMA, outlier
//! ejection) replaces one of them without touching the others.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::UnboundedReceiverStream;
use tower::balance::p2c::Balance;
use tower::buffer::Buffer;
use tower::discover::Change;
use tower::util::{BoxCloneSyncService, BoxService};
use tower::{BoxError, ServiceBuilder};

use crate::backend::{endpoint, Backend, ConnectRequest, Endpoint};
use crate::retry::RetryConnect;

/// How many connection requests may wait for the balancer at once, per port.
const BUFFER: usize = 1024;

/// The balanced, retrying connector of one Service port.
pub type BalancedService = BoxCloneSyncService<ConnectRequest, Backend, BoxError>;

/// The backends of one Service port and the balancer over them.
pub struct Pool {
    changes: mpsc::UnboundedSender<Change<SocketAddr, Endpoint>>,
    /// What the balancer has been told, also read by the routing layer (no backend: refuse).
    current: watch::Sender<Arc<BTreeSet<SocketAddr>>>,
    service: BalancedService,
}

impl Pool {
    /// A pool with no backends yet. Must be called inside a tokio runtime (the buffer's worker
    /// is a task).
    pub fn new() -> Pool {
        let (changes, rx) = mpsc::unbounded_channel();
        let discover = UnboundedReceiverStream::new(rx).map(Ok::<_, Infallible>);
        let balance: Balance<_, ConnectRequest> = Balance::new(discover);
        let buffered = Buffer::new(BoxService::new(balance), BUFFER);
        let service = ServiceBuilder::new()
            .layer(tower::retry::RetryLayer::new(RetryConnect::default()))
            .service(buffered);
        Pool {
            changes,
            current: watch::Sender::new(Arc::new(BTreeSet::new())),
            service: BoxCloneSyncService::new(service),
        }
    }

    /// Replaces the set of backends; returns how many were added and removed.
    pub fn set_backends(&self, wanted: &BTreeSet<SocketAddr>) -> (usize, usize) {
        let old = self.current.borrow().clone();
        let (added, removed) = diff(&old, wanted);
        for addr in &removed {
            // The receiver lives as long as the balancer; a send fails only while shutting down.
            let _ = self.changes.send(Change::Remove(*addr));
        }
        for addr in &added {
            let _ = self.changes.send(Change::Insert(*addr, endpoint(*addr)));
        }
        if !added.is_empty() || !removed.is_empty() {
            self.current.send_replace(Arc::new(wanted.clone()));
        }
        (added.len(), removed.len())
    }

    /// The backends the balancer knows now.
    pub fn backends(&self) -> Arc<BTreeSet<SocketAddr>> {
        self.current.borrow().clone()
    }

    /// A handle for the routing layer: follows the backend set as it changes.
    pub fn subscribe(&self) -> watch::Receiver<Arc<BTreeSet<SocketAddr>>> {
        self.current.subscribe()
    }

    /// The balanced, retrying connector (cheap to clone: one per connection).
    pub fn service(&self) -> BalancedService {
        self.service.clone()
    }
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new()
    }
}

/// What to add and what to remove to go from `old` to `new` (pure).
pub fn diff(old: &BTreeSet<SocketAddr>, new: &BTreeSet<SocketAddr>) -> (Vec<SocketAddr>, Vec<SocketAddr>) {
    (
        new.difference(old).copied().collect(),
        old.difference(new).copied().collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use tokio::net::TcpListener;
    use tower::ServiceExt;

    async fn listener() -> (TcpListener, SocketAddr) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        (l, a)
    }

    #[test]
    fn diff_names_what_changed() {
        let a: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let c: SocketAddr = "10.0.0.3:80".parse().unwrap();
        let (added, removed) = diff(&[a, b].into(), &[b, c].into());
        assert_eq!((added, removed), (vec![c], vec![a]));
    }

    #[tokio::test]
    async fn open_connections_spread_evenly_and_a_removed_backend_gets_none() {
        let (_l1, a1) = listener().await;
        let (_l2, a2) = listener().await;
        let pool = Pool::new();
        assert_eq!(pool.set_backends(&[a1, a2].into()), (2, 0));
        let client: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut held = Vec::new();
        for _ in 0..20 {
            let b = pool.service().oneshot(ConnectRequest { client }).await.unwrap();
            held.push(b);
        }
        let mut per: HashMap<SocketAddr, usize> = HashMap::new();
        for b in &held {
            *per.entry(b.addr).or_default() += 1;
        }
        // Least-connections over two backends keeps them within a couple of each other.
        let (n1, n2) = (per[&a1], per[&a2]);
        assert!(n1.abs_diff(n2) <= 2, "{per:?}");

        assert_eq!(pool.set_backends(&[a2].into()), (0, 1));
        for _ in 0..10 {
            let b = pool.service().oneshot(ConnectRequest { client }).await.unwrap();
            assert_eq!(b.addr, a2);
        }
    }

    #[tokio::test]
    async fn a_dead_backend_is_retried_on_another() {
        let (_l1, live) = listener().await;
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let pool = Pool::new();
        pool.set_backends(&[live, dead].into());
        let client: SocketAddr = "127.0.0.1:1".parse().unwrap();
        for _ in 0..20 {
            let b = pool.service().oneshot(ConnectRequest { client }).await.unwrap();
            assert_eq!(b.addr, live);
        }
    }
}
