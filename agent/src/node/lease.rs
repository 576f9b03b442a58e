//! The node Lease: a cheap "I am alive" every few seconds.
//!
//! A full node status is a few kilobytes; writing it every few seconds from thousands of nodes
//! loads the API server and etcd. Since Kubernetes 1.17 the kubelet instead renews a tiny Lease
//! object, `kube-node-lease/<node>`, every 10 s (a quarter of its 40 s duration), and writes the
//! status only when it changes or every few minutes. The node lifecycle controller treats a
//! node whose Lease was not renewed for `leaseDurationSeconds` as unreachable.
//!
//! The Lease is owned by the Node (an owner reference), so deleting the Node lets the garbage
//! collector delete its Lease.

use std::time::Duration;

use kubelab_api::coordination::{Lease, LeaseSpec};
use kubelab_api::microtime::MicroTime;
use kubelab_api::{ObjectMeta, OwnerReference};
use kubelab_client::{Api, Client, ClientError};

/// The namespace of node leases.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";

/// Renews one node's Lease, remembering the last version written so a renewal is one request.
pub struct LeaseKeeper {
    api: Api<Lease>,
    node_name: String,
    duration: Duration,
    owner: Option<OwnerReference>,
    current: Option<Lease>,
}

impl LeaseKeeper {
    /// `node_uid` (when known) makes the Node the Lease's owner.
    pub fn new(client: Client, node_name: &str, node_uid: Option<String>, duration: Duration) -> Self {
        LeaseKeeper {
            api: Api::namespaced(client, LEASE_NAMESPACE),
            node_name: node_name.to_string(),
            duration,
            owner: node_uid.map(|uid| OwnerReference {
                api_version: "v1".into(),
                kind: "Node".into(),
                name: node_name.to_string(),
                uid,
                controller: None,
                block_owner_deletion: None,
            }),
            current: None,
        }
    }

    /// Renews the Lease now, creating it if needed.
    pub async fn renew(&mut self) -> Result<(), ClientError> {
        let now = MicroTime::now();
        if let Some(mut lease) = self.current.take() {
            self.stamp(&mut lease, now);
            match self.api.replace(&self.node_name, &lease).await {
                Ok(written) => {
                    self.current = Some(written);
                    return Ok(());
                }
                // Someone else wrote it, or it was deleted: read it again below.
                Err(e) if e.is_conflict() || e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        let written = match self.api.get_opt(&self.node_name).await? {
            Some(mut lease) => {
                self.stamp(&mut lease, now);
                self.api.replace(&self.node_name, &lease).await?
            }
            None => {
                let mut lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.node_name.clone()),
                        namespace: Some(LEASE_NAMESPACE.into()),
                        owner_references: self.owner.iter().cloned().collect(),
                        ..Default::default()
                    },
                    spec: LeaseSpec::default(),
                    ..Default::default()
                };
                self.stamp(&mut lease, now);
                self.api.create(&lease).await?
            }
        };
        self.current = Some(written);
        Ok(())
    }

    fn stamp(&self, lease: &mut Lease, now: MicroTime) {
        lease.spec.holder_identity = Some(self.node_name.clone());
        lease.spec.lease_duration_seconds = Some(i32::try_from(self.duration.as_secs()).unwrap_or(40).max(1));
        lease.spec.renew_time = Some(now);
        if lease.spec.acquire_time.is_none() {
            lease.spec.acquire_time = Some(now);
        }
    }
}
