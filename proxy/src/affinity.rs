//! # Session affinity (`sessionAffinity: ClientIP`): one client, one pod
//!
//! Some apps keep per-client state in memory (a shopping cart without a shared store). With
//! `sessionAffinity: ClientIP`, kube-proxy sends every connection from one client IP to the pod
//! that client got first, until the client has been quiet for `timeoutSeconds` (default three
//! hours) or that pod leaves the Endpoints. This table is that memory: client IP → backend,
//! with the time it was last used.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Past this many remembered clients, expired entries are swept on the next insert.
const SWEEP_ABOVE: usize = 4096;

/// Client IP → the backend it sticks to. Disabled (remembers nothing) until given a timeout.
#[derive(Debug, Default)]
pub struct Affinity {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    timeout: Option<Duration>,
    clients: HashMap<IpAddr, (SocketAddr, Instant)>,
}

impl Affinity {
    /// Turns affinity on with this idle timeout, or off (`None`, forgetting every client).
    pub fn set_timeout(&self, timeout: Option<Duration>) {
        let mut inner = self.lock();
        if timeout.is_none() {
            inner.clients.clear();
        }
        inner.timeout = timeout;
    }

    pub fn enabled(&self) -> bool {
        self.lock().timeout.is_some()
    }

    /// The backend `client` sticks to, if it has one that has not expired; using it renews it.
    pub fn get(&self, client: IpAddr) -> Option<SocketAddr> {
        let mut inner = self.lock();
        let timeout = inner.timeout?;
        let now = Instant::now();
        match inner.clients.get_mut(&client) {
            Some((addr, last)) if now.duration_since(*last) < timeout => {
                *last = now;
                Some(*addr)
            }
            Some(_) => {
                inner.clients.remove(&client);
                None
            }
            None => None,
        }
    }

    /// Remembers that `client` now goes to `backend`.
    pub fn insert(&self, client: IpAddr, backend: SocketAddr) {
        let mut inner = self.lock();
        let Some(timeout) = inner.timeout else { return };
        let now = Instant::now();
        if inner.clients.len() > SWEEP_ABOVE {
            inner.clients.retain(|_, (_, last)| now.duration_since(*last) < timeout);
        }
        inner.clients.insert(client, (backend, now));
    }

    /// Forgets `client` (its backend is gone).
    pub fn forget(&self, client: IpAddr) {
        self.lock().clients.remove(&client);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn clients_stick_until_idle_for_the_timeout() {
        let table = Affinity::default();
        let client: IpAddr = "10.0.0.7".parse().unwrap();
        let pod: SocketAddr = "10.0.0.2:80".parse().unwrap();
        table.insert(client, pod);
        assert_eq!(table.get(client), None, "disabled: remembers nothing");

        table.set_timeout(Some(Duration::from_secs(10)));
        table.insert(client, pod);
        tokio::time::advance(Duration::from_secs(9)).await;
        assert_eq!(table.get(client), Some(pod), "used within the timeout: renewed");
        tokio::time::advance(Duration::from_secs(9)).await;
        assert_eq!(table.get(client), Some(pod));
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(table.get(client), None, "idle past the timeout: forgotten");

        table.insert(client, pod);
        table.forget(client);
        assert_eq!(table.get(client), None);
        table.insert(client, pod);
        table.set_timeout(None);
        assert!(!table.enabled());
        table.set_timeout(Some(Duration::from_secs(10)));
        assert_eq!(table.get(client), None, "turning it off forgets everyone");
    }
}
