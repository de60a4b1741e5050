//! Server functions for delivery: sending a test event to an endpoint from the WEBHOOKS tab.
//! Ownership is checked by `server::apps`; sending and recording by `server::dispatch`.

use crate::model::app::TestDeliveryResult;
use crate::model::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context::RequestContext;

/// Sends a `test` event to one endpoint now and answers with what came back, within the
/// endpoint's timeout. Another owner's endpoint is not found.
#[server(endpoint = "send_test_event")]
pub async fn send_test_event(
    public_id: String,
    endpoint_id: String,
) -> Result<TestDeliveryResult, AppError> {
    let ctx = RequestContext::load().await?;
    let owner = ctx.account().await?;
    let (app_id, endpoint_id) = ctx
        .state
        .apps
        .owned_endpoint_ids(&owner.id, &public_id, &endpoint_id)
        .await?;
    let outcome = ctx
        .state
        .tester
        .send(&app_id, &endpoint_id, &ctx.client_ip())
        .await?
        .ok_or(AppError::NotFound)?;
    let result = TestDeliveryResult {
        delivery_id: outcome.delivery_id,
        delivered: outcome.delivered,
        status_code: outcome.status_code,
        latency_ms: outcome.duration_ms,
        http_version: outcome.http_version,
        response_excerpt: outcome.response_excerpt,
        error_class: outcome.error_class,
        error_message: outcome.error_message,
    };
    if ctx.is_plain_form_post() {
        // Without JavaScript the page reloads: the outcome comes back as a notice.
        ctx.flash(&format!("Test event: {}", result.summary()))
            .await?;
    }
    Ok(result)
}
