//! Claims as the dispatcher makes them, on both backends: how many deliveries an endpoint may
//! have held, and how long each lease lasts — one endpoint timeout per round of attempts the
//! delivery waits through, plus the margin — so a crashed worker's front deliveries come back
//! soon even when it held many. And outcomes as the recorder writes them: only under the lease
//! the delivery was claimed with. And the claimer's cursor: how claims skip the due rows of
//! saturated endpoints, probe those endpoints when they have room again, and say when a scan
//! was full.

mod common;

use common::dispatch::{dispatching_app_with, loopback_dispatch};
use common::Backend;
use facehook::server::store::{
    AttemptOutcome, AttemptRecord, ClaimCursor, ClaimLimits, ClaimedDelivery, Db, EndpointVerdict,
    NextStep, Store,
};

const TIMEOUT_MS: i64 = 3_000;
const MARGIN_MS: i64 = 10_000;
/// Up to 10 per claim, 4 held per endpoint, 2 of them on the wire at once.
const LIMITS: ClaimLimits = ClaimLimits {
    limit: 10,
    per_endpoint: 4,
    on_wire_per_endpoint: 2,
    lease_margin_ms: MARGIN_MS,
};

async fn lease_until(store: &Store, delivery: &ClaimedDelivery) -> i64 {
    let sql = "SELECT lease_until FROM deliveries WHERE id = $1";
    match store.db() {
        Db::Sqlite(pool) => sqlx::query_scalar(sql)
            .bind(&delivery.delivery_id)
            .fetch_one(pool)
            .await
            .unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(sql)
            .bind(&delivery.delivery_id)
            .fetch_one(pool)
            .await
            .unwrap(),
    }
}

/// Milliseconds each claimed delivery is leased for, measured from `claimed_at`, in whole
/// endpoint timeouts beyond the margin.
async fn lease_rounds(store: &Store, claimed: &[ClaimedDelivery], claimed_at: i64) -> Vec<i64> {
    let mut rounds = Vec::new();
    for delivery in claimed {
        let leased_for = lease_until(store, delivery).await - claimed_at - MARGIN_MS;
        // The claim's clock read is a few milliseconds after `claimed_at`.
        assert!(
            leased_for % TIMEOUT_MS < 1_000,
            "a lease of {leased_for} ms beyond the margin is not whole timeouts"
        );
        rounds.push(leased_for / TIMEOUT_MS);
    }
    rounds.sort_unstable();
    rounds
}

async fn leases_cover_the_rounds_each_delivery_waits(backend: Backend) {
    let hooked = dispatching_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.no_dispatch = true;
    })
    .await;
    let endpoint = hooked
        .add_endpoint("http://127.0.0.1:9/hook", &[("timeout_secs", "3")])
        .await;
    for n in 0..7 {
        hooked.enroll(&format!("claim-{n}")).await;
    }
    let store = &hooked.store;
    let now = facehook::server::store::now_ms;

    // Up to 4 held for the endpoint, 2 on the wire at once: two rounds of two.
    let claimed_at = now();
    let first = store
        .claim_deliveries(&[], LIMITS, &mut ClaimCursor::default())
        .await
        .unwrap();
    assert_eq!(first.len(), 4, "the endpoint's hold cap limits the claim");
    assert_eq!(lease_rounds(store, &first, claimed_at).await, [1, 1, 2, 2]);

    // Saturated: nothing more for this endpoint.
    let held = vec![(endpoint.id.clone(), 4)];
    let saturated = store
        .claim_deliveries(&held, LIMITS, &mut ClaimCursor::default())
        .await
        .unwrap();
    assert!(saturated.is_empty(), "a saturated endpoint gets nothing");

    // One finished: the next delivery waits behind the three still held, so two rounds.
    let held = vec![(endpoint.id.clone(), 3)];
    let claimed_at = now();
    let refill = store
        .claim_deliveries(&held, LIMITS, &mut ClaimCursor::default())
        .await
        .unwrap();
    assert_eq!(refill.len(), 1, "only the freed place is refilled");
    assert_eq!(lease_rounds(store, &refill, claimed_at).await, [2]);
    let first_ids: Vec<&str> = first.iter().map(|d| d.delivery_id.as_str()).collect();
    assert!(
        !first_ids.contains(&refill[0].delivery_id.as_str()),
        "a leased delivery is never claimed twice"
    );
}

