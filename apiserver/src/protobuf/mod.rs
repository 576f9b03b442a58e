//! # Protobuf request bodies: what kubectl's `create` generators send
//!
//! kube-apiserver speaks JSON, YAML and Kubernetes' own protobuf encoding, and client-go's
//! typed clients prefer protobuf for built-in kinds. So the real kubectl sends
//! `kubectl create secret generic`, `create configmap`, `create namespace`, `create deployment`,
//! `create service` and `create ingress` as protobuf (`Content-Type:
//! application/vnd.kubernetes.protobuf`), and takes JSON back. This module turns such a body
//! into the JSON the rest of the API server reads, so those commands work unchanged.
//!
//! A body is an envelope around the object:
//!
//! ```text
//! "k8s\0"                      4 magic bytes
//! runtime.Unknown {            a protobuf message:
//!   typeMeta = 1 {apiVersion = 1, kind = 2}      which kind follows
//!   raw = 2                                      the object, itself a protobuf message
//!   contentEncoding = 3, contentType = 4         (empty)
//! }
//! ```
//!
//! [`wire`] cuts bytes into numbered fields, [`schema`] says what each number means for each
//! kind, and [`decode`] builds the JSON. Only the kinds kubectl's generators create are in the
//! schema; any other kind, or a field the schema does not know that carries a value, is
//! refused with 415 and a message naming it, and nothing is stored.

mod decode;
mod schema;
mod wire;

use serde_json::{Map, Value};

use wire::{FieldReader, WireValue};

/// The media type of Kubernetes' protobuf encoding.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The four bytes every Kubernetes protobuf body starts with.
const MAGIC: &[u8; 4] = b"k8s\0";

/// Why a protobuf body could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProtobufError {
    /// Not Kubernetes' envelope at all.
    #[error("the body does not start with the Kubernetes protobuf magic bytes \"k8s\\x00\"")]
    NoMagic,
    /// The bytes are not valid protobuf.
    #[error("malformed protobuf: {0}")]
    Malformed(String),
    /// The envelope names no kind or one the decoder has no schema for.
    #[error("kubelab reads protobuf bodies of {known} only, not {api_version:?} {kind:?}; send it as JSON or YAML (kubectl create -f, or --dry-run=client -o yaml | kubectl apply -f -)", known = schema::KNOWN_KINDS)]
    UnknownKind { api_version: String, kind: String },
    /// A field number with a value that kubelab's schema does not have.
    #[error("field number {number} of {message} is not known to kubelab's protobuf decoder; send the object as JSON or YAML instead")]
    UnknownField { message: &'static str, number: u32 },
    /// A field's wire type does not fit its schema type.
    #[error("field {field} has the wrong wire type")]
    WrongWireType { field: String },
    /// A string field that is not UTF-8.
    #[error("field {field} is not valid UTF-8")]
    NotUtf8 { field: String },
}

impl ProtobufError {
    /// Whether the body itself is broken (400), rather than well-formed but beyond what kubelab
    /// reads (415).
    pub fn is_malformed(&self) -> bool {
        !matches!(
            self,
            ProtobufError::UnknownKind { .. } | ProtobufError::UnknownField { .. }
        )
    }
}

/// The JSON bytes of the object in a Kubernetes protobuf body.
pub fn to_json(body: &[u8]) -> Result<Vec<u8>, ProtobufError> {
    let envelope = body.strip_prefix(MAGIC).ok_or(ProtobufError::NoMagic)?;
    let unknown = Unknown::read(envelope)?;
    let message = schema::top_level(&unknown.api_version, &unknown.kind).ok_or_else(|| ProtobufError::UnknownKind {
        api_version: unknown.api_version.clone(),
        kind: unknown.kind.clone(),
    })?;
    let fields = decode::decode_message(message, unknown.raw)?;
    // apiVersion and kind first, as kubectl writes them.
    let mut object = Map::new();
    object.insert("apiVersion".into(), Value::String(unknown.api_version));
    object.insert("kind".into(), Value::String(unknown.kind));
    object.extend(fields);
    serde_json::to_vec(&Value::Object(object)).map_err(|e| ProtobufError::Malformed(e.to_string()))
}

/// The parts of the `runtime.Unknown` envelope that matter.
struct Unknown<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
}

impl<'a> Unknown<'a> {
    fn read(bytes: &'a [u8]) -> Result<Self, ProtobufError> {
        let mut unknown = Unknown {
            api_version: String::new(),
            kind: String::new(),
            raw: &[],
        };
        let mut reader = FieldReader::new(bytes);
        while let Some((number, value)) = reader.next_field()? {
            match (number, value) {
                (1, WireValue::Bytes(type_meta)) => {
                    let mut meta = FieldReader::new(type_meta);
                    while let Some((number, value)) = meta.next_field()? {
                        match (number, value) {
                            (1, WireValue::Bytes(v)) => unknown.api_version = text(v)?,
                            (2, WireValue::Bytes(v)) => unknown.kind = text(v)?,
                            _ => {}
                        }
                    }
                }
                (2, WireValue::Bytes(raw)) => unknown.raw = raw,
                (3, WireValue::Bytes(encoding)) if !encoding.is_empty() => {
                    return Err(ProtobufError::Malformed(format!(
                        "content encoding {:?} is not supported",
                        String::from_utf8_lossy(encoding)
                    )))
                }
                _ => {}
            }
        }
        Ok(unknown)
    }
}

fn text(bytes: &[u8]) -> Result<String, ProtobufError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtobufError::NotUtf8 {
        field: "runtime.Unknown.typeMeta".into(),
    })
}

#[cfg(test)]
mod tests;
