//! The claimer's cursor, on both backends: how claims skip the due rows of saturated endpoints,
//! probe those endpoints when they have room again (never starting past the cursor), start
//! over when a claim with nothing saturated finds nothing, and say when a scan was full; and a
//! new delivery's due time, read when its event is written.

mod common;

use common::dispatch::{unthrottled_app, EndpointCreated, Hooked, CLAIM_LIMITS as LIMITS};
use common::Backend;
use facehook::model::ids::EndpointId;
use facehook::server::store::{ClaimCursor, Db, Store};

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
    let held: Vec<(EndpointId, i64)> = held
        .iter()
        .map(|(id, count)| (EndpointId::from(id.as_str()), *count))
        .collect();
    let claimed = store.claim_deliveries(&held, LIMITS, cursor).await.unwrap();
    claimed
        .into_iter()
        .map(|d| (d.endpoint_id.into(), d.event_id.into()))
        .collect()
}

/// An event enrolled a few milliseconds after the one before, so due times differ.
async fn enroll_later(hooked: &Hooked, facial_id: &str) -> String {
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    hooked.enroll(facial_id).await
}

/// A slow endpoint with a backlog of three events, then a healthy endpoint and one event to
/// both, all a minute old and in that order (a claim's cursor stays a second behind now): the
/// slow endpoint, its backlog's events, the healthy endpoint and the event to both.
async fn slow_backlog_then_healthy(
    hooked: &Hooked,
) -> (EndpointCreated, Vec<String>, EndpointCreated, String) {
    let slow = hooked.add_endpoint("http://127.0.0.1:9/slow", &[]).await;
    let mut backlog = Vec::new();
    for n in 0..3 {
        backlog.push(enroll_later(hooked, &format!("backlog-{n}")).await);
    }
    let healthy = hooked.add_endpoint("http://127.0.0.1:9/healthy", &[]).await;
    let first_healthy = enroll_later(hooked, "both-0").await;
    let all = "UPDATE deliveries SET next_attempt_at = next_attempt_at - 60000";
    assert_eq!(change_deliveries(&hooked.store, all).await, 5);
    (slow, backlog, healthy, first_healthy)
}