on_both_backends!(leases_cover_the_rounds_each_delivery_waits);

/// A delivered outcome for `delivery`, reported under `lease_token`.
fn delivered(delivery: &ClaimedDelivery, lease_token: &str) -> AttemptOutcome {
    AttemptOutcome {
        delivery_id: delivery.delivery_id.clone(),
        lease_token: lease_token.to_owned(),
        endpoint_id: delivery.endpoint_id.clone(),
        attempt: AttemptRecord {
            started_at: facehook::server::store::now_ms(),
            duration_ms: 3,
            http_version: Some("HTTP/1.1".to_owned()),
            remote_addr: Some("127.0.0.1:9".to_owned()),
            status_code: Some(200),
            ..AttemptRecord::default()
        },
        duration: std::time::Duration::from_millis(3),
        next: NextStep::Delivered,
        endpoint: EndpointVerdict::Healthy,
    }
}

/// A worker whose lease ran out (another now holds the delivery) must not record over it, and
/// an outcome recorded twice counts once.
async fn an_outcome_counts_only_under_the_lease_it_was_claimed_with(backend: Backend) {
    let hooked = dispatching_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.no_dispatch = true;
    })
    .await;
    hooked.add_endpoint("http://127.0.0.1:9/hook", &[]).await;
    let event_id = hooked.enroll("outcome").await;
    let store = &hooked.store;
    let claimed = store
        .claim_deliveries(&[], LIMITS, &mut ClaimCursor::default())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let delivery = &claimed[0];

    store
        .record_attempts(&[delivered(delivery, "lease_someone_else")])
        .await
        .unwrap();
    let listed = hooked.deliveries(&event_id).await;
    assert_eq!(
        (listed[0].status.as_str(), listed[0].attempts),
        ("delivering", 0),
        "an outcome under another lease changes nothing"
    );
    assert!(hooked.attempts(&delivery.delivery_id).await.is_empty());

    let outcome = [delivered(delivery, &delivery.lease_token)];
    store.record_attempts(&outcome).await.unwrap();
    store.record_attempts(&outcome).await.unwrap();
    let listed = hooked.deliveries(&event_id).await;
    assert_eq!(
        (listed[0].status.as_str(), listed[0].attempts),
        ("delivered", 1)
    );
    let attempts = hooked.attempts(&delivery.delivery_id).await;
    assert_eq!(
        attempts.len(),
        1,
        "recorded once: the first record ended the lease"
    );
    assert_eq!(attempts[0].attempt_number, 1);
    assert_eq!(attempts[0].attempt.status_code, Some(200));
    assert_eq!(
        attempts[0].attempt.http_version.as_deref(),
        Some("HTTP/1.1")
    );
}

on_both_backends!(an_outcome_counts_only_under_the_lease_it_was_claimed_with);

/// Runs one statement that changes deliveries; returns how many it changed.
async fn change_deliveries(store: &Store, sql: &str) -> u64 {
    match store.db() {
        Db::Sqlite(pool) => sqlx::query(sql)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected(),
        Db::Postgres(pool) => sqlx::query(sql)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected(),
    }
}

/// Sets the due time of the delivery of `event_id` to `endpoint_id` to `due` (SQL, which may
/// use the old `next_attempt_at`).
async fn set_due(store: &Store, event_id: &str, endpoint_id: &str, due: &str) {
    let sql = format!(
        "UPDATE deliveries SET next_attempt_at = {due} \
         WHERE event_id = '{event_id}' AND endpoint_id = '{endpoint_id}'"
    );
    assert_eq!(change_deliveries(store, &sql).await, 1);
}

