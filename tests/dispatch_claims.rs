//! Claims as the dispatcher makes them, on both backends: how many deliveries an endpoint may
//! have held, and how long each lease lasts — one endpoint timeout per round of attempts the
//! delivery waits through, plus the margin — so a crashed worker's front deliveries come back
//! soon even when it held many. And outcomes as the recorder writes them: only under the lease
//! the delivery was claimed with. The claimer's cursor has its own file (`dispatch_cursor`).

mod common;

use common::dispatch::{
    delivered, unthrottled_app, CLAIM_LIMITS as LIMITS, CLAIM_MARGIN_MS as MARGIN_MS,
};
use common::Backend;
use facehook::model::ids::EndpointId;
use facehook::server::store::{ClaimCursor, ClaimedDelivery, Db, Store};

const TIMEOUT_MS: i64 = 3_000;

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
    let hooked = unthrottled_app(backend, true).await;
    let endpoint = hooked
        .add_endpoint("http://127.0.0.1:9/hook", &[("timeout_secs", "3")])
        .await;
    for n in 0..7 {
        hooked.enroll(&format!("claim-{n}")).await;
    }
    let store = &hooked.store;
    let now = facehook::server::clock::now_ms;

    // Up to 4 held for the endpoint, 2 on the wire at once: two rounds of two.
    let claimed_at = now();
    let first = store
        .claim_deliveries(&[], LIMITS, &mut ClaimCursor::default())
        .await
        .unwrap();
    assert_eq!(first.len(), 4, "the endpoint's hold cap limits the claim");
    assert_eq!(lease_rounds(store, &first, claimed_at).await, [1, 1, 2, 2]);

    // Saturated: nothing more for this endpoint.
    let held = vec![(EndpointId::from(endpoint.id.as_str()), 4)];
    let saturated = store
        .claim_deliveries(&held, LIMITS, &mut ClaimCursor::default())
        .await
        .unwrap();
    assert!(saturated.is_empty(), "a saturated endpoint gets nothing");

    // One finished: the next delivery waits behind the three still held, so two rounds.
    let held = vec![(EndpointId::from(endpoint.id.as_str()), 3)];
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

/// A worker whose lease ran out (another now holds the delivery) must not record over it, and
/// an outcome recorded twice counts once.
async fn an_outcome_counts_only_under_the_lease_it_was_claimed_with(backend: Backend) {
    let hooked = unthrottled_app(backend, true).await;
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
