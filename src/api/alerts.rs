//! Server functions for alerts: the bell's count, the alerts page, the account's mail
//! choices and the organization's alert settings. The rules live in `server::alerts`.

use crate::model::ids::OrgId;

use crate::model::alert::{AlertMailChoices, AlertSettingsView, AlertsPage};
use crate::model::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context::RequestContext;

/// Alerts raised since the account last opened the alerts page (up to 100).
#[server(endpoint = "unread_alerts")]
pub async fn unread_alerts() -> Result<i64, AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.account().await?;
    let member = ctx.member().await?;
    ctx.state.alerts.unread(&member, account.is_operator).await
}

/// The alerts page; opening it marks every alert read.
#[server(endpoint = "list_alerts")]
pub async fn list_alerts() -> Result<AlertsPage, AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.account().await?;
    let member = ctx.member().await?;
    ctx.state.alerts.page(&member, account.is_operator).await
}

#[server(endpoint = "alert_mail_settings")]
pub async fn alert_mail_settings() -> Result<AlertMailChoices, AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.signed_in_account().await?;
    ctx.state
        .alerts
        .mail_choices(&account, ctx.mail_configured())
        .await
}

/// `kinds[i]` is each chosen kind; none chosen sends none.
#[server(endpoint = "save_alert_mail")]
pub async fn save_alert_mail(kinds: Option<Vec<String>>) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let account = ctx.signed_in_account().await?;
    let kinds = kinds.unwrap_or_default();
    ctx.state.alerts.set_mail_choices(&account, &kinds).await?;
    ctx.flash(&match kinds.len() {
        0 => "Alert emails off: alerts stay on the Alerts page.".to_owned(),
        1 => "Saved: one kind of alert is mailed to you.".to_owned(),
        n => format!("Saved: {n} kinds of alerts are mailed to you."),
    })
    .await
}

#[server(endpoint = "alert_settings")]
pub async fn alert_settings() -> Result<AlertSettingsView, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.member().await?;
    ctx.state.alerts.settings(&member).await
}

#[server(endpoint = "save_alert_rules")]
pub async fn save_alert_rules(
    org_id: OrgId,
    failures: String,
    rate_percent: String,
    min_attempts: String,
) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.org_member(&org_id).await?;
    let rules = crate::model::alert::AlertRules::parse(&failures, &rate_percent, &min_attempts)?;
    ctx.state.alerts.set_rules(&member, rules).await?;
    ctx.flash("Alert rules saved.").await
}

/// Saves the operational webhook's URL; an empty one removes the webhook.
#[server(endpoint = "save_ops_webhook")]
pub async fn save_ops_webhook(org_id: OrgId, url: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.org_member(&org_id).await?;
    ctx.state.alerts.set_webhook(&member, &url).await?;
    ctx.flash(if url.trim().is_empty() {
        "Operational webhook removed: alerts are no longer posted."
    } else {
        "Operational webhook saved: every new alert is posted to it, signed."
    })
    .await
}

#[server(endpoint = "rotate_ops_webhook_secret")]
pub async fn rotate_ops_webhook_secret(org_id: OrgId) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.org_member(&org_id).await?;
    ctx.state.alerts.rotate_webhook_secret(&member).await?;
    ctx.flash("New signing secret made: update your receiver; the old one no longer signs.")
        .await
}
