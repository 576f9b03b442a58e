//! Quantities: how Kubernetes writes amounts of CPU, memory and storage.
//!
//! `500m` is half a CPU (milli-units), `128Mi` is 128 × 2²⁰ bytes, `1G` is 10⁹ bytes and `1e3`
//! is a thousand. Manifests keep the user's spelling, so [`Quantity`] stores the original text and
//! serializes it back unchanged; [`Quantity::parse`] turns it into a number when the scheduler or
//! a node agent needs to add or compare amounts.
//!
//! In YAML, `cpu: 1` is a number, not a string, so a quantity decodes from either.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The pattern Kubernetes states in its error message for a malformed quantity.
pub const QUANTITY_REGEX: &str = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/// An amount as the user wrote it (`"500m"`, `"128Mi"`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Quantity(pub String);

/// Why a quantity did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The text is not a number followed by a known suffix.
    #[error("quantities must match the regular expression '{QUANTITY_REGEX}'")]
    Format,
    /// The text has the right shape but the suffix is unknown (`12XB` never gets here; `1Ki5` does).
    #[error("unable to parse quantity's suffix")]
    Suffix,
    /// The value does not fit the range kubelab computes with.
    #[error("quantity is too large")]
    Overflow,
}

/// A parsed quantity: `sign × mantissa × 10^exp10 × 2^exp2`, exact, with no rounding yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedQuantity {
    negative: bool,
    mantissa: i128,
    exp10: i32,
    exp2: u32,
}

impl Quantity {
    pub fn new(text: impl Into<String>) -> Self {
        Quantity(text.into())
    }

    /// A CPU-style quantity from milli-units: 500 → `500m`, 2000 → `2`.
    pub fn from_millis(millis: i64) -> Self {
        if millis % 1000 == 0 {
            Quantity((millis / 1000).to_string())
        } else {
            Quantity(format!("{millis}m"))
        }
    }

    /// A byte count, written in the largest binary unit that divides it (`128Mi`).
    pub fn from_bytes(bytes: i64) -> Self {
        for (suffix, shift) in [("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)] {
            let unit = 1i64 << shift;
            if bytes != 0 && bytes % unit == 0 {
                return Quantity(format!("{}{suffix}", bytes / unit));
            }
        }
        Quantity(bytes.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses the text, as Kubernetes' `resource.ParseQuantity` does.
    pub fn parse(&self) -> Result<ParsedQuantity, QuantityError> {
        ParsedQuantity::parse(&self.0)
    }

    /// The value in milli-units, rounded up (`100m` → 100, `1` → 1000, `1Ki` → 1 024 000).
    pub fn millis(&self) -> Result<i128, QuantityError> {
        self.parse()?.millis()
    }

    /// The value in whole units, rounded up (`128Mi` → 134 217 728 bytes, `500m` → 1).
    pub fn value(&self) -> Result<i128, QuantityError> {
        self.parse()?.value()
    }
}

impl ParsedQuantity {
    /// Parses `<number><suffix>`: the number is `[+-]?[0-9.]+`, the suffix one of `n u m k M G T
    /// P E` (powers of ten), `Ki Mi Gi Ti Pi Ei` (powers of two) or `e<int>`/`E<int>`.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut negative = false;
        if let Some(&sign) = bytes.first() {
            if sign == b'+' || sign == b'-' {
                negative = sign == b'-';
                i = 1;
            }
        }
        let number_start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let number = &text[number_start..i];
        let suffix = &text[i..];
        if number.is_empty() || !suffix_shape_ok(suffix) {
            return Err(QuantityError::Format);
        }
        let (whole, fraction) = match number.split_once('.') {
            Some((w, f)) => (w, f),
            None => (number, ""),
        };
        if fraction.contains('.') || (whole.is_empty() && fraction.is_empty()) {
            return Err(QuantityError::Format);
        }
        let mut mantissa: i128 = 0;
        for b in whole.bytes().chain(fraction.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b - b'0')))
                .ok_or(QuantityError::Overflow)?;
        }
        let (exp10, exp2) = parse_suffix(suffix)?;
        let exp10 = exp10
            .checked_sub(fraction.len() as i32)
            .ok_or(QuantityError::Overflow)?;
        Ok(ParsedQuantity {
            negative: negative && mantissa != 0,
            mantissa,
            exp10,
            exp2,
        })
    }

    /// The value times `10^scale`, rounded up (away from zero for positive values), as
    /// Kubernetes' `ScaledValue` does so a request of `0.1m` still counts as `1m`.
    pub fn scaled(&self, scale: i32) -> Result<i128, QuantityError> {
        let mut n = self.mantissa;
        if self.exp2 > 0 {
            let factor = 1i128
                .checked_shl(self.exp2)
                .filter(|_| self.exp2 < 127)
                .ok_or(QuantityError::Overflow)?;
            n = n.checked_mul(factor).ok_or(QuantityError::Overflow)?;
        }
        let e = self.exp10 + scale;
        let magnitude = if e >= 0 {
            let factor = 10i128.checked_pow(e as u32).ok_or(QuantityError::Overflow)?;
            n.checked_mul(factor).ok_or(QuantityError::Overflow)?
        } else {
            match 10i128.checked_pow((-e) as u32) {
                Some(div) => n / div + i128::from(n % div != 0),
                // Dividing by more than 10^38 leaves less than one unit: round up to 1.
                None => i128::from(n != 0),
            }
        };
        Ok(if self.negative { -magnitude } else { magnitude })
    }

    pub fn millis(&self) -> Result<i128, QuantityError> {
        self.scaled(3)
    }

    pub fn value(&self) -> Result<i128, QuantityError> {
        self.scaled(0)
    }

    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// An approximate floating-point value, for display and ratios.
    pub fn as_f64(&self) -> f64 {
        let v = self.mantissa as f64 * 10f64.powi(self.exp10) * 2f64.powi(self.exp2 as i32);
        if self.negative {
            -v
        } else {
            v
        }
    }
}

