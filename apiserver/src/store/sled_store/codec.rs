//! # Encoding objects and event records
//!
//! An object is stored as its plain JSON, `metadata.resourceVersion` included, so the bytes read
//! from disk are exactly the bytes a list or a watch sends ([`StoredObject::raw`]); its revision
//! is read back from that field.
//!
//! An event record is a small binary frame, so the log needs no second JSON layer:
//!
//! ```text
//! [type: 1 byte][has prev: 1 byte][key len: u32 BE][key][object len: u32 BE][object JSON][prev JSON...]
//! ```
//!
//! The previous object, when there is one, takes the rest of the record.

use std::borrow::Cow;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use super::super::encryption::Encryption;
use super::super::{EventType, Revision, StoreError, StoreEvent, StoredObject};

/// Sets `metadata.resourceVersion` to `revision` (as a string, as Kubernetes sends it), creating
/// `metadata` if the object has none.
pub fn set_resource_version(key: &str, value: &mut Value, revision: Revision) -> Result<(), StoreError> {
    let object = value
        .as_object_mut()
        .ok_or_else(|| corrupt(key, "the value is not a JSON object"))?;
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    let metadata = metadata
        .as_object_mut()
        .ok_or_else(|| corrupt(key, "metadata is not a JSON object"))?;
    metadata.insert("resourceVersion".into(), Value::String(revision.to_string()));
    Ok(())
}

/// Stamps `value` with `revision` and serializes it: the object as it will be stored. The value
/// itself is not kept: most writes are only ever sent on as bytes (see [`StoredObject`]).
pub fn stamp(key: &str, mut value: Value, revision: Revision) -> Result<StoredObject, StoreError> {
    set_resource_version(key, &mut value, revision)?;
    let mut raw = serde_json::to_vec(&value).map_err(|e| corrupt(key, &e.to_string()))?;
    // The buffer grew by doubling; the watch cache keeps these bytes, so give back the slack.
    raw.shrink_to_fit();
    Ok(StoredObject::new(key.to_string(), Bytes::from(raw), revision))
}

/// A fresh parse of `object`'s bytes, leaving its shared parsed copy alone (and unmade).
pub fn reparse(object: &StoredObject) -> Result<Value, StoreError> {
    serde_json::from_slice(&object.raw).map_err(|e| corrupt(&object.key, &e.to_string()))
}

/// Just the part of a stored object that [`decode_object`] needs; serde skips the rest
/// without building anything.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    metadata: Option<HeadMeta<'a>>,
}

#[derive(Deserialize)]
struct HeadMeta<'a> {
    #[serde(rename = "resourceVersion", borrow)]
    resource_version: Option<Cow<'a, str>>,
}

/// Checks stored object bytes and reads their revision, without parsing the object into a
/// [`Value`] (that happens later, if anybody needs it). The check is complete: the bytes are
/// UTF-8 and one JSON object, so the later parse cannot fail.
pub fn decode_object(key: &str, raw: Bytes) -> Result<StoredObject, StoreError> {
    std::str::from_utf8(&raw).map_err(|e| corrupt(key, &e.to_string()))?;
    let head: Head = serde_json::from_slice(&raw).map_err(|e| corrupt(key, &e.to_string()))?;
    let revision = head
        .metadata
        .and_then(|m| m.resource_version)
        .and_then(|s| s.parse::<Revision>().ok())
        .ok_or_else(|| corrupt(key, "stored object has no numeric metadata.resourceVersion"))?;
    Ok(StoredObject::new(key.to_string(), raw, revision))
}

fn type_code(t: EventType) -> u8 {
    match t {
        EventType::Added => 0,
        EventType::Modified => 1,
        EventType::Deleted => 2,
    }
}

/// The log record of `event`, its objects sealed as `encryption` says for their key.
pub fn encode_event(event: &StoreEvent, encryption: &Encryption) -> Vec<u8> {
    let key_text = &event.object.key;
    let key = key_text.as_bytes();
    let object = encryption.seal(key_text, &event.object.raw);
    let prev = event
        .prev
        .as_ref()
        .map(|p| encryption.seal(key_text, &p.raw))
        .unwrap_or(Cow::Borrowed(&[]));
    let mut out = Vec::with_capacity(10 + key.len() + object.len() + prev.len());
    out.push(type_code(event.event_type));
    out.push(event.prev.is_some() as u8);
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&(object.len() as u32).to_be_bytes());
    out.extend_from_slice(&object);
    out.extend_from_slice(&prev);
    out
}

