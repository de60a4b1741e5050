//! The dispatcher's settings, read from the command line and the environment. Owned here so
//! the dispatcher never imports the server's configuration (which composes these).

use super::RetrySchedule;
use std::path::PathBuf;

/// How the dispatcher delivers: concurrency, retries, trust roots, retention.
#[derive(Debug, Clone, clap::Args)]
pub struct DispatchConfig {
    /// Attempts in flight at once across all endpoints (per process).
    #[arg(long, env = "FACEHOOK_DISPATCH_CONCURRENCY", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_in_flight: u32,

    /// Attempts in flight at once to one endpoint, so a slow receiver cannot take every slot.
    #[arg(long, env = "FACEHOOK_ENDPOINT_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub max_in_flight_per_endpoint: u32,

    /// Delay before each attempt, e.g. `0s,5s,5m,30m,2h,5h,10h,10h` (units ms, s, m, h).
    #[arg(long, env = "FACEHOOK_RETRY_SCHEDULE", default_value = "0s,5s,5m,30m,2h,5h,10h,10h", value_parser = RetrySchedule::parse)]
    pub retry_schedule: RetrySchedule,

    /// PEM file of extra certificate authorities trusted for `https` endpoints (private PKI).
    #[arg(long, env = "FACEHOOK_EXTRA_CA_FILE")]
    pub extra_ca_file: Option<PathBuf>,

    /// Events, deliveries and attempts older than this many days are deleted.
    #[arg(long, env = "FACEHOOK_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub retention_days: u32,

    /// An endpoint whose deliveries have all failed for this many days is disabled.
    #[arg(long, env = "FACEHOOK_DISABLE_AFTER_DAYS", default_value_t = 5.0, value_parser = parse_positive_days)]
    pub disable_failing_after_days: f64,
}

fn parse_positive_days(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(days) if days.is_finite() && days > 0.0 => Ok(days),
        _ => Err(format!(
            "{raw:?} is not a positive number of days, like 5 or 0.5"
        )),
    }
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            max_in_flight: 256,
            max_in_flight_per_endpoint: 8,
            retry_schedule: Default::default(),
            extra_ca_file: None,
            retention_days: 30,
            disable_failing_after_days: 5.0,
        }
    }
}
