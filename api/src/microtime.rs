//! `MicroTime`: a timestamp with microseconds.
//!
//! Most Kubernetes timestamps (`creationTimestamp`) have whole seconds ([`crate::meta::Time`]).
//! A few that must order events closely, like a Lease's `renewTime` or an Event's `eventTime`,
//! keep microseconds: `2026-11-24T15:44:52.123456Z`.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time written as RFC 3339 in UTC with six fractional digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MicroTime(pub DateTime<Utc>);

impl MicroTime {
    pub fn now() -> Self {
        MicroTime(Utc::now())
    }
}

impl fmt::Display for MicroTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}

impl Serialize for MicroTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for MicroTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| MicroTime(t.with_timezone(&Utc)))
            .map_err(|e| serde::de::Error::custom(format!("invalid RFC 3339 time {text:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_microseconds() {
        let t: MicroTime = serde_json::from_str("\"2024-05-01T10:00:00.123456Z\"").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"2024-05-01T10:00:00.123456Z\"");
        let whole: MicroTime = serde_json::from_str("\"2024-05-01T10:00:00Z\"").unwrap();
        assert_eq!(whole.to_string(), "2024-05-01T10:00:00.000000Z");
    }
}
