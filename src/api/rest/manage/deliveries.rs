//! An application's deliveries: the list with the console's filters, one delivery with its
//! attempts, redelivery, and replay jobs.

use super::views::{Delivery, DeliveryList, DeliveryWithAttempts, ReplayJob};
use super::{json, once, Params, TokenMember};
use crate::api::rest::{ApiError, ApiRequest};
use crate::model::delivery::DeliveryQuery;
use crate::model::org::Action;
use crate::server::operations;
use crate::server::state::AppState;
use axum::extract::{Path, State};
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
    status: Option<String>,
    /// An event type's name, or `test`.
    event: Option<String>,
    /// An endpoint ID.
    endpoint: Option<String>,
    /// UTC, e.g. `2026-11-25T18:04:00Z`: events at or after.
    from: Option<String>,
    /// UTC: events before.
    to: Option<String>,
    /// A delivery, event or facial ID, matched exactly.
    q: Option<String>,
    /// 1 to 100; default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next` of the previous page.
    #[param(max_length = 64)]
    after: Option<String>,
}

/// List deliveries
#[utoipa::path(get, path = "/api/v1/applications/{appId}/deliveries", tag = "Deliveries",
    params(("appId" = String, Path), DeliveryListing),
    responses((status = 200, body = DeliveryList)), security(("org_token" = [])))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Path(app_id): Path<String>,
    Params(listing): Params<DeliveryListing>,
) -> Result<Json<DeliveryList>, ApiError> {
    let cursor = super::Listing {
        limit: listing.limit,
        after: listing.after,
    };
    let filter = DeliveryQuery {
        status: listing.status,
        event: listing.event,
        endpoint: listing.endpoint,
        from: listing.from,
        to: listing.to,
        search: listing.q,
    }
    .parse()?;
    let app = operations::owned_app(&state, &member, &app_id, Action::ViewApps).await?;
    let (rows, more) = state
        .deliveries
        .list_after(&app.public_id, &filter, cursor.after(), cursor.limit()?)
        .await?;
    let next = more.then(|| rows.last().map(|d| d.id.clone())).flatten();
    Ok(Json(DeliveryList {
        data: rows.into_iter().map(Delivery::from).collect(),
        next,
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
    Path((app_id, delivery_id)): Path<(String, String)>,
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
    Path((app_id, delivery_id)): Path<(String, String)>,
    request: ApiRequest,
) -> Response {
    once(&state, &member, &request, async {
        operations::redeliver(&state, &member, &app_id, &delivery_id).await?;
        let detail = operations::delivery(&state, &member, &app_id, &delivery_id).await?;
        json(StatusCode::ACCEPTED, Delivery::from(detail.summary))
    })
    .await
}

/// Get a replay job
#[utoipa::path(get, path = "/api/v1/applications/{appId}/replays/{replayId}",
    tag = "Deliveries", params(("appId" = String, Path), ("replayId" = String, Path)),
    responses((status = 200, body = ReplayJob)), security(("org_token" = [])))]
pub async fn get_replay(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Path((app_id, replay_id)): Path<(String, String)>,
) -> Result<Json<ReplayJob>, ApiError> {
    let progress = operations::replay_progress(&state, &member, &app_id, &replay_id).await?;
    Ok(Json(progress.into()))
}
