//! What every server function needs from the request: the state, the session, the caller.

use crate::model::app::IssuedApiKey;
use crate::model::AppError;
use crate::server::auth::Account;
use crate::server::error::internal;
use crate::server::state::AppState;
use axum::extract::ConnectInfo;
use axum::http::{header, request::Parts};
use leptos::prelude::use_context;
use std::net::SocketAddr;
use tower_sessions::Session;

/// Session key holding the signed-in account's id.
pub const ACCOUNT_ID_KEY: &str = "account_id";
/// Session key holding a one-time notice shown on the next page.
pub const FLASH_KEY: &str = "flash";
/// Session key holding an API key just issued, until its application page shows it once.
pub const ISSUED_KEY: &str = "issued_api_key";

pub struct RequestContext {
    pub state: AppState,
    pub session: Session,
    parts: Option<Parts>,
}

impl RequestContext {
    pub async fn load() -> Result<Self, AppError> {
        let state = use_context::<AppState>()
            .ok_or_else(|| internal("AppState missing from the server-function context"))?;
        let session = leptos_axum::extract::<Session>().await.map_err(internal)?;
        Ok(RequestContext {
            state,
            session,
            parts: use_context::<Parts>(),
        })
    }

    /// The peer address: throttling key for sign-in attempts.
    pub fn client_ip(&self) -> String {
        self.parts
            .as_ref()
            .and_then(|p| p.extensions.get::<ConnectInfo<SocketAddr>>())
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// A plain form post from a browser without JavaScript: it gets redirects, not JSON.
    pub fn is_plain_form_post(&self) -> bool {
        accepts_html(self.parts.as_ref())
    }

    /// The signed-in account, or `Unauthenticated` when the session has none (or it vanished).
    pub async fn account(&self) -> Result<Account, AppError> {
        self.optional_account()
            .await?
            .ok_or(AppError::Unauthenticated)
    }

    pub async fn optional_account(&self) -> Result<Option<Account>, AppError> {
        let Some(id) = self
            .session
            .get::<String>(ACCOUNT_ID_KEY)
            .await
            .map_err(internal)?
        else {
            return Ok(None);
        };
        self.state.auth.account(&id).await
    }

    /// Starts a fresh session for `account`; the id is cycled so a planted id is useless.
    pub async fn begin_session(&self, account: &Account) -> Result<(), AppError> {
        self.session.cycle_id().await.map_err(internal)?;
        self.session
            .insert(ACCOUNT_ID_KEY, &account.id)
            .await
            .map_err(internal)
    }

    pub async fn end_session(&self) -> Result<(), AppError> {
        self.session.flush().await.map_err(internal)
    }

    pub async fn flash(&self, message: &str) -> Result<(), AppError> {
        self.session
            .insert(FLASH_KEY, message)
            .await
            .map_err(internal)
    }

    /// The signed-in account if it is an operator; anyone else is told the page does not exist.
    pub async fn operator(&self) -> Result<Account, AppError> {
        let account = self.account().await?;
        if account.is_operator {
            Ok(account)
        } else {
            Err(AppError::NotFound)
        }
    }

    /// Keeps a freshly issued API key for the one page view that shows it.
    pub async fn hold_issued_key(&self, issued: &IssuedApiKey) -> Result<(), AppError> {
        self.session
            .insert(ISSUED_KEY, issued)
            .await
            .map_err(internal)
    }

    /// The held key for `public_id`, removed as it is read so it is shown only once.
    pub async fn take_issued_key(&self, public_id: &str) -> Result<Option<String>, AppError> {
        let held = self
            .session
            .get::<IssuedApiKey>(ISSUED_KEY)
            .await
            .map_err(internal)?;
        match held {
            Some(issued) if issued.public_id == public_id => {
                self.session
                    .remove::<IssuedApiKey>(ISSUED_KEY)
                    .await
                    .map_err(internal)?;
                Ok(Some(issued.api_key))
            }
            _ => Ok(None),
        }
    }

    pub async fn take_flash(&self) -> Result<Option<String>, AppError> {
        self.session
            .remove::<String>(FLASH_KEY)
            .await
            .map_err(internal)
    }
}

fn accepts_html(parts: Option<&Parts>) -> bool {
    parts
        .and_then(|p| p.headers.get(header::ACCEPT))
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Only same-site paths are followed after sign-in, so `next` cannot send users elsewhere.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path
        }
        _ => "/apps",
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_must_stay_on_this_site() {
        assert_eq!(safe_next(Some("/account")), "/account");
        assert_eq!(safe_next(Some("/apps?x=1")), "/apps?x=1");
        assert_eq!(safe_next(Some("//evil.example")), "/apps");
        assert_eq!(safe_next(Some("https://evil.example")), "/apps");
        assert_eq!(safe_next(Some("/\\evil.example")), "/apps");
        assert_eq!(safe_next(None), "/apps");
    }
}
