//! # Configuration of one API server process
//!
//! Everything the binary's flags set (`--listen`, `--data-dir`, `--history`), with the
//! defaults Kubernetes users expect: port 6443 and a 3 MiB body limit (kube-apiserver's own).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// How to run the API server.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen (`127.0.0.1:6443`).
    pub listen: SocketAddr,
    /// The directory holding the sled database.
    pub data_dir: PathBuf,
    /// How many revisions of the event log to keep for watches to resume from; a watch asking
    /// for an older revision gets 410 Gone and must list again.
    pub history: u64,
    /// Request bodies above this many bytes get 413.
    pub max_body_bytes: usize,
    /// Where Services' ClusterIPs and NodePorts come from (`--service-cluster-ip-range`,
    /// `--service-node-port-range`).
    pub service_ranges: crate::allocator::ServiceRanges,
    /// The address pods reach this API server at (`--advertise-address`): the endpoint of the
    /// `kubernetes` Service.
    pub advertise_address: Option<IpAddr>,
    /// The `EncryptionConfiguration` file saying which resources are sealed on disk and with
    /// which keys (`--encryption-provider-config`); none: everything is stored in clear.
    pub encryption_config: Option<PathBuf>,
}

/// kube-apiserver refuses bodies over 3 MiB; so do we.
pub const DEFAULT_MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Revisions of history kept by default.
pub const DEFAULT_HISTORY: u64 = 10_000;

impl Config {
    /// A configuration with the default history and body limit.
    pub fn new(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Config {
            listen,
            data_dir: data_dir.into(),
            history: DEFAULT_HISTORY,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            service_ranges: crate::allocator::ServiceRanges::default(),
            advertise_address: None,
            encryption_config: None,
        }
    }

    /// Where the server listens besides `listen`: the advertise address on `port` (the port
    /// `listen` ended up with), unless it is the address `listen` already covers.
    pub fn advertise_listen(&self, port: u16) -> Option<SocketAddr> {
        self.advertise_address
            .filter(|ip| *ip != self.listen.ip() && !self.listen.ip().is_unspecified())
            .map(|ip| SocketAddr::new(ip, port))
    }
}

#[cfg(test)]
mod advertise_tests {
    use super::*;

    #[test]
    fn the_advertise_address_shares_the_listen_port() {
        let mut config = Config::new("127.0.0.1:6443".parse().unwrap(), "data");
        assert_eq!(config.advertise_listen(6443), None);
        config.advertise_address = Some("10.200.0.1".parse().unwrap());
        assert_eq!(config.advertise_listen(7000), Some("10.200.0.1:7000".parse().unwrap()));
        config.advertise_address = Some("127.0.0.1".parse().unwrap());
        assert_eq!(
            config.advertise_listen(6443),
            None,
            "the same address is not bound twice"
        );
        config.listen = "0.0.0.0:6443".parse().unwrap();
        config.advertise_address = Some("10.200.0.1".parse().unwrap());
        assert_eq!(config.advertise_listen(6443), None, "0.0.0.0 already covers it");
    }
}
