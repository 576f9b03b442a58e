//! The embedded sled backend (being written).
use std::path::Path;

use super::StoreError;

/// Options of the sled backend.
#[derive(Clone, Debug)]
pub struct SledOptions {
    /// How many revisions of the event log are kept for watches to resume from.
    pub history: u64,
    /// Bytes of sled's page cache.
    pub cache_bytes: u64,
}

impl Default for SledOptions {
    fn default() -> Self {
        SledOptions { history: 10_000, cache_bytes: 32 * 1024 * 1024 }
    }
}

/// A [`super::Store`] on sled.
pub struct SledStore {}

impl SledStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(_dir: &Path, _options: SledOptions) -> Result<SledStore, StoreError> {
        Err(StoreError::Backend("the sled store is not built yet".into()))
    }
}
