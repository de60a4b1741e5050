//! The request a delivery sends, for the console: built by the dispatcher's own message code,
//! so it shows exactly what goes on the wire, with credentials masked.

use crate::model::delivery::RequestPreview;
use crate::server::dispatch::{build_message, custom_headers, USER_AGENT};
use crate::server::store::ClaimedDelivery;

const MASK: &str = "••••••••";

/// Headers whose values authenticate: shown by name, never by value.
const SECRET_RESPONSE_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "www-authenticate",
];

/// The request signed at `signed_at_ms` (its last attempt), token and signatures masked.
pub fn preview(delivery: &ClaimedDelivery, signed_at_ms: i64) -> RequestPreview {
    let message = build_message(delivery, signed_at_ms);
    let secret: Vec<String> = custom_headers(delivery)
        .into_iter()
        .filter(|header| header.secret)
        .map(|header| header.name)
        .collect();
    let mut headers = vec![("user-agent".to_owned(), USER_AGENT.to_owned())];
    headers.extend(message.headers.into_iter().map(|(name, value)| {
        let shown = match name.as_ref() {
            custom if secret.iter().any(|s| s == custom) => MASK.to_owned(),
            "www-authenticate" => format!("Bearer {MASK}"),
            "webhook-signature" => value
                .split(' ')
                .map(|signature| match signature.split_once(',') {
                    Some((version, _)) => format!("{version},{MASK}"),
                    None => MASK.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" "),
            _ => value,
        };
        (name.into_owned(), shown)
    }));
    // The bytes as signed: re-serialising (sorted keys, indentation) would show a body whose
    // signature does not verify. The dispatcher writes JSON, so it is always UTF-8.
    let body = String::from_utf8_lossy(&message.body).into_owned();
    RequestPreview {
        method: "POST".to_owned(),
        url: delivery.url.clone(),
        headers,
        body,
    }
}

/// The recorded response headers (a JSON list of name/value pairs), credentials masked.
pub fn response_headers(stored: Option<&str>) -> Vec<(String, String)> {
    stored
        .and_then(|raw| serde_json::from_str::<Vec<(String, String)>>(raw).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| {
            let secret = SECRET_RESPONSE_HEADERS.contains(&name.to_ascii_lowercase().as_str());
            let shown = if secret { MASK.to_owned() } else { value };
            (name, shown)
        })
        .collect()
}
