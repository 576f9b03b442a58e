//! Leader election between two candidates over one Lease.

use std::time::Duration;

use kubelab_client::leader::LeaderOutcome;
use kubelab_client::{DynamicApi, LeaderElectionConfig, LeaderElector};

use crate::common::{start, within};

fn config(identity: &str) -> LeaderElectionConfig {
    let mut config = LeaderElectionConfig::new("default", "test-lease", identity);
    config.lease_duration = Duration::from_secs(1);
    config.renew_deadline = Duration::from_millis(800);
    config.retry_period = Duration::from_millis(100);
    config
}

#[tokio::test]
async fn one_leader_at_a_time_and_hand_over_on_release() {
    let server = start().await;
    let mut a = LeaderElector::new(server.client.clone(), config("a"));
    let mut b = LeaderElector::new(server.client.clone(), config("b"));

    assert!(a.try_acquire_or_renew().await.unwrap(), "a creates the lease");
    assert!(!b.try_acquire_or_renew().await.unwrap(), "b must wait");
    assert_eq!(b.observed_holder(), "a");
    assert!(a.try_acquire_or_renew().await.unwrap(), "a renews");

    a.release().await.unwrap();
    assert!(b.try_acquire_or_renew().await.unwrap(), "b takes over a released lease");
    assert!(b.is_leader());

    let leases = DynamicApi::for_kind(
        server.client.clone(),
        "coordination.k8s.io/v1",
        "Lease",
        Some("default"),
    )
    .unwrap();
    let lease = leases.get("test-lease").await.unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "b");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
}

#[tokio::test]
async fn an_expired_lease_is_taken_over() {
    let server = start().await;
    let mut a = LeaderElector::new(server.client.clone(), config("a"));
    assert!(a.try_acquire_or_renew().await.unwrap());
    // a stops renewing (it crashed). b may take over only after it saw the record unchanged for
    // the lease duration.
    let b = LeaderElector::new(server.client.clone(), config("b"));
    let outcome = within("b to lead", b.run(async {})).await;
    assert_eq!(outcome, LeaderOutcome::Finished);
    let mut a_again = LeaderElector::new(server.client.clone(), config("a"));
    assert!(
        a_again.try_acquire_or_renew().await.unwrap(),
        "b released the lease when its work ended"
    );
}
