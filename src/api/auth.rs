//! Server functions for accounts: sign-up, sign-in, sign-out, password change, who am I.

use crate::model::{AppError, CurrentUser};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context::{safe_next, RequestContext};

/// Creates the account, then sends the visitor to sign in: an email that already had an
/// account gets the very same answer, so sign-up does not reveal who has one.
#[server(endpoint = "sign_up")]
pub async fn sign_up(email: String, password: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    ctx.state
        .auth
        .sign_up(&email, password, &ctx.client_ip())
        .await?;
    ctx.flash_signed_out("Your account is ready. Sign in to continue.")
        .await?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(endpoint = "sign_in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx
        .state
        .auth
        .sign_in(&email, password, &ctx.client_ip())
        .await?;
    ctx.begin_session(&account).await?;
    leptos_axum::redirect(safe_next(next.as_deref()));
    Ok(())
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    ctx.end_session().await?;
    leptos_axum::redirect("/login?signed_out=1");
    Ok(())
}

#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.account().await?;
    if new_password != confirm_password {
        return Err(AppError::invalid(
            "confirm_password",
            "The two new passwords differ.",
        ));
    }
    let epoch = ctx
        .state
        .auth
        .change_password(&account.id, current_password, new_password)
        .await?;
    // Every other session of the account is over; this one stays signed in.
    ctx.keep_session_in_epoch(epoch).await?;
    // Tells the owner, in case it was not them.
    if ctx.mail_configured() {
        let when = crate::model::time::utc_time(crate::server::store::now_ms());
        let mail = crate::server::mail::templates::password_changed(&account.email, &when);
        // The password has changed already: a notice that cannot be queued is logged, not
        // turned into an error for a change that happened.
        if let Err(err) = ctx.state.store.queue_mail(&mail).await {
            tracing::warn!(error = %err, "could not queue the password-changed mail");
        }
    }
    // A JavaScript client shows the outcome inline; a plain form post reloads the page.
    if ctx.is_plain_form_post() {
        ctx.flash("Password changed.").await?;
    }
    Ok(())
}

#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<Option<CurrentUser>, AppError> {
    let ctx = RequestContext::load().await?;
    Ok(ctx.optional_account().await?.map(CurrentUser::from))
}

#[server(endpoint = "take_flash")]
pub async fn take_flash() -> Result<Option<String>, AppError> {
    RequestContext::load().await?.take_flash().await
}
