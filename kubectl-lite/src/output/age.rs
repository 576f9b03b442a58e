//! Ages as kubectl prints them: `45s`, `3m20s`, `5h`, `2d3h`, `400d`.
//!
//! The columns of `get` come from the server, but `describe` (events, conditions) computes
//! ages itself, with the same rules as Kubernetes' `duration.HumanDuration`: precise when the
//! time is short, coarser as it grows, never more than two units.

use chrono::{DateTime, Utc};

/// How long ago an RFC 3339 timestamp was, or `<unknown>` when it is missing or unreadable.
pub fn since(timestamp: Option<&str>) -> String {
    let Some(ts) = timestamp.and_then(|t| DateTime::parse_from_rfc3339(t).ok()) else {
        return "<unknown>".into();
    };
    let seconds = (Utc::now() - ts.with_timezone(&Utc)).num_seconds();
    human_duration(seconds)
}

/// Kubernetes' `HumanDuration` of a number of seconds.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let seconds = seconds.max(0);
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{days}d")
        } else {
            format!("{days}d{h}h")
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        let d = days % 365;
        return if d == 0 {
            format!("{years}y")
        } else {
            format!("{years}y{d}d")
        };
    }
    format!("{years}y")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_rounding() {
        for (s, want) in [
            (-5, "<invalid>"),
            (0, "0s"),
            (119, "119s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 120, "3h2m"),
            (30 * 3600, "30h"),
            (3 * 86400 + 3600, "3d1h"),
            (100 * 86400, "100d"),
            (3 * 365 * 86400, "3y"),
            (10 * 365 * 86400, "10y"),
        ] {
            assert_eq!(human_duration(s), want, "{s}");
        }
        assert_eq!(since(None), "<unknown>");
    }
}
