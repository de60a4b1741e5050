//! The event catalog: each event type a receiver can get, when it fires, and an example body
//! exactly as this application's receivers get it (built by the dispatcher's own code).

use super::app::EventKind;
use super::delivery::TEST_EVENT_NAME;
use serde::{Deserialize, Serialize};

/// One event type of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTypeDoc {
    /// The `eventName` on the wire: `enroll`, …, or `test`.
    pub name: String,
    pub label: String,
    pub fires_when: String,
    /// The body byte for byte as sent (compact JSON), with example values.
    pub example_body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCatalog {
    /// Whether the application's plan lets endpoints receive the linked `payload`.
    pub plan_allows_payload: bool,
    pub events: Vec<EventTypeDoc>,
}

/// Every `eventName` a receiver can get, in the catalog's order.
pub fn event_names() -> impl Iterator<Item = &'static str> {
    EventKind::ALL
        .into_iter()
        .map(EventKind::as_str)
        .chain([TEST_EVENT_NAME])
}

/// A person's name for an `eventName`.
pub fn event_label(name: &str) -> &'static str {
    match EventKind::parse(name) {
        Ok(kind) => kind.label(),
        Err(_) => "Test event",
    }
}

/// When an event of this name is sent.
pub fn fires_when(name: &str) -> &'static str {
    match EventKind::parse(name) {
        Ok(EventKind::Enroll) => "A user enrolled their face: a new facial ID exists, with the payload linked to it.",
        Ok(EventKind::Auth) => "A user was recognised and signed in with their face.",
        Ok(EventKind::Deletion) => "A facial ID was deleted: remove the user it identified, or unlink their face.",
        Ok(EventKind::PayloadUpdate) => "The payload linked to a facial ID was replaced.",
        Ok(EventKind::PincodeUpdate) => "A user's PIN code was set or changed (the PIN itself is never sent).",
        Err(_) => "You pressed \u{201c}Send test event\u{201d} on an endpoint: it checks the receiver without touching any user.",
    }
}

/// The body's fields, in the order they are sent: name, type, meaning.
pub const BODY_FIELDS: [(&str, &str, &str); 8] = [
    ("eventName", "string", "enroll, auth, deletion, payload_update, pincode_update or test."),
    ("facialId", "string", "The user's facial ID, the same in every event about them."),
    ("appId", "string", "This application's public ID."),
    ("clientIp", "string", "The IP address of the user's device, IPv4 or IPv6."),
    ("details.timestamp", "string", "When the event happened, RFC 3339 in UTC."),
    ("details.gender", "string, optional", "Present when known."),
    ("details.age", "number, optional", "Present when known."),
    ("payload", "any JSON, optional", "The payload linked to the facial ID: only on the Business plan and up, to endpoints with \u{201c}Include each user's linked payload\u{201d} on; null when none is linked."),
];

/// The type a test event is sent as: any `eventName` of the catalog; absent means `test`.
pub fn parse_test_type(raw: Option<&str>) -> Result<&'static str, super::AppError> {
    let raw = raw
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(TEST_EVENT_NAME);
    event_names().find(|name| *name == raw).ok_or_else(|| {
        super::AppError::invalid(
            "event_type",
            "Choose the type to send: enroll, auth, deletion, payload_update, pincode_update or test.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_is_sent_as_any_catalog_type() {
        assert_eq!(parse_test_type(None), Ok("test"));
        assert_eq!(parse_test_type(Some(" ")), Ok("test"));
        assert_eq!(
            parse_test_type(Some("pincode_update")),
            Ok("pincode_update")
        );
        for bad in ["login", "Enroll", "test\0"] {
            assert_eq!(
                parse_test_type(Some(bad)).unwrap_err().field(),
                Some("event_type")
            );
        }
    }
}
