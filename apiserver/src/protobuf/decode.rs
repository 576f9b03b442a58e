//! # From wire fields to JSON, driven by the schema
//!
//! [`decode_message`] walks a message's fields ([`super::wire`]), looks each number up in the
//! [`Message`] table, and builds the JSON object Kubernetes' JSON encoder would have written
//! for the same Go value: repeated fields gather into arrays, map entries into objects, zero
//! values of plain Go fields are left out, and the few special types get their JSON form.
//!
//! A field number the table does not know is skipped when it carries a zero value (the Go
//! encoder writes every plain field, and a newer kubectl may know fields this table does not),
//! and refused when it carries data: silently dropping a field the user set would store
//! something else than what was asked.

use base64::Engine;
use serde_json::{Map, Value};

use super::schema::{Field, Message, Type};
use super::wire::{read_varint, FieldReader, WireValue};
use super::ProtobufError;

/// The Go zero time (`0001-01-01T00:00:00Z`) in Unix seconds: how an unset `metav1.Time` that
/// is a plain value (`creationTimestamp`) comes over the wire. JSON writes it as `null`.
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// Decodes one message into a JSON object.
pub fn decode_message(message: &Message, bytes: &[u8]) -> Result<Map<String, Value>, ProtobufError> {
    let mut object = Map::new();
    let mut reader = FieldReader::new(bytes);
    while let Some((number, wire)) = reader.next_field()? {
        let Some(field) = message.field(number) else {
            if carries_data(&wire) {
                return Err(ProtobufError::UnknownField {
                    message: message.name,
                    number,
                });
            }
            continue;
        };
        let at = || format!("{}.{}", message.name, field_name(field));
        if field.repeated {
            let items = object.entry(field.json).or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(items) = items else {
                return Err(ProtobufError::WrongWireType { field: at() });
            };
            push_repeated(field, wire, items, &at)?;
            continue;
        }
        let value = decode_value(&field.ty, wire, &at)?;
        if let Type::Map(_) = field.ty {
            // One entry per wire field: gather them into one object.
            let entries = object.entry(field.json).or_insert_with(|| Value::Object(Map::new()));
            if let (Value::Object(entries), Value::Object(entry)) = (entries, value) {
                entries.extend(entry);
            }
            continue;
        }
        if field.inline {
            if let Value::Object(inner) = value {
                object.extend(inner);
            }
            continue;
        }
        if !field.presence && is_zero(&value) {
            continue;
        }
        object.insert(field.json.to_string(), value);
    }
    // A map or list whose entries were all there is, is kept; an empty one cannot come from
    // the wire (nothing is written for it), so there is nothing to clean up here.
    Ok(object)
}

/// Appends one wire field of a repeated field: one element, or a packed run of numbers.
fn push_repeated(
    field: &Field,
    wire: WireValue<'_>,
    items: &mut Vec<Value>,
    at: &dyn Fn() -> String,
) -> Result<(), ProtobufError> {
    match (field.ty, wire) {
        (Type::Int32 | Type::Int64 | Type::Bool, WireValue::Bytes(mut packed)) => {
            while !packed.is_empty() {
                let (raw, used) = read_varint(packed)?;
                packed = &packed[used..];
                items.push(decode_value(&field.ty, WireValue::Varint(raw), at)?);
            }
        }
        (ty, wire) => items.push(decode_value(&ty, wire, at)?),
    }
    Ok(())
}