/// What one claim takes, as `(endpoint, event)` pairs in claim order.
async fn claim_pairs(
    store: &Store,
    held: &[(String, i64)],
    cursor: &mut ClaimCursor,
) -> Vec<(String, String)> {
    let claimed = store.claim_deliveries(held, LIMITS, cursor).await.unwrap();
    claimed
        .into_iter()
        .map(|d| (d.endpoint_id, d.event_id))
        .collect()
}

/// An event enrolled a few milliseconds after the one before, so due times differ.
async fn enroll_later(hooked: &common::dispatch::Hooked, facial_id: &str) -> String {
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    hooked.enroll(facial_id).await
}

async fn claims_skip_a_saturated_endpoints_backlog_until_it_has_room(backend: Backend) {
    let hooked = dispatching_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.no_dispatch = true;
    })
    .await;
    let slow = hooked.add_endpoint("http://127.0.0.1:9/slow", &[]).await;
    let oldest = enroll_later(&hooked, "backlog-0").await;
    for n in 1..3 {
        enroll_later(&hooked, &format!("backlog-{n}")).await;
    }
    let healthy = hooked.add_endpoint("http://127.0.0.1:9/healthy", &[]).await;
    let first_healthy = enroll_later(&hooked, "both-0").await;
    let store = &hooked.store;
    // A minute old, in order: a claim's cursor stays a second behind now.
    let all = "UPDATE deliveries SET next_attempt_at = next_attempt_at - 60000";
    assert_eq!(change_deliveries(store, all).await, 5);
    let mut cursor = ClaimCursor::default();
    let to_healthy = |event: &str| (healthy.id.clone(), event.to_owned());
    let slow_full = (slow.id.clone(), LIMITS.per_endpoint);

    let held = [slow_full.clone()];
    let taken = claim_pairs(store, &held, &mut cursor).await;
    assert_eq!(
        taken,
        [to_healthy(&first_healthy)],
        "the row behind the backlog"
    );

    // One place free at the slow endpoint: its oldest row lies behind the cursor, which must
    // start over rather than hand it a newer one.
    let held = [
        (slow.id.clone(), LIMITS.per_endpoint - 1),
        (healthy.id.clone(), 1),
    ];
    let taken = claim_pairs(store, &held, &mut cursor).await;
    assert_eq!(taken, [(slow.id.clone(), oldest)]);

    // Saturated again: the cursor passes the backlog.
    let held = [slow_full.clone(), (healthy.id.clone(), 1)];
    assert!(claim_pairs(store, &held, &mut cursor).await.is_empty());
    // A delivery whose due time was read just before that claim, committed just after it.
    let late = enroll_later(&hooked, "both-1").await;
    set_due(store, &late, &healthy.id, "next_attempt_at - 200").await;
    let taken = claim_pairs(store, &held, &mut cursor).await;
    assert_eq!(
        taken,
        [to_healthy(&late)],
        "the cursor stays behind recent due times"
    );

    // A row that lands far behind it (a lease given back keeps its due time) waits for the
    // restart the dispatcher makes every second.
    let held = [slow_full, (healthy.id.clone(), 2)];
    let behind = enroll_later(&hooked, "both-2").await;
    set_due(store, &behind, &healthy.id, "1").await;
    let skipped = claim_pairs(store, &held, &mut cursor).await;
    assert!(
        skipped.is_empty(),
        "the cursor skips rows behind it: {skipped:?}"
    );
    cursor.restart();
    let taken = claim_pairs(store, &held, &mut cursor).await;
    assert_eq!(taken, [to_healthy(&behind)]);
}

on_both_backends!(claims_skip_a_saturated_endpoints_backlog_until_it_has_room);

