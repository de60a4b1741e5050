//! The console's view of delivery: the filtered list, one delivery's request and attempts,
//! redelivery, bulk replay, the 24-hour chart and the live-feed fingerprint.
//! Callers pass an application id whose ownership `Apps` has checked; every query is scoped
//! by it, so another application's delivery is simply not found. Knows nothing of HTTP.

use crate::model::ids::{AppId, DeliveryId, EndpointId};

mod request;

use crate::model::delivery::{
    AttemptView, DeliveryChart, DeliveryDetail, DeliveryFilter, DeliveryPage, DeliveryStatus,
    DeliverySummary, HourStats, ReplayProgress, DELIVERIES_PER_PAGE, TEST_EVENT_NAME,
};
use crate::model::AppError;
use crate::server::apps::OwnedEndpoint;
use crate::server::clock::now_ms;
use crate::server::store::{DeliveryListing, ListingFilter, Store};
use std::hash::{Hash, Hasher};

const HOUR_MS: i64 = 3_600_000;
/// How many of the newest deliveries the live feed watches for changes.
const LIVE_WINDOW: i64 = 50;

#[derive(Clone)]
pub struct Deliveries {
    store: Store,
}

impl Deliveries {
    pub fn new(store: Store) -> Self {
        Deliveries { store }
    }

    pub async fn page(
        &self,
        app_id: &AppId,
        filter: &DeliveryFilter,
        page: u32,
    ) -> Result<DeliveryPage, AppError> {
        let per_page = i64::from(DELIVERIES_PER_PAGE);
        let listing = listing_filter(filter, None);
        // One row more than a page says whether an older page exists.
        let mut rows = self
            .store
            .list_deliveries(app_id, listing, per_page + 1, i64::from(page) * per_page)
            .await?;
        let has_more = rows.len() as i64 > per_page;
        rows.truncate(per_page as usize);
        Ok(DeliveryPage {
            items: rows.into_iter().map(summary).collect::<Result<_, _>>()?,
            page,
            has_more,
            now_ms: now_ms(),
        })
    }

