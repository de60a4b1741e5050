//! Applications, plans, endpoints and event kinds, as the console and the server both see them.

use crate::model::ids::{AppId, DeliveryId, EndpointId};

use super::AppError;
use serde::{Deserialize, Serialize};

/// A billing plan; it gates features such as payload inclusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Premium,
    Business,
    Enterprise,
}

impl Plan {
    pub const ALL: [Plan; 4] = [Plan::Free, Plan::Premium, Plan::Business, Plan::Enterprise];

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        Plan::ALL
            .into_iter()
            .find(|plan| plan.as_str() == raw.trim().to_lowercase())
            .ok_or_else(|| {
                AppError::invalid(
                    "plan",
                    format!(
                        "Unknown plan {raw:?}; expected free, premium, business or enterprise."
                    ),
                )
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Premium => "premium",
            Plan::Business => "business",
            Plan::Enterprise => "enterprise",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Plan::Free => "Free",
            Plan::Premium => "Premium",
            Plan::Business => "Business",
            Plan::Enterprise => "Enterprise",
        }
    }

    /// Whether webhooks may carry each user's linked payload.
    pub fn allows_payload(self) -> bool {
        self >= Plan::Business
    }
}

/// A stored plan, parsed once when its row is read.
impl TryFrom<String> for Plan {
    type Error = AppError;

    fn try_from(raw: String) -> Result<Self, AppError> {
        Plan::parse(&raw)
    }
}

pub const PAYLOAD_PLAN_NOTICE: &str = "Available on the Business plan and up.";

/// The kinds of event an endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Enroll,
    Auth,
    Deletion,
    PayloadUpdate,
    PincodeUpdate,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::Enroll,
        EventKind::Auth,
        EventKind::Deletion,
        EventKind::PayloadUpdate,
        EventKind::PincodeUpdate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Enroll => "enroll",
            EventKind::Auth => "auth",
            EventKind::Deletion => "deletion",
            EventKind::PayloadUpdate => "payload_update",
            EventKind::PincodeUpdate => "pincode_update",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EventKind::Enroll => "New enrollment",
            EventKind::Auth => "Authentication success",
            EventKind::Deletion => "Facial ID deletion",
            EventKind::PayloadUpdate => "Payload update",
            EventKind::PincodeUpdate => "PIN code update",
        }
    }

    /// Every kind's name, comma-separated, for messages, help and docs: drawn from `ALL`, so
    /// a kind added there appears everywhere the kinds are listed.
    pub fn names() -> String {
        EventKind::ALL.map(EventKind::as_str).join(", ")
    }

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw.trim())
            .ok_or_else(|| {
                AppError::invalid(
                    "events",
                    format!(
                        "Unknown event {raw:?}; expected one of {}.",
                        EventKind::names()
                    ),
                )
            })
    }

    /// Parses a comma-separated list (`enroll,auth`); `all` or an empty list means every event.
    pub fn parse_list(raw: &str) -> Result<Option<Vec<EventKind>>, AppError> {
        let raw = raw.trim();
        if raw.is_empty() || raw == "all" {
            return Ok(None);
        }
        let mut kinds = Vec::new();
        for part in raw.split(',').filter(|p| !p.trim().is_empty()) {
            let kind = EventKind::parse(part)?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(normalise_subscription(kinds))
    }
}

/// A subscription to every kind is stored as "all", so events added later are included.
pub fn normalise_subscription(kinds: Vec<EventKind>) -> Option<Vec<EventKind>> {
    if kinds.is_empty() || EventKind::ALL.iter().all(|k| kinds.contains(k)) {
        None
    } else {
        Some(kinds)
    }
}

/// A 1–80 character application name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppName(String);

