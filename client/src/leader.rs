//! Leader election on a `coordination.k8s.io/v1` Lease, like client-go's `leaderelection`.
//!
//! Run two schedulers for safety and they must not both bind pods. Kubernetes solves this with
//! no coordinator of its own: every replica tries to write its name into one Lease object, and
//! the API server's **optimistic concurrency** picks the winner. Each update carries the
//! `resourceVersion` it read; of two replicas racing, one gets 200 and the other 409 Conflict.
//!
//! ```yaml
//! kind: Lease
//! metadata: { name: kubelab-scheduler, namespace: kube-system, resourceVersion: "812" }
//! spec:
//!   holderIdentity: scheduler-a        # who leads
//!   leaseDurationSeconds: 15           # how long others must wait after the last renewal
//!   acquireTime: "2026-11-24T15:44:52.000000Z"
//!   renewTime:   "2026-11-24T15:45:06.000000Z"
//!   leaseTransitions: 3                # how many times leadership changed hands
//! ```
//!
//! The leader renews every `retry_period`. The others keep reading; when the record stops
//! changing for `lease_duration`, they take over. Note *whose clock* measures that: not the
//! `renewTime` written by another machine (clocks differ), but the local time at which this
//! replica last saw the record change. That is client-go's trick too.
//!
//! A leader that cannot renew within `renew_deadline` (shorter than `lease_duration`) stops
//! leading by itself, before anyone else may take over.

use std::future::Future;
use std::time::Duration;

use kubelab_api::coordination::Lease;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::client::Client;
use crate::error::ClientError;
use crate::raw::{RawApi, ResourceRef};

/// The names and timings of an election.
#[derive(Clone, Debug)]
pub struct LeaderElectionConfig {
    /// Namespace of the Lease (`kube-system` for kubelab's own components).
    pub namespace: String,
    /// Name of the Lease: one per thing being led (`kubelab-scheduler`).
    pub lease_name: String,
    /// This replica's name, unique among the candidates (host name plus a random suffix).
    pub identity: String,
    /// How long after the last observed renewal others may take over.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leading.
    pub renew_deadline: Duration,
    /// How often to try to acquire or renew.
    pub retry_period: Duration,
}

