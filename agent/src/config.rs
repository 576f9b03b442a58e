//! What one agent needs to know: which node it is, what that node offers, and how often it
//! reports.
//!
//! Kubernetes' kubelet takes the same knobs (`--hostname-override`, `--node-labels`,
//! `--node-status-update-frequency`, `nodeLeaseDurationSeconds`...). The defaults here are the
//! kubelet's own; tests shorten the intervals and the crash back-off so they run in seconds.

use std::collections::BTreeMap;
use std::time::Duration;

use kubelab_api::quantity::Quantity;

/// Pods synced at once by default. A sync mostly waits on the runtime, so this is how many pods
/// are being started at once; at 16 (32 containers being created and started) Docker is the
/// bottleneck of a burst on a small machine, and more in flight only holds more memory at once.
pub const DEFAULT_SYNC_WORKERS: usize = 16;

/// Everything [`crate::run`] needs besides the API client and the container runtime.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The Node's name (`--node-name`); also the `kubernetes.io/hostname` label.
    pub node_name: String,
    /// The cluster this node belongs to (`--cluster`); runtimes put it on every object they make.
    pub cluster: String,
    /// Extra labels for the Node (`--node-labels k=v,...`).
    pub labels: BTreeMap<String, String>,
    /// What the node offers; anything left out is read from the host.
    pub capacity: Capacity,
    /// The node's address (`InternalIP`), also every pod's `hostIP`.
    pub node_ip: String,
    /// The port the agent serves logs and exec on (`daemonEndpoints.kubeletEndpoint.Port`);
    /// 0 while not served. With `serve` and port 0, the OS picks a free port and this field is
    /// set to it before the Node is registered.
    pub port: u16,
    /// Whether to serve logs and exec (see [`crate::server`]); on loopback only. Off by default,
    /// so a process of a thousand hollow nodes opens no ports.
    pub serve: bool,
    /// How long the node Lease stays valid without renewal (Kubernetes: 40 s).
    pub lease_duration: Duration,
    /// How often the Lease is renewed (Kubernetes: a quarter of its duration, 10 s).
    pub lease_renew_interval: Duration,
    /// How often the full node status is written even when nothing changed (Kubernetes: 10 s
    /// while the node lease exists it is 5 min; kubelab keeps the shorter, easier to watch).
    pub status_update_interval: Duration,
    /// How often the runtime is listed to notice containers that changed on their own (the
    /// kubelet's PLEG relist period: 1 s).
    pub relist_interval: Duration,
    /// How often the runtime is searched for containers whose pod no longer exists.
    pub housekeeping_interval: Duration,
    /// How often each pod is synced even if nothing happened (the kubelet's `syncFrequency`).
    pub resync_interval: Duration,
    /// The first wait before restarting a crashed container (Kubernetes: 10 s, doubling).
    pub crash_backoff_base: Duration,
    /// The longest wait (Kubernetes: 5 min).
    pub crash_backoff_max: Duration,
    /// How many pods are synced at once (`--sync-workers`); one pod is never synced twice at
    /// once, whatever the number. The kubelet has no limit at all (a pod worker per pod). Syncs
    /// spend their time waiting on the runtime, so there must be enough of them in flight for the
    /// runtime, not the agent, to set the pace of a burst.
    pub workers: usize,
    /// Where the agent keeps pods' volumes (`--root-dir`; the kubelet's `/var/lib/kubelet`).
    pub root_dir: std::path::PathBuf,
    /// How often ConfigMap and Secret volumes of running pods are re-read and updated.
    pub volume_refresh_interval: Duration,
    /// How often volumes of gone pods and gone PersistentVolumes are looked for and removed.
    pub volume_cleanup_interval: Duration,
    /// The cluster DNS server pods use (the kubelet's `--cluster-dns`, the `kube-dns` Service's
    /// address), handed to the container runtime. `None`: pods use Docker's embedded DNS only.
    pub cluster_dns: Option<std::net::Ipv4Addr>,
}

