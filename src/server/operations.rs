//! What a member does beyond an application's settings — test events, deliveries, replays,
//! the facial-ID registry — checked and audited once here for the console's server functions
//! and the management API alike. Knows nothing of HTTP, sessions or the UI.

use crate::model::ids::{AppId, DeliveryId, EndpointId};

use crate::model::app::{AppDetail, EventKind, TestDeliveryResult};
use crate::model::delivery::{DeliveryDetail, DeliveryFilter, DeliveryPage, ReplayProgress};
use crate::model::org::{Action, AuditAction};
use crate::model::AppError;
use crate::server::apps::OwnedEndpoint;
use crate::server::ingest::EventInput;
use crate::server::orgs::Member;
use crate::server::state::AppState;
use serde_json::json;
use std::net::IpAddr;

/// The application `public_id` of the member's organization, once the role allows `action`;
/// another organization's is `NotFound` whatever the role.
pub async fn owned_app(
    state: &AppState,
    member: &Member,
    public_id: &AppId,
    action: Action,
) -> Result<AppDetail, AppError> {
    let app = state.apps.detail(member, public_id).await?;
    member.require(action)?;
    Ok(app)
}

/// The member's endpoint, once the role allows `action`; else as `owned_app`.
pub async fn owned_endpoint(
    state: &AppState,
    member: &Member,
    public_id: &AppId,
    endpoint_id: &EndpointId,
    action: Action,
) -> Result<OwnedEndpoint, AppError> {
    state
        .apps
        .owned_endpoint_state(member, action, public_id, endpoint_id)
        .await
}

/// Sends a `test` event (or an example of `event_type`) to one endpoint now and answers with
/// what came back, within the endpoint's timeout.
pub async fn send_test_event(
    state: &AppState,
    member: &Member,
    public_id: &AppId,
    endpoint_id: &EndpointId,
    event_type: Option<&str>,
) -> Result<TestDeliveryResult, AppError> {
    let endpoint = owned_endpoint(
        state,
        member,
        public_id,
        endpoint_id,
        Action::SendTestEvents,
    )
    .await?;
    let sent_as = crate::model::catalog::parse_test_type(event_type)?;
    let outcome = state
        .tester
        .send(
            &endpoint.app_id,
            &endpoint.endpoint_id,
            &member.actor.ip,
            sent_as,
        )
        .await?
        .ok_or(AppError::NotFound)?;
    let details = json!({"event_type": sent_as, "delivery": outcome.delivery_id});
    state
        .orgs
        .audit()
        .record(
            member,
            AuditAction::TestEvent,
            ("endpoint", endpoint.endpoint_id.as_str()),
            Some(details),
        )
        .await?;
    Ok(TestDeliveryResult {
        delivery_id: outcome.delivery_id,
        delivered: outcome.delivered,
        status_code: outcome.status_code,
        latency_ms: outcome.duration_ms,
        http_version: outcome.http_version,
        response_excerpt: outcome.response_excerpt,
        error_class: outcome.error_class,
        error_message: outcome.error_message,
    })
}

pub async fn deliveries(
    state: &AppState,
    member: &Member,
    public_id: &AppId,
    filter: &DeliveryFilter,
    page: u32,
) -> Result<DeliveryPage, AppError> {
    let app = owned_app(state, member, public_id, Action::ViewApps).await?;
    state.deliveries.page(&app.public_id, filter, page).await
}

pub async fn delivery(
    state: &AppState,
    member: &Member,
    public_id: &AppId,
    delivery_id: &DeliveryId,
) -> Result<DeliveryDetail, AppError> {
    let app = owned_app(state, member, public_id, Action::ViewApps).await?;
    state.deliveries.detail(&app.public_id, delivery_id).await
}

/// Sends one delivery again now: a new attempt with the same `webhook-id`.
pub async fn redeliver(
    state: &AppState,
    member: &Member,
    public_id: &AppId,
    delivery_id: &DeliveryId,
) -> Result<(), AppError> {
    let app = owned_app(state, member, public_id, Action::Redeliver).await?;
    state
        .deliveries
        .redeliver(&app.public_id, delivery_id)
        .await?;
    state
        .orgs
        .audit()
        .record(
            member,
            AuditAction::Redeliver,
            ("delivery", delivery_id.as_str()),
            None,
        )
        .await
}

/// Queues every failed delivery of an endpoint since `since_ms` again.
pub async fn replay_failed(
    state: &AppState,
    member: &Member,
    public_id: &AppId,
    endpoint_id: &EndpointId,
    since_ms: i64,
) -> Result<ReplayProgress, AppError> {
    let endpoint = owned_endpoint(state, member, public_id, endpoint_id, Action::Redeliver).await?;
    let progress = state.deliveries.replay_failed(&endpoint, since_ms).await?;
    let details = json!({"since": crate::model::time::utc_time(since_ms), "deliveries": progress.total, "replay": progress.replay_id});
    state
        .orgs
        .audit()
        .record(
            member,
            AuditAction::Replay,
            ("endpoint", endpoint.endpoint_id.as_str()),
            Some(details),
        )
        .await?;
    Ok(progress)
}

pub async fn replay_progress(
    state: &AppState,
    member: &Member,
    public_id: &AppId,
    replay_id: &str,
) -> Result<ReplayProgress, AppError> {
    let app = owned_app(state, member, public_id, Action::ViewApps).await?;
    state
        .deliveries
        .replay_progress(&app.public_id, replay_id)
        .await
}

/// Deletes a facial ID as the intake API's DELETE does: it emits a `deletion` event.
pub async fn delete_facial_id(
    state: &AppState,
    member: &Member,
    public_id: &AppId,
    facial_id: &str,
) -> Result<(), AppError> {
    let app = owned_app(state, member, public_id, Action::DeleteFacialIds).await?;
    let client_ip = member
        .actor
        .ip
        .parse()
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let input = EventInput::new(EventKind::Deletion, Some(facial_id.to_owned()), client_ip);
    state
        .ingest
        .submit(&app.public_id, input, None, |_, _| (0, String::new()))
        .await?;
    let details = json!({"app": app.public_id});
    state
        .orgs
        .audit()
        .record(
            member,
            AuditAction::FacialIdDelete,
            ("facial_id", facial_id.trim()),
            Some(details),
        )
        .await
}
