//! # Configuration of one API server process
//!
//! Everything the binary's flags set (`--listen`, `--data-dir`, `--history`), with the
//! defaults Kubernetes users expect: port 6443 and a 3 MiB body limit (kube-apiserver's own).

use std::net::SocketAddr;
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
        }
    }
}