impl AppName {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(AppError::invalid("name", "Give the application a name."));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(AppError::invalid(
                "name",
                "Application names are at most 80 characters.",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "name",
                "Application names cannot contain control characters.",
            ));
        }
        Ok(AppName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An application as listed in the Application Manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSummary {
    pub public_id: AppId,
    pub name: String,
    pub plan: Plan,
    pub endpoint_count: i64,
    pub last_event_at_ms: Option<i64>,
    pub created_at_ms: i64,
}

/// An application's own page (Overview tab).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppDetail {
    pub public_id: AppId,
    pub name: String,
    pub plan: Plan,
    pub created_at_ms: i64,
    /// The recognisable start of the API key; the key itself is never shown again.
    pub api_key_prefix: String,
    /// Plain `http` endpoints are refused.
    pub https_only: bool,
    /// The viewer's role in the application's organization, so pages offer only what it allows.
    pub role: crate::model::org::Role,
}

/// A secret shown exactly once: a new application's API key, or a rotated one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedApiKey {
    pub public_id: AppId,
    pub api_key: String,
}

/// A webhook endpoint as the WEBHOOKS tab shows it (secrets are fetched separately).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointView {
    pub id: EndpointId,
    pub url: String,
    pub description: String,
    pub enabled: bool,
    /// `None` means every event, including kinds added later.
    pub events: Option<Vec<EventKind>>,
    pub include_payload: bool,
    pub timeout_secs: i64,
    pub disabled_reason: Option<String>,
    pub disabled_at_ms: Option<i64>,
    pub health: EndpointHealth,
    pub controls: crate::model::controls::DeliveryControls,
    /// `whpk_…`, when deliveries carry ed25519 signatures.
    pub public_key: Option<String>,
}

/// An endpoint as people named it, or the host of its URL when it has no description.
pub fn endpoint_label(description: &str, url: &str) -> String {
    if !description.trim().is_empty() {
        return description.to_owned();
    }
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    host.rsplit_once('@')
        .map_or(host, |(_, host)| host)
        .to_owned()
}

impl EndpointView {
    pub fn label(&self) -> String {
        endpoint_label(&self.description, &self.url)
    }

    /// "All events", or the subscribed kinds' labels.
    pub fn events_label(&self) -> String {
        match &self.events {
            None => "All events".to_owned(),
            Some(kinds) => kinds
                .iter()
                .map(|kind| kind.label())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    pub fn subscribes_to(&self, kind: EventKind) -> bool {
        self.events
            .as_ref()
            .is_none_or(|kinds| kinds.contains(&kind))
    }
}

/// An endpoint's signing secrets: the current one, and the previous one while it is still valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningSecrets {
    pub current: String,
    pub previous: Option<String>,
    pub previous_expires_at_ms: Option<i64>,
    /// `whpk_…` keys receivers verify `v1a` signatures with (never the private `whsk_…`).
    pub public_key: Option<String>,
    pub previous_public_key: Option<String>,
}

/// What a test event to an endpoint got back, shown inline on the WEBHOOKS tab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestDeliveryResult {
    pub delivery_id: DeliveryId,
    pub delivered: bool,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub http_version: Option<String>,
    pub response_excerpt: Option<String>,
    /// `dns`, `connect`, `tls`, `timeout`, `policy` or `http_status`, when not delivered.
    pub error_class: Option<String>,
    pub error_message: Option<String>,
}

impl TestDeliveryResult {
    /// One line for people: the outcome, status, protocol and time taken.
    pub fn summary(&self) -> String {
        let version = self
            .http_version
            .as_deref()
            .map(|v| format!(" over {v}"))
            .unwrap_or_default();
        match (self.delivered, self.status_code) {
            (true, Some(code)) => {
                format!("Delivered: HTTP {code}{version} in {} ms", self.latency_ms)
            }
            (false, Some(code)) => {
                format!("Failed: HTTP {code}{version} in {} ms", self.latency_ms)
            }
            _ => format!(
                "Failed after {} ms: {}",
                self.latency_ms,
                super::outcome::failure_in_words(
                    self.error_class.as_deref().unwrap_or(""),
                    self.error_message.as_deref().unwrap_or("no response"),
                    None,
                ),
            ),
        }
    }
}

pub const MAX_ENDPOINTS_PER_APP: i64 = 10;
pub const DEFAULT_TIMEOUT_SECS: i64 = 6;

