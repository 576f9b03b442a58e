//! # The protobuf wire format, read by hand
//!
//! A protobuf message is nothing but a run of fields, each a *key* and a *value*:
//!
//! ```text
//! key   = varint( field_number << 3 | wire_type )
//! value = varint                       (wire type 0: ints, bools, enums)
//!       | 8 bytes, little-endian       (wire type 1: double, fixed64)
//!       | varint length, then bytes    (wire type 2: strings, bytes, nested messages, packed lists)
//!       | 4 bytes, little-endian       (wire type 5: float, fixed32)
//! ```
//!
//! A *varint* stores 7 bits per byte, lowest first; the high bit says "more bytes follow". So
//! `300` is `0xAC 0x02`: `0x2C | 0x80`, then `0x02`, and `0x2C + (0x02 << 7) = 300`.
//!
//! Names and types are not on the wire: the reader needs a schema to know that field 3 of a
//! Secret is its `type`, a string. That is the job of [`super::schema`]; this module only cuts
//! the bytes into fields. (Wire types 3 and 4, proto1's groups, are not used by Kubernetes.)
//!
//! The reader is a dozen lines per case, so kubelab writes it instead of taking a protobuf
//! crate: those crates generate Rust structs from `.proto` files, and kubelab wants JSON out,
//! driven by a table, with no generated code to read.

use super::ProtobufError;

/// One field's value as the wire carries it, before the schema says what it means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WireValue<'a> {
    Varint(u64),
    Fixed64([u8; 8]),
    Bytes(&'a [u8]),
    Fixed32([u8; 4]),
}

/// Cuts a message's bytes into `(field number, value)` pairs, in wire order.
pub struct FieldReader<'a> {
    rest: &'a [u8],
}

impl<'a> FieldReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        FieldReader { rest: bytes }
    }

    /// The next field, `None` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, WireValue<'a>)>, ProtobufError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| malformed("field number too large"))?;
        if number == 0 {
            return Err(malformed("field number 0"));
        }
        let value = match key & 0b111 {
            0 => WireValue::Varint(self.varint()?),
            1 => WireValue::Fixed64(self.take(8)?.try_into().map_err(|_| malformed("short 64-bit value"))?),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| malformed("length too large"))?;
                WireValue::Bytes(self.take(len)?)
            }
            5 => WireValue::Fixed32(self.take(4)?.try_into().map_err(|_| malformed("short 32-bit value"))?),
            other => {
                return Err(malformed(&format!(
                    "wire type {other} (groups are not used by Kubernetes)"
                )))
            }
        };
        Ok(Some((number, value)))
    }

    fn varint(&mut self) -> Result<u64, ProtobufError> {
        let (value, used) = read_varint(self.rest)?;
        self.rest = &self.rest[used..];
        Ok(value)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtobufError> {
        if self.rest.len() < n {
            return Err(malformed("a value runs past the end of its message"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
}

/// Reads one varint from the front of `bytes`: its value and how many bytes it took.
pub fn read_varint(bytes: &[u8]) -> Result<(u64, usize), ProtobufError> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(malformed("a varint is cut off or longer than 10 bytes"))
}

fn malformed(what: &str) -> ProtobufError {
    ProtobufError::Malformed(what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_seven_bits_a_byte_lowest_first() {
        assert_eq!(read_varint(&[0x01]).unwrap(), (1, 1));
        assert_eq!(read_varint(&[0xAC, 0x02]).unwrap(), (300, 2));
        // -1 as an int32 or int64 is ten bytes: the sign-extended 64-bit value.
        let minus_one = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
        assert_eq!(read_varint(&minus_one).unwrap(), (u64::MAX, 10));
        assert!(read_varint(&[0x80, 0x80]).is_err(), "cut off");
        assert!(read_varint(&[0x80; 11]).is_err(), "too long");
    }

    #[test]
    fn fields_come_out_with_their_numbers_and_wire_types() {
        // field 1 varint 150; field 2 bytes "hi"; field 3 fixed32; field 4 fixed64
        let bytes = [
            0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x1D, 1, 0, 0, 0, 0x21, 2, 0, 0, 0, 0, 0, 0, 0,
        ];
        let mut reader = FieldReader::new(&bytes);
        assert_eq!(reader.next_field().unwrap(), Some((1, WireValue::Varint(150))));
        assert_eq!(reader.next_field().unwrap(), Some((2, WireValue::Bytes(b"hi"))));
        assert_eq!(
            reader.next_field().unwrap(),
            Some((3, WireValue::Fixed32([1, 0, 0, 0])))
        );
        assert_eq!(
            reader.next_field().unwrap(),
            Some((4, WireValue::Fixed64([2, 0, 0, 0, 0, 0, 0, 0])))
        );
        assert_eq!(reader.next_field().unwrap(), None);
    }

    #[test]
    fn truncated_and_odd_input_is_refused() {
        assert!(
            FieldReader::new(&[0x12, 0x05, b'a']).next_field().is_err(),
            "length past the end"
        );
        assert!(FieldReader::new(&[0x0B]).next_field().is_err(), "group start");
        assert!(FieldReader::new(&[0x00, 0x00]).next_field().is_err(), "field 0");
    }
}
