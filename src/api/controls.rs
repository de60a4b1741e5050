//! Server functions for an endpoint's delivery controls and the application's HTTPS-only
//! switch. Each reads the session and calls `server::apps`, as `save_endpoint` does.

// Server-function arguments mirror the HTML form's fields one for one, so forms post
// without JavaScript.
#![allow(clippy::too_many_arguments)]

use crate::model::app::EndpointView;
use crate::model::ids::{AppId, EndpointId};
use crate::model::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::context::RequestContext;
#[cfg(feature = "ssr")]
use crate::model::org::Action;

/// One row of the custom-headers table, as the form posts it (`headers[i][name]`, …);
/// `secret` is a checkbox, present when ticked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HeaderRow {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub secret: Option<String>,
}

/// Saves an endpoint's delivery controls. `retry` is `default`, a preset's name or `custom`
/// (then `retry_custom` holds the delays); `rate` is empty for no limit.
#[server(endpoint = "save_delivery_controls")]
pub async fn save_delivery_controls(
    public_id: AppId,
    endpoint_id: EndpointId,
    ordered: Option<String>,
    signature: String,
    headers: Option<Vec<HeaderRow>>,
    retry: Option<String>,
    retry_custom: Option<String>,
    rate: Option<String>,
) -> Result<EndpointView, AppError> {
    use crate::model::controls::{CustomHeader, DeliveryControls, SignatureScheme};

    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    let retry_schedule = match retry.as_deref().unwrap_or("default") {
        "custom" => retry_custom
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                AppError::invalid("retry_schedule", "Enter the delays, like 0s,5s,1m,10m.")
            })?,
        preset => preset.to_owned(),
    };
    let rate_per_sec = match rate.as_deref().map(str::trim).unwrap_or_default() {
        "" => None,
        raw => Some(raw.parse::<i64>().map_err(|_| {
            AppError::invalid(
                "rate",
                format!("{raw:?} is not a whole number of deliveries per second."),
            )
        })?),
    };
    let controls = DeliveryControls {
        ordered: ordered.is_some(),
        signature_scheme: SignatureScheme::parse(&signature)?,
        custom_headers: headers
            .unwrap_or_default()
            .into_iter()
            .map(|row| CustomHeader {
                name: row.name,
                value: row.value,
                secret: row.secret.is_some(),
            })
            .collect(),
        retry_schedule: Some(retry_schedule),
        rate_per_sec,
    };
    let saved = ctx
        .state
        .apps
        .update_controls(&member, &public_id, &endpoint_id, controls)
        .await?;
    if ctx.is_plain_form_post() {
        ctx.flash("Delivery settings saved.").await?;
    }
    Ok(saved)
}

/// Turns the application's HTTPS-only switch on or off (`https_only` present means on).
#[server(endpoint = "set_https_only")]
pub async fn set_https_only(public_id: AppId, https_only: Option<String>) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    let on = https_only.is_some();
    ctx.state
        .apps
        .set_https_only(&member, &public_id, on)
        .await?;
    if ctx.is_plain_form_post() {
        ctx.flash(if on {
            "HTTPS only is on: http:// endpoints are refused."
        } else {
            "HTTPS only is off."
        })
        .await?;
    }
    Ok(())
}
