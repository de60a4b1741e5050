//! The webhook request a receiver gets: the FACEIO-shaped JSON body and the headers that
//! authenticate it (`WWW-Authenticate: Bearer`, Standard Webhooks id, timestamp, signature).

use crate::model::ids::{AppId, DeliveryId, EndpointId, EventId};

use super::signature::{signature_header, AnyKey, Ed25519Key, SigningKey};
use crate::model::app::Plan;
use crate::model::controls::{CustomHeader, SignatureScheme};
use crate::server::clock::rfc3339;
use crate::server::store::ClaimedDelivery;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    event_name: &'a str,
    facial_id: &'a str,
    app_id: &'a str,
    client_ip: &'a str,
    details: Details<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<Value>,
}

#[derive(Debug, Serialize)]
struct Details<'a> {
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    gender: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    age: Option<i64>,
}

/// Sent by the transport on every request.
pub const USER_AGENT: &str = concat!("Facehook/", env!("CARGO_PKG_VERSION"));

/// A request ready to send: body bytes and header pairs, signed for one attempt.
#[derive(Debug, Clone)]
pub struct Message {
    pub body: Vec<u8>,
    /// Our own names, then the endpoint's custom headers (checked when saved).
    pub headers: Vec<(Cow<'static, str>, String)>,
}

/// Whether this delivery carries the linked payload: the plan and the endpoint's toggle,
/// both as they are now (the claim read them), not as they were when the event happened.
pub fn includes_payload(delivery: &ClaimedDelivery) -> bool {
    delivery.plan.allows_payload() && delivery.include_payload
}

pub fn body(delivery: &ClaimedDelivery) -> Vec<u8> {
    let payload = includes_payload(delivery).then(|| {
        delivery
            .payload
            .as_deref()
            .map(|raw| serde_json::from_str(raw).unwrap_or(Value::String(raw.to_owned())))
            .unwrap_or(Value::Null)
    });
    let body = Body {
        event_name: &delivery.event_name,
        facial_id: &delivery.facial_id,
        app_id: delivery.app_id.as_str(),
        client_ip: &delivery.client_ip,
        details: Details {
            timestamp: rfc3339(delivery.occurred_at),
            gender: delivery.gender.as_deref(),
            age: delivery.age,
        },
        payload,
    };
    // Serialising plain strings, numbers and an already-parsed value cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// What a receiver of application `app_id` on `plan` gets for an event named `event_name`,
/// with example values, from an endpoint with the payload option `include_payload`. A test
/// event sent from `test_sender_ip` (or the catalog's `test` example) names no real user: its
/// facial ID is `test` and it has no details. The same code builds it as builds every delivery.
pub fn example_body(
    app_id: &AppId,
    plan: Plan,
    event_name: &str,
    include_payload: bool,
    test_sender_ip: Option<&str>,
) -> Vec<u8> {
    let is_test = test_sender_ip.is_some() || event_name == crate::model::delivery::TEST_EVENT_NAME;
    let client_ip = test_sender_ip.unwrap_or("203.0.113.7");
    let (facial_id, gender, age, payload) = if is_test {
        ("test", None, None, None)
    } else {
        (
            "8f9c2e4a-61b0-4d7e-9a35-0c1e2f3a4b5c",
            Some("female".to_owned()),
            Some(34),
            Some(r#"{"userId":"u_1024","email":"jane@example.com"}"#.to_owned()),
        )
    };
    let example = ClaimedDelivery {
        delivery_id: DeliveryId::default(),
        lease_token: String::new(),
        event_id: EventId::from("evt_example"),
        attempts: 0,
        event_name: event_name.to_owned(),
        facial_id: facial_id.to_owned(),
        client_ip: client_ip.to_owned(),
        gender,
        age,
        payload,
        occurred_at: EXAMPLE_OCCURRED_AT_MS,
        app_id: app_id.to_owned(),
        plan,
        webhook_token: String::new(),
        endpoint_id: EndpointId::default(),
        url: String::new(),
        timeout_secs: 0,
        include_payload,
        signing_secret: String::new(),
        previous_signing_secret: None,
        previous_secret_expires_at: None,
        order_key: None,
        signature_scheme: Default::default(),
        ed25519_secret_key: None,
        previous_ed25519_secret_key: None,
        custom_headers: "[]".to_owned(),
        retry_schedule: None,
        rate_per_sec: None,
    };
    body(&example)
}

/// 2025-11-25T16:00:00Z: the example events' moment.
const EXAMPLE_OCCURRED_AT_MS: i64 = 1_764_086_400_000;

/// The keys to sign with, as the endpoint's scheme asks: its current HMAC secret and ed25519
/// key, and the previous ones while they are still valid.
pub fn signing_keys(delivery: &ClaimedDelivery, now_ms: i64) -> Vec<AnyKey> {
    let previous_valid = delivery
        .previous_secret_expires_at
        .is_some_and(|expires| expires > now_ms);
    let scheme: SignatureScheme = delivery.signature_scheme;
    let mut keys = Vec::with_capacity(2);
    if scheme.signs_hmac() {
        let previous = previous_valid
            .then_some(delivery.previous_signing_secret.as_deref())
            .flatten();
        keys.extend(
            std::iter::once(delivery.signing_secret.as_str())
                .chain(previous)
                .filter_map(|secret| SigningKey::from_secret(secret).ok())
                .map(AnyKey::Hmac),
        );
    }
    if scheme.signs_ed25519() {
        let previous = previous_valid
            .then_some(delivery.previous_ed25519_secret_key.as_deref())
            .flatten();
        keys.extend(
            delivery
                .ed25519_secret_key
                .as_deref()
                .into_iter()
                .chain(previous)
                .filter_map(|secret| Ed25519Key::cached(secret).ok())
                .map(AnyKey::Ed25519),
        );
    }
    keys
}

/// The endpoint's custom headers, read from their stored JSON; none if it is unreadable
/// (they were checked when saved, so it never is).
pub fn custom_headers(delivery: &ClaimedDelivery) -> Vec<CustomHeader> {
    if delivery.custom_headers.len() <= 2 {
        return Vec::new();
    }
    serde_json::from_str(&delivery.custom_headers).unwrap_or_default()
}

/// Builds the signed request for one attempt at `now_ms`.
pub fn build(delivery: &ClaimedDelivery, now_ms: i64) -> Message {
    let body = body(delivery);
    let timestamp = now_ms.div_euclid(1000);
    let signature = signature_header(
        &signing_keys(delivery, now_ms),
        delivery.event_id.as_str(),
        timestamp,
        &body,
    );
    let mut headers: Vec<(Cow<'static, str>, String)> = vec![
        ("content-type".into(), "application/json".to_owned()),
        (
            "www-authenticate".into(),
            format!("Bearer {}", delivery.webhook_token),
        ),
        ("webhook-id".into(), delivery.event_id.to_string()),
        ("webhook-timestamp".into(), timestamp.to_string()),
        ("webhook-signature".into(), signature),
    ];
    headers.extend(
        custom_headers(delivery)
            .into_iter()
            .map(|header| (Cow::Owned(header.name), header.value)),
    );
    Message { body, headers }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn delivery(plan: &str, include_payload: bool) -> ClaimedDelivery {
        ClaimedDelivery {
            delivery_id: "del_1".into(),
            lease_token: "lease_1".into(),
            event_id: "evt_1".into(),
            attempts: 0,
            event_name: "enroll".into(),
            facial_id: "face-1".into(),
            client_ip: "203.0.113.7".into(),
            gender: Some("female".into()),
            age: None,
            payload: Some(r#"{"user":42}"#.into()),
            occurred_at: 1_764_000_000_000,
            app_id: "fioabc12345".into(),
            plan: Plan::parse(plan).unwrap(),
            webhook_token: "fhw_token".into(),
            endpoint_id: "ep_1".into(),
            url: "https://example.com/hook".into(),
            timeout_secs: 6,
            include_payload,
            signing_secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into(),
            previous_signing_secret: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
            previous_secret_expires_at: Some(2_000),
            order_key: None,
            signature_scheme: SignatureScheme::Hmac,
            ed25519_secret_key: None,
            previous_ed25519_secret_key: None,
            custom_headers: "[]".to_owned(),
            retry_schedule: None,
            rate_per_sec: None,
        }
    }

    #[test]
    fn body_has_the_faceio_shape_and_omits_unknown_details() {
        let body: Value = serde_json::from_slice(&body(&delivery("business", true))).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "eventName": "enroll", "facialId": "face-1", "appId": "fioabc12345",
                "clientIp": "203.0.113.7",
                "details": {"timestamp": "2025-11-24T16:00:00Z", "gender": "female"},
                "payload": {"user": 42}
            })
        );
    }

    #[test]
    fn payload_needs_both_the_plan_and_the_toggle() {
        for (plan, toggle, expected) in [
            ("business", true, true),
            ("enterprise", true, true),
            ("business", false, false),
            ("premium", true, false),
            ("free", true, false),
        ] {
            let body: Value = serde_json::from_slice(&body(&delivery(plan, toggle))).unwrap();
            assert_eq!(body.get("payload").is_some(), expected, "{plan} {toggle}");
        }
    }

    #[test]
    fn previous_secret_signs_only_until_it_expires() {
        let d = delivery("free", false);
        assert_eq!(signing_keys(&d, 1_000).len(), 2);
        assert_eq!(signing_keys(&d, 3_000).len(), 1);
        let message = build(&d, 1_000);
        let signature = &message
            .headers
            .iter()
            .find(|(name, _)| *name == "webhook-signature")
            .unwrap()
            .1;
        assert_eq!(signature.split(' ').count(), 2);
        assert!(message
            .headers
            .contains(&("www-authenticate".into(), "Bearer fhw_token".to_owned())));
    }
}
