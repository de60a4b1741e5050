//! Time as Facehook stores and shows it: UTC Unix milliseconds in, RFC 3339 out.

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
