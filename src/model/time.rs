//! UTC times as the console shows and reads them: absolute, so the server and the browser
//! render the same text, and a filter in a shared URL means the same instant for everyone.

/// Now, by the server's clock, for "3 min ago" on pages rendered on the server. Pages are
/// rendered only there (islands aside), so the browser build never needs it and answers 0.
pub fn server_now_ms() -> i64 {
    #[cfg(feature = "ssr")]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis() as i64)
    }
    #[cfg(not(feature = "ssr"))]
    {
        0
    }
}

/// `2026-11-25 18:04 UTC`.
pub fn utc_time(ms: i64) -> String {
    let (date, hour, minute) = split(ms);
    format!("{date} {hour:02}:{minute:02} UTC")
}

/// `2026-11-25 18:04:33 UTC`: a delivery's or an attempt's moment, to the second.
pub fn utc_seconds(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (date, hour, minute) = split(ms);
    format!(
        "{date} {hour:02}:{minute:02}:{:02} UTC",
        secs.rem_euclid(60)
    )
}

/// `3 min ago`, `in 5 s`, `just now`: how far `ms` is from `now_ms`, in the largest whole unit.
pub fn relative_time(ms: i64, now_ms: i64) -> String {
    let secs = (now_ms - ms) / 1000;
    let distance = secs.unsigned_abs();
    if distance < 5 {
        return "just now".to_owned();
    }
    let (amount, unit) = match distance {
        0..60 => (distance, "s"),
        60..3_600 => (distance / 60, "min"),
        3_600..86_400 => (distance / 3_600, "h"),
        _ => (
            distance / 86_400,
            if distance < 2 * 86_400 { "day" } else { "days" },
        ),
    };
    if secs >= 0 {
        format!("{amount} {unit} ago")
    } else {
        format!("in {amount} {unit}")
    }
}

/// `2026-11-25T18:04`: the value a `datetime-local` input holds.
pub fn utc_input(ms: i64) -> String {
    let (date, hour, minute) = split(ms);
    format!("{date}T{hour:02}:{minute:02}")
}

/// `18:00`: an hour label on the chart.
pub fn utc_hour(ms: i64) -> String {
    let (_, hour, _) = split(ms);
    format!("{hour:02}:00")
}

fn split(ms: i64) -> (String, i64, i64) {
    let secs = ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        rem / 3600,
        (rem % 3600) / 60,
    )
}

/// Reads `YYYY-MM-DDTHH:MM` (optionally `:SS`, a trailing `Z`, or a space for the `T`) as UTC.
pub fn parse_utc_minute(raw: &str) -> Result<i64, String> {
    let bad = || format!("Expected a UTC time like 2026-11-25T18:04, got {raw:?}.");
    let text = raw.trim().trim_end_matches(['Z', 'z']);
    let (date, time) = text.split_once(['T', ' ']).ok_or_else(bad)?;
    let number = |part: Option<&str>, range: std::ops::RangeInclusive<i64>| {
        part.filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse::<i64>().ok())
            .filter(|n| range.contains(n))
            .ok_or_else(bad)
    };
    let mut date_parts = date.split('-');
    let year = number(date_parts.next(), 1970..=9999)?;
    let month = number(date_parts.next(), 1..=12)?;
    let day = number(date_parts.next(), 1..=31)?;
    let mut time_parts = time.split(':');
    let hour = number(time_parts.next(), 0..=23)?;
    let minute = number(time_parts.next(), 0..=59)?;
    let second = match time_parts.next() {
        Some(part) => number(Some(part), 0..=59)?,
        None => 0,
    };
    if date_parts.next().is_some() || time_parts.next().is_some() {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    if civil_from_days(days) != (year, month, day) {
        return Err(format!("{raw:?} is not a date in the calendar."));
    }
    Ok(((days * 86_400) + hour * 3600 + minute * 60 + second) * 1000)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The inverse of `civil_from_days`.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(utc_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_time(1_649_367_553_000), "2022-04-07 21:39 UTC");
        assert_eq!(utc_time(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc_input(1_649_367_553_000), "2022-04-07T21:39");
        assert_eq!(utc_hour(1_649_367_553_000), "21:00");
    }

    #[test]
    fn says_how_long_ago() {
        let now = 1_649_367_553_000;
        assert_eq!(utc_seconds(now), "2022-04-07 21:39:13 UTC");
        assert_eq!(relative_time(now - 2_000, now), "just now");
        assert_eq!(relative_time(now - 42_000, now), "42 s ago");
        assert_eq!(relative_time(now - 180_000, now), "3 min ago");
        assert_eq!(relative_time(now - 5 * 3_600_000, now), "5 h ago");
        assert_eq!(relative_time(now - 36 * 3_600_000, now), "1 day ago");
        assert_eq!(relative_time(now - 72 * 3_600_000, now), "3 days ago");
        assert_eq!(relative_time(now + 300_000, now), "in 5 min");
    }

    #[test]
    fn parses_what_it_formats() {
        for ms in [0, 951_782_400_000, 1_649_367_540_000, 4_102_444_740_000] {
            assert_eq!(parse_utc_minute(&utc_input(ms)), Ok(ms));
        }
        assert_eq!(
            parse_utc_minute("2022-04-07T21:39:13Z"),
            Ok(1_649_367_553_000)
        );
        assert_eq!(parse_utc_minute("2022-04-07 21:39"), Ok(1_649_367_540_000));
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for raw in [
            "",
            "yesterday",
            "2022-04-07",
            "2022-13-01T00:00",
            "2022-02-30T00:00",
            "2022-04-07T24:00",
            "2022-04-07T10:00:00:00",
            "+2022-04-07T10:00",
        ] {
            assert!(parse_utc_minute(raw).is_err(), "{raw:?} was accepted");
        }
    }
}
