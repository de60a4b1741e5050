//! Claims as the dispatcher makes them, on both backends: how many deliveries an endpoint may
//! have held, and how long each lease lasts — one endpoint timeout per round of attempts the
//! delivery waits through, plus the margin — so a crashed worker's front deliveries come back
//! soon even when it held many.

mod common;

use common::dispatch::{dispatching_app_with, loopback_dispatch};
use common::Backend;
use facehook::server::store::{ClaimLimits, ClaimedDelivery, Db, Store};

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
    let first = store.claim_deliveries(&[], LIMITS).await.unwrap();
    assert_eq!(first.len(), 4, "the endpoint's hold cap limits the claim");
    assert_eq!(lease_rounds(store, &first, claimed_at).await, [1, 1, 2, 2]);

    // Saturated: nothing more for this endpoint.
    let held = vec![(endpoint.id.clone(), 4)];
    let saturated = store.claim_deliveries(&held, LIMITS).await.unwrap();
    assert!(saturated.is_empty(), "a saturated endpoint gets nothing");

    // One finished: the next delivery waits behind the three still held, so two rounds.
    let held = vec![(endpoint.id.clone(), 3)];
    let claimed_at = now();
    let refill = store.claim_deliveries(&held, LIMITS).await.unwrap();
    assert_eq!(refill.len(), 1, "only the freed place is refilled");
    assert_eq!(lease_rounds(store, &refill, claimed_at).await, [2]);
    let first_ids: Vec<&str> = first.iter().map(|d| d.delivery_id.as_str()).collect();
    assert!(
        !first_ids.contains(&refill[0].delivery_id.as_str()),
        "a leased delivery is never claimed twice"
    );
}

on_both_backends!(leases_cover_the_rounds_each_delivery_waits);
