//! What every server function needs from the request: the state, the session, the caller.

use crate::model::ids::{AccountId, AppId, EndpointId, OrgId};

use crate::model::app::{AppDetail, IssuedApiKey, TestDeliveryResult};
use crate::model::org::Action;
use crate::model::AppError;
use crate::server::apps::OwnedEndpoint;
use crate::server::auth::Account;
use crate::server::error::internal;
use crate::server::orgs::{Actor, Member};
use crate::server::state::AppState;
use crate::server::store::NoticeKind;
use axum::extract::ConnectInfo;
use axum::http::{header, request::Parts};
use leptos::prelude::use_context;
use std::net::SocketAddr;
use tower_sessions::Session;

/// Session key holding the signed-in account's id.
const ACCOUNT_ID_KEY: &str = "account_id";
/// Session key holding a notice for a visitor who is not signed in.
const SIGNED_OUT_FLASH_KEY: &str = "flash";
/// Session key holding the account's session epoch when the session began.
const SESSION_EPOCH_KEY: &str = "session_epoch";
/// Session key holding the last day (days since 1970) the session was used.
const ACTIVE_DAY_KEY: &str = "active_day";
/// Session key holding the id of the session's row in the account's session list.
const SESSION_REF_KEY: &str = "session_ref";
/// Session key holding a sign-in that passed the password and awaits its second factor.
const PENDING_SIGN_IN_KEY: &str = "pending_sign_in";
/// Session key holding the organization the console shows.
pub(super) const CURRENT_ORG_KEY: &str = "org_id";
/// Session key holding an invitation link to show once (no mail to send it).
const INVITATION_LINK_KEY: &str = "invitation_link";
/// Session key holding an organization API token just made, to show once.
const ISSUED_TOKEN_KEY: &str = "issued_token";
/// Session key holding recovery codes just made, until the page that shows them once.
const RECOVERY_CODES_KEY: &str = "recovery_codes";
/// How long the second factor may take after the password.
const PENDING_SIGN_IN_MS: i64 = 10 * 60_000;

/// A sign-in waiting for its code.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingSignIn {
    pub account_id: AccountId,
    /// Where to go once signed in (already checked by `safe_next`).
    pub next: String,
    /// The account's session epoch at the password step: a password change or reset since
    /// then voids the pending sign-in.
    pub session_epoch: i64,
    started_at: i64,
}

pub struct RequestContext {
    pub state: AppState,
    pub session: Session,
    parts: Option<Parts>,
}

/// The enabled account a session belongs to, if the session is still current: one begun
/// before the account's password last changed, or revoked from the session list, is over,
/// and is emptied.
pub async fn session_account(
    state: &AppState,
    session: &Session,
    client_ip: &str,
) -> Result<Option<Account>, AppError> {
    let Some(id) = session
        .get::<AccountId>(ACCOUNT_ID_KEY)
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let Some(account) = state.auth.account(&id).await? else {
        return Ok(None);
    };
    let epoch = session
        .get::<i64>(SESSION_EPOCH_KEY)
        .await
        .map_err(internal)?
        .unwrap_or(0);
    let session_ref = session
        .get::<String>(SESSION_REF_KEY)
        .await
        .map_err(internal)?;
    let open = match session_ref {
        Some(session_ref) if epoch == account.session_epoch => {
            state
                .auth
                .session_open(&account.id, &session_ref, client_ip)
                .await?
        }
        _ => false,
    };
    if !open {
        session.flush().await.map_err(internal)?;
        return Ok(None);
    }
    Ok(Some(account))
}

impl RequestContext {
    pub async fn load() -> Result<Self, AppError> {
        let state = use_context::<AppState>()
            .ok_or_else(|| internal("AppState missing from the server-function context"))?;
        let session = leptos_axum::extract::<Session>().await.map_err(internal)?;
        let parts = use_context::<Parts>();
        if let Some(nul) = parts
            .as_ref()
            .and_then(|p| p.extensions.get::<super::input::NulField>())
        {
            return Err(AppError::invalid(&nul.0, nul.message()));
        }
        Ok(RequestContext {
            state,
            session,
            parts,
        })
    }

    /// Whether this server can send mail (FACEHOOK_SMTP_URL, checked at start-up).
    pub fn mail_configured(&self) -> bool {
        self.state.config.mail.smtp_url.is_some()
    }

