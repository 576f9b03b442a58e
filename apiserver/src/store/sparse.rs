//! # Reading only the parts of an object a selector looks at
//!
//! A watch with a selector decides, for every event, whether the object matches: the scheduler
//! watches `spec.nodeName=,status.phase!=Succeeded`, each node agent `spec.nodeName=<node>`.
//! Parsing the whole object into a [`Value`] for that builds a map per nested object and a
//! string per key and value, for a few fields. [`parse_paths`] walks the same JSON but keeps
//! only the subtrees named by a handful of dotted paths (`metadata.labels`, `spec.nodeName`),
//! skipping everything else without allocating. The result has the same shape as the full
//! object at those paths, so selectors read it exactly as they would the whole thing.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The parts of the JSON object `raw` found at `paths` (dotted, like `spec.nodeName`); a path
/// that is absent is simply missing. `Null` if `raw` is not JSON.
pub fn parse_paths(raw: &[u8], paths: &[&str]) -> Value {
    let split: Vec<Vec<&str>> = paths.iter().map(|path| path.split('.').collect()).collect();
    let wanted: Vec<&[&str]> = split.iter().map(Vec::as_slice).collect();
    let mut deserializer = serde_json::Deserializer::from_slice(raw);
    Kept { wanted: &wanted }
        .deserialize(&mut deserializer)
        .unwrap_or(Value::Null)
}

/// Deserializes one value given the rest of each wanted path below it. A path that ends here
/// keeps the whole value; otherwise only an object is descended into.
struct Kept<'a> {
    wanted: &'a [&'a [&'a str]],
}

impl<'de> DeserializeSeed<'de> for Kept<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.wanted.iter().any(|rest| rest.is_empty()) {
            return Value::deserialize(deserializer);
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Kept<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = Map::new();
        while let Some(Key(key)) = map.next_key::<Key>()? {
            let below: Vec<&[&str]> = self
                .wanted
                .iter()
                .filter(|rest| rest[0] == key)
                .map(|rest| &rest[1..])
                .collect();
            if below.is_empty() {
                map.next_value::<IgnoredAny>()?;
            } else {
                let value = map.next_value_seed(Kept { wanted: &below })?;
                kept.insert(key.into_owned(), value);
            }
        }
        Ok(Value::Object(kept))
    }

    // Anything but an object where a path goes deeper: the path is not there.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// An object key, borrowed from the input unless it had escapes to undo.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("an object key")
            }

            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }

            fn visit_str<E>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keeps_only_the_paths_asked_for() {
        let pod = json!({
            "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": {"big": "x"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "app"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready"}]},
        });
        let raw = serde_json::to_vec(&pod).unwrap();
        let kept = parse_paths(
            &raw,
            &["metadata.name", "metadata.labels", "spec.nodeName", "status.podIP"],
        );
        assert_eq!(
            kept,
            json!({"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"nodeName": "n1"}, "status": {}})
        );
    }

    #[test]
    fn a_path_through_a_non_object_is_absent_and_escaped_keys_still_match() {
        let raw = br#"{"spec": [1, 2], "status": "odd", "metadata": {"n\u0061me": "web"}}"#;
        let kept = parse_paths(raw, &["spec.nodeName", "status.phase", "metadata.name"]);
        assert_eq!(kept, json!({"spec": null, "status": null, "metadata": {"name": "web"}}));
        assert_eq!(parse_paths(b"not json", &["a"]), Value::Null);
    }
}
