//! When a failed delivery is tried again: the retry schedule, its jitter, and how far a
//! receiver's `Retry-After` may move the next attempt. Pure arithmetic, no I/O.

use std::time::Duration;

/// Delays before each attempt; the first entry is the delay of the first attempt (normally 0),
/// so the schedule's length is the number of attempts a delivery gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

/// Share of each delay added or removed at random, so failed deliveries do not retry in lockstep.
const JITTER: f64 = 0.2;

impl RetrySchedule {
    /// Parses `0s,5s,5m,30m,2h` — units `ms`, `s`, `m`, `h`; a bare number is seconds.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let delays = raw
            .split(',')
            .map(|step| parse_delay(step.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        if delays.is_empty() || delays.len() > 50 {
            return Err("the retry schedule needs between 1 and 50 steps".to_owned());
        }
        Ok(RetrySchedule(delays))
    }

    pub fn attempts(&self) -> usize {
        self.0.len()
    }

    pub fn longest_delay(&self) -> Duration {
        self.0.iter().copied().max().unwrap_or_default()
    }

    /// The delay before attempt number `attempts_made + 1`, if the schedule has one.
    fn step(&self, attempts_made: usize) -> Option<Duration> {
        self.0.get(attempts_made).copied()
    }

    /// After `attempts_made` attempts have failed: how long until the next one, or `None`
    /// when the schedule is exhausted. `jitter` in [-1, 1] scales the ±20 % spread.
    pub fn next_delay(
        &self,
        attempts_made: usize,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        let step = self.step(attempts_made)?;
        if let Some(asked) = retry_after {
            // Honour the receiver, but never beyond the next two steps of our own schedule.
            let ceiling = step + self.step(attempts_made + 1).unwrap_or_default();
            return Some(asked.min(ceiling));
        }
        let factor = 1.0 + JITTER * jitter.clamp(-1.0, 1.0);
        Some(step.mul_f64(factor))
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        const MIN: u64 = 60;
        const HOUR: u64 = 60 * MIN;
        RetrySchedule(
            [
                0,
                5,
                5 * MIN,
                30 * MIN,
                2 * HOUR,
                5 * HOUR,
                10 * HOUR,
                10 * HOUR,
            ]
            .into_iter()
            .map(Duration::from_secs)
            .collect(),
        )
    }
}

fn parse_delay(step: &str) -> Result<Duration, String> {
    let invalid = || format!("{step:?} is not a delay like 500ms, 5s, 5m or 2h");
    let split = step
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(step.len());
    let (number, unit) = step.split_at(split);
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(invalid()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| invalid())
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_is_the_documented_one() {
        let parsed = RetrySchedule::parse("0s,5s,5m,30m,2h,5h,10h,10h").unwrap();
        assert_eq!(parsed, RetrySchedule::default());
        assert_eq!(parsed.attempts(), 8);
    }

    #[test]
    fn parses_units_and_rejects_nonsense() {
        let parsed = RetrySchedule::parse("0, 250ms, 1.5s, 2m").unwrap();
        assert_eq!(parsed.0[1], Duration::from_millis(250));
        assert_eq!(parsed.0[2], Duration::from_millis(1500));
        assert_eq!(parsed.0[3], Duration::from_secs(120));
        assert!(RetrySchedule::parse("5d").is_err());
        assert!(RetrySchedule::parse("").is_err());
        assert!(RetrySchedule::parse("-1s").is_err());
    }

    #[test]
    fn delays_follow_the_schedule_with_bounded_jitter() {
        let schedule = RetrySchedule::default();
        assert_eq!(
            schedule.next_delay(1, None, 0.0),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            schedule.next_delay(2, None, 1.0),
            Some(Duration::from_secs(360))
        );
        assert_eq!(
            schedule.next_delay(2, None, -1.0),
            Some(Duration::from_secs(240))
        );
        assert_eq!(schedule.next_delay(8, None, 0.0), None);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_next_two_steps() {
        let schedule = RetrySchedule::default();
        let asked = Some(Duration::from_secs(60));
        assert_eq!(
            schedule.next_delay(1, asked, 0.9),
            Some(Duration::from_secs(60))
        );
        let too_long = Some(Duration::from_secs(86_400));
        assert_eq!(
            schedule.next_delay(1, too_long, 0.0),
            Some(Duration::from_secs(5 + 300))
        );
        assert_eq!(schedule.next_delay(8, asked, 0.0), None);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now),
            Some(Duration::from_secs(1_445_412_600 - 1_445_412_480))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
