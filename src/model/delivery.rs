//! Deliveries as the console shows them: the filtered list, one delivery's request and
//! attempts, replays, the 24-hour chart and endpoint health.

use crate::model::ids::{DeliveryId, EndpointId, EventId};

use super::app::EventKind;
use super::time::parse_utc_minute;
use super::AppError;
use serde::{Deserialize, Serialize};

pub const DELIVERIES_PER_PAGE: u32 = 25;
/// The console's test events are deliveries too, under this event name.
pub const TEST_EVENT_NAME: &str = "test";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryStatus {
    Pending,
    /// Waiting behind an earlier delivery of the same facial ID (an ordered endpoint).
    Held,
    Delivering,
    Delivered,
    Retrying,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 6] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Held,
        DeliveryStatus::Delivering,
        DeliveryStatus::Delivered,
        DeliveryStatus::Retrying,
        DeliveryStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Held => "held",
            DeliveryStatus::Delivering => "delivering",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "Pending",
            DeliveryStatus::Held => "Waiting in order",
            DeliveryStatus::Delivering => "Delivering",
            DeliveryStatus::Delivered => "Delivered",
            DeliveryStatus::Retrying => "Retrying",
            DeliveryStatus::Failed => "Failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        DeliveryStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
    }
}

/// A stored status, parsed once when its row is read.
impl TryFrom<String> for DeliveryStatus {
    type Error = AppError;

    fn try_from(raw: String) -> Result<Self, AppError> {
        DeliveryStatus::parse(&raw)
            .ok_or_else(|| AppError::invalid("status", format!("Unknown delivery status {raw:?}.")))
    }
}

/// Compares with a status's stored spelling (`"delivered"`).
impl PartialEq<&str> for DeliveryStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The list's filter, as it appears in the page URL (`?status=failed&event=enroll&…`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    /// An event kind's name, or `test`.
    pub event: Option<String>,
    pub endpoint_id: Option<EndpointId>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// A delivery ID, event ID or facial ID, matched exactly.
    pub search: Option<String>,
}

/// The longest search the list accepts: any ID is far shorter.
pub const MAX_SEARCH_CHARS: usize = 200;