/// An event record split into its parts, nothing parsed yet.
pub struct RawEvent<'a> {
    pub event_type: EventType,
    pub key: &'a str,
    pub object: &'a [u8],
    pub prev: Option<&'a [u8]>,
}

/// Splits an event record; `revision` (the one its log key names) is only for error messages.
pub fn split_event(revision: Revision, record: &[u8]) -> Result<RawEvent<'_>, StoreError> {
    let bad = || corrupt(&format!("event {revision}"), "truncated or malformed event record");
    let mut rest = record;
    let mut take = |n: usize| -> Result<&[u8], StoreError> {
        if rest.len() < n {
            return Err(bad());
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    let header = take(2)?;
    let event_type = match header[0] {
        0 => EventType::Added,
        1 => EventType::Modified,
        2 => EventType::Deleted,
        _ => return Err(bad()),
    };
    let has_prev = header[1] == 1;
    let key_len = u32::from_be_bytes(take(4)?.try_into().map_err(|_| bad())?) as usize;
    let key = std::str::from_utf8(take(key_len)?).map_err(|_| bad())?;
    let object_len = u32::from_be_bytes(take(4)?.try_into().map_err(|_| bad())?) as usize;
    let object = take(object_len)?;
    let prev = if has_prev { Some(rest) } else { None };
    Ok(RawEvent {
        event_type,
        key,
        object,
        prev,
    })
}

/// Reads an event record back; `revision` is the one its log key names.
pub fn decode_event(revision: Revision, record: &[u8], encryption: &Encryption) -> Result<StoreEvent, StoreError> {
    let raw = split_event(revision, record)?;
    let object = decode_object(raw.key, encryption.open(raw.key, Bytes::copy_from_slice(raw.object))?)?;
    let prev = match raw.prev {
        Some(prev) => Some(decode_object(
            raw.key,
            encryption.open(raw.key, Bytes::copy_from_slice(prev))?,
        )?),
        None => None,
    };
    Ok(StoreEvent {
        event_type: raw.event_type,
        revision,
        object,
        prev,
    })
}

fn corrupt(key: &str, message: &str) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_round_trips() {
        let prev = stamp("/registry/pods/a/b", json!({"metadata": {"name": "b"}}), 4).unwrap();
        let object = stamp("/registry/pods/a/b", json!({"metadata": {"name": "b"}, "x": 1}), 7).unwrap();
        let event = StoreEvent {
            event_type: EventType::Modified,
            revision: 7,
            object,
            prev: Some(prev),
        };
        let back = decode_event(
            7,
            &encode_event(&event, &Encryption::identity()),
            &Encryption::identity(),
        )
        .unwrap();
        assert_eq!(back.event_type, EventType::Modified);
        assert_eq!(back.object.revision, 7);
        assert_eq!(back.object.value()["x"], 1);
        assert_eq!(back.prev.unwrap().revision, 4);
        assert!(decode_event(
            7,
            &encode_event(&event, &Encryption::identity())[..5],
            &Encryption::identity()
        )
        .is_err());
    }

    #[test]
    fn decoding_checks_the_whole_object() {
        let ok = decode_object(
            "k",
            Bytes::from_static(br#"{"a":[1,{"b":"\u00e9"}],"metadata":{"resourceVersion":"12"}}"#),
        );
        assert_eq!(ok.unwrap().revision, 12);
        for bad in [
            &br#"{"metadata":{"resourceVersion":"12"}"#[..],
            br#"{"metadata":{"resourceVersion":"12"},"x":[1,}"#,
            br#"{"metadata":{"resourceVersion":"x"}}"#,
            br#"{"metadata":{}}"#,
            br#"[1]"#,
            b"{\"metadata\":{\"resourceVersion\":\"1\"},\"x\":\"\xff\"}",
        ] {
            assert!(decode_object("k", Bytes::copy_from_slice(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stamping_needs_an_object() {
        assert!(stamp("k", json!([1, 2]), 1).is_err());
        let s = stamp("k", json!({}), 3).unwrap();
        assert_eq!(s.value()["metadata"]["resourceVersion"], "3");
    }
}