/// Checks a per-endpoint timeout in seconds (1–30).
pub fn parse_timeout_secs(raw: &str) -> Result<i64, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(DEFAULT_TIMEOUT_SECS);
    }
    raw.parse::<i64>()
        .map_err(|_| timeout_error())
        .and_then(check_timeout_secs)
}

/// Checks a per-endpoint timeout already in seconds.
pub fn check_timeout_secs(secs: i64) -> Result<i64, AppError> {
    if (1..=30).contains(&secs) {
        Ok(secs)
    } else {
        Err(timeout_error())
    }
}

fn timeout_error() -> AppError {
    AppError::invalid(
        "timeout_secs",
        "Timeout must be a whole number of seconds from 1 to 30.",
    )
}

/// An endpoint's recent record, shown as a badge on the WEBHOOKS tab.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointHealth {
    /// Deliveries of the last 24 hours (test events aside), and how many were delivered.
    pub recent_total: i64,
    pub recent_delivered: i64,
    pub consecutive_failures: i64,
    /// The newest event of the last 24 hours sent to it.
    pub last_delivery_at_ms: Option<i64>,
}

impl EndpointHealth {
    pub fn delivered_percent(&self) -> Option<i64> {
        (self.recent_total > 0).then(|| self.recent_delivered * 100 / self.recent_total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `EventKind::ALL` is the one list: names, parsing and the wire spelling agree with it,
    /// and every hand-written list of kinds in the README names each of them.
    #[test]
    fn every_list_of_event_kinds_follows_all() {
        for kind in EventKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert_eq!(EventKind::parse(kind.as_str()).unwrap(), kind);
            assert!(EventKind::names().contains(kind.as_str()));
        }
        assert_eq!(EventKind::names().split(", ").count(), EventKind::ALL.len());
        let readme = include_str!("../../README.md");
        let lists: Vec<&str> = readme
            .lines()
            .filter(|line| line.contains("`payload_update`"))
            .collect();
        assert!(!lists.is_empty(), "the README lists the event kinds");
        for line in lists {
            for kind in EventKind::ALL {
                assert!(
                    line.contains(&format!("`{}`", kind.as_str())),
                    "README line {line:?} does not name {}",
                    kind.as_str()
                );
            }
        }
    }

    #[test]
    fn plans_parse_and_gate_payloads() {
        assert_eq!(Plan::parse("Business").unwrap(), Plan::Business);
        assert!(Plan::parse("gold").is_err());
        assert!(!Plan::Free.allows_payload());
        assert!(!Plan::Premium.allows_payload());
        assert!(Plan::Business.allows_payload());
        assert!(Plan::Enterprise.allows_payload());
    }

    #[test]
    fn event_lists_parse_with_all_meaning_every_event() {
        assert_eq!(EventKind::parse_list("all").unwrap(), None);
        assert_eq!(EventKind::parse_list("").unwrap(), None);
        assert_eq!(
            EventKind::parse_list("enroll, auth,enroll").unwrap(),
            Some(vec![EventKind::Enroll, EventKind::Auth])
        );
        let every = "enroll,auth,deletion,payload_update,pincode_update";
        assert_eq!(EventKind::parse_list(every).unwrap(), None);
        let err = EventKind::parse_list("enroll,login").unwrap_err();
        assert_eq!(err.field(), Some("events"));
    }

    #[test]
    fn names_and_timeouts_are_bounded() {
        assert_eq!(AppName::parse("  Door  ").unwrap().as_str(), "Door");
        assert!(AppName::parse("").is_err());
        assert!(AppName::parse(&"x".repeat(81)).is_err());
        assert!(AppName::parse(&"é".repeat(80)).is_ok());
        assert_eq!(parse_timeout_secs("").unwrap(), 6);
        assert_eq!(parse_timeout_secs("30").unwrap(), 30);
        assert!(parse_timeout_secs("0").is_err());
        assert!(parse_timeout_secs("31").is_err());
        assert!(parse_timeout_secs("2.5").is_err());
    }
}