/// One value of type `ty`.
fn decode_value(ty: &Type, wire: WireValue<'_>, at: &dyn Fn() -> String) -> Result<Value, ProtobufError> {
    let wrong = || ProtobufError::WrongWireType { field: at() };
    let value = match (ty, wire) {
        (Type::String, WireValue::Bytes(bytes)) => Value::String(utf8(bytes, at)?),
        (Type::Bytes, WireValue::Bytes(bytes)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        (Type::Bool, WireValue::Varint(raw)) => Value::Bool(raw != 0),
        // An int32 is sign-extended to 64 bits on the wire; truncating gives it back.
        (Type::Int32, WireValue::Varint(raw)) => Value::from(raw as i64 as i32),
        (Type::Int64, WireValue::Varint(raw)) => Value::from(raw as i64),
        (Type::Message(message), WireValue::Bytes(bytes)) => Value::Object(decode_message(message, bytes)?),
        (Type::Map(value_type), WireValue::Bytes(bytes)) => map_entry(value_type, bytes, at)?,
        (Type::Time, WireValue::Bytes(bytes)) => time(bytes, at)?,
        (Type::Quantity, WireValue::Bytes(bytes)) => {
            let quantity = decode_message(&QUANTITY, bytes)?;
            quantity.get("string").cloned().unwrap_or(Value::Null)
        }
        (Type::IntOrString, WireValue::Bytes(bytes)) => int_or_string(bytes)?,
        _ => return Err(wrong()),
    };
    Ok(value)
}

/// One `{key, value}` entry of a map, as a one-key object.
fn map_entry(value_type: &Type, bytes: &[u8], at: &dyn Fn() -> String) -> Result<Value, ProtobufError> {
    let mut key = String::new();
    let mut value = None;
    let mut reader = FieldReader::new(bytes);
    while let Some((number, wire)) = reader.next_field()? {
        match (number, wire) {
            (1, WireValue::Bytes(bytes)) => key = utf8(bytes, at)?,
            (2, wire) => value = Some(decode_value(value_type, wire, at)?),
            _ => return Err(ProtobufError::WrongWireType { field: at() }),
        }
    }
    // An entry without a value holds the value type's zero (`""` for a string).
    let value = value.unwrap_or_else(|| zero_of(value_type));
    Ok(Value::Object(Map::from_iter([(key, value)])))
}

/// `metav1.Time`: RFC 3339 to the second, as Kubernetes writes it; an unset time is `null`.
fn time(bytes: &[u8], at: &dyn Fn() -> String) -> Result<Value, ProtobufError> {
    let fields = decode_message(&TIMESTAMP, bytes)?;
    // An unset time comes as an empty message (or, from older encoders, as Go's zero time).
    let Some(seconds) = fields.get("seconds").and_then(Value::as_i64) else {
        return Ok(Value::Null);
    };
    if seconds == GO_ZERO_TIME_SECONDS {
        return Ok(Value::Null);
    }
    let when =
        chrono::DateTime::from_timestamp(seconds, 0).ok_or_else(|| ProtobufError::WrongWireType { field: at() })?;
    Ok(Value::String(when.format("%Y-%m-%dT%H:%M:%SZ").to_string()))
}

/// `intstr.IntOrString`: `type` 0 means the number in `intVal`, 1 the string in `strVal`.
fn int_or_string(bytes: &[u8]) -> Result<Value, ProtobufError> {
    let fields = decode_message(&INT_OR_STRING, bytes)?;
    let is_string = fields.get("type").and_then(Value::as_i64) == Some(1);
    Ok(if is_string {
        fields
            .get("strVal")
            .cloned()
            .unwrap_or_else(|| Value::String(String::new()))
    } else {
        fields.get("intVal").cloned().unwrap_or_else(|| Value::from(0))
    })
}

fn utf8(bytes: &[u8], at: &dyn Fn() -> String) -> Result<String, ProtobufError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtobufError::NotUtf8 { field: at() })
}

/// Whether a field the schema does not know carries anything but its zero value.
fn carries_data(wire: &WireValue<'_>) -> bool {
    match wire {
        WireValue::Varint(v) => *v != 0,
        WireValue::Fixed64(b) => b.iter().any(|&x| x != 0),
        WireValue::Fixed32(b) => b.iter().any(|&x| x != 0),
        WireValue::Bytes(b) => !b.is_empty(),
    }
}

/// What Go's `omitempty` leaves out: `""`, `0`, `false`, `null`, `{}`, `[]`.
fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn zero_of(ty: &Type) -> Value {
    match ty {
        Type::String | Type::Bytes | Type::Quantity => Value::String(String::new()),
        Type::Bool => Value::Bool(false),
        Type::Int32 | Type::Int64 | Type::IntOrString => Value::from(0),
        Type::Message(_) | Type::Map(_) => Value::Object(Map::new()),
        Type::Time => Value::Null,
    }
}

fn field_name(field: &Field) -> &'static str {
    if field.json.is_empty() {
        "(inline)"
    } else {
        field.json
    }
}

use super::schema::{field, pointer};

/// `google.protobuf.Timestamp`'s layout, which `metav1.Time` uses on the wire.
static TIMESTAMP: Message = Message {
    name: "meta.v1.Time",
    fields: &[field(1, "seconds", Type::Int64), field(2, "nanos", Type::Int32)],
};

static QUANTITY: Message = Message {
    name: "resource.Quantity",
    fields: &[field(1, "string", Type::String)],
};

static INT_OR_STRING: Message = Message {
    name: "intstr.IntOrString",
    fields: &[
        pointer(1, "type", Type::Int64),
        pointer(2, "intVal", Type::Int32),
        pointer(3, "strVal", Type::String),
    ],
};
