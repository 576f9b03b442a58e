//! The decoder against real kubectl 1.32 output: each `testdata/kubectl-create-*.hex` is the
//! protobuf body kubectl sent for one `kubectl create ...` command (as `kubectl -v=9` prints
//! it), and the `.json` beside it is what the same command prints with
//! `--dry-run=client -o json`. Decoding the first must give the second, up to what JSON writes
//! for empty values (`creationTimestamp: null`, `status: {}`), which mean the same as absent.

use serde_json::Value;

use super::*;

fn fixture(name: &str) -> (Vec<u8>, Value) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/protobuf/testdata");
    let hex = std::fs::read_to_string(dir.join(format!("kubectl-create-{name}.hex"))).unwrap();
    let bytes = (0..hex.trim().len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let json = std::fs::read_to_string(dir.join(format!("kubectl-create-{name}.json"))).unwrap();
    (bytes, serde_json::from_str(&json).unwrap())
}

/// Drops `null`, `{}` and `[]` members, recursively (but keeps empty list elements).
fn without_empty(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, without_empty(v)))
                .filter(|(_, v)| {
                    !matches!(v, Value::Null) && v != &serde_json::json!({}) && v != &serde_json::json!([])
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_empty).collect()),
        other => other,
    }
}

fn decoded(bytes: &[u8]) -> Value {
    serde_json::from_slice(&to_json(bytes).unwrap()).unwrap()
}

#[test]
fn every_kubectl_create_body_decodes_to_what_kubectl_would_send_as_json() {
    for name in [
        "secret",
        "docker",
        "configmap",
        "namespace",
        "deployment",
        "deployment-cmd",
        "service",
        "service-np",
        "ingress",
    ] {
        let (bytes, expected) = fixture(name);
        assert_eq!(
            without_empty(decoded(&bytes)),
            without_empty(expected),
            "kubectl create {name}"
        );
    }
}

#[test]
fn pointer_fields_keep_their_zero_values() {
    // `kubectl create deployment --replicas=0`: replicas is a pointer, so 0 is kept (absent
    // would mean the default, 1).
    let (bytes, _) = fixture("deployment-cmd");
    let object = decoded(&bytes);
    assert_eq!(object["spec"]["replicas"], 0);
    assert_eq!(
        object["spec"]["template"]["spec"]["containers"][0]["command"],
        serde_json::json!(["kubelab-demo", "web"])
    );
    // A plain field's zero value (`generateName: ""`, `stdin: false`) is left out, as JSON does.
    assert!(object["metadata"].get("generateName").is_none());
    assert!(object["spec"]["template"]["spec"]["containers"][0]
        .get("stdin")
        .is_none());
}

#[test]
fn secret_data_is_base64_as_in_json() {
    let (bytes, _) = fixture("secret");
    let object = decoded(&bytes);
    assert_eq!(object["data"]["a"], "Yg==", "b");
    assert_eq!(object["data"]["password"], "cEBzcyB3MHJk", "p@ss w0rd");
}

/// Builds an envelope around `raw` for `api_version`/`kind` (a tiny protobuf encoder for tests).
fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    fn bytes_field(out: &mut Vec<u8>, number: u8, bytes: &[u8]) {
        out.push(number << 3 | 2);
        out.push(u8::try_from(bytes.len()).unwrap());
        out.extend_from_slice(bytes);
    }
    let mut type_meta = Vec::new();
    bytes_field(&mut type_meta, 1, api_version.as_bytes());
    bytes_field(&mut type_meta, 2, kind.as_bytes());
    let mut out = b"k8s\0".to_vec();
    bytes_field(&mut out, 1, &type_meta);
    bytes_field(&mut out, 2, raw);
    out
}

#[test]
fn kinds_without_a_schema_are_refused_by_name() {
    let err = to_json(&envelope("batch/v1", "Job", &[])).unwrap_err();
    assert_eq!(
        err,
        ProtobufError::UnknownKind {
            api_version: "batch/v1".into(),
            kind: "Job".into()
        }
    );
    assert!(!err.is_malformed());
    assert!(err.to_string().contains("send it as JSON or YAML"), "{err}");
}

#[test]
fn unknown_fields_are_skipped_when_empty_and_refused_when_set() {
    // ConfigMap field 9 does not exist: empty it is what a newer encoder writes for a field it
    // has and we do not; with a value, dropping it would store something else than was sent.
    let empty = envelope("v1", "ConfigMap", &[0x4A, 0x00]);
    assert_eq!(
        decoded(&empty),
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap"})
    );
    let set = envelope("v1", "ConfigMap", &[0x4A, 0x01, b'x']);
    let err = to_json(&set).unwrap_err();
    assert_eq!(
        err,
        ProtobufError::UnknownField {
            message: "core.v1.ConfigMap",
            number: 9
        }
    );
    assert!(err.to_string().contains("field number 9 of core.v1.ConfigMap"), "{err}");
}

#[test]
fn broken_bodies_are_malformed() {
    assert_eq!(to_json(b"{\"kind\":\"Secret\"}").unwrap_err(), ProtobufError::NoMagic);
    // A length that runs past the end.
    let err = to_json(b"k8s\0\x0a\x30").unwrap_err();
    assert!(err.is_malformed(), "{err}");
    // A string field (ConfigMap.data's key) that is a varint on the wire.
    let err = to_json(&envelope("v1", "ConfigMap", &[0x12, 0x02, 0x08, 0x01])).unwrap_err();
    assert!(matches!(err, ProtobufError::WrongWireType { .. }), "{err}");
    // Not UTF-8 in a string.
    let err = to_json(&envelope("v1", "Namespace", &[0x0A, 0x03, 0x0A, 0x01, 0xFF])).unwrap_err();
    assert!(matches!(err, ProtobufError::NotUtf8 { .. }), "{err}");
}

#[test]
fn kubectl_drain_delete_options_decode() {
    // What `kubectl drain --grace-period=5` sends with each pod DELETE.
    let body = b"k8s\x00\n\x13\n\x02v1\x12\rDeleteOptions\x12\x02\x08\x05\x1a\x00\"\x00";
    assert_eq!(
        decoded(body),
        serde_json::json!({"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 5})
    );
}