    /// Up to `limit` deliveries listed after the position `after` (an event's time and a
    /// delivery ID; from the newest when `None`), and the position after the last one when
    /// more follow: the management API's cursor, which needs no row to still exist.
    pub async fn list_after(
        &self,
        app_id: &AppId,
        filter: &DeliveryFilter,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<(Vec<DeliverySummary>, Option<(i64, String)>), AppError> {
        let listing = listing_filter(filter, after);
        let mut rows = self
            .store
            .list_deliveries(app_id, listing, i64::from(limit) + 1, 0)
            .await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = more
            .then(|| rows.last().map(|row| (row.occurred_at, row.id.to_string())))
            .flatten();
        let items = rows.into_iter().map(summary).collect::<Result<_, _>>()?;
        Ok((items, next))
    }

    pub async fn detail(
        &self,
        app_id: &AppId,
        delivery_id: &DeliveryId,
    ) -> Result<DeliveryDetail, AppError> {
        let listing = self
            .store
            .delivery_of_app(app_id, delivery_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let as_sent = self
            .store
            .delivery_as_sent(app_id, delivery_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let attempts = self.store.attempts_of_delivery(delivery_id).await?;
        let signed_at = attempts
            .last()
            .map(|a| a.attempt.started_at)
            .unwrap_or_else(now_ms);
        let waiting_behind = if listing.status == crate::model::delivery::DeliveryStatus::Held {
            self.store.waiting_behind(delivery_id).await?
        } else {
            None
        };
        Ok(DeliveryDetail {
            summary: summary(listing)?,
            request: request::preview(&as_sent, signed_at),
            attempts: attempts
                .into_iter()
                .map(|a| AttemptView {
                    number: a.attempt_number,
                    started_at_ms: a.attempt.started_at,
                    duration_ms: a.attempt.duration_ms,
                    http_version: a.attempt.http_version,
                    remote_addr: a.attempt.remote_addr,
                    status_code: a.attempt.status_code,
                    error_class: a.attempt.error_class,
                    error_message: a.attempt.error_message,
                    response_headers: request::response_headers(
                        a.attempt.response_headers.as_deref(),
                    ),
                    response_excerpt: a.attempt.response_excerpt,
                })
                .collect(),
            now_ms: now_ms(),
            waiting_behind,
            retry_schedule: as_sent.retry_schedule.clone(),
        })
    }

    /// Queues one delivery again, due now; the dispatcher sends it with the same `webhook-id`.
    pub async fn redeliver(
        &self,
        app_id: &AppId,
        delivery_id: &DeliveryId,
    ) -> Result<(), AppError> {
        let delivery = self
            .store
            .delivery_of_app(app_id, delivery_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if delivery.event_name == TEST_EVENT_NAME {
            return Err(AppError::invalid(
                "delivery_id",
                "Test events are not sent again; send a new test event from the WEBHOOKS tab.",
            ));
        }
        if !delivery.endpoint_enabled {
            return Err(AppError::invalid(
                "delivery_id",
                "This endpoint is disabled; re-enable it on the WEBHOOKS tab first.",
            ));
        }
        if delivery.status == crate::model::delivery::DeliveryStatus::Held {
            return Err(AppError::invalid(
                "delivery_id",
                "This delivery waits behind an earlier one of the same facial ID; it goes as soon as that one is delivered or has failed.",
            ));
        }
        if !self.store.redeliver(app_id, &delivery.id).await? {
            return Err(AppError::invalid(
                "delivery_id",
                "This delivery is being sent right now; wait for the attempt to finish.",
            ));
        }
        Ok(())
    }

    /// How many failed deliveries a replay of `endpoint_id` since `since_ms` would send.
    pub async fn count_replayable(
        &self,
        endpoint_id: &EndpointId,
        since_ms: i64,
    ) -> Result<i64, AppError> {
        Ok(self.store.count_replayable(endpoint_id, since_ms).await?)
    }

    pub async fn replay_failed(
        &self,
        endpoint: &OwnedEndpoint,
        since_ms: i64,
    ) -> Result<ReplayProgress, AppError> {
        if !endpoint.enabled {
            return Err(AppError::invalid(
                "endpoint_id",
                "This endpoint is disabled; re-enable it on the WEBHOOKS tab first.",
            ));
        }
        let (replay_id, total) = self
            .store
            .replay_failed(&endpoint.endpoint_id, since_ms)
            .await?;
        Ok(ReplayProgress {
            replay_id,
            total,
            delivered: 0,
            failed: 0,
        })
    }

    pub async fn replay_progress(
        &self,
        app_id: &AppId,
        replay_id: &str,
    ) -> Result<ReplayProgress, AppError> {
        let counts = self.store.replay_counts(app_id, replay_id.trim()).await?;
        if counts.total == 0 {
            return Err(AppError::NotFound);
        }
        Ok(ReplayProgress {
            replay_id: replay_id.trim().to_owned(),
            total: counts.total,
            delivered: counts.delivered,
            failed: counts.failed,
        })
    }

    /// The last 24 whole hours and the current one, by the hour of the event; to one
    /// endpoint of the application, or to all of them.
    pub async fn chart(
        &self,
        app_id: &AppId,
        endpoint_id: Option<&EndpointId>,
    ) -> Result<DeliveryChart, AppError> {
        let start = (now_ms().div_euclid(HOUR_MS) - 23) * HOUR_MS;
        let (counts, medians) = self
            .store
            .hourly_delivery_stats(app_id, endpoint_id, start)
            .await?;
        let hours = (0..24)
            .map(|hour| {
                let count = counts.iter().find(|c| c.hour == hour);
                HourStats {
                    hour_start_ms: start + hour * HOUR_MS,
                    delivered: count.map_or(0, |c| c.delivered),
                    not_delivered: count.map_or(0, |c| c.not_delivered),
                    p50_latency_ms: medians.iter().find(|(h, _)| *h == hour).map(|(_, ms)| *ms),
                }
            })
            .collect();
        Ok(DeliveryChart { hours })
    }

    /// Changes whenever a delivery the live feed would show appears or changes state.
    pub async fn live_fingerprint(&self, app_id: &AppId) -> Result<u64, AppError> {
        let states = self
            .store
            .recent_delivery_states(app_id, LIVE_WINDOW)
            .await?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        states.hash(&mut hasher);
        Ok(hasher.finish())
    }
}

fn summary(row: DeliveryListing) -> Result<DeliverySummary, AppError> {
    let status = row.status;
    Ok(DeliverySummary {
        next_attempt_at_ms: (status == DeliveryStatus::Retrying).then_some(row.next_attempt_at),
        id: row.id,
        event_id: row.event_id,
        event_name: row.event_name,
        facial_id: row.facial_id,
        endpoint_id: row.endpoint_id,
        endpoint_url: row.endpoint_url,
        endpoint_description: row.endpoint_description,
        status,
        attempts: row.attempts,
        last_status_code: row.last_status_code,
        last_error_class: row.last_error_class,
        last_error_message: row.last_error_message,
        last_latency_ms: row.last_latency_ms,
        created_at_ms: row.created_at,
        completed_at_ms: row.completed_at,
    })
}

/// The store's filter for a console filter, listing after `after` when given.
fn listing_filter<'a>(
    filter: &'a DeliveryFilter,
    after: Option<(i64, &'a str)>,
) -> ListingFilter<'a> {
    ListingFilter {
        status: filter.status.map(DeliveryStatus::as_str),
        event_name: filter.event.as_deref(),
        endpoint_id: filter.endpoint_id.as_ref(),
        from_ms: filter.from_ms,
        to_ms: filter.to_ms,
        search: filter.search.as_deref(),
        after,
    }
}
