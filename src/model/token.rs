//! Organization API tokens as the console shows them: never the secret, only its first
//! characters, once it has been shown at creation.

use super::org::Role;
use serde::{Deserialize, Serialize};

/// Token names: what a token is for, as people read it in the list and the audit log.
pub const MAX_TOKEN_NAME_CHARS: usize = 64;
/// The longest expiry a token may be given, in days.
pub const MAX_TOKEN_DAYS: u32 = 3650;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// The recognisable start, e.g. `fht_3kq9x…`.
    pub prefix: String,
    pub created_by: String,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub last_used_at_ms: Option<i64>,
    pub last_used_ip: Option<String>,
    /// False once its maker can no longer make such a token (demoted, removed, disabled):
    /// it is refused from then on.
    pub active: bool,
}

/// A token just made: the secret is here once and nowhere else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub token: String,
    pub view: TokenView,
}

/// `expires_in_days` as typed: empty means never.
pub fn parse_expiry_days(raw: Option<&str>) -> Result<Option<u32>, super::AppError> {
    let raw = raw.map(str::trim).unwrap_or_default();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<u32>() {
        Ok(days) if (1..=MAX_TOKEN_DAYS).contains(&days) => Ok(Some(days)),
        _ => Err(super::AppError::invalid(
            "expires_in_days",
            format!("Expiry must be a whole number of days from 1 to {MAX_TOKEN_DAYS}, or empty for never."),
        )),
    }
}