    /// The browser's User-Agent, for the session list.
    fn user_agent(&self) -> String {
        self.parts
            .as_ref()
            .and_then(|p| p.headers.get(header::USER_AGENT))
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// The peer address: throttling key for sign-in attempts.
    pub fn client_ip(&self) -> String {
        peer_ip(self.parts.as_ref().map(|p| &p.extensions))
    }

    /// A plain form post from a browser without JavaScript: it gets redirects, not JSON.
    pub fn is_plain_form_post(&self) -> bool {
        accepts_html(self.parts.as_ref())
    }

    /// The signed-in account, or `Unauthenticated` when the session has none (or it vanished);
    /// `TwoFactorRequired` while the operator requires a second factor it has not set up.
    pub async fn account(&self) -> Result<Account, AppError> {
        let account = self.signed_in_account().await?;
        self.state.auth.ensure_console_use(&account)?;
        Ok(account)
    }

    /// The signed-in account, whatever the operator requires of it: for the account's own
    /// pages (password, email, sessions, two-factor set-up).
    pub async fn signed_in_account(&self) -> Result<Account, AppError> {
        self.optional_account()
            .await?
            .ok_or(AppError::Unauthenticated)
    }

    pub async fn optional_account(&self) -> Result<Option<Account>, AppError> {
        let account = session_account(&self.state, &self.session, &self.client_ip()).await?;
        if account.is_some() {
            self.mark_active().await?;
        }
        Ok(account)
    }

    /// Sessions expire after 7 days without activity, but the store only learns of activity
    /// when a session is saved. Saving on every request would let a request that overlaps a
    /// sign-out write the session back, so activity is recorded at most once a day.
    async fn mark_active(&self) -> Result<(), AppError> {
        let today = crate::server::clock::now_ms() / 86_400_000;
        let recorded = self
            .session
            .get::<i64>(ACTIVE_DAY_KEY)
            .await
            .map_err(internal)?;
        if recorded != Some(today) {
            self.session
                .insert(ACTIVE_DAY_KEY, today)
                .await
                .map_err(internal)?;
        }
        Ok(())
    }

    /// Starts a fresh session for `account`; the id is cycled so a planted id is useless.
    /// A session already signed in on this browser leaves the list.
    pub async fn begin_session(&self, account: &Account) -> Result<(), AppError> {
        let earlier = (
            self.session
                .get::<AccountId>(ACCOUNT_ID_KEY)
                .await
                .map_err(internal)?,
            self.session
                .get::<String>(SESSION_REF_KEY)
                .await
                .map_err(internal)?,
        );
        if let (Some(account_id), Some(session_ref)) = earlier {
            if let Err(err) = self
                .state
                .auth
                .close_session(&account_id, &session_ref)
                .await
            {
                tracing::warn!(error = %err, "could not remove a replaced session from the list");
            }
        }
        let session_ref = self
            .state
            .auth
            .open_session(account, &self.client_ip(), &self.user_agent())
            .await?;
        self.session.cycle_id().await.map_err(internal)?;
        self.session
            .remove::<PendingSignIn>(PENDING_SIGN_IN_KEY)
            .await
            .map_err(internal)?;
        self.session
            .insert(ACCOUNT_ID_KEY, &account.id)
            .await
            .map_err(internal)?;
        self.session
            .insert(SESSION_REF_KEY, &session_ref)
            .await
            .map_err(internal)?;
        self.keep_session_in_epoch(account.session_epoch).await?;
        self.state
            .orgs
            .record_sign_in(&self.actor_for(account))
            .await
    }

    /// Holds a sign-in whose password was right until its second factor arrives; whoever
    /// was signed in on this browser before is signed out.
    pub async fn await_second_factor(&self, account: &Account, next: &str) -> Result<(), AppError> {
        // Emptying the session also gives it a new id when the pending state is saved.
        self.end_session().await?;
        let pending = PendingSignIn {
            account_id: account.id.clone(),
            next: next.to_owned(),
            session_epoch: account.session_epoch,
            started_at: crate::server::clock::now_ms(),
        };
        self.session
            .insert(PENDING_SIGN_IN_KEY, pending)
            .await
            .map_err(internal)
    }

    /// The sign-in awaiting a second factor, if it is recent enough.
    pub async fn pending_sign_in(&self) -> Result<Option<PendingSignIn>, AppError> {
        let pending = self
            .session
            .get::<PendingSignIn>(PENDING_SIGN_IN_KEY)
            .await
            .map_err(internal)?;
        let now = crate::server::clock::now_ms();
        Ok(pending.filter(|p| now - p.started_at < PENDING_SIGN_IN_MS))
    }

    /// Keeps recovery codes just made for this session's next page, which shows them once.
    pub async fn hold_recovery_codes(&self, codes: Vec<String>) -> Result<(), AppError> {
        self.session
            .insert(RECOVERY_CODES_KEY, codes)
            .await
            .map_err(internal)
    }

    pub async fn take_recovery_codes(&self) -> Result<Vec<String>, AppError> {
        Ok(self
            .session
            .remove::<Vec<String>>(RECOVERY_CODES_KEY)
            .await
            .map_err(internal)?
            .unwrap_or_default())
    }

    /// The id of this session in the account's session list.
    pub async fn session_ref(&self) -> Result<String, AppError> {
        self.session
            .get::<String>(SESSION_REF_KEY)
            .await
            .map_err(internal)?
            .ok_or(AppError::Unauthenticated)
    }

    /// Keeps this session valid in the account's session epoch `epoch` (after a password
    /// change, which ended every other session).
    pub async fn keep_session_in_epoch(&self, epoch: i64) -> Result<(), AppError> {
        self.session
            .insert(SESSION_EPOCH_KEY, epoch)
            .await
            .map_err(internal)
    }

    /// Signs out: the session is emptied and leaves the account's session list.
    pub async fn end_session(&self) -> Result<(), AppError> {
        let account_id = self
            .session
            .get::<AccountId>(ACCOUNT_ID_KEY)
            .await
            .map_err(internal)?;
        let session_ref = self
            .session
            .get::<String>(SESSION_REF_KEY)
            .await
            .map_err(internal)?;
        if let (Some(account_id), Some(session_ref)) = (account_id, session_ref) {
            // Signing out must not fail on the list: the session itself is emptied anyway,
            // and a row left behind is refused once its session is gone.
            if let Err(err) = self
                .state
                .auth
                .close_session(&account_id, &session_ref)
                .await
            {
                tracing::warn!(error = %err, "could not remove a signed-out session from the list");
            }
        }
        self.session.flush().await.map_err(internal)
    }

    /// The signed-in account as an actor: who it is and where the request came from.
    pub async fn actor(&self) -> Result<Actor, AppError> {
        let account = self.account().await?;
        Ok(self.actor_for(&account))
    }

    pub fn actor_for(&self, account: &Account) -> Actor {
        Actor::account(account.id.clone(), account.email.clone(), self.client_ip())
    }

    /// The signed-in account in the organization the console shows.
    pub async fn member(&self) -> Result<Member, AppError> {
        let actor = self.actor().await?;
        let preferred = self
            .session
            .get::<OrgId>(CURRENT_ORG_KEY)
            .await
            .map_err(internal)?;
        self.state.orgs.current(actor, preferred.as_ref()).await
    }

    /// The signed-in account as a member of `org_id`; `NotFound` unless it is one.
    pub async fn org_member(&self, org_id: &OrgId) -> Result<Member, AppError> {
        let actor = self.actor().await?;
        self.state.orgs.member(actor, org_id).await
    }

    /// Shows organization `org_id` from now on; `NotFound` unless the account is a member.
    pub async fn switch_org(&self, org_id: &OrgId) -> Result<Member, AppError> {
        let actor = self.actor().await?;
        let member = self.state.orgs.member(actor, org_id).await?;
        self.session
            .insert(CURRENT_ORG_KEY, &member.org_id)
            .await
            .map_err(internal)?;
        Ok(member)
    }

    /// The signed-in account in the organization that owns application `public_id`, allowed
    /// to do `action`; `NotFound` for another organization's application.
    pub async fn app_member(&self, public_id: &AppId, action: Action) -> Result<Member, AppError> {
        let actor = self.actor().await?;
        let member = self.state.orgs.member_for_app(actor, public_id).await?;
        member.require(action)?;
        Ok(member)
    }

    /// The application `public_id`, for a member who may `action`; another organization's is
    /// `NotFound`.
    pub async fn owned_app(
        &self,
        public_id: &AppId,
        action: Action,
    ) -> Result<(Member, AppDetail), AppError> {
        let member = self.app_member(public_id, Action::ViewApps).await?;
        let app =
            crate::server::operations::owned_app(&self.state, &member, public_id, action).await?;
        Ok((member, app))
    }

    /// The member's endpoint; another organization's (or application's) is `NotFound`.
    pub async fn owned_endpoint(
        &self,
        public_id: &AppId,
        endpoint_id: &EndpointId,
        action: Action,
    ) -> Result<(Member, OwnedEndpoint), AppError> {
        let member = self.app_member(public_id, Action::ViewApps).await?;
        let endpoint = crate::server::operations::owned_endpoint(
            &self.state,
            &member,
            public_id,
            endpoint_id,
            action,
        )
        .await?;
        Ok((member, endpoint))
    }

    /// Keeps an invitation link for the next page, which shows it once to copy.
    pub async fn hold_invitation_link(&self, link: &str) -> Result<(), AppError> {
        self.session
            .insert(INVITATION_LINK_KEY, link)
            .await
            .map_err(internal)
    }

    /// Keeps a token just made for the next page, which shows it once to copy.
    pub async fn hold_issued_token(&self, token: &str) -> Result<(), AppError> {
        self.session
            .insert(ISSUED_TOKEN_KEY, token)
            .await
            .map_err(internal)
    }

    pub async fn take_issued_token(&self) -> Result<Option<String>, AppError> {
        self.session
            .remove::<String>(ISSUED_TOKEN_KEY)
            .await
            .map_err(internal)
    }

    pub async fn take_invitation_link(&self) -> Result<Option<String>, AppError> {
        self.session
            .remove::<String>(INVITATION_LINK_KEY)
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

    /// A one-time notice shown on the account's next page.
    pub async fn flash(&self, message: &str) -> Result<(), AppError> {
        let account = self.signed_in_account().await?;
        self.state
            .store
            .put_notice(&account.id, NoticeKind::Flash, None, message)
            .await?;
        Ok(())
    }

    /// A one-time notice for a visitor who is not signed in (the sign-in page after sign-up),
    /// kept in the session: there is no account to keep it for.
    pub async fn flash_signed_out(&self, message: &str) -> Result<(), AppError> {
        self.session
            .insert(SIGNED_OUT_FLASH_KEY, message)
            .await
            .map_err(internal)
    }

    pub async fn take_flash(&self) -> Result<Option<String>, AppError> {
        let redraw = self
            .parts
            .as_ref()
            .is_some_and(|parts| parts.headers.contains_key(super::forms::LIVE_REDRAW_HEADER));
        if redraw {
            return Ok(None);
        }
        let Some(account) = self.optional_account().await? else {
            return self
                .session
                .remove::<String>(SIGNED_OUT_FLASH_KEY)
                .await
                .map_err(internal);
        };
        Ok(self
            .state
            .store
            .take_notice(&account.id, NoticeKind::Flash, None)
            .await?)
    }

    /// Keeps a freshly issued API key for the one page view that shows it.
    pub async fn hold_issued_key(&self, issued: &IssuedApiKey) -> Result<(), AppError> {
        let account = self.account().await?;
        self.state
            .store
            .put_notice(
                &account.id,
                NoticeKind::IssuedApiKey,
                Some(issued.public_id.as_str()),
                &issued.api_key,
            )
            .await?;
        Ok(())
    }

    /// The held key for `public_id`, removed as it is read so it is shown only once.
    /// Keeps a test event's outcome for the endpoint's card on the next page (plain forms).
    pub async fn remember_test_result(
        &self,
        endpoint_id: &EndpointId,
        result: &TestDeliveryResult,
    ) -> Result<(), AppError> {
        let account = self.account().await?;
        let body = serde_json::to_string(result).map_err(internal)?;
        self.state
            .store
            .put_notice(
                &account.id,
                NoticeKind::TestResult,
                Some(endpoint_id.as_str()),
                &body,
            )
            .await?;
        Ok(())
    }

    pub async fn take_test_result(
        &self,
        endpoint_id: &EndpointId,
    ) -> Result<Option<TestDeliveryResult>, AppError> {
        let account = self.account().await?;
        let body = self
            .state
            .store
            .take_notice(
                &account.id,
                NoticeKind::TestResult,
                Some(endpoint_id.as_str()),
            )
            .await?;
        Ok(body.and_then(|body| serde_json::from_str(&body).ok()))
    }

    pub async fn take_issued_key(&self, public_id: &AppId) -> Result<Option<String>, AppError> {
        let account = self.account().await?;
        Ok(self
            .state
            .store
            .take_notice(
                &account.id,
                NoticeKind::IssuedApiKey,
                Some(public_id.as_str()),
            )
            .await?)
    }
}

/// The address the request came from, as the session list and throttling record it.
pub fn peer_ip(extensions: Option<&axum::http::Extensions>) -> String {
    extensions
        .and_then(|e| e.get::<ConnectInfo<SocketAddr>>())
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
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
        // Visible ASCII only: a CR or LF would split the Location header it becomes.
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.bytes().all(|b| b.is_ascii_graphic()) =>
        {
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
        assert_eq!(safe_next(Some("/apps\r\nSet-Cookie: x=1")), "/apps");
        assert_eq!(safe_next(Some("/apps x")), "/apps");
    }
}
