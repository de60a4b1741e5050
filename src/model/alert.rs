//! Alerts: what can be raised when delivery breaks, each organization's thresholds, and the
//! views the console shows (the bell's count, the alerts page, the mail and webhook settings).

use super::AppError;
use serde::{Deserialize, Serialize};

/// Every alert kind. The account page's mail choices, the docs and validation derive from
/// `ALL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlertKind {
    EndpointFailing,
    DisableWarning,
    EndpointDisabled,
    EndpointRecovered,
    DeliveryExhausted,
    QueueBacklog,
    DispatcherSilent,
}

impl AlertKind {
    pub const ALL: [AlertKind; 7] = [
        AlertKind::EndpointFailing,
        AlertKind::DisableWarning,
        AlertKind::EndpointDisabled,
        AlertKind::EndpointRecovered,
        AlertKind::DeliveryExhausted,
        AlertKind::QueueBacklog,
        AlertKind::DispatcherSilent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::EndpointFailing => "endpoint.failing",
            AlertKind::DisableWarning => "endpoint.disable_warning",
            AlertKind::EndpointDisabled => "endpoint.disabled",
            AlertKind::EndpointRecovered => "endpoint.recovered",
            AlertKind::DeliveryExhausted => "delivery.exhausted",
            AlertKind::QueueBacklog => "queue.backlog",
            AlertKind::DispatcherSilent => "dispatcher.silent",
        }
    }

    pub fn parse(raw: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }

    /// What it means, in a sentence for the account page and the docs.
    pub fn description(self) -> &'static str {
        match self {
            AlertKind::EndpointFailing => "An endpoint keeps failing: consecutive failures or its success rate crossed your organization's threshold.",
            AlertKind::DisableWarning => "A failing endpoint is halfway, then 90 %, of the way to being disabled.",
            AlertKind::EndpointDisabled => "Facehook disabled an endpoint (it answered 410, or failed for too long).",
            AlertKind::EndpointRecovered => "A failing endpoint delivered again; its episode is closed.",
            AlertKind::DeliveryExhausted => "Deliveries failed their last attempt (at most one alert an hour per endpoint, with the count).",
            AlertKind::QueueBacklog => "Operators: the oldest waiting delivery has waited too long.",
            AlertKind::DispatcherSilent => "Operators: deliveries are due and no dispatcher is sending.",
        }
    }

    /// Raised about the whole server, for its operators, not for an organization.
    pub fn for_operators(self) -> bool {
        matches!(self, AlertKind::QueueBacklog | AlertKind::DispatcherSilent)
    }
}

/// Bounds of the thresholds, for validation and the form's `min`/`max`.
pub const FAILURES_RANGE: (i64, i64) = (1, 1_000);
pub const RATE_PERCENT_RANGE: (i64, i64) = (1, 99);
pub const MIN_ATTEMPTS_RANGE: (i64, i64) = (1, 100_000);

/// When an organization's endpoint counts as failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRules {
    /// Consecutive failed attempts.
    pub failures: i64,
    /// Or: a success rate over the last hour below this percentage …
    pub rate_percent: i64,
    /// … over at least this many attempts.
    pub min_attempts: i64,
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            failures: 5,
            rate_percent: 50,
            min_attempts: 20,
        }
    }
}

impl AlertRules {
    /// Reads the three form fields, each a whole number within its bounds.
    pub fn parse(failures: &str, rate_percent: &str, min_attempts: &str) -> Result<Self, AppError> {
        Ok(AlertRules {
            failures: whole("failures", "Consecutive failures", failures, FAILURES_RANGE)?,
            rate_percent: whole(
                "rate_percent",
                "Success rate",
                rate_percent,
                RATE_PERCENT_RANGE,
            )?,
            min_attempts: whole(
                "min_attempts",
                "Minimum attempts",
                min_attempts,
                MIN_ATTEMPTS_RANGE,
            )?,
        })
    }
}

fn whole(field: &str, label: &str, raw: &str, (min, max): (i64, i64)) -> Result<i64, AppError> {
    match raw.trim().parse::<i64>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(AppError::invalid(
            field,
            format!("{label} must be a whole number from {min} to {max}."),
        )),
    }
}

/// One alert as the console lists it, with its episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub id: String,
    pub kind: String,
    pub message: String,
    pub raised_at_ms: i64,
    pub unread: bool,
    /// The console path of the endpoint, while it exists.
    pub endpoint_href: Option<String>,
    pub endpoint_url: Option<String>,
    /// For `delivery.exhausted`: how many deliveries it counts (it grows for an hour).
    pub deliveries_affected: i64,
    pub episode: Option<EpisodeView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeView {
    pub id: String,
    pub opened_at_ms: i64,
    pub closed_at_ms: Option<i64>,
    pub deliveries_affected: i64,
}

/// The alerts page: the newest alerts of the organization the console shows (and the
/// server's, for operators).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertsPage {
    pub alerts: Vec<AlertView>,
    pub open_episodes: usize,
}

/// The organization page's alert settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSettingsView {
    pub rules: AlertRules,
    pub webhook_url: Option<String>,
    /// Shown to owners and admins only.
    pub webhook_secret: Option<String>,
    pub can_edit: bool,
}

/// The account page's mail choices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMailChoices {
    pub chosen: Vec<String>,
    pub is_operator: bool,
    pub email: String,
    /// Alerts are mailed only to a confirmed address, and only when the server sends mail.
    pub email_verified: bool,
    pub mail_configured: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in AlertKind::ALL {
            assert_eq!(AlertKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AlertKind::parse("endpoint.exploded"), None);
    }

    #[test]
    fn rules_name_the_field_and_its_bounds() {
        assert_eq!(
            AlertRules::parse("5", "50", "20").unwrap(),
            AlertRules::default()
        );
        let err = AlertRules::parse("0", "50", "20").unwrap_err();
        assert_eq!(err.field(), Some("failures"));
        assert!(err.to_string().contains("from 1 to 1000"));
        assert_eq!(
            AlertRules::parse("5", "100", "20").unwrap_err().field(),
            Some("rate_percent")
        );
        assert_eq!(
            AlertRules::parse("5", "50", "2.5").unwrap_err().field(),
            Some("min_attempts")
        );
    }
}
