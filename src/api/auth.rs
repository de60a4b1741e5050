//! Server functions for accounts: sign-up, sign-in (with its second factor), sign-out,
//! password change, who am I.

use crate::model::{AppError, CurrentUser};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context::{safe_next, RequestContext};

/// Creates the account, then sends the visitor to sign in: an email that already had an
/// account gets the very same answer, so sign-up does not reveal who has one.
#[server(endpoint = "sign_up")]
pub async fn sign_up(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    ctx.state
        .auth
        .sign_up(&email, password, &ctx.client_ip())
        .await?;
    ctx.flash_signed_out("Your account is ready. Sign in to continue.")
        .await?;
    match next.as_deref().filter(|next| !next.is_empty()) {
        Some(next) => {
            let next: String =
                url::form_urlencoded::byte_serialize(safe_next(Some(next)).as_bytes()).collect();
            leptos_axum::redirect(&format!("/login?next={next}"));
        }
        None => leptos_axum::redirect("/login"),
    }
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
    let next = safe_next(next.as_deref());
    if account.two_factor {
        ctx.await_second_factor(&account, next).await?;
        leptos_axum::redirect("/login/code");
        return Ok(());
    }
    ctx.begin_session(&account).await?;
    if ctx.state.auth.policy().require_two_factor {
        ctx.flash("This server requires two-factor sign-in: set it up to continue.")
            .await?;
        leptos_axum::redirect("/account/two-factor");
    } else {
        leptos_axum::redirect(next);
    }
    Ok(())
}

/// Whether a sign-in is waiting for its second factor (the code page shows its form then).
#[server(endpoint = "sign_in_code_pending")]
pub async fn sign_in_code_pending() -> Result<bool, AppError> {
    let ctx = RequestContext::load().await?;
    Ok(ctx.pending_sign_in().await?.is_some())
}

/// Finishes a sign-in with a code from the authenticator app, or a recovery code.
#[server(endpoint = "sign_in_code")]
pub async fn sign_in_code(code: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let Some(pending) = ctx.pending_sign_in().await? else {
        return Err(AppError::invalid(
            "code",
            "This sign-in took too long: start again with your email and password.",
        ));
    };
    let (account, factor) = ctx
        .state
        .auth
        .verify_second_factor(&pending.account_id, &code, &ctx.client_ip())
        .await?;
    if account.session_epoch != pending.session_epoch {
        return Err(AppError::invalid(
            "code",
            "The password changed since you typed it: start again with your email and password.",
        ));
    }
    ctx.begin_session(&account).await?;
    if factor == crate::server::auth::two_factor::SecondFactor::RecoveryCode {
        ctx.flash("Signed in with a recovery code, which is now spent. Check how many you have left on your two-factor page.")
            .await?;
    }
    leptos_axum::redirect(&pending.next);
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
    let account = ctx.signed_in_account().await?;
    if new_password != confirm_password {
        return Err(AppError::invalid(
            "confirm_password",
            "The two new passwords differ.",
        ));
    }
    let session_ref = ctx.session_ref().await?;
    let epoch = ctx
        .state
        .auth
        .change_password(
            &account.id,
            Some(&session_ref),
            current_password,
            new_password,
        )
        .await?;
    // Every other session of the account is over; this one stays signed in.
    ctx.keep_session_in_epoch(epoch).await?;
    // A JavaScript client shows the outcome inline; a plain form post reloads the page.
    if ctx.is_plain_form_post() {
        ctx.flash("Password changed.").await?;
    }
    Ok(())
}

#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<Option<CurrentUser>, AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.optional_account().await?;
    Ok(account.map(|account| ctx.state.auth.current_user(&account)))
}

#[server(endpoint = "take_flash")]
pub async fn take_flash() -> Result<Option<String>, AppError> {
    RequestContext::load().await?.take_flash().await
}
