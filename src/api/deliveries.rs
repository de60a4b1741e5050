//! Server functions for delivery: test events on the WEBHOOKS tab, and the Deliveries tab's
//! list, detail, redelivery, replay and chart. Membership and role are checked first;
//! another organization's application, endpoint, delivery or replay is not found.

// Arguments mirror the filter form's fields one for one, so it works without JavaScript.
#![allow(clippy::too_many_arguments)]
use crate::model::ids::{AppId, DeliveryId, EndpointId};

use crate::model::app::TestDeliveryResult;
use crate::model::delivery::{DeliveryChart, DeliveryDetail, DeliveryPage, ReplayProgress};
use crate::model::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context::RequestContext;
#[cfg(feature = "ssr")]
use crate::model::org::Action;

/// Sends a `test` event to one endpoint now and answers with what came back, within the
/// endpoint's timeout. Another owner's endpoint is not found.
#[server(endpoint = "send_test_event")]
pub async fn send_test_event(
    public_id: AppId,
    endpoint_id: EndpointId,
    event_type: Option<String>,
) -> Result<TestDeliveryResult, AppError> {
    use crate::server::operations;
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    let result = operations::send_test_event(
        &ctx.state,
        &member,
        &public_id,
        &endpoint_id,
        event_type.as_deref(),
    )
    .await?;
    if ctx.is_plain_form_post() {
        // A plain form reloads the page: the endpoint's card shows the outcome from there.
        ctx.remember_test_result(&endpoint_id, &result).await?;
    }
    Ok(result)
}

/// The body "Send test event" would send to this endpoint now as `event_type` (default
/// `test`), but for its moment: the same code builds it, with the endpoint's payload option
/// and the sender's address.
#[server(endpoint = "test_event_body")]
pub async fn test_event_body(
    public_id: AppId,
    endpoint_id: EndpointId,
    event_type: Option<String>,
) -> Result<String, AppError> {
    use crate::server::dispatch::example_body;

    let sent_as = crate::model::catalog::parse_test_type(event_type.as_deref())?;
    let ctx = RequestContext::load().await?;
    let (member, app) = ctx.owned_app(&public_id, Action::ViewApps).await?;
    let endpoint = ctx
        .state
        .apps
        .endpoints(&member, &public_id)
        .await?
        .into_iter()
        .find(|endpoint| endpoint.id == endpoint_id)
        .ok_or(AppError::NotFound)?;
    let body = example_body(
        &app.public_id,
        app.plan,
        sent_as,
        endpoint.include_payload,
        Some(&ctx.client_ip()),
    );
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The outcomes of test events sent from plain forms to this application's endpoints since
/// the page was last shown, by endpoint ID; each is given once.
#[server(endpoint = "take_test_results")]
pub async fn take_test_results(
    public_id: AppId,
) -> Result<Vec<(EndpointId, TestDeliveryResult)>, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    let endpoints = ctx.state.apps.endpoints(&member, &public_id).await?;
    let mut results = Vec::new();
    for endpoint in endpoints {
        if let Some(result) = ctx.take_test_result(&endpoint.id).await? {
            results.push((endpoint.id, result));
        }
    }
    Ok(results)
}

/// One page of the application's deliveries, newest first, filtered as the URL says.
#[server(endpoint = "list_deliveries")]
pub async fn list_deliveries(
    public_id: AppId,
    status: Option<String>,
    event: Option<String>,
    endpoint: Option<String>,
    from: Option<String>,
    to: Option<String>,
    q: Option<String>,
    page: Option<String>,
) -> Result<DeliveryPage, AppError> {
    use crate::model::delivery::DeliveryQuery;
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    let filter = DeliveryQuery {
        status,
        event,
        endpoint,
        from,
        to,
        search: q,
    }
    .parse()?;
    let page = crate::model::parse_page(page.as_deref())?;
    crate::server::operations::deliveries(&ctx.state, &member, &public_id, &filter, page).await
}

