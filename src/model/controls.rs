//! Delivery controls an endpoint carries besides its URL: ordering per facial ID, the signature
//! scheme, custom headers, a retry schedule and a rate limit; their names and limits, shared by
//! the console, the REST API, the CLI and the server's checks (one list each).

use super::AppError;
use serde::{Deserialize, Serialize};

/// How deliveries to an endpoint are signed (Standard Webhooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SignatureScheme {
    /// `v1,` HMAC-SHA256 with the endpoint's `whsec_` secret.
    #[default]
    Hmac,
    /// `v1a,` ed25519 with the endpoint's `whsk_` key; receivers verify with `whpk_`.
    Ed25519,
    /// Both signatures in one header, while receivers switch from one to the other.
    Both,
}

impl SignatureScheme {
    pub const ALL: [SignatureScheme; 3] = [
        SignatureScheme::Hmac,
        SignatureScheme::Ed25519,
        SignatureScheme::Both,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignatureScheme::Hmac => "hmac",
            SignatureScheme::Ed25519 => "ed25519",
            SignatureScheme::Both => "both",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SignatureScheme::Hmac => "HMAC-SHA256 (v1)",
            SignatureScheme::Ed25519 => "Ed25519 (v1a)",
            SignatureScheme::Both => "Both, while receivers switch",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let wanted = raw.trim().to_ascii_lowercase();
        SignatureScheme::ALL
            .into_iter()
            .find(|scheme| scheme.as_str() == wanted)
            .ok_or_else(|| {
                AppError::invalid(
                    "signature",
                    format!("Unknown signature scheme {raw:?}; expected hmac, ed25519 or both."),
                )
            })
    }

    pub fn signs_hmac(self) -> bool {
        self != SignatureScheme::Ed25519
    }

    pub fn signs_ed25519(self) -> bool {
        self != SignatureScheme::Hmac
    }
}

impl TryFrom<String> for SignatureScheme {
    type Error = AppError;

    fn try_from(raw: String) -> Result<Self, AppError> {
        SignatureScheme::parse(&raw)
    }
}

/// An endpoint's delivery controls, as saved and as shown (a secret header's value blank).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DeliveryControls {
    /// A facial ID's deliveries go one at a time, in event order.
    pub ordered: bool,
    pub signature_scheme: SignatureScheme,
    pub custom_headers: Vec<CustomHeader>,
    /// Delays like `0s,5s,5m`; `None` is the operator's schedule.
    pub retry_schedule: Option<String>,
    /// Deliveries per second at most; `None` is no limit.
    pub rate_per_sec: Option<i64>,
}

impl DeliveryControls {
    /// The preset whose schedule this is, if any.
    pub fn retry_preset(&self) -> Option<&'static str> {
        let schedule = self.retry_schedule.as_deref()?;
        RETRY_PRESETS
            .iter()
            .find(|(_, _, delays)| *delays == schedule)
            .map(|(name, _, _)| *name)
    }
}

/// A header sent with every delivery to one endpoint (an API gateway's key, a routing tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomHeader {
    pub name: String,
    /// Empty in views of a secret header: its value never leaves the server after saving.
    pub value: String,
    #[serde(default)]
    pub secret: bool,
}

pub const MAX_CUSTOM_HEADERS: usize = 10;
const MAX_HEADER_NAME_CHARS: usize = 64;
const MAX_HEADER_VALUE_CHARS: usize = 1024;

/// Headers Facehook sets itself or that only the connection may set, with why each is refused.
const RESERVED_HEADERS: [(&str, &str); 12] = [
    ("content-type", "Facehook always sends application/json."),
    (
        "user-agent",
        "Facehook identifies itself with its own User-Agent.",
    ),
    (
        "www-authenticate",
        "it carries the application's webhook token.",
    ),
    ("host", "it is taken from the endpoint's URL."),
    ("content-length", "it is computed from the body."),
    ("connection", "it is a hop-by-hop header."),
    ("keep-alive", "it is a hop-by-hop header."),
    ("transfer-encoding", "it is a hop-by-hop header."),
    ("te", "it is a hop-by-hop header."),
    ("trailer", "it is a hop-by-hop header."),
    ("upgrade", "it is a hop-by-hop header."),
    ("proxy-authorization", "it is a hop-by-hop header."),
];

/// Why `name` may not be a custom header, if it may not.
fn reserved_reason(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("webhook-") {
        return Some("webhook-* headers carry the Standard Webhooks signature.");
    }
    if lower == "proxy-authenticate" {
        return Some("it is a hop-by-hop header.");
    }
    RESERVED_HEADERS
        .iter()
        .find(|(reserved, _)| *reserved == lower)
        .map(|(_, reason)| *reason)
}

