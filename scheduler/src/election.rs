//! Only one scheduler replica schedules: leader election on the Lease `kube-system/kube-scheduler`.
//!
//! Two schedulers deciding at once would each see the other's pods only after the fact and could
//! overfill a node. So, as in Kubernetes, every replica starts its informers (a warm cache makes
//! a takeover quick), then competes for a Lease through [`kubelab_client::LeaderElector`]; only the
//! holder runs the scheduling loop. Kubernetes' timings are the defaults: a 15 s lease, renewed
//! every 2 s, given up if not renewed within 10 s.
//!
//! **Losing the lease** (the API server was unreachable for the renew deadline, or another
//! replica took over) ends [`lead`] with [`ElectionError::Lost`], and `run` returns it: like
//! kube-scheduler, which exits on "leaderelection lost", the process stops and its supervisor
//! restarts it as a fresh candidate. Stepping back in-process would risk acting on a cache and
//! in-flight bindings from a term that is over; a restart is simple and clearly correct.
//!
//! **Stopping** (SIGTERM) ends the scheduling loop, and the lease is *released* (holder emptied),
//! so another replica takes over at its next retry instead of waiting out the lease.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};

use kubelab_client::leader::LeaderOutcome;
use kubelab_client::{Client, LeaderElectionConfig, LeaderElector};
use tokio::sync::watch;

/// Where kube-scheduler's lease lives.
pub const LEASE_NAMESPACE: &str = "kube-system";
pub const LEASE_NAME: &str = "kube-scheduler";

/// How leadership ended badly.
#[derive(Debug, thiserror::Error)]
pub enum ElectionError {
    /// The lease could not be renewed within the renew deadline, or another replica holds it now.
    #[error("leader election lost: this replica no longer holds lease {namespace}/{name}")]
    Lost { namespace: String, name: String },
}

/// This replica's name among the candidates: the host name and a random suffix, so two replicas
/// on one machine (or one restarted) are different candidates.
pub fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kubelab-scheduler".into());
    // `RandomState` is seeded randomly per process: enough randomness for a suffix, no new crate.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.write_u32(std::process::id());
    format!("{host}_{:08x}", hasher.finish() as u32)
}

/// Resolves once `stop` says so (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Waits to be elected, then runs `work` while holding the lease. `Ok` when `stop` ended it (or
/// it ended by itself) before or during leadership; [`ElectionError::Lost`] when the lease was lost.
pub async fn lead<F: Future<Output = ()>>(
    client: Client,
    config: LeaderElectionConfig,
    mut stop: watch::Receiver<bool>,
    work: F,
) -> Result<(), ElectionError> {
    let mut elector = LeaderElector::new(client, config.clone());
    if !elector.acquire(&mut stop).await {
        return Ok(());
    }
    // We hold the lease; `LeaderElector::run` renews it at once and runs the work while renewing.
    let work = async move {
        tokio::select! {
            _ = work => {}
            _ = stopped(&mut stop) => {}
        }
    };
    match elector.run(work).await {
        LeaderOutcome::Finished => Ok(()),
        LeaderOutcome::Lost => Err(ElectionError::Lost {
            namespace: config.namespace,
            name: config.lease_name,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_differ_between_candidates() {
        let a = default_identity();
        let b = default_identity();
        assert_ne!(a, b);
        assert!(a.contains('_'));
    }
}
