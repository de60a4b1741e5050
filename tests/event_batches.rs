//! Events from concurrent requests share transactions on both backends: one event the
//! database refuses fails alone, and an idempotency key repeated inside one batch answers
//! with the first reply. (A batch cut short by SIGKILL: `dispatch_resilience.rs`.)

mod common;

use common::dispatch::{unthrottled_app, Hooked};
use common::Backend;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Requests in flight at once: enough that batches form on both backends.
const IN_FLIGHT: usize = 32;

async fn post_event(hooked: &Hooked, body: &Value, idempotency_key: Option<&str>) -> (u16, Value) {
    let mut request = hooked
        .app
        .client
        .post(hooked.app.url("/api/v1/events"))
        .bearer_auth(&hooked.key)
        .json(body);
    if let Some(key) = idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn enroll(facial_id: &str) -> Value {
    json!({"eventName": "enroll", "facialId": facial_id, "clientIp": "203.0.113.9"})
}

/// Runs `statements` on the test's database with a connection of its own.
async fn run_sql(hooked: &Hooked, backend: Backend, statements: &[&str]) {
    use sqlx::Connection;
    let url = &hooked.app.database.url;
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            for statement in statements {
                sqlx::query(statement).execute(&mut conn).await.unwrap();
            }
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            for statement in statements {
                sqlx::query(statement).execute(&mut conn).await.unwrap();
            }
        }
    }
}

async fn count(hooked: &Hooked, backend: Backend, sql: &str) -> i64 {
    use sqlx::Connection;
    let url = &hooked.app.database.url;
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        }
    }
}

async fn a_refused_event_fails_alone(backend: Backend) {
    let hooked = unthrottled_app(backend, true).await;
    // A real constraint of the database, met only by the facial ID `poison`.
    let refuse: &[&str] = match backend {
        Backend::Sqlite => &["CREATE TRIGGER refuse_poison BEFORE INSERT ON events \
             WHEN NEW.facial_id = 'poison' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"],
        Backend::Postgres => &[
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.facial_id = 'poison' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
             RETURN NEW; END $$",
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON events FOR EACH ROW \
             EXECUTE FUNCTION refuse_poison()",
        ],
    };
    run_sql(&hooked, backend, refuse).await;

    let mut accepted = Vec::new();
    for round in 0..3 {
        let sends = (0..IN_FLIGHT).map(|n| {
            let facial_id = if n == IN_FLIGHT / 2 {
                "poison".to_owned()
            } else {
                format!("face-{round}-{n}")
            };
            let hooked = &hooked;
            async move {
                (
                    facial_id.clone(),
                    post_event(hooked, &enroll(&facial_id), None).await,
                )
            }
        });
        for (facial_id, (status, reply)) in futures_util::future::join_all(sends).await {
            if facial_id == "poison" {
                // A fault of this event alone: not "unavailable", which would mean the batch.
                assert_eq!(status, 500, "{reply}");
                assert_eq!(reply["error"]["code"], "internal", "{reply}");
                assert!(
                    !reply.to_string().contains("refused by the test"),
                    "an internal cause is never shown: {reply}"
                );
            } else {
                assert_eq!(status, 202, "{facial_id}: {reply}");
                accepted.push(reply["eventId"].as_str().unwrap().to_owned());
            }
        }
    }
    assert_eq!(accepted.len(), 3 * (IN_FLIGHT - 1));
    let ids = accepted
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    let stored = count(
        &hooked,
        backend,
        &format!("SELECT COUNT(*) FROM events WHERE id IN ({ids})"),
    )
    .await;
    assert_eq!(
        stored,
        accepted.len() as i64,
        "every accepted event is stored"
    );
    let poisoned = count(
        &hooked,
        backend,
        "SELECT COUNT(*) FROM facial_ids WHERE facial_id = 'poison'",
    )
    .await;
    assert_eq!(
        poisoned, 0,
        "the refused event's registry change was undone"
    );
    assert_eq!(
        count(&hooked, backend, "SELECT COUNT(*) FROM events").await,
        accepted.len() as i64
    );
}

async fn a_key_sent_twice_at_once_answers_the_first_reply(backend: Backend) {
    let hooked = unthrottled_app(backend, true).await;
    let keys = IN_FLIGHT / 2;
    // Each key twice, all at once: both requests of a key share a batch or race across two.
    let sends = (0..IN_FLIGHT).map(|n| {
        let key = format!("key-{}", n % keys);
        let body = enroll(&format!("face-{}", n % keys));
        let hooked = &hooked;
        async move { (key.clone(), post_event(hooked, &body, Some(&key)).await) }
    });
    let mut replies: HashMap<String, Vec<(u16, Value)>> = HashMap::new();
    for (key, reply) in futures_util::future::join_all(sends).await {
        replies.entry(key).or_default().push(reply);
    }
    for (key, answers) in &replies {
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[0].0, 202, "{key}: {:?}", answers[0]);
        assert_eq!(
            answers[0], answers[1],
            "{key}: the repeat replays the first reply"
        );
    }
    assert_eq!(
        count(&hooked, backend, "SELECT COUNT(*) FROM events").await,
        keys as i64,
        "a repeated key creates nothing"
    );
}

on_both_backends!(
    a_refused_event_fails_alone,
    a_key_sent_twice_at_once_answers_the_first_reply,
);