impl AgentConfig {
    /// A configuration with the kubelet's defaults for `node_name` in `cluster`.
    pub fn new(node_name: impl Into<String>, cluster: impl Into<String>) -> Self {
        AgentConfig {
            node_name: node_name.into(),
            cluster: cluster.into(),
            labels: BTreeMap::new(),
            capacity: Capacity::default(),
            node_ip: "127.0.0.1".into(),
            port: 0,
            serve: false,
            lease_duration: Duration::from_secs(40),
            lease_renew_interval: Duration::from_secs(10),
            status_update_interval: Duration::from_secs(10),
            relist_interval: Duration::from_secs(1),
            housekeeping_interval: Duration::from_secs(2),
            resync_interval: Duration::from_secs(60),
            crash_backoff_base: Duration::from_secs(10),
            crash_backoff_max: Duration::from_secs(300),
            workers: DEFAULT_SYNC_WORKERS,
            root_dir: std::path::PathBuf::new(),
            volume_refresh_interval: Duration::from_secs(2),
            volume_cleanup_interval: Duration::from_secs(10),
            cluster_dns: None,
        }
        .with_default_root_dir()
    }

    /// `root_dir` as `$HOME/.kubelab/<cluster>/nodes/<node>` (next to what `kubelab up` keeps
    /// for the cluster), or under the temporary directory when `HOME` is not set.
    fn with_default_root_dir(mut self) -> Self {
        let base = std::env::var_os("HOME")
            .map(|home| std::path::PathBuf::from(home).join(".kubelab"))
            .unwrap_or_else(|| std::env::temp_dir().join("kubelab"));
        self.root_dir = base.join(&self.cluster).join("nodes").join(&self.node_name);
        self
    }
}

/// Why a flag value could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// An item of a `k=v,...` list has no `=`.
    #[error("{0:?} is not of the form key=value")]
    NotKeyValue(String),
    /// `--capacity` names something other than cpu, memory or pods.
    #[error("unknown capacity {0:?} (use cpu, memory or pods)")]
    UnknownResource(String),
    /// A capacity amount is not a quantity (`4`, `500m`, `8Gi`).
    #[error("capacity {name}={value:?} is not a valid quantity")]
    BadQuantity { name: String, value: String },
}

/// `cpu`, `memory` and `pods` of the node; `None` means "ask the host".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capacity {
    pub cpu: Option<Quantity>,
    pub memory: Option<Quantity>,
    pub pods: Option<i64>,
}

impl Capacity {
    /// Reads `cpu=4,memory=8Gi,pods=110` (any subset).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let mut capacity = Capacity::default();
        for (name, value) in parse_key_values(text)? {
            let quantity = Quantity::new(value.clone());
            let valid = quantity.parse().is_ok_and(|q| !q.is_negative());
            if !valid {
                return Err(ConfigError::BadQuantity { name, value });
            }
            match name.as_str() {
                "cpu" => capacity.cpu = Some(quantity),
                "memory" => capacity.memory = Some(quantity),
                "pods" => {
                    let pods = quantity
                        .value()
                        .ok()
                        .and_then(|v| i64::try_from(v).ok())
                        .ok_or(ConfigError::BadQuantity { name, value })?;
                    capacity.pods = Some(pods);
                }
                _ => return Err(ConfigError::UnknownResource(name)),
            }
        }
        Ok(capacity)
    }
}

/// Reads `k1=v1,k2=v2` (`--node-labels`); an empty text is an empty map.
pub fn parse_key_values(text: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut map = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| ConfigError::NotKeyValue(item.to_string()))?;
        if key.trim().is_empty() {
            return Err(ConfigError::NotKeyValue(item.to_string()));
        }
        map.insert(key.trim().to_string(), value.trim().to_string());
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_flag() {
        let c = Capacity::parse("cpu=4, memory=8Gi,pods=110").unwrap();
        assert_eq!(c.cpu, Some(Quantity::new("4")));
        assert_eq!(c.memory, Some(Quantity::new("8Gi")));
        assert_eq!(c.pods, Some(110));
        assert_eq!(Capacity::parse("").unwrap(), Capacity::default());
        assert!(matches!(Capacity::parse("gpu=1"), Err(ConfigError::UnknownResource(_))));
        assert!(matches!(
            Capacity::parse("cpu=lots"),
            Err(ConfigError::BadQuantity { .. })
        ));
        assert!(matches!(Capacity::parse("cpu"), Err(ConfigError::NotKeyValue(_))));
    }

    #[test]
    fn labels_flag() {
        let m = parse_key_values("zone=a,disk=ssd").unwrap();
        assert_eq!(m.get("zone").map(String::as_str), Some("a"));
        assert_eq!(m.len(), 2);
        assert!(parse_key_values("=x").is_err());
    }
}
