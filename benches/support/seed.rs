//! Backlogs written with SQL, as intake writes them: events of the database's one application,
//! and a pending delivery of each to every enabled endpoint, due in the order written.

use crate::common::receiver::Receiver;
use facehook::server::store::{Db, Store};

/// `$body` run with `$pool` bound to the store's pool, whichever the backend.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match $store.db() {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

/// `events` events tagged `tag`, and their deliveries to every enabled endpoint.
pub async fn backlog(store: &Store, tag: &str, events: usize) {
    let prefix = format!("evt_{tag}_");
    let first_at = facehook::server::clock::now_ms() - events as i64;
    // A recursive count reads the same on both backends.
    let events_sql =
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1) \
         INSERT INTO events (id, app_id, event_name, facial_id, client_ip, occurred_at) \
         SELECT $2 || (1000000000 + i), (SELECT id FROM applications LIMIT 1), 'enroll', \
         'seed-' || i, '203.0.113.1', $3 + i FROM n";
    let deliveries_sql =
        "INSERT INTO deliveries (id, event_id, endpoint_id, app_id, next_attempt_at, created_at) \
         SELECT 'del_' || substr(ev.id, 5) || substr(e.id, 4), ev.id, e.id, e.app_id, \
         ev.occurred_at, ev.occurred_at FROM events ev JOIN endpoints e ON e.app_id = ev.app_id \
         WHERE e.enabled AND substr(ev.id, 1, length($1)) = $1";
    on_pool!(store, |pool| {
        sqlx::query(events_sql)
            .bind(events as i32)
            .bind(&prefix)
            .bind(first_at)
            .execute(pool)
            .await
            .expect("seed events");
        sqlx::query(deliveries_sql)
            .bind(&prefix)
            .execute(pool)
            .await
            .expect("seed deliveries");
    });
    // PostgreSQL plans the drain with fresh statistics, as autovacuum would give it soon.
    if let Db::Postgres(pool) = store.db() {
        sqlx::query("ANALYZE deliveries")
            .execute(pool)
            .await
            .expect("analyze");
    }
}

/// `count` more endpoints of the database's one application, at `receiver`'s `/more/{n}`.
pub async fn more_endpoints(store: &Store, receiver: &Receiver, count: usize) {
    let app_id: String = on_pool!(store, |pool| sqlx::query_scalar(
        "SELECT id FROM applications LIMIT 1"
    )
    .fetch_one(pool)
    .await
    .expect("an application"));
    for n in 0..count {
        super::insert_endpoint(store, &app_id, receiver.url(&format!("/more/{n}"))).await;
    }
}
