//! # How the store lays out its keys in sled
//!
//! Everything lives in sled's default tree, told apart by a short prefix, so that one
//! `sled::Batch` can change an object, append its event and bump the revision counter
//! atomically (sled's batches are atomic within a tree):
//!
//! | sled key                     | value                                          |
//! | ---------------------------- | ---------------------------------------------- |
//! | `o/` + object key            | the object's JSON (with `metadata.resourceVersion`) |
//! | `e/` + revision (8 bytes BE) | one event record (see [`super::codec`])        |
//! | `m/revision`                 | the last revision written (8 bytes BE)         |
//! | `m/compacted`                | the newest revision removed from the log       |
//! | `m/count`                    | how many objects exist                         |
//!
//! Revisions are written big-endian so that sled's byte order is numeric order: a range scan
//! over `e/` walks the log from old to new. Object keys keep Kubernetes' shape
//! (`/registry/pods/default/web`), so a prefix scan over `o//registry/pods/default/` lists one
//! namespace, in key order, as etcd would.

use super::super::Revision;

/// Prefix of object keys.
pub const OBJECT: &[u8] = b"o/";
/// Prefix of event-log keys.
pub const EVENT: &[u8] = b"e/";
/// The last revision written.
pub const META_REVISION: &[u8] = b"m/revision";
/// The newest revision compacted away (0: nothing yet).
pub const META_COMPACTED: &[u8] = b"m/compacted";
/// The number of objects.
pub const META_COUNT: &[u8] = b"m/count";

/// The sled key of the object stored under `key`.
pub fn object_key(key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(OBJECT.len() + key.len());
    out.extend_from_slice(OBJECT);
    out.extend_from_slice(key.as_bytes());
    out
}

/// The sled key of the event at `revision`.
pub fn event_key(revision: Revision) -> [u8; 10] {
    let mut out = [0u8; 10];
    out[..2].copy_from_slice(EVENT);
    out[2..].copy_from_slice(&revision.to_be_bytes());
    out
}

/// The revision an event-log key names, if it is one.
pub fn revision_of_event_key(key: &[u8]) -> Option<Revision> {
    let bytes: [u8; 8] = key.strip_prefix(EVENT)?.try_into().ok()?;
    Some(Revision::from_be_bytes(bytes))
}

/// A counter as stored under `m/`.
pub fn encode_u64(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// A counter read back from `m/` (`None` if the bytes are not 8 long).
pub fn decode_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_sort_numerically() {
        assert!(event_key(255) < event_key(256));
        assert!(event_key(1) < event_key(1 << 40));
        assert_eq!(revision_of_event_key(&event_key(1234)), Some(1234));
        assert_eq!(revision_of_event_key(b"o/x"), None);
    }
}
