//! Server functions for the account's protection: two-factor sign-in (set up, confirm, turn
//! off, new recovery codes), its sessions (list, revoke, sign out elsewhere) and its email
//! (confirm, send the link again, change).

use crate::model::security::{SessionList, TwoFactorView};
use crate::model::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context::RequestContext;

#[server(endpoint = "two_factor")]
pub async fn get_two_factor() -> Result<TwoFactorView, AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.signed_in_account().await?;
    ctx.state.auth.two_factor(&account).await
}

/// Makes a secret for the authenticator app; the page then shows it as a QR code.
#[server(endpoint = "begin_two_factor")]
pub async fn begin_two_factor() -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.signed_in_account().await?;
    ctx.state.auth.begin_two_factor(&account).await
}

/// Turns two-factor sign-in on with the password and the first code, and shows the
/// recovery codes once.
#[server(endpoint = "confirm_two_factor")]
pub async fn confirm_two_factor(password: String, code: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.signed_in_account().await?;
    let codes = ctx
        .state
        .auth
        .confirm_two_factor(&account, password, &code, &ctx.client_ip())
        .await?;
    ctx.hold_recovery_codes(codes).await?;
    ctx.flash("Two-factor sign-in is on. Save your recovery codes now: they are shown only once.")
        .await
}

#[server(endpoint = "disable_two_factor")]
pub async fn disable_two_factor(password: String, code: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.signed_in_account().await?;
    ctx.state
        .auth
        .disable_two_factor(&account, password, &code, &ctx.client_ip())
        .await?;
    ctx.flash("Two-factor sign-in is off. Signing in now needs only your password.")
        .await
}

#[server(endpoint = "regenerate_recovery_codes")]
pub async fn regenerate_recovery_codes(password: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.signed_in_account().await?;
    let codes = ctx
        .state
        .auth
        .regenerate_recovery_codes(&account, password, &ctx.client_ip())
        .await?;
    ctx.hold_recovery_codes(codes).await?;
    ctx.flash("New recovery codes made; the old ones no longer work. Save these now.")
        .await
}

/// The recovery codes this session just made, removed as they are read so they are shown
/// only once, and only to the session that made them.
#[server(endpoint = "take_recovery_codes")]
pub async fn take_recovery_codes() -> Result<Vec<String>, AppError> {
    let ctx = RequestContext::load().await?;
    ctx.signed_in_account().await?;
    ctx.take_recovery_codes().await
}

#[server(endpoint = "sessions")]
pub async fn list_sessions() -> Result<SessionList, AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.signed_in_account().await?;
    let current = ctx.session_ref().await?;
    Ok(SessionList {
        now_ms: crate::server::clock::now_ms(),
        sessions: ctx.state.auth.sessions(&account.id, &current).await?,
    })
}

/// Signs another session of the account out; someone else's session is not found.
#[server(endpoint = "revoke_session")]
pub async fn revoke_session(session_id: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.signed_in_account().await?;
    let current = ctx.session_ref().await?;
    ctx.state
        .auth
        .revoke_session(&account.id, session_id.trim(), &current)
        .await?;
    ctx.flash("Session signed out.").await
}

#[server(endpoint = "sign_out_other_sessions")]
pub async fn sign_out_other_sessions() -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.signed_in_account().await?;
    let current = ctx.session_ref().await?;
    let ended = ctx
        .state
        .auth
        .sign_out_other_sessions(&account.id, &current)
        .await?;
    let message = match ended {
        0 => "No other session was signed in.".to_owned(),
        1 => "Signed out 1 other session.".to_owned(),
        n => format!("Signed out {n} other sessions."),
    };
    ctx.flash(&message).await
}

/// Confirms an email from its mailed link; works signed in or not.
#[server(endpoint = "verify_email")]
pub async fn verify_email(token: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    ctx.state.auth.verify_email(&token).await?;
    let message = "Email confirmed. Thank you.";
    if ctx.optional_account().await?.is_some() {
        ctx.flash(message).await?;
        leptos_axum::redirect("/account");
    } else {
        ctx.flash_signed_out(message).await?;
        leptos_axum::redirect("/login");
    }
    Ok(())
}

#[server(endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.signed_in_account().await?;
    ctx.state.auth.resend_verification(&account).await?;
    ctx.flash(&format!(
        "A new confirmation link is on its way to {}.",
        account.email
    ))
    .await
}

#[server(endpoint = "change_email")]
pub async fn change_email(email: String, password: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.signed_in_account().await?;
    let current = ctx.session_ref().await?;
    ctx.state
        .auth
        .change_email(&account, &current, &email, password, &ctx.client_ip())
        .await?;
    let message = if ctx.mail_configured() {
        "Email changed. Open the link we mailed to the new address to confirm it."
    } else {
        "Email changed."
    };
    ctx.flash(message).await
}
