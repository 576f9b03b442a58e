//! # The schema: which field number is which JSON field
//!
//! Kubernetes generates its `.proto` files from its Go types (`go-to-protobuf`), so every
//! protobuf field has a JSON twin: field 3 of `core.v1.Secret` is `type`. A [`Message`] is one
//! such table, written from the upstream `generated.proto` files (v1.32) for the kinds whose
//! bodies kubectl sends as protobuf: what its generators (`kubectl create secret|configmap|
//! namespace|deployment|service|ingress`) build, and the DeleteOptions of `kubectl drain`.
//!
//! Two facts of the Go encoder shape the tables:
//!
//! - a Go field that is a plain value (`Name string`, `Paused bool`) is *always* written, even
//!   when empty; its JSON twin is left out when empty (`omitempty`). So the decoder drops a
//!   zero value, unless the field is marked [`Field::presence`];
//! - a Go field that is a pointer (`Replicas *int32`, `EmptyDir *EmptyDirVolumeSource`) is
//!   written only when set, so whatever arrives counts, zero included: `replicas: 0` is not
//!   "use the default of 1", and `emptyDir: {}` is a volume. Those fields are `presence`.
//!
//! A few Go types have their own JSON form, not that of their message: [`Type::Time`]
//! (`{seconds, nanos}` → `"2026-11-24T21:00:00Z"`), [`Type::Quantity`] (`{string}` → `"100m"`)
//! and [`Type::IntOrString`] (`{type, intVal, strVal}` → `8080` or `"http"`).

mod apps;
mod core;
mod meta;
mod networking;
mod pod;

/// One message type: its name (for error messages) and its fields.
pub struct Message {
    pub name: &'static str,
    pub fields: &'static [Field],
}

impl Message {
    pub fn field(&self, number: u32) -> Option<&Field> {
        self.fields.iter().find(|f| f.number == number)
    }
}

/// One field of a message.
pub struct Field {
    pub number: u32,
    /// The field's name in JSON.
    pub json: &'static str,
    pub ty: Type,
    /// A list (`repeated`) of `ty`.
    pub repeated: bool,
    /// Kept when zero or empty: the Go field is a pointer (see the module docs).
    pub presence: bool,
    /// The message's fields go to the parent's level in JSON (Go's `json:",inline"`).
    pub inline: bool,
}

/// What a field holds.
#[derive(Clone, Copy)]
pub enum Type {
    String,
    /// Raw bytes: base64 in JSON, as Go encodes `[]byte`.
    Bytes,
    Bool,
    Int32,
    Int64,
    Message(&'static Message),
    /// `map<string, T>`: on the wire, a repeated `{key = 1; value = 2}` entry message.
    Map(&'static Type),
    /// `meta.v1.Time`: `{seconds = 1; nanos = 2}`, an RFC 3339 string in JSON.
    Time,
    /// `resource.Quantity`: `{string = 1}`, that string in JSON.
    Quantity,
    /// `intstr.IntOrString`: `{type = 1; intVal = 2; strVal = 3}`, a number or a string in JSON.
    IntOrString,
}

/// A plain field: dropped when zero (a Go value field).
pub const fn field(number: u32, json: &'static str, ty: Type) -> Field {
    Field {
        number,
        json,
        ty,
        repeated: false,
        presence: false,
        inline: false,
    }
}

/// A field kept even when zero (a Go pointer field).
pub const fn pointer(number: u32, json: &'static str, ty: Type) -> Field {
    Field {
        presence: true,
        ..field(number, json, ty)
    }
}

/// A list.
pub const fn list(number: u32, json: &'static str, ty: Type) -> Field {
    Field {
        repeated: true,
        ..field(number, json, ty)
    }
}

/// A message whose fields JSON puts at the parent's level.
pub const fn inline(number: u32, message: &'static Message) -> Field {
    Field {
        inline: true,
        ..field(number, "", Type::Message(message))
    }
}

/// The top-level kinds the decoder knows, by `apiVersion` and `kind`.
pub fn top_level(api_version: &str, kind: &str) -> Option<&'static Message> {
    let message = match (api_version, kind) {
        ("v1", "Secret") => &core::SECRET,
        ("v1", "ConfigMap") => &core::CONFIG_MAP,
        ("v1", "Namespace") => &core::NAMESPACE,
        ("v1", "Service") => &core::SERVICE,
        ("v1", "Pod") => &pod::POD,
        ("apps/v1", "Deployment") => &apps::DEPLOYMENT,
        ("networking.k8s.io/v1", "Ingress") => &networking::INGRESS,
        // Every API group version takes the same DeleteOptions.
        (_, "DeleteOptions") => &meta::DELETE_OPTIONS,
        _ => return None,
    };
    Some(message)
}

/// The kinds [`top_level`] knows, for the error that names them.
pub const KNOWN_KINDS: &str =
    "Secret, ConfigMap, Namespace, Service, Pod, Deployment (apps/v1), Ingress (networking.k8s.io/v1), DeleteOptions";
