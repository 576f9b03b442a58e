//! The `pod-template-hash`: one ReplicaSet per version of the pod template.
//!
//! A Deployment names its ReplicaSets `<deployment>-<hash>` and adds the label
//! `pod-template-hash: <hash>` to their selector and pods. The hash is a function of the template
//! alone, so:
//!
//! - the same template always maps to the same ReplicaSet: rolling back to an old template finds
//!   the old ReplicaSet again instead of creating a copy;
//! - the ReplicaSets of one Deployment never select each other's pods, even though the
//!   Deployment's own selector matches them all.
//!
//! The hash must be stable across runs and machines: FNV-1a (32 bits) over the template's JSON
//! with object keys sorted, plus the Deployment's `collisionCount` when a name is taken. The
//! number is then written with Kubernetes' "safe" alphabet (no vowels, no 0/1/3: no words, no
//! look-alikes), which is why hashes look like `6d4cf56db6`.

use kubelab_api::core::PodTemplateSpec;
use serde_json::Value;

/// The label (and selector key) that tells the ReplicaSets of a Deployment apart.
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

fn fnv1a(hash: u32, bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(hash, |h, b| (h ^ u32::from(*b)).wrapping_mul(FNV_PRIME))
}

/// Kubernetes' `rand.SafeEncodeString`: each character mapped into an alphabet without vowels
/// and easily confused digits.
pub fn safe_encode(text: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    text.bytes()
        .map(|b| char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()]))
        .collect()
}

/// JSON with object keys in sorted order, so equal templates give equal bytes whatever order
/// their maps were written in.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The hash of `template` (as the Deployment holds it, without a hash label), with the
/// Deployment's `status.collisionCount` mixed in when set.
pub fn pod_template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut text = String::new();
    // Serialising plain data structs cannot fail; an empty string would still hash stably.
    canonical(&serde_json::to_value(template).unwrap_or(Value::Null), &mut text);
    let mut hash = fnv1a(FNV_OFFSET, text.as_bytes());
    if let Some(count) = collision_count {
        hash = fnv1a(hash, &count.to_le_bytes());
    }
    safe_encode(&hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(image: &str) -> PodTemplateSpec {
        serde_json::from_value(json!({
            "metadata": {"labels": {"app": "web", "tier": "fe"}},
            "spec": {"containers": [{"name": "c", "image": image}]},
        }))
        .unwrap()
    }

    #[test]
    fn fnv_matches_the_reference_vectors() {
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0x811c9dc5);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xe40c292c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0xbf9cf968);
    }

    #[test]
    fn safe_encoding_uses_kubernetes_alphabet() {
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
    }

    #[test]
    fn hash_is_stable_and_depends_on_the_template() {
        let a = pod_template_hash(&template("nginx:1"), None);
        // Pinned: a change here renames every ReplicaSet of every existing Deployment.
        assert_eq!(a, pod_template_hash(&template("nginx:1"), None));
        assert_eq!(a, "5b5c4578db");
        assert_ne!(a, pod_template_hash(&template("nginx:2"), None));
        assert_ne!(a, pod_template_hash(&template("nginx:1"), Some(1)));
        assert!(a.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
    }

    #[test]
    fn key_order_does_not_matter() {
        let mut x = String::new();
        let mut y = String::new();
        canonical(&json!({"b": 1, "a": {"d": [1, {"f": 2, "e": 3}], "c": null}}), &mut x);
        canonical(&json!({"a": {"c": null, "d": [1, {"e": 3, "f": 2}]}, "b": 1}), &mut y);
        assert_eq!(x, y);
        assert_eq!(x, r#"{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}"#);
    }
}