/// The filter's raw URL values; empty strings mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryQuery {
    pub status: Option<String>,
    pub event: Option<String>,
    pub endpoint: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// `q`: a delivery, event or facial ID.
    pub search: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl DeliveryQuery {
    /// Checks every value, naming the field and the reason of the first that is wrong.
    pub fn parse(&self) -> Result<DeliveryFilter, AppError> {
        let status = given(&self.status)
            .map(|raw| {
                DeliveryStatus::parse(raw).ok_or_else(|| {
                    AppError::invalid(
                        "status",
                        format!("Unknown status {raw:?}; expected pending, delivering, delivered, retrying or failed."),
                    )
                })
            })
            .transpose()?;
        let event = given(&self.event)
            .map(|raw| {
                if raw == TEST_EVENT_NAME {
                    Ok(raw.to_owned())
                } else {
                    EventKind::parse(raw)
                        .map(|kind| kind.as_str().to_owned())
                        .map_err(|_| {
                            AppError::invalid(
                                "event",
                                format!(
                                    "Unknown event {raw:?}; expected one of {}, {TEST_EVENT_NAME}.",
                                    EventKind::names()
                                ),
                            )
                        })
                }
            })
            .transpose()?;
        let time = |field: &str, value: &Option<String>| {
            given(value)
                .map(|raw| parse_utc_minute(raw).map_err(|reason| AppError::invalid(field, reason)))
                .transpose()
        };
        let from_ms = time("from", &self.from)?;
        let to_ms = time("to", &self.to)?;
        if let (Some(from), Some(to)) = (from_ms, to_ms) {
            if to <= from {
                return Err(AppError::invalid(
                    "to",
                    "The end of the time range must be after its start.",
                ));
            }
        }
        let search = given(&self.search)
            .map(|raw| {
                if raw.chars().count() > MAX_SEARCH_CHARS || raw.contains('\0') {
                    Err(AppError::invalid(
                        "q",
                        format!("Search for one delivery, event or facial ID (at most {MAX_SEARCH_CHARS} characters, no NUL)."),
                    ))
                } else {
                    Ok(raw.to_owned())
                }
            })
            .transpose()?;
        Ok(DeliveryFilter {
            status,
            event,
            endpoint_id: given(&self.endpoint).map(EndpointId::from),
            from_ms,
            to_ms,
            search,
        })
    }

    /// The URL query for this filter on `page` (no leading `?`).
    pub fn to_url_query(&self, page: u32) -> String {
        let mut pairs: Vec<(&str, &str)> = [
            ("status", &self.status),
            ("event", &self.event),
            ("endpoint", &self.endpoint),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.search),
        ]
        .into_iter()
        .filter_map(|(name, value)| given(value).map(|v| (name, v)))
        .collect();
        let page = page.to_string();
        if page != "0" {
            pairs.push(("page", &page));
        }
        pairs
            .into_iter()
            .map(|(name, value)| format!("{name}={}", encode(value)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Percent-encodes a query value; the UI has no URL crate in the browser build.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverySummary {
    pub id: DeliveryId,
    pub event_id: EventId,
    pub event_name: String,
    pub facial_id: String,
    pub endpoint_id: EndpointId,
    pub endpoint_url: String,
    pub endpoint_description: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    /// When a retrying delivery is tried next.
    pub next_attempt_at_ms: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_error_class: Option<String>,
    pub last_error_message: Option<String>,
    pub last_latency_ms: Option<i64>,
    pub created_at_ms: i64,
    pub completed_at_ms: Option<i64>,
}

impl DeliverySummary {
    /// What the last attempt got, in words: "HTTP 200", "Connection refused", or a dash.
    pub fn last_outcome(&self) -> String {
        match (&self.last_status_code, &self.last_error_class) {
            (Some(code), None) => format!("HTTP {code}"),
            (code, Some(class)) => super::outcome::failure_in_words(
                class,
                self.last_error_message.as_deref().unwrap_or(""),
                *code,
            ),
            (None, None) => "—".to_owned(),
        }
    }

    /// The endpoint as people named it, or its host.
    pub fn endpoint_label(&self) -> String {
        super::app::endpoint_label(&self.endpoint_description, &self.endpoint_url)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryPage {
    pub items: Vec<DeliverySummary>,
    pub page: u32,
    pub has_more: bool,
    /// The server's clock when the page was read, for "3 min ago".
    pub now_ms: i64,
}

/// The request a delivery sends, with the bearer token and the signatures masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestPreview {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// The body byte for byte as it is signed and sent (compact JSON, UTF-8).
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    pub number: i64,
    pub started_at_ms: i64,
    pub duration_ms: i64,
    pub http_version: Option<String>,
    pub remote_addr: Option<String>,
    pub status_code: Option<i64>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub response_headers: Vec<(String, String)>,
    pub response_excerpt: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryDetail {
    pub summary: DeliverySummary,
    pub request: RequestPreview,
    pub attempts: Vec<AttemptView>,
    pub now_ms: i64,
    /// The delivery a held one waits behind (same facial ID, same ordered endpoint).
    pub waiting_behind: Option<crate::model::ids::DeliveryId>,
    /// The endpoint's own retry delays, if it has them (else the server's schedule applies).
    pub retry_schedule: Option<String>,
}

/// How a bulk replay is going: its deliveries by where they are now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayProgress {
    pub replay_id: String,
    pub total: i64,
    pub delivered: i64,
    pub failed: i64,
}

impl ReplayProgress {
    pub fn waiting(&self) -> i64 {
        (self.total - self.delivered - self.failed).max(0)
    }

    pub fn finished(&self) -> bool {
        self.waiting() == 0
    }
}

/// One hour of the 24-hour chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourStats {
    pub hour_start_ms: i64,
    pub delivered: i64,
    /// Failed for good, or retrying after a failed attempt.
    pub not_delivered: i64,
    pub p50_latency_ms: Option<i64>,
}

/// The last 24 hours by the hour of the event, oldest first, every hour present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryChart {
    pub hours: Vec<HourStats>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_names_the_field_that_is_wrong() {
        let query = |status: &str, event: &str, from: &str, to: &str| DeliveryQuery {
            status: Some(status.into()),
            event: Some(event.into()),
            endpoint: None,
            from: Some(from.into()),
            to: Some(to.into()),
            search: None,
        };
        let field = |q: DeliveryQuery| q.parse().unwrap_err().field().map(str::to_owned);
        assert_eq!(field(query("lost", "", "", "")), Some("status".into()));
        assert_eq!(field(query("", "login", "", "")), Some("event".into()));
        assert_eq!(field(query("", "", "soon", "")), Some("from".into()));
        assert_eq!(
            field(query("", "", "2026-11-25T10:00", "2026-11-25T09:00")),
            Some("to".into())
        );
        let parsed = query("failed", "test", "2026-11-25T10:00", "")
            .parse()
            .unwrap();
        assert_eq!(parsed.status, Some(DeliveryStatus::Failed));
        assert_eq!(parsed.event.as_deref(), Some("test"));
        assert_eq!(parsed.to_ms, None);
    }

    #[test]
    fn the_url_keeps_the_filter() {
        let query = DeliveryQuery {
            status: Some("failed".into()),
            event: Some(String::new()),
            endpoint: Some("ep_1".into()),
            from: Some("2026-11-25T10:00".into()),
            to: None,
            search: Some("del_ab c".into()),
        };
        assert_eq!(
            query.to_url_query(2),
            "status=failed&endpoint=ep_1&from=2026-11-25T10:00&q=del_ab%20c&page=2"
        );
        assert_eq!(
            query.to_url_query(0),
            "status=failed&endpoint=ep_1&from=2026-11-25T10:00&q=del_ab%20c"
        );
    }

    #[test]
    fn a_search_is_one_id() {
        let search = |raw: &str| {
            DeliveryQuery {
                search: Some(raw.into()),
                ..DeliveryQuery::default()
            }
            .parse()
        };
        assert_eq!(search("  del_1 ").unwrap().search.as_deref(), Some("del_1"));
        assert_eq!(search("").unwrap().search, None);
        for bad in ["a\0b".to_owned(), "x".repeat(MAX_SEARCH_CHARS + 1)] {
            assert_eq!(search(&bad).unwrap_err().field(), Some("q"));
        }
    }
}