/// A passed endpoint with room again is probed behind the cursor, which keeps its place: a row
/// of another endpoint moved behind it stays skipped. Once nothing is saturated, a claim that
/// finds nothing starts over at once, and the next claim reaches that row.
async fn a_passed_endpoint_is_probed_without_starting_over(backend: Backend) {
    let hooked = dispatching_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.no_dispatch = true;
    })
    .await;
    let slow = hooked.add_endpoint("http://127.0.0.1:9/slow", &[]).await;
    let mut backlog = Vec::new();
    for n in 0..3 {
        backlog.push(enroll_later(&hooked, &format!("backlog-{n}")).await);
    }
    let healthy = hooked.add_endpoint("http://127.0.0.1:9/healthy", &[]).await;
    let first_healthy = enroll_later(&hooked, "both-0").await;
    let store = &hooked.store;
    let all = "UPDATE deliveries SET next_attempt_at = next_attempt_at - 60000";
    assert_eq!(change_deliveries(store, all).await, 5);
    let mut cursor = ClaimCursor::default();
    let slow_full = (slow.id.clone(), LIMITS.per_endpoint);
    let taken = claim_pairs(store, &[slow_full], &mut cursor).await;
    assert_eq!(taken, [(healthy.id.clone(), first_healthy)]);

    let behind = enroll_later(&hooked, "both-1").await;
    set_due(store, &behind, &healthy.id, "1").await;
    set_due(store, &behind, &slow.id, "next_attempt_at - 60000").await;
    // Two places free at the slow endpoint: its two oldest, and nothing from behind.
    let held = [
        (slow.id.clone(), LIMITS.per_endpoint - 2),
        (healthy.id.clone(), 1),
    ];
    let taken = claim_pairs(store, &held, &mut cursor).await;
    let slow_rows = |events: &[String]| -> Vec<(String, String)> {
        events
            .iter()
            .map(|e| (slow.id.clone(), e.clone()))
            .collect()
    };
    assert_eq!(
        taken,
        slow_rows(&backlog[..2]),
        "the probe takes the oldest"
    );

    // Every other waiting row is gone (delivered elsewhere, say): with nothing saturated and
    // nothing found, the claim starts over, so the next one finds the row behind the cursor.
    let gone = format!(
        "UPDATE deliveries SET status = 'delivered' WHERE status = 'pending' \
         AND NOT (event_id = '{behind}' AND endpoint_id = '{}')",
        healthy.id
    );
    assert_eq!(change_deliveries(store, &gone).await, 3);
    let held = [(slow.id.clone(), 2)];
    assert!(claim_pairs(store, &held, &mut cursor).await.is_empty());
    let taken = claim_pairs(store, &held, &mut cursor).await;
    assert_eq!(taken, [(healthy.id.clone(), behind)]);
}

on_both_backends!(a_passed_endpoint_is_probed_without_starting_over);

/// The dispatcher claims again at once after a claim that filled an endpoint's lane only when
/// that claim's scan was full up to the cursor: more may be due behind the rows it left.
async fn a_claim_says_when_its_scan_was_full(backend: Backend) {
    let hooked = dispatching_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.no_dispatch = true;
    })
    .await;
    let endpoint = hooked.add_endpoint("http://127.0.0.1:9/hook", &[]).await;
    // More than a claim of 10 scans (64 rows).
    for n in 0..70 {
        hooked.enroll(&format!("full-{n}")).await;
    }
    let store = &hooked.store;
    let mut cursor = ClaimCursor::default();
    let taken = claim_pairs(store, &[], &mut cursor).await;
    assert_eq!(taken.len(), 4, "the endpoint's cap");
    assert!(cursor.walk_was_full(), "70 due rows fill a scan of 64");
    let held = [(endpoint.id.clone(), 2)];
    let few = LIMITS.per_endpoint as usize - 2;
    let settle = "UPDATE deliveries SET status = 'delivered' WHERE status = 'pending' \
                  AND event_id NOT IN (SELECT event_id FROM deliveries \
                                       WHERE status = 'pending' ORDER BY id LIMIT 2)";
    assert_eq!(change_deliveries(store, settle).await, 64);
    let taken = claim_pairs(store, &held, &mut cursor).await;
    assert_eq!(taken.len(), few);
    assert!(!cursor.walk_was_full(), "two due rows leave the scan short");
}

on_both_backends!(a_claim_says_when_its_scan_was_full);
