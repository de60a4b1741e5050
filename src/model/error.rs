//! The one error type clients see from server functions: stable, short messages.
//! Internal causes never travel here; they are logged server-side under `Internal`'s reference.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// A specific input field failed validation.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The request is valid but clashes with what exists (a facial ID already enrolled).
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error("Email or password is incorrect.")]
    BadCredentials,
    /// A limit on how often something may be done (invitations an hour, organizations a
    /// day) is reached; `field` names the form field it concerns.
    #[error("{message}")]
    Limited {
        field: String,
        message: String,
        retry_after_secs: u64,
    },
    #[error("Too many sign-in attempts; retry in {retry_in_minutes} minute{}.", if *.retry_in_minutes == 1 { "" } else { "s" })]
    TooManyAttempts { retry_in_minutes: u64 },
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("Not found.")]
    NotFound,
    /// The caller's role in the organization does not allow this action.
    #[error("{message}")]
    Forbidden { message: String },
    #[error("Sign-up is closed on this server; ask the operator for an account.")]
    SignupClosed,
    #[error("This account is disabled; contact the operator.")]
    AccountDisabled,
    /// The operator requires a confirmed email for this, and the account's is not confirmed.
    #[error("Confirm your email first: open the link we mailed you, or send a new one from your account page.")]
    EmailUnverified,
    /// The operator requires two-factor sign-in, and this account has not set it up.
    #[error("This server requires two-factor sign-in: set it up on your account's two-factor page to continue.")]
    TwoFactorRequired,
    /// The database cannot store anything right now (full disk, read-only, unreachable):
    /// nothing was saved, and the same request may be retried.
    #[error(
        "The server cannot save changes right now; nothing was saved. Retry in a few seconds."
    )]
    Unavailable,
    /// Too many requests of this kind are being handled at once (password hashing); retry.
    #[error("The server is busy; retry in a few seconds.")]
    Busy,
    #[error("Something went wrong on our side (reference {reference}).")]
    Internal { reference: String },
    /// The call never reached our code: unreadable arguments on the server, a network
    /// failure in the browser. Raised by the framework, never by our services.
    #[error("The request failed: {0}")]
    Transport(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The form field this error belongs to, so the UI can show it inline.
    /// Seconds a client should wait before retrying, for errors that say "retry".
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AppError::Unavailable => Some(5),
            AppError::Busy => Some(1),
            AppError::TooManyAttempts { retry_in_minutes } => Some(retry_in_minutes * 60),
            AppError::Limited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. }
            | AppError::Conflict { field, .. }
            | AppError::Limited { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The HTTP status a raw client sees for this error.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Invalid { .. } => 422,
            AppError::Conflict { .. } => 409,
            AppError::BadCredentials | AppError::Unauthenticated => 401,
            AppError::TooManyAttempts { .. } | AppError::Limited { .. } => 429,
            AppError::NotFound => 404,
            AppError::SignupClosed
            | AppError::Forbidden { .. }
            | AppError::AccountDisabled
            | AppError::EmailUnverified
            | AppError::TwoFactorRequired => 403,
            AppError::Unavailable | AppError::Busy => 503,
            AppError::Internal { .. } => 500,
            AppError::Transport(_) => 400,
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr;
        if let ServerFnErrorErr::Args(message) = &value {
            if let Some(field) = missing_field(message) {
                return AppError::invalid(&field, "This field is required.");
            }
        }
        AppError::Transport(value.to_string())
    }
}

/// serde names an absent field as "missing field `name`"; turn that into the field name.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.split("missing field `").nth(1)?;
    let field = rest.split('`').next()?;
    (!field.is_empty()).then(|| field.to_owned())
}