async fn claims_skip_a_saturated_endpoints_backlog_until_it_has_room(backend: Backend) {
    let hooked = unthrottled_app(backend, true).await;
    let (slow, backlog, healthy, first_healthy) = slow_backlog_then_healthy(&hooked).await;
    let oldest = backlog[0].clone();
    let store = &hooked.store;
    let mut cursor = ClaimCursor::default();
    let to_healthy = |event: &str| (healthy.id.clone(), event.to_owned());
    let slow_full = (slow.id.clone(), LIMITS.held_per_endpoint);

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
        (slow.id.clone(), LIMITS.held_per_endpoint - 1),
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
    let hooked = unthrottled_app(backend, true).await;
    let (slow, backlog, healthy, first_healthy) = slow_backlog_then_healthy(&hooked).await;
    let store = &hooked.store;
    let mut cursor = ClaimCursor::default();
    let slow_full = (slow.id.clone(), LIMITS.held_per_endpoint);
    let taken = claim_pairs(store, &[slow_full], &mut cursor).await;
    assert_eq!(taken, [(healthy.id.clone(), first_healthy)]);

    let behind = enroll_later(&hooked, "both-1").await;
    set_due(store, &behind, &healthy.id, "1").await;
    set_due(store, &behind, &slow.id, "next_attempt_at - 60000").await;
    // Two places free at the slow endpoint: its two oldest, and nothing from behind.
    let held = [
        (slow.id.clone(), LIMITS.held_per_endpoint - 2),
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
    let hooked = unthrottled_app(backend, true).await;
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
    let few = LIMITS.held_per_endpoint as usize - 2;
    let settle = "UPDATE deliveries SET status = 'delivered' WHERE status = 'pending' \
                  AND event_id NOT IN (SELECT event_id FROM deliveries \
                                       WHERE status = 'pending' ORDER BY id LIMIT 2)";
    assert_eq!(change_deliveries(store, settle).await, 64);
    let taken = claim_pairs(store, &held, &mut cursor).await;
    assert_eq!(taken.len(), few);
    assert!(!cursor.walk_was_full(), "two due rows leave the scan short");
}

on_both_backends!(a_claim_says_when_its_scan_was_full);

/// A probed endpoint whose oldest row lies past the cursor (the cursor stays a second behind
/// now) does not move the scan's start: a row that commits between the two is still read.
async fn a_probe_never_starts_past_the_cursor(backend: Backend) {
    let hooked = unthrottled_app(backend, true).await;
    let a = hooked.add_endpoint("http://127.0.0.1:9/a", &[]).await;
    let x = hooked.add_endpoint("http://127.0.0.1:9/x", &[]).await;
    let b = hooked.add_endpoint("http://127.0.0.1:9/b", &[]).await;
    let mut events = Vec::new();
    for n in 0..3 {
        events.push(hooked.enroll(&format!("probe-{n}")).await);
    }
    let store = &hooked.store;
    let gone = "UPDATE deliveries SET status = 'delivered'";
    assert_eq!(change_deliveries(store, gone).await, 9);
    let now = facehook::server::clock::now_ms;
    let wait = |event: usize, endpoint: &str, due: i64| {
        let due = format!("{due}, status = 'pending'");
        let event = events[event].clone();
        let endpoint = endpoint.to_owned();
        async move { set_due(store, &event, &endpoint, &due).await }
    };
    // A minute ago, in this order: a's backlog, x's first, b's first.
    let base = now() - 60_000;
    wait(0, &a.id, base).await;
    wait(0, &x.id, base + 10).await;
    wait(0, &b.id, base + 20).await;
    let cap = LIMITS.held_per_endpoint;
    let mut cursor = ClaimCursor::default();

    // a and x saturated: b's first, and the cursor moves to it, past a's and x's.
    let held = [(a.id.clone(), cap), (x.id.clone(), cap)];
    let taken = claim_pairs(store, &held, &mut cursor).await;
    assert_eq!(taken, [(b.id.clone(), events[0].clone())]);
    // x's first is gone and its next is recent: probed, x's front is past the cursor, which
    // moves no closer than a second to now.
    set_due(
        store,
        &events[0],
        &x.id,
        "next_attempt_at, status = 'delivered'",
    )
    .await;
    wait(2, &x.id, now() - 300).await;
    let held = [(a.id.clone(), cap), (x.id.clone(), cap - 1)];
    let taken = claim_pairs(store, &held, &mut cursor).await;
    assert_eq!(taken, [(x.id.clone(), events[2].clone())]);
    // A delivery of b commits late, due between the cursor and x's front.
    wait(1, &b.id, now() - 600).await;
    let taken = claim_pairs(store, &held, &mut cursor).await;
    assert_eq!(taken, [(b.id.clone(), events[1].clone())]);
}

on_both_backends!(a_probe_never_starts_past_the_cursor);

/// A lock on what an event writes, held by another connection.
enum WriteBlocker {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

async fn block_writes(store: &Store) -> WriteBlocker {
    match store.db() {
        Db::Sqlite(pool) => {
            let mut conn = pool.acquire().await.unwrap();
            let lock = sqlx::query("BEGIN IMMEDIATE");
            lock.execute(&mut *conn).await.unwrap();
            WriteBlocker::Sqlite(conn)
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await.unwrap();
            let lock = sqlx::query("LOCK TABLE events IN EXCLUSIVE MODE");
            lock.execute(&mut *tx).await.unwrap();
            WriteBlocker::Postgres(tx)
        }
    }
}

impl WriteBlocker {
    async fn release(self) {
        match self {
            WriteBlocker::Sqlite(mut conn) => {
                let undo = sqlx::query("ROLLBACK");
                undo.execute(&mut *conn).await.unwrap();
            }
            WriteBlocker::Postgres(tx) => tx.rollback().await.unwrap(),
        }
    }
}

/// A delivery is due from when its event is written, not from when the request arrived: an
/// event that waited for the database (the SQLite writer's queue, a lock) would otherwise land
/// behind the dispatcher's cursor, which stays only a second behind now.
async fn a_delivery_is_due_from_its_write_not_its_request(backend: Backend) {
    let hooked = std::sync::Arc::new(unthrottled_app(backend, true).await);
    hooked.add_endpoint("http://127.0.0.1:9/hook", &[]).await;
    let started = facehook::server::clock::now_ms();
    let wait = std::time::Duration::from_millis(400);
    let blocker = block_writes(&hooked.store).await;
    let sent = tokio::spawn({
        let hooked = hooked.clone();
        async move { hooked.enroll("waited").await }
    });
    tokio::time::sleep(wait).await;
    blocker.release().await;
    let event_id = sent.await.unwrap();
    let due = format!("SELECT next_attempt_at FROM deliveries WHERE event_id = '{event_id}'");
    let due: i64 = match hooked.store.db() {
        Db::Sqlite(pool) => sqlx::query_scalar(&due).fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(&due).fetch_one(pool).await.unwrap(),
    };
    assert!(
        due - started >= wait.as_millis() as i64 - 50,
        "due {} ms after the request, which waited {wait:?} for the write",
        due - started
    );
}

on_both_backends!(a_delivery_is_due_from_its_write_not_its_request);