/// An HTTP token (RFC 9110): letters, digits and ``!#$%&'*+-.^_`|~``.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Checks a list of custom headers: names are HTTP tokens, not reserved and not repeated
/// (case-insensitively), values are visible ASCII and spaces; at most `MAX_CUSTOM_HEADERS`.
/// The error names the field `headers` and the header at fault.
pub fn check_custom_headers(headers: &[CustomHeader]) -> Result<(), AppError> {
    let invalid = |message: String| Err(AppError::invalid("headers", message));
    if headers.len() > MAX_CUSTOM_HEADERS {
        return invalid(format!(
            "An endpoint takes at most {MAX_CUSTOM_HEADERS} custom headers."
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    for header in headers {
        let name = header.name.as_str();
        if name.chars().count() > MAX_HEADER_NAME_CHARS || !is_token(name) {
            return invalid(format!(
                "{:?} is not a header name: use letters, digits and - (at most {MAX_HEADER_NAME_CHARS}).",
                name.chars().take(MAX_HEADER_NAME_CHARS).collect::<String>()
            ));
        }
        if let Some(reason) = reserved_reason(name) {
            return invalid(format!("{name} cannot be set: {reason}"));
        }
        let lower = name.to_ascii_lowercase();
        if seen.contains(&lower) {
            return invalid(format!("{name} is listed twice."));
        }
        seen.push(lower);
        let value = header.value.as_str();
        if value.chars().count() > MAX_HEADER_VALUE_CHARS {
            return invalid(format!(
                "The value of {name} is longer than {MAX_HEADER_VALUE_CHARS} characters."
            ));
        }
        if value.is_empty() || value.trim() != value {
            return invalid(format!(
                "The value of {name} is empty or starts or ends with a space."
            ));
        }
        if !value
            .bytes()
            .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
        {
            return invalid(format!(
                "The value of {name} holds a character headers cannot carry (use visible ASCII)."
            ));
        }
    }
    Ok(())
}

/// Parses `Name: value` as the CLI and the console's text box take a header.
pub fn parse_header_line(line: &str) -> Result<CustomHeader, AppError> {
    let Some((name, value)) = line.split_once(':') else {
        return Err(AppError::invalid(
            "headers",
            format!("{line:?} is not a header like `X-Api-Key: value`."),
        ));
    };
    Ok(CustomHeader {
        name: name.trim().to_owned(),
        value: value.trim().to_owned(),
        secret: false,
    })
}

/// Retry schedules an owner can pick without writing one; `None` is the operator's.
pub const RETRY_PRESETS: [(&str, &str, &str); 2] = [
    ("quick", "Quick: about 15 minutes", "0s,5s,30s,2m,5m,10m"),
    (
        "persistent",
        "Persistent: about 3 days",
        "0s,30s,5m,30m,2h,6h,12h,24h,24h",
    ),
];

/// Most attempts, and the longest delay, a custom schedule may have.
pub const MAX_RETRY_ATTEMPTS: usize = 20;
pub const MAX_RETRY_DELAY_SECS: u64 = 24 * 3600;

/// Deliveries per second an endpoint may be limited to.
pub const MAX_RATE_PER_SEC: i64 = 10_000;

pub fn check_rate_per_sec(rate: Option<i64>) -> Result<Option<i64>, AppError> {
    match rate {
        Some(rate) if !(1..=MAX_RATE_PER_SEC).contains(&rate) => Err(AppError::invalid(
            "rate",
            format!("The rate limit is a whole number of deliveries per second, 1 to {MAX_RATE_PER_SEC}, or empty for none."),
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, value: &str) -> CustomHeader {
        CustomHeader {
            name: name.into(),
            value: value.into(),
            secret: false,
        }
    }

    #[test]
    fn schemes_round_trip_and_say_what_they_sign() {
        for scheme in SignatureScheme::ALL {
            assert_eq!(SignatureScheme::parse(scheme.as_str()).unwrap(), scheme);
        }
        assert!(SignatureScheme::Both.signs_hmac() && SignatureScheme::Both.signs_ed25519());
        assert!(!SignatureScheme::Ed25519.signs_hmac());
        assert!(SignatureScheme::parse("rsa").is_err());
    }

    #[test]
    fn reserved_and_malformed_headers_are_refused_with_the_reason() {
        for name in [
            "Content-Type",
            "user-agent",
            "WWW-Authenticate",
            "Webhook-Signature",
            "webhook-id",
            "Host",
            "Content-Length",
            "Connection",
            "Transfer-Encoding",
        ] {
            let err = check_custom_headers(&[header(name, "x")]).unwrap_err();
            assert!(err.to_string().contains("cannot be set"), "{name}: {err}");
        }
        assert!(check_custom_headers(&[header("X Bad", "x")]).is_err());
        assert!(check_custom_headers(&[header("X-Ok", "a\r\nInjected: 1")]).is_err());
        assert!(check_custom_headers(&[header("X-Ok", "a\0b")]).is_err());
        assert!(check_custom_headers(&[header("X-Ok", "")]).is_err());
        assert!(check_custom_headers(&[header("X-Ok", "1"), header("x-ok", "2")]).is_err());
        let many: Vec<_> = (0..11).map(|i| header(&format!("X-{i}"), "v")).collect();
        assert!(check_custom_headers(&many).is_err());
        assert!(check_custom_headers(&[header("X-Api-Key", "k3y with space")]).is_ok());
    }

    #[test]
    fn header_lines_split_at_the_first_colon() {
        let parsed = parse_header_line("X-Route: a:b").unwrap();
        assert_eq!(
            (parsed.name.as_str(), parsed.value.as_str()),
            ("X-Route", "a:b")
        );
        assert!(parse_header_line("no colon").is_err());
    }

    #[test]
    fn rates_are_bounded() {
        assert_eq!(check_rate_per_sec(None).unwrap(), None);
        assert_eq!(check_rate_per_sec(Some(5)).unwrap(), Some(5));
        assert!(check_rate_per_sec(Some(0)).is_err());
        assert!(check_rate_per_sec(Some(MAX_RATE_PER_SEC + 1)).is_err());
    }
}