/// Whether the suffix matches `[eEinumkKMGTP]*[-+]?[0-9]*`, the shape Kubernetes accepts before
/// looking at what the suffix means.
fn suffix_shape_ok(suffix: &str) -> bool {
    let letters = suffix.trim_start_matches(|c: char| "eEinumkKMGTP".contains(c));
    let rest = letters.strip_prefix(['+', '-']).unwrap_or(letters);
    rest.bytes().all(|b| b.is_ascii_digit())
}

/// Maps a suffix to its power of ten and power of two.
fn parse_suffix(suffix: &str) -> Result<(i32, u32), QuantityError> {
    let decimal = match suffix {
        "" => Some(0),
        "n" => Some(-9),
        "u" => Some(-6),
        "m" => Some(-3),
        "k" => Some(3),
        "M" => Some(6),
        "G" => Some(9),
        "T" => Some(12),
        "P" => Some(15),
        "E" => Some(18),
        _ => None,
    };
    if let Some(exp10) = decimal {
        return Ok((exp10, 0));
    }
    let binary = match suffix {
        "Ki" => Some(10),
        "Mi" => Some(20),
        "Gi" => Some(30),
        "Ti" => Some(40),
        "Pi" => Some(50),
        "Ei" => Some(60),
        _ => None,
    };
    if let Some(exp2) = binary {
        return Ok((0, exp2));
    }
    // A decimal exponent: `1e3`, `5E-2`.
    if let Some(exponent) = suffix.strip_prefix(['e', 'E']) {
        if let Ok(e) = exponent.parse::<i32>() {
            if e.abs() <= 1000 {
                return Ok((e, 0));
            }
        }
    }
    Err(QuantityError::Suffix)
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Quantity {
    fn from(text: &str) -> Self {
        Quantity(text.to_string())
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct QuantityVisitor;

        impl Visitor<'_> for QuantityVisitor {
            type Value = Quantity;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity such as \"500m\", \"128Mi\" or 2")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Quantity, E> {
                Ok(Quantity(v))
            }
        }

        d.deserialize_any(QuantityVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(text: &str) -> Result<i128, QuantityError> {
        Quantity::from(text).millis()
    }

    #[test]
    fn cpu_quantities() {
        assert_eq!(millis("500m"), Ok(500));
        assert_eq!(millis("1"), Ok(1000));
        assert_eq!(millis("0.5"), Ok(500));
        assert_eq!(millis(".5"), Ok(500));
        assert_eq!(millis("1.5"), Ok(1500));
        assert_eq!(millis("100u"), Ok(1), "rounds up");
        assert_eq!(millis("-1"), Ok(-1000));
        assert_eq!(millis("1e3"), Ok(1_000_000));
        assert_eq!(millis("1E-3"), Ok(1));
    }

    #[test]
    fn memory_quantities() {
        let bytes = |t: &str| Quantity::from(t).value();
        assert_eq!(bytes("128Mi"), Ok(128 << 20));
        assert_eq!(bytes("1Gi"), Ok(1 << 30));
        assert_eq!(bytes("1G"), Ok(1_000_000_000));
        assert_eq!(bytes("2k"), Ok(2000));
        assert_eq!(bytes("1Ki"), Ok(1024));
        assert_eq!(bytes("1.5Gi"), Ok(3 << 29));
        assert_eq!(bytes("1E"), Ok(1_000_000_000_000_000_000));
        assert_eq!(bytes("1Ei"), Ok(1 << 60));
        assert_eq!(bytes("3T"), Ok(3_000_000_000_000));
        assert_eq!(bytes("1P"), Ok(1_000_000_000_000_000));
    }

    #[test]
    fn malformed_quantities_say_why() {
        for bad in ["12XB", "", "abc", "1..2", "Mi", "1 Gi"] {
            assert_eq!(Quantity::from(bad).parse(), Err(QuantityError::Format), "{bad}");
        }
        assert_eq!(Quantity::from("1iK").parse(), Err(QuantityError::Suffix));
        assert_eq!(
            QuantityError::Format.to_string(),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
    }

    #[test]
    fn decodes_from_numbers_and_strings() {
        let q: Quantity = serde_json::from_str("1").unwrap();
        assert_eq!(q, Quantity::from("1"));
        let q: Quantity = serde_json::from_str("0.5").unwrap();
        assert_eq!(q, Quantity::from("0.5"));
        let q: Quantity = serde_json::from_str("\"250m\"").unwrap();
        assert_eq!(serde_json::to_string(&q).unwrap(), "\"250m\"");
        assert_eq!(Quantity::from_millis(1500).as_str(), "1500m");
        assert_eq!(Quantity::from_millis(2000).as_str(), "2");
        assert_eq!(Quantity::from_bytes(128 << 20).as_str(), "128Mi");
    }
}