impl LeaderElectionConfig {
    /// Kubernetes' defaults: 15 s lease, 10 s renew deadline, 2 s retry.
    pub fn new(namespace: &str, lease_name: &str, identity: &str) -> Self {
        LeaderElectionConfig {
            namespace: namespace.into(),
            lease_name: lease_name.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// How [`LeaderElector::run`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaderOutcome {
    /// The work finished; the lease was released for the next candidate.
    Finished,
    /// Renewal failed for `renew_deadline`: someone else may lead now. Stop all leader work (most
    /// components exit and let their supervisor restart them as a candidate).
    Lost,
}

/// The Lease fields that matter, as read from `spec`.
#[derive(Clone, Debug, Default, PartialEq)]
struct LeaseRecord {
    holder: String,
    lease_duration_seconds: i64,
    acquire_time: String,
    renew_time: String,
    transitions: i64,
}

impl LeaseRecord {
    fn from_spec(spec: Option<&Value>) -> Self {
        let text = |field: &str| {
            spec.and_then(|s| s.get(field))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let number = |field: &str| spec.and_then(|s| s.get(field)).and_then(Value::as_i64).unwrap_or(0);
        LeaseRecord {
            holder: text("holderIdentity"),
            lease_duration_seconds: number("leaseDurationSeconds"),
            acquire_time: text("acquireTime"),
            renew_time: text("renewTime"),
            transitions: number("leaseTransitions"),
        }
    }

    fn to_spec(&self) -> Value {
        json!({
            "holderIdentity": self.holder,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "acquireTime": self.acquire_time,
            "renewTime": self.renew_time,
            "leaseTransitions": self.transitions,
        })
    }
}

/// One candidate in an election.
pub struct LeaderElector {
    leases: RawApi,
    config: LeaderElectionConfig,
    /// The record last read, and when (by our clock) it last changed.
    observed: Option<(LeaseRecord, Instant)>,
}

impl LeaderElector {
    pub fn new(client: Client, config: LeaderElectionConfig) -> Self {
        let leases = RawApi::new(client, ResourceRef::of::<Lease>(), Some(config.namespace.clone()));
        LeaderElector {
            leases,
            config,
            observed: None,
        }
    }

    /// Whether the last look at the Lease showed us as the holder.
    pub fn is_leader(&self) -> bool {
        matches!(&self.observed, Some((record, _)) if record.holder == self.config.identity)
    }

    /// The holder seen last (`""` for none).
    pub fn observed_holder(&self) -> &str {
        self.observed.as_ref().map(|(r, _)| r.holder.as_str()).unwrap_or("")
    }

    /// One attempt: creates the Lease, renews it if ours, or takes it over if its holder let it
    /// expire. `Ok(true)` when we hold it afterwards; losing a race is `Ok(false)`, not an error.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, ClientError> {
        let now = Instant::now();
        let name = self.config.lease_name.clone();
        let Some(mut lease) = self.get_lease(&name).await? else {
            return self.create_lease(&name, now).await;
        };
        let current = LeaseRecord::from_spec(lease.get("spec"));
        match &self.observed {
            Some((seen, _)) if *seen == current => {}
            _ => self.observed = Some((current.clone(), now)),
        }
        let changed_at = self.observed.as_ref().map(|(_, at)| *at).unwrap_or(now);
        let ours = current.holder == self.config.identity;
        let duration = Duration::from_secs(current.lease_duration_seconds.max(0) as u64);
        if !ours && !current.holder.is_empty() && now < changed_at + duration {
            return Ok(false);
        }
        let stamp = micro_time_now();
        let record = LeaseRecord {
            holder: self.config.identity.clone(),
            lease_duration_seconds: self.config.lease_duration.as_secs() as i64,
            acquire_time: if ours {
                current.acquire_time.clone()
            } else {
                stamp.clone()
            },
            renew_time: stamp,
            transitions: if ours {
                current.transitions
            } else {
                current.transitions + 1
            },
        };
        if let Some(object) = lease.as_object_mut() {
            // The metadata (with the resourceVersion we read) stays: it is our claim to be current.
            object.insert("spec".into(), record.to_spec());
        }
        match self.leases.replace::<Value>(&name, None, &lease).await {
            Ok(_) => {
                self.observed = Some((record, Instant::now()));
                Ok(true)
            }
            Err(e) if e.is_conflict() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Tries every `retry_period` until the lease is ours (`true`), or `stop` turns true first
    /// (`false`). An unreachable API server is logged and tried again, as client-go does.
    pub async fn acquire(&mut self, stop: &mut tokio::sync::watch::Receiver<bool>) -> bool {
        tracing::info!(lease = %format!("{}/{}", self.config.namespace, self.config.lease_name),
            identity = %self.config.identity, "waiting to become leader");
        loop {
            if *stop.borrow() {
                return false;
            }
            match self.try_acquire_or_renew().await {
                Ok(true) => return true,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "leader election: cannot reach the lease"),
            }
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return false,
                _ = tokio::time::sleep(self.config.retry_period) => {}
            }
        }
    }

    /// Gives the lease up (empty holder), so the next candidate need not wait for it to expire.
    pub async fn release(&mut self) -> Result<(), ClientError> {
        let name = self.config.lease_name.clone();
        let Some(mut lease) = self.get_lease(&name).await? else {
            return Ok(());
        };
        let mut record = LeaseRecord::from_spec(lease.get("spec"));
        if record.holder != self.config.identity {
            return Ok(());
        }
        record.holder.clear();
        record.lease_duration_seconds = 1;
        record.renew_time = micro_time_now();
        if let Some(object) = lease.as_object_mut() {
            object.insert("spec".into(), record.to_spec());
        }
        self.leases.replace::<Value>(&name, None, &lease).await?;
        self.observed = Some((record, Instant::now()));
        Ok(())
    }

    /// Waits until elected, then runs `work` while renewing the lease. Returns when `work` ends
    /// (after releasing the lease) or when leadership is lost (`work` is dropped, i.e. cancelled).
    pub async fn run<F: Future<Output = ()>>(mut self, work: F) -> LeaderOutcome {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(lease = %self.config.lease_name, error = %e, "leader election: cannot acquire")
                }
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
        tracing::info!(lease = %self.config.lease_name, identity = %self.config.identity, "became leader");
        tokio::select! {
            _ = work => {
                if let Err(e) = self.release().await {
                    tracing::warn!(error = %e, "leader election: cannot release the lease");
                }
                LeaderOutcome::Finished
            }
            _ = self.keep_renewing() => LeaderOutcome::Lost,
        }
    }

    /// Renews every `retry_period`; returns once renewal has failed for `renew_deadline`.
    async fn keep_renewing(&mut self) {
        let mut last_renewal = Instant::now();
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewal = Instant::now(),
                Ok(false) => {}
                Err(e) => tracing::warn!(lease = %self.config.lease_name, error = %e, "leader election: renew failed"),
            }
            if last_renewal.elapsed() >= self.config.renew_deadline || !self.observed_holder_is_us_or_unknown() {
                tracing::warn!(lease = %self.config.lease_name, "lost leadership");
                return;
            }
        }
    }

    fn observed_holder_is_us_or_unknown(&self) -> bool {
        self.observed.is_none() || self.is_leader()
    }

    async fn get_lease(&self, name: &str) -> Result<Option<Value>, ClientError> {
        match self.leases.get::<Value>(name, None).await {
            Ok(lease) => Ok(Some(lease)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create_lease(&mut self, name: &str, now: Instant) -> Result<bool, ClientError> {
        let stamp = micro_time_now();
        let record = LeaseRecord {
            holder: self.config.identity.clone(),
            lease_duration_seconds: self.config.lease_duration.as_secs() as i64,
            acquire_time: stamp.clone(),
            renew_time: stamp,
            transitions: 0,
        };
        let lease = json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": self.config.namespace},
            "spec": record.to_spec(),
        });
        match self.leases.create::<Value>(&lease).await {
            Ok(_) => {
                self.observed = Some((record, now));
                Ok(true)
            }
            // Another candidate created it first.
            Err(e) if e.is_already_exists() || e.is_conflict() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Now, as a Kubernetes `MicroTime` (`2026-11-24T15:44:52.123456Z`).
fn micro_time_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_record_round_trips_through_spec() {
        let record = LeaseRecord {
            holder: "a".into(),
            lease_duration_seconds: 15,
            acquire_time: "t1".into(),
            renew_time: "t2".into(),
            transitions: 3,
        };
        assert_eq!(LeaseRecord::from_spec(Some(&record.to_spec())), record);
        assert_eq!(LeaseRecord::from_spec(None), LeaseRecord::default());
        assert!(micro_time_now().ends_with('Z'));
    }
}
