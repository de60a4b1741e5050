//! An application's deliveries: the list with the console's filters, one delivery with its
//! attempts, redelivery, and replay jobs.

use super::views::{Delivery, DeliveryList, DeliveryWithAttempts, ReplayJob};
use super::{json, once, Ids, Params, Reply, TokenMember};
use crate::api::rest::{ApiError, ApiRequest};
use crate::model::delivery::{DeliveryQuery, DeliveryStatus, TEST_EVENT_NAME};
use crate::model::ids::{AppId, DeliveryId};
use crate::model::org::Action;
use crate::server::operations;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

/// The console's filters, and the cursor.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryListing {
    /// `pending`, `delivering`, `delivered`, `retrying` or `failed`.
    #[param(pattern = "^(pending|delivering|delivered|retrying|failed)$")]
    status: Option<String>,
    /// An event type's name, or `test` (the document lists them).
    event: Option<String>,
    /// An endpoint ID.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    endpoint: Option<String>,
    /// Events at or after this time, in Unix seconds.
    #[param(minimum = 0, maximum = 253402300799_i64)]
    from: Option<i64>,
    /// Events before this time, in Unix seconds.
    #[param(minimum = 0, maximum = 253402300799_i64)]
    to: Option<i64>,
    /// A delivery, event or facial ID, matched exactly.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    q: Option<String>,
    /// 1 to 100; default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next` of the previous page.
    #[param(pattern = "^[0-9]{1,15}\\.[A-Za-z0-9_-]{1,64}$")]
    after: Option<String>,
}

/// List deliveries
///
/// Newest first, filtered as the console's Deliveries tab filters.
#[utoipa::path(get, path = "/api/v1/applications/{appId}/deliveries", tag = "Deliveries",
    params(("appId" = String, Path), DeliveryListing),
    responses((status = 200, body = DeliveryList)), security(("org_token" = [])))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids(app_id): Ids<AppId>,
    Params(listing): Params<DeliveryListing>,
) -> Result<Json<DeliveryList>, ApiError> {
    let app = operations::owned_app(&state, &member, &app_id, Action::ViewApps).await?;
    let window = super::Window {
        limit: listing.limit,
        after: listing.after,
    };
    if let Some(status) = &listing.status {
        let names = DeliveryStatus::ALL.map(DeliveryStatus::as_str);
        super::one_of("status", status, &names)?;
    }
    if let Some(event) = &listing.event {
        let mut names = super::event_kind_names();
        names.push(TEST_EVENT_NAME);
        super::one_of("event", event, &names)?;
    }
    for (field, id) in [("endpoint", &listing.endpoint), ("q", &listing.q)] {
        if id.as_deref().is_some_and(|id| !super::is_id(id)) {
            return Err(ApiError::invalid(
                field,
                format!("{field} must be an ID: 1 to 64 letters, digits, _ or -."),
            ));
        }
    }
    let mut filter = DeliveryQuery {
        status: listing.status,
        event: listing.event,
        endpoint: listing.endpoint,
        from: None,
        to: None,
        search: listing.q,
    }
    .parse()?;
    // An empty range lists nothing rather than being refused.
    filter.from_ms = super::unix_secs("from", listing.from)?;
    filter.to_ms = super::unix_secs("to", listing.to)?;
    let after = window.after()?;
    let (rows, next) = state
        .deliveries
        .list_after(
            &app.public_id,
            &filter,
            after.as_ref().map(|(at, id)| (*at, id.as_str())),
            window.limit()?,
        )
        .await?;
    Ok(Json(DeliveryList {
        data: rows.into_iter().map(Delivery::from).collect(),
        next: super::cursor(next),
    }))
}

/// Get a delivery
///
/// With the request as sent (the bearer token and signatures masked) and every attempt.
#[utoipa::path(get, path = "/api/v1/applications/{appId}/deliveries/{deliveryId}",
    tag = "Deliveries", params(("appId" = String, Path), ("deliveryId" = String, Path)),
    responses((status = 200, body = DeliveryWithAttempts)), security(("org_token" = [])))]
pub async fn get_delivery(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids((app_id, delivery_id)): Ids<(AppId, DeliveryId)>,
) -> Result<Json<DeliveryWithAttempts>, ApiError> {
    let detail = operations::delivery(&state, &member, &app_id, &delivery_id).await?;
    Ok(Json(detail.into()))
}

/// Redeliver
///
/// A new attempt now, with the same `webhook-id`.
#[utoipa::path(post, path = "/api/v1/applications/{appId}/deliveries/{deliveryId}/redeliver",
    tag = "Deliveries",
    params(("appId" = String, Path), ("deliveryId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Delivery)), security(("org_token" = [])))]
pub async fn redeliver(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids((app_id, delivery_id)): Ids<(AppId, DeliveryId)>,
    request: ApiRequest,
) -> Response {
    let task = async {
        operations::redeliver(&state, &member, &app_id, &delivery_id).await?;
        let detail = operations::delivery(&state, &member, &app_id, &delivery_id).await?;
        json(StatusCode::ACCEPTED, Delivery::from(detail.summary))
    };
    once(&state, &member, &request, Reply::Plain, task).await
}

/// Get a replay job
#[utoipa::path(get, path = "/api/v1/applications/{appId}/replays/{replayId}",
    tag = "Deliveries", params(("appId" = String, Path), ("replayId" = String, Path)),
    responses((status = 200, body = ReplayJob)), security(("org_token" = [])))]
pub async fn get_replay(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids((app_id, replay_id)): Ids<(AppId, String)>,
) -> Result<Json<ReplayJob>, ApiError> {
    let progress = operations::replay_progress(&state, &member, &app_id, &replay_id).await?;
    Ok(Json(progress.into()))
}
