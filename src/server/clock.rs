//! Time as Facehook stores and shows it: UTC Unix milliseconds in, RFC 3339 out.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in UTC Unix milliseconds: the one clock every stored time is read from.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-25T20:39:43.123Z`.
pub fn rfc3339(unix_ms: i64) -> String {
    let nanos = i128::from(unix_ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_with_milliseconds() {
        assert_eq!(super::rfc3339(1_649_367_553_120), "2022-04-07T21:39:13.12Z");
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
