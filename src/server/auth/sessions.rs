//! An account's console sessions: opened at sign-in (with a mail when the address is new),
//! checked on each request, listed, and ended one by one or all but the current one.

use crate::model::ids::AccountId;

use super::{Account, Auth};
use crate::model::security::{browser_label, SessionView};
use crate::model::AppError;
use crate::server::clock::now_ms;
use crate::server::store::SignInAddress;

/// Sessions end after a week unused (the cookie's expiry); older rows are not shown.
pub const SESSION_IDLE_MS: i64 = 7 * 86_400_000;
/// "Last seen" is kept to the minute: fewer writes, and no one needs it finer.
const LAST_SEEN_STEP_MS: i64 = 60_000;
/// A sign-in from an address not used in this long is mailed about.
const ADDRESS_MEMORY_MS: i64 = 30 * 86_400_000;
/// User-Agent headers are cut to this many characters before they are stored.
const USER_AGENT_MAX_CHARS: usize = 400;

impl Auth {
    /// Records a session that has just signed in; returns its id for the session to keep.
    /// Mails the owner when the account has not signed in from this address for 30 days.
    pub async fn open_session(
        &self,
        account: &Account,
        client_ip: &str,
        user_agent: &str,
    ) -> Result<String, AppError> {
        let user_agent: String = user_agent.chars().take(USER_AGENT_MAX_CHARS).collect();
        let id = self
            .store
            .insert_account_session(&account.id, &user_agent, client_ip)
            .await?;
        let address = self
            .store
            .record_sign_in_address(&account.id, client_ip, now_ms() - ADDRESS_MEMORY_MS)
            .await?;
        if address == SignInAddress::New {
            self.mail
                .new_sign_in(&account.email, client_ip, &browser_label(&user_agent))
                .await;
        }
        Ok(id)
    }

    /// Whether the account's session `session_id` is still open (not revoked or expired);
    /// notes that it was used.
    pub async fn session_open(
        &self,
        account_id: &AccountId,
        session_id: &str,
        client_ip: &str,
    ) -> Result<bool, AppError> {
        let Some(session) = self.store.account_session(session_id).await? else {
            return Ok(false);
        };
        let now = now_ms();
        if session.account_id != *account_id || session.last_seen_at < now - SESSION_IDLE_MS {
            return Ok(false);
        }
        if now - session.last_seen_at >= LAST_SEEN_STEP_MS || session.ip != client_ip {
            self.store
                .touch_account_session(session_id, client_ip)
                .await?;
        }
        Ok(true)
    }

    /// The account's open sessions, most recently used first; `current` is marked.
    pub async fn sessions(
        &self,
        account_id: &AccountId,
        current: &str,
    ) -> Result<Vec<SessionView>, AppError> {
        let rows = self
            .store
            .account_sessions(account_id, now_ms() - SESSION_IDLE_MS)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| SessionView {
                current: row.id == current,
                browser: browser_label(&row.user_agent),
                id: row.id,
                ip: row.ip,
                signed_in_at: row.signed_in_at,
                last_seen_at: row.last_seen_at,
            })
            .collect())
    }

    /// Ends another session of the account; the current one is ended by signing out.
    pub async fn revoke_session(
        &self,
        account_id: &AccountId,
        session_id: &str,
        current: &str,
    ) -> Result<(), AppError> {
        if session_id == current {
            return Err(AppError::invalid(
                "session_id",
                "That is the session you are using: sign out instead.",
            ));
        }
        if self
            .store
            .delete_account_session(account_id, session_id)
            .await?
        {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// Ends every session of the account but `current`; returns how many ended.
    pub async fn sign_out_other_sessions(
        &self,
        account_id: &AccountId,
        current: &str,
    ) -> Result<u64, AppError> {
        Ok(self
            .store
            .delete_other_account_sessions(account_id, Some(current))
            .await?)
    }

    /// Forgets a session that signed out.
    pub async fn close_session(
        &self,
        account_id: &AccountId,
        session_id: &str,
    ) -> Result<(), AppError> {
        self.store
            .delete_account_session(account_id, session_id)
            .await?;
        Ok(())
    }
}