#[server(endpoint = "get_delivery")]
pub async fn get_delivery(
    public_id: AppId,
    delivery_id: DeliveryId,
) -> Result<DeliveryDetail, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    crate::server::operations::delivery(&ctx.state, &member, &public_id, &delivery_id).await
}

/// Sends one delivery again now: a new attempt with the same `webhook-id`.
#[server(endpoint = "redeliver")]
pub async fn redeliver(public_id: AppId, delivery_id: DeliveryId) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    crate::server::operations::redeliver(&ctx.state, &member, &public_id, &delivery_id).await?;
    if ctx.is_plain_form_post() {
        ctx.flash("Queued for redelivery.").await?;
        leptos_axum::redirect(&format!("/apps/{}/deliveries/{}", public_id, delivery_id));
    }
    Ok(())
}

/// How many failed deliveries "Replay failed" would send, shown before confirming.
#[server(endpoint = "count_replayable")]
pub async fn count_replayable(
    public_id: AppId,
    endpoint_id: EndpointId,
    since: String,
) -> Result<i64, AppError> {
    let ctx = RequestContext::load().await?;
    let (_, endpoint) = ctx
        .owned_endpoint(&public_id, &endpoint_id, Action::ViewApps)
        .await?;
    let since = parse_since(&since)?;
    ctx.state
        .deliveries
        .count_replayable(&endpoint.endpoint_id, since)
        .await
}

/// Queues every failed delivery of an endpoint since a time again, once confirmed.
#[server(endpoint = "replay_failed")]
pub async fn replay_failed(
    public_id: AppId,
    endpoint_id: EndpointId,
    since: String,
    confirm: Option<String>,
) -> Result<ReplayProgress, AppError> {
    let ctx = RequestContext::load().await?;
    // The role first, so a member who may not replay is told so rather than asked for a time.
    let (member, _) = ctx
        .owned_endpoint(&public_id, &endpoint_id, Action::Redeliver)
        .await?;
    let since_ms = parse_since(&since)?;
    if confirm.is_none() {
        return Err(AppError::invalid(
            "confirm",
            "Tick the box to confirm the replay.",
        ));
    }
    let progress = crate::server::operations::replay_failed(
        &ctx.state,
        &member,
        &public_id,
        &endpoint_id,
        since_ms,
    )
    .await?;
    if ctx.is_plain_form_post() {
        ctx.flash(&format!("Replaying {} failed deliveries.", progress.total))
            .await?;
        leptos_axum::redirect(&format!(
            "/apps/{}/deliveries?replay={}",
            public_id, progress.replay_id
        ));
    }
    Ok(progress)
}

#[server(endpoint = "replay_progress")]
pub async fn get_replay_progress(
    public_id: AppId,
    replay_id: String,
) -> Result<ReplayProgress, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    crate::server::operations::replay_progress(&ctx.state, &member, &public_id, &replay_id).await
}

/// The last day by the hour, for the whole application or (`endpoint_id`) one endpoint.
#[server(endpoint = "delivery_chart")]
pub async fn get_delivery_chart(
    public_id: AppId,
    endpoint_id: Option<EndpointId>,
) -> Result<DeliveryChart, AppError> {
    let ctx = RequestContext::load().await?;
    let (_, app) = ctx.owned_app(&public_id, Action::ViewApps).await?;
    let endpoint = match endpoint_id.filter(|id| !id.as_str().is_empty()) {
        Some(id) => Some(
            ctx.owned_endpoint(&public_id, &id, Action::ViewApps)
                .await?
                .1
                .endpoint_id,
        ),
        None => None,
    };
    ctx.state
        .deliveries
        .chart(&app.public_id, endpoint.as_ref())
        .await
}

#[cfg(feature = "ssr")]
fn parse_since(raw: &str) -> Result<i64, AppError> {
    if raw.trim().is_empty() {
        return Err(AppError::invalid(
            "since",
            "Choose the time to replay failed deliveries from.",
        ));
    }
    crate::model::time::parse_utc_minute(raw).map_err(|reason| AppError::invalid("since", reason))
}
