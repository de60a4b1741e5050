//! Account-facing domain values, parsed once at the edge so the rest of the code can trust them.

use super::AppError;
use serde::{Deserialize, Serialize};

/// What the console knows about the signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub email: String,
    pub is_operator: bool,
    pub email_verified: bool,
    /// The operator requires a confirmed email before applications can be created, and this
    /// account's is not confirmed yet.
    pub must_verify_email: bool,
}

/// Console pages that need a signed-in account; checked by the server guard and the client router.
pub fn requires_sign_in(path: &str) -> bool {
    ["/apps", "/account", "/admin", "/org"]
        .iter()
        .any(|prefix| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

/// A normalised (trimmed, lower-cased) email address with a plausible shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let email = raw.trim().to_lowercase();
        let fail = |reason: &str| Err(AppError::invalid("email", reason));
        if email.is_empty() {
            return fail("Enter your email address.");
        }
        if email.len() > Self::MAX_LEN {
            return fail("Email address is too long (254 characters at most).");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return fail("Email address needs an @, as in name@example.com.");
        };
        let domain_ok = !domain.is_empty()
            && !domain.contains('@')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if local.is_empty() || !domain_ok || email.chars().any(char::is_whitespace) {
            return fail("Email address is not valid, expected name@example.com.");
        }
        Ok(EmailAddress(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password acceptable for a new account: 10 to 1 024 characters.
/// The upper bound keeps hashing cost bounded for hostile input.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 1024;
    pub const HINT: &'static str = "At least 10 characters.";

    pub fn parse(field: &str, raw: String) -> Result<Self, AppError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(AppError::invalid(
                field,
                format!("Password must be at least {} characters.", Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(AppError::invalid(
                field,
                format!("Password must be at most {} characters.", Self::MAX_CHARS),
            ));
        }
        Ok(NewPassword(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(****)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_pages_need_sign_in_but_not_look_alikes() {
        assert!(requires_sign_in("/apps"));
        assert!(requires_sign_in("/apps/fio12345678"));
        assert!(requires_sign_in("/account"));
        assert!(!requires_sign_in("/appsx"));
        assert!(!requires_sign_in("/login"));
    }

    #[test]
    fn email_is_normalised() {
        let email = EmailAddress::parse("  Alice@Example.COM ").map(|e| e.as_str().to_owned());
        assert_eq!(email, Ok("alice@example.com".to_owned()));
    }

    #[test]
    fn malformed_emails_name_the_field() {
        for raw in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "a@b@c",
            "a b@c.d",
            "a@.com",
        ] {
            let err = EmailAddress::parse(raw).expect_err(raw);
            assert_eq!(err.field(), Some("email"), "{raw}");
        }
    }

    #[test]
    fn password_length_is_counted_in_characters() {
        assert!(NewPassword::parse("password", "ééééééééé".into()).is_err());
        assert!(NewPassword::parse("password", "éééééééééé".into()).is_ok());
        let err = NewPassword::parse("new_password", "short".into()).expect_err("too short");
        assert_eq!(err.field(), Some("new_password"));
    }
}
