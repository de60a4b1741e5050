//! Plain HTTP routes outside the console's pages: liveness and readiness probes, Prometheus
//! metrics, and the Deliveries tab's live feed (server-sent events).

use super::context::session_account;
use crate::model::ids::{AppId, OrgId};
use crate::model::AppError;
use crate::server::state::AppState;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::time::Duration;
use tower_sessions::Session;

/// How often the live feed looks for changes.
const LIVE_POLL: Duration = Duration::from_secs(1);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/apps/{public_id}/live", get(live_deliveries))
        .route("/alerts/live", get(live_alert_count))
}

/// The process is up and serving.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database takes writes (a probe write commits within a second); load balancers should
/// route traffic only while this is 200.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let backend = state.store.backend_name();
    match state.store.check_writable().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "database": backend })),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": backend })),
            )
        }
    }
}

/// Prometheus text format; see the README for every metric.
async fn metrics(State(state): State<AppState>) -> Response {
    match state.system.prometheus().await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                crate::server::system::METRICS_CONTENT_TYPE,
            )],
            text,
        )
            .into_response(),
        Err(err) => plain_error(&err),
    }
}

/// Sends a `change` event whenever the application's newest deliveries or its queue change,
/// so an open Deliveries tab reloads its list; `ready` first, so the page knows it is live.
async fn live_deliveries(
    State(state): State<AppState>,
    session: Session,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Path(public_id): Path<AppId>,
) -> Response {
    let owned = async {
        let owner = session_account(&state, &session, &peer.ip().to_string())
            .await?
            .ok_or(AppError::Unauthenticated)?;
        state.auth.ensure_console_use(&owner)?;
        let actor = crate::server::orgs::Actor::account(
            owner.id.clone(),
            owner.email.clone(),
            peer.ip().to_string(),
        );
        let member = state.orgs.member_for_app(actor, &public_id).await?;
        state.apps.detail(&member, &public_id).await
    };
    let app = match owned.await {
        Ok(app) => app,
        Err(err) => return plain_error(&err),
    };
    let deliveries = state.deliveries.clone();
    // Browsers drop events without data, hence the words. The baseline is taken before
    // `ready` is sent: whatever happens after `ready` is a change.
    let baseline = match deliveries.live_fingerprint(&app.public_id).await {
        Ok(fingerprint) => fingerprint,
        Err(err) => return plain_error(&err),
    };
    let first = futures_util::stream::once(async {
        Ok::<_, Infallible>(Event::default().event("ready").data("live"))
    });
    let changes = futures_util::stream::unfold(baseline, move |last: u64| {
        let (deliveries, app_id) = (deliveries.clone(), app.public_id.clone());
        async move {
            loop {
                tokio::time::sleep(LIVE_POLL).await;
                // An error is logged with its reference inside; the feed keeps trying.
                if let Ok(now) = deliveries.live_fingerprint(&app_id).await {
                    if now != last {
                        return Some((Event::default().event("change").data("changed"), now));
                    }
                }
            }
        }
    });
    use futures_util::StreamExt;
    let mut stopping = state.stopping.clone();
    let stopped = async move {
        let _ = stopping.wait_for(|stopping| *stopping).await;
    };
    Sse::new(
        first
            .chain(changes.map(Ok::<_, Infallible>))
            .take_until(stopped),
    )
    .keep_alive(KeepAlive::default())
    .into_response()
}

/// How often the bell's feed counts unread alerts.
const ALERT_POLL: Duration = Duration::from_secs(2);
/// How long one bell feed lasts before the browser opens a new one.
const ALERT_FEED_LIFETIME: Duration = Duration::from_secs(300);

/// The bell's count: a `count` event with the number of unread alerts (capped at 100) first
/// and whenever it changes, so every open console page shows a new alert within seconds.
async fn live_alert_count(
    State(state): State<AppState>,
    session: Session,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
) -> Response {
    let reader = async {
        let account = session_account(&state, &session, &peer.ip().to_string())
            .await?
            .ok_or(AppError::Unauthenticated)?;
        state.auth.ensure_console_use(&account)?;
        let preferred = session
            .get::<OrgId>(super::context::CURRENT_ORG_KEY)
            .await
            .ok()
            .flatten();
        let actor = crate::server::orgs::Actor::account(
            account.id.clone(),
            account.email.clone(),
            peer.ip().to_string(),
        );
        let member = state.orgs.current(actor, preferred.as_ref()).await?;
        Ok::<_, AppError>((member, account.is_operator))
    };
    let (member, is_operator) = match reader.await {
        Ok(found) => found,
        Err(err) => return plain_error(&err),
    };
    let alerts = state.alerts.clone();
    let counts = futures_util::stream::unfold(None::<i64>, move |last| {
        let (alerts, member) = (alerts.clone(), member.clone());
        async move {
            loop {
                if last.is_some() {
                    tokio::time::sleep(ALERT_POLL).await;
                }
                if let Ok(now) = alerts.unread(&member, is_operator).await {
                    if Some(now) != last {
                        let event = Event::default().event("count").data(now.to_string());
                        return Some((Ok::<_, Infallible>(event), Some(now)));
                    }
                } else if last.is_none() {
                    tokio::time::sleep(ALERT_POLL).await;
                }
            }
        }
    });
    use futures_util::StreamExt;
    let mut stopping = state.stopping.clone();
    let stopped = async move {
        let _ = stopping.wait_for(|stopping| *stopping).await;
    };
    // The browser reconnects on its own: ending each feed after a while re-checks the
    // session and the membership it counts for, and bounds how long one request lives.
    let renewed = tokio::time::sleep(ALERT_FEED_LIFETIME);
    let ends = futures_util::future::select(Box::pin(stopped), Box::pin(renewed));
    Sse::new(counts.take_until(ends))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn plain_error(err: &AppError) -> Response {
    let status = match err {
        AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
        AppError::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, err.to_string()).into_response()
}
