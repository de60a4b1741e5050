//! Server functions for a forgotten password: ask for a reset link, see whether a link still
//! works, and set a new password with it. Signed-out pages; the answers never reveal whether
//! an email has an account.

use crate::model::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context::RequestContext;

/// What the "Forgot password?" page tells everyone, account or not.
pub const RESET_REQUESTED: &str = "If an account uses that email, a link to choose a new password is on its way. It works once, for 30 minutes.";

/// Mails a reset link when the email has an account; answers the same when it has not.
#[server(endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    if !ctx.mail_configured() {
        return Err(AppError::invalid(
            "email",
            "This server cannot send mail: ask its operator for a reset link (`facehook reset-link --email …`), or to set FACEHOOK_SMTP_URL.",
        ));
    }
    ctx.state
        .auth
        .request_password_reset(&email, &ctx.client_ip())
        .await?;
    ctx.flash_signed_out(RESET_REQUESTED).await?;
    leptos_axum::redirect("/forgot-password");
    Ok(())
}

/// Whether a reset link still works (unused, not expired).
#[server(endpoint = "reset_link_usable")]
pub async fn reset_link_usable(token: String) -> Result<bool, AppError> {
    let ctx = RequestContext::load().await?;
    ctx.state.auth.reset_token_usable(&token).await
}

/// Sets the new password, signs the account out everywhere, mails "your password was
/// changed", and sends the visitor to sign in.
#[server(endpoint = "reset_password")]
pub async fn reset_password(
    token: String,
    password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    if password != confirm_password {
        return Err(AppError::invalid(
            "confirm_password",
            "The two passwords differ.",
        ));
    }
    ctx.state.auth.reset_password(&token, password).await?;
    ctx.end_session().await?;
    ctx.flash_signed_out(
        "Password changed, and every session signed out. Sign in with your new password.",
    )
    .await?;
    leptos_axum::redirect("/login");
    Ok(())
}
