//! The delivery console through the real server on SQLite and PostgreSQL: the filtered,
//! paged list; one delivery's masked request and attempts; redelivery with the same
//! `webhook-id`; replay of exactly the failed deliveries in range; endpoint health and
//! re-enable; the 24-hour chart; the live feed; `/metrics`; and not-found for other owners.

mod common;

use common::console::{error_field, json, owner};
use common::dispatch::{dispatching_app, metric, Hooked};
use common::receiver::{Receiver, Reply};
use common::Backend;
use facehook::model::time::utc_input;
use facehook::server::clock::now_ms;
use serde_json::Value;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(15);

/// A server function called by the owner of `hooked`, for its application.
async fn respond(hooked: &Hooked, function: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let mut full = vec![("public_id", hooked.public_id.as_str())];
    full.extend_from_slice(form);
    hooked.app.call_with(&hooked.owner, function, &full).await
}

/// The same, answering JSON.
async fn call(hooked: &Hooked, function: &str, form: &[(&str, &str)]) -> Value {
    json(respond(hooked, function, form).await).await
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC, as the console's time fields accept.
fn utc_seconds(ms: i64) -> String {
    format!("{}:{:02}", utc_input(ms), (ms / 1000) % 60)
}

async fn wait_until_settled(
    hooked: &Hooked,
    events: &[String],
    status_of: impl Fn(usize) -> &'static str,
) {
    for (i, event) in events.iter().enumerate() {
        hooked.wait_for_status(event, status_of(i), SETTLE).await;
    }
}

/// Waits until the delivery of `event` to `endpoint_id` has `status`.
async fn wait_for_endpoint(hooked: &Hooked, event: &str, endpoint_id: &str, status: &str) {
    let deadline = std::time::Instant::now() + SETTLE;
    loop {
        let deliveries = hooked.deliveries(event).await;
        if deliveries
            .iter()
            .any(|d| d.endpoint_id == endpoint_id && d.status == status)
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{status}? {deliveries:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page of deliveries: {page}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_list_filters_and_pages(backend: Backend) {
    let good = Receiver::start("127.0.0.1:0").await;
    let bad = Receiver::start("127.0.0.1:0").await;
    bad.otherwise(Reply::status(500));
    let hooked = dispatching_app(backend, "0s").await;
    let to_good = hooked.add_endpoint(&good.url("/ok"), &[]).await;
    let to_bad = hooked.add_endpoint(&bad.url("/fail"), &[]).await;
    let mut events = Vec::new();
    for n in 0..13 {
        events.push(hooked.enroll(&format!("face-{n:02}")).await);
    }
    for event in &events {
        // One delivery per endpoint; wait until neither is still waiting.
        let deadline = std::time::Instant::now() + SETTLE;
        loop {
            let deliveries = hooked.deliveries(event).await;
            if deliveries.len() == 2
                && deliveries
                    .iter()
                    .all(|d| d.status == "delivered" || d.status == "failed")
            {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{deliveries:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    let first = call(&hooked, "list_deliveries", &[]).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 25);
    assert_eq!(first["has_more"], true);
    assert_eq!(first["items"][0]["facial_id"], "face-12", "newest first");
    let second = call(&hooked, "list_deliveries", &[("page", "1")]).await;
    assert_eq!(ids(&second).len(), 1);
    assert_eq!(second["has_more"], false);
    assert_eq!(second["items"][0]["facial_id"], "face-00");
    let mut all = ids(&first);
    all.extend(ids(&second));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 26, "pages neither overlap nor skip");

    let failed = call(&hooked, "list_deliveries", &[("status", "failed")]).await;
    let failed_items = failed["items"].as_array().unwrap();
    assert_eq!(failed_items.len(), 13);
    assert!(failed_items
        .iter()
        .all(|d| d["endpoint_id"] == to_bad.id.as_str()
            && d["last_status_code"] == 500
            && d["last_error_class"] == "http_status"));
    let good_only = call(&hooked, "list_deliveries", &[("endpoint", &to_good.id)]).await;
    assert!(good_only["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["status"] == "Delivered"));
    assert_eq!(good_only["items"].as_array().unwrap().len(), 13);
    let auth = call(&hooked, "list_deliveries", &[("event", "auth")]).await;
    assert_eq!(ids(&auth).len(), 0);
    let enrolls = call(
        &hooked,
        "list_deliveries",
        &[("event", "enroll"), ("status", "delivered")],
    )
    .await;
    assert_eq!(ids(&enrolls).len(), 13);

    let future = utc_input(now_ms() + 3_600_000);
    let later = call(&hooked, "list_deliveries", &[("from", &future)]).await;
    assert_eq!(
        ids(&later).len(),
        0,
        "nothing happened after an hour from now"
    );
    let past = utc_input(now_ms() - 3_600_000);
    let until_past = call(&hooked, "list_deliveries", &[("to", &past)]).await;
    assert_eq!(ids(&until_past).len(), 0);
    let in_range = call(
        &hooked,
        "list_deliveries",
        &[("from", &past), ("to", &future), ("page", "1")],
    )
    .await;
    assert_eq!(ids(&in_range).len(), 1);

    for (field, value, expected) in [
        ("status", "lost", "status"),
        ("event", "login", "event"),
        ("from", "yesterday", "from"),
        ("page", "abc", "page"),
    ] {
        let response = respond(&hooked, "list_deliveries", &[(field, value)]).await;
        let (status, named, message) = error_field(response).await;
        assert_eq!((status, named.as_str()), (422, expected), "{message}");
        assert!(!message.is_empty());
    }
}

async fn the_detail_masks_secrets_and_redelivery_keeps_the_webhook_id(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.script([Reply::status(500).header("set-cookie", "session=receiver-secret")]);
    let hooked = dispatching_app(backend, "0s").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/hook"), &[]).await;
    let event = hooked.enroll("face-detail").await;
    let failed = hooked.wait_for_status(&event, "failed", SETTLE).await;
    let delivery_id = failed[0].id.clone();

    let detail = call(
        &hooked,
        "get_delivery",
        &[("delivery_id", delivery_id.as_str())],
    )
    .await;
    let text = detail.to_string();
    let token = hooked.webhook_token().await;
    let sent = &receiver.received()[0];
    let sent_signature = sent.header("webhook-signature").to_owned();
    let sent_signature_value = sent_signature.split_once(',').unwrap().1;
    for secret in [
        token.as_str(),
        endpoint.secret.as_str(),
        sent_signature_value,
        "receiver-secret",
    ] {
        assert!(!text.contains(secret), "{secret:?} shown in {text}");
    }
    let header = |name: &str| {
        detail["request"]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|pair| pair[0] == name)
            .map(|pair| pair[1].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no {name} in {detail}"))
    };
    assert_eq!(header("www-authenticate"), "Bearer ••••••••");
    assert_eq!(header("webhook-signature"), "v1,••••••••");
    assert_eq!(header("webhook-id"), event);
    assert_eq!(header("content-type"), "application/json");
    assert!(header("user-agent").starts_with("Facehook/"));
    assert_eq!(detail["request"]["url"], receiver.url("/hook").as_str());
    let body: Value = serde_json::from_str(detail["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["facialId"], "face-detail");
    assert_eq!(body["eventName"], "enroll");
    let attempts = detail["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["status_code"], 500);
    assert_eq!(attempts[0]["error_class"], "http_status");
    assert_eq!(attempts[0]["http_version"], "HTTP/1.1");
    assert!(attempts[0]["remote_addr"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert!(attempts[0]["response_headers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|pair| pair[0] == "set-cookie" && pair[1] == "••••••••"));

    // The receiver is fixed: redeliver sends it again, signed, with the same webhook-id.
    receiver.otherwise(Reply::status(200));
    let queued = respond(
        &hooked,
        "redeliver",
        &[("delivery_id", delivery_id.as_str())],
    )
    .await;
    assert_eq!(queued.status(), 200);
    hooked.wait_for_status(&event, "delivered", SETTLE).await;
    let received = receiver.wait_for(2, SETTLE).await;
    assert_eq!(received[1].header("webhook-id"), event);
    assert_eq!(
        received[0].header("webhook-id"),
        received[1].header("webhook-id")
    );
    standardwebhooks::Webhook::new(&endpoint.secret)
        .unwrap()
        .verify(&received[1].body, &received[1].headers)
        .expect("a redelivery is signed afresh");
    let detail = call(
        &hooked,
        "get_delivery",
        &[("delivery_id", delivery_id.as_str())],
    )
    .await;
    assert_eq!(detail["summary"]["status"], "Delivered");
    assert_eq!(detail["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(detail["attempts"][1]["number"], 2);

    // A test event is not redelivered; a new test is the way.
    let test = json(hooked.send_test_event(&hooked.owner, &endpoint.id).await).await;
    let refused = respond(
        &hooked,
        "redeliver",
        &[("delivery_id", test["delivery_id"].as_str().unwrap())],
    )
    .await;
    let (status, field, _) = error_field(refused).await;
    assert_eq!((status, field.as_str()), (422, "delivery_id"));
}

async fn replay_sends_exactly_the_failed_deliveries_in_range(backend: Backend) {
    let failing = Receiver::start("127.0.0.1:0").await;
    failing.otherwise(Reply::status(500));
    let other = Receiver::start("127.0.0.1:0").await;
    other.otherwise(Reply::status(500));
    let hooked = dispatching_app(backend, "0s").await;
    let endpoint = hooked.add_endpoint(&failing.url("/hook"), &[]).await;
    let other_endpoint = hooked.add_endpoint(&other.url("/other"), &[]).await;
    let mut early = Vec::new();
    for n in 0..3 {
        early.push(hooked.enroll(&format!("early-{n}")).await);
    }
    wait_until_settled(&hooked, &early, |_| "failed").await;
    // The range starts on the next whole second, after every early delivery was created.
    let since_ms = (now_ms() / 1000 + 1) * 1000;
    tokio::time::sleep(Duration::from_millis(
        (since_ms - now_ms() + 50).max(0) as u64
    ))
    .await;
    let mut late = Vec::new();
    for n in 0..2 {
        late.push(hooked.enroll(&format!("late-{n}")).await);
    }
    wait_until_settled(&hooked, &late, |_| "failed").await;
    // Neither a failed test event nor the other endpoint's failures are counted.
    let test = json(hooked.send_test_event(&hooked.owner, &endpoint.id).await).await;
    assert_eq!(test["delivered"], false);

    let since = utc_seconds(since_ms);
    let count = call(
        &hooked,
        "count_replayable",
        &[("endpoint_id", &endpoint.id), ("since", &since)],
    )
    .await;
    assert_eq!(count, 2);
    let everything = utc_seconds(since_ms - 3_600_000);
    let count_all = call(
        &hooked,
        "count_replayable",
        &[("endpoint_id", &endpoint.id), ("since", &everything)],
    )
    .await;
    assert_eq!(count_all, 5);
    let other_count = call(
        &hooked,
        "count_replayable",
        &[("endpoint_id", &other_endpoint.id), ("since", &since)],
    )
    .await;
    assert_eq!(other_count, 2);

    let unconfirmed = respond(
        &hooked,
        "replay_failed",
        &[("endpoint_id", &endpoint.id), ("since", &since)],
    )
    .await;
    assert_eq!(error_field(unconfirmed).await.1, "confirm");
    let bad_time = respond(
        &hooked,
        "count_replayable",
        &[("endpoint_id", &endpoint.id), ("since", "last week")],
    )
    .await;
    assert_eq!(error_field(bad_time).await.1, "since");

    failing.otherwise(Reply::status(200));
    let before = failing.count();
    let started = call(
        &hooked,
        "replay_failed",
        &[
            ("endpoint_id", &endpoint.id),
            ("since", &since),
            ("confirm", "on"),
        ],
    )
    .await;
    assert_eq!(started["total"], 2, "{started}");
    let replay_id = started["replay_id"].as_str().unwrap().to_owned();
    for event in &late {
        wait_for_endpoint(&hooked, event, &endpoint.id, "delivered").await;
    }
    let progress = call(&hooked, "replay_progress", &[("replay_id", &replay_id)]).await;
    assert_eq!(
        (progress["total"].as_i64(), progress["delivered"].as_i64()),
        (Some(2), Some(2))
    );
    failing.wait_for(before + 2, SETTLE).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        failing.count(),
        before + 2,
        "only the deliveries in range were sent"
    );
    for event in &early {
        assert_eq!(
            hooked
                .deliveries(event)
                .await
                .iter()
                .filter(|d| d.status == "failed")
                .count(),
            2
        );
    }
}

async fn health_shows_a_disabled_endpoint_until_it_is_re_enabled(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.script([Reply::status(410)]);
    receiver.otherwise(Reply::status(200));
    let hooked = dispatching_app(backend, "0s,100ms").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/gone"), &[]).await;
    let first = hooked.enroll("face-gone").await;
    hooked.wait_for_status(&first, "failed", SETTLE).await;
    let listed = hooked.endpoints().await;
    let view = &listed[0];
    assert_eq!(view["enabled"], false);
    assert!(
        view["disabled_reason"].as_str().unwrap().contains("410"),
        "{view}"
    );
    assert!(view["disabled_at_ms"].as_i64().unwrap() > 0);
    assert_eq!(view["health"]["consecutive_failures"], 1);
    assert_eq!(view["health"]["recent_total"], 1);
    assert_eq!(view["health"]["recent_delivered"], 0);

    // What a disabled endpoint holds is not sent again until it is re-enabled.
    let gone = hooked.deliveries(&first).await[0].id.clone();
    let refused = respond(&hooked, "redeliver", &[("delivery_id", gone.as_str())]).await;
    let (status, field, _) = error_field(refused).await;
    assert_eq!((status, field.as_str()), (422, "delivery_id"));
    let since = utc_seconds(now_ms() - 3_600_000);
    let refused = respond(
        &hooked,
        "replay_failed",
        &[
            ("endpoint_id", &endpoint.id),
            ("since", &since),
            ("confirm", "on"),
        ],
    )
    .await;
    let (status, field, _) = error_field(refused).await;
    assert_eq!((status, field.as_str()), (422, "endpoint_id"));

    let skipped = hooked.enroll("face-skipped").await;
    assert!(
        hooked.deliveries(&skipped).await.is_empty(),
        "a disabled endpoint is not subscribed"
    );
    let response = respond(
        &hooked,
        "reenable_endpoint",
        &[("endpoint_id", &endpoint.id)],
    )
    .await;
    assert_eq!(response.status(), 200);
    let after = hooked.enroll("face-after").await;
    hooked.wait_for_status(&after, "delivered", SETTLE).await;
    let view = &hooked.endpoints().await[0];
    assert_eq!(view["enabled"], true);
    assert_eq!(view["disabled_reason"], Value::Null);
    assert_eq!(view["health"]["consecutive_failures"], 0);
    assert_eq!(view["health"]["recent_total"], 2);
    assert_eq!(view["health"]["recent_delivered"], 1);

    // The chart counts both, in the current hour, with a median latency.
    let chart = call(&hooked, "delivery_chart", &[]).await;
    let hours = chart["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 24);
    let now = &hours[23];
    assert_eq!(
        (now["delivered"].as_i64(), now["not_delivered"].as_i64()),
        (Some(1), Some(1))
    );
    assert!(now["p50_latency_ms"].as_i64().is_some(), "{now}");
    assert!(hours[..23]
        .iter()
        .all(|h| h["delivered"] == 0 && h["not_delivered"] == 0));

    // Turned off by its owner: the card says so and since when.
    let url = receiver.url("/gone");
    let saved = respond(
        &hooked,
        "save_endpoint",
        &[("endpoint_id", &endpoint.id), ("url", &url)],
    )
    .await;
    assert_eq!(saved.status(), 200);
    let view = &hooked.endpoints().await[0];
    assert_eq!(view["enabled"], false);
    assert_eq!(view["disabled_reason"], "turned off by the owner");
    assert!(view["disabled_at_ms"].as_i64().unwrap() > 0);
}

/// Reads the event stream until an event named `name` arrives with data (browsers drop
/// events whose data is empty, so an empty one would never reach the page).
async fn next_event(stream: &mut reqwest::Response, seen: &mut String, name: &str) {
    let wanted = format!("event: {name}\ndata: ");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(at) = seen.find(&wanted) {
            let rest = &seen[at + wanted.len()..];
            if let Some(end) = rest.find('\n') {
                assert!(end > 0, "the {name} event carries no data: {seen:?}");
                seen.clear();
                return;
            }
        }
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {name} event; got {seen:?}"))
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn the_live_feed_announces_new_deliveries(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let hooked = dispatching_app(backend, "0s").await;
    hooked.add_endpoint(&receiver.url("/live"), &[]).await;
    let mut stream = hooked
        .owner
        .get(hooked.app.url(&format!("/apps/{}/live", hooked.public_id)))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut seen = String::new();
    next_event(&mut stream, &mut seen, "ready").await;
    hooked.enroll("face-live").await;
    next_event(&mut stream, &mut seen, "change").await;
}

async fn shutdown_ends_the_live_feed(backend: Backend) {
    let hooked = dispatching_app(backend, "0s").await;
    let Hooked {
        app,
        owner,
        public_id,
        ..
    } = hooked;
    let mut stream = owner
        .get(app.url(&format!("/apps/{public_id}/live")))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    let mut seen = String::new();
    next_event(&mut stream, &mut seen, "ready").await;
    // Graceful shutdown waits for open responses; an open console tab must not hold it.
    tokio::time::timeout(Duration::from_secs(15), app.stop())
        .await
        .expect("the server stopped while a live feed was open");
    let ended = tokio::time::timeout(Duration::from_secs(5), stream.chunk()).await;
    assert!(
        matches!(ended, Ok(Ok(None)) | Ok(Err(_))),
        "the feed ended: {ended:?}"
    );
}

async fn metrics_and_the_system_view_change_after_a_delivery(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.script([Reply::status(503)]);
    receiver.otherwise(Reply::status(200));
    let hooked = dispatching_app(backend, "0s,100ms").await;
    hooked.add_endpoint(&receiver.url("/metrics"), &[]).await;
    let scrape = || async {
        let response = hooked
            .app
            .client
            .get(hooked.app.url("/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        response.text().await.unwrap()
    };
    let before = scrape().await;
    assert_eq!(
        metric(
            &before,
            "facehook_delivery_attempts_total{outcome=\"delivered\"}"
        ),
        0.0
    );
    assert_eq!(
        metric(&before, "facehook_queue_depth{status=\"pending\"}"),
        0.0
    );

    let event = hooked.enroll("face-metrics").await;
    hooked.wait_for_status(&event, "delivered", SETTLE).await;
    let after = scrape().await;
    assert_eq!(
        metric(
            &after,
            "facehook_delivery_attempts_total{outcome=\"delivered\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &after,
            "facehook_delivery_attempts_total{outcome=\"http_status\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(&after, "facehook_delivery_attempt_duration_seconds_count"),
        2.0
    );
    assert_eq!(
        metric(
            &after,
            "facehook_delivery_attempt_duration_seconds_bucket{le=\"+Inf\"}"
        ),
        2.0
    );
    assert!(metric(&after, "facehook_delivery_attempt_duration_seconds_sum") > 0.0);
    assert_eq!(
        metric(&after, "facehook_queue_depth{status=\"failed\"}"),
        0.0
    );

    // The operator's system view: this replica's heartbeat and its last minute.
    let deadline = std::time::Instant::now() + SETTLE;
    let system = loop {
        let system = json(
            hooked
                .app
                .call_with(&hooked.owner, "system_overview", &[])
                .await,
        )
        .await;
        if system["delivered_last_minute"] == 1 {
            break system;
        }
        assert!(std::time::Instant::now() < deadline, "{system}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(system["pending"], 0);
    let replicas = system["replicas"].as_array().unwrap();
    assert_eq!(replicas.len(), 1, "{system}");
    assert_eq!(replicas[0]["live"], true);
    assert_eq!(metric(&scrape().await, "facehook_dispatcher_replicas"), 1.0);
    let stranger = owner(&hooked.app, "stranger@example.com").await;
    let refused = hooked
        .app
        .call_with(&stranger, "system_overview", &[])
        .await;
    assert_eq!(refused.status(), 404, "only operators see the system view");

    // A replica that stops cleanly leaves the list; it is gone, not late.
    let mut hooked = hooked;
    hooked.app.stop_serving().await;
    assert!(hooked.store.heartbeats().await.unwrap().is_empty());
}

async fn other_owners_get_not_found_on_every_route(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.otherwise(Reply::status(500));
    let hooked = dispatching_app(backend, "0s").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/mine"), &[]).await;
    let event = hooked.enroll("face-private").await;
    let delivery_id = hooked.wait_for_status(&event, "failed", SETTLE).await[0]
        .id
        .clone();
    let since = utc_seconds(now_ms() - 3_600_000);
    let replay = call(
        &hooked,
        "replay_failed",
        &[
            ("endpoint_id", &endpoint.id),
            ("since", &since),
            ("confirm", "on"),
        ],
    )
    .await;
    let replay_id = replay["replay_id"].as_str().unwrap().to_owned();

    let intruder = owner(&hooked.app, "intruder@example.com").await;
    let own_app = common::console::create_app(&hooked.app, &intruder, "Mine").await;
    for public_id in [hooked.public_id.as_str(), own_app.as_str()] {
        let calls: [(&str, Vec<(&str, &str)>); 8] = [
            ("list_deliveries", vec![]),
            ("get_delivery", vec![("delivery_id", delivery_id.as_str())]),
            ("redeliver", vec![("delivery_id", delivery_id.as_str())]),
            (
                "count_replayable",
                vec![("endpoint_id", &endpoint.id), ("since", &since)],
            ),
            (
                "replay_failed",
                vec![
                    ("endpoint_id", &endpoint.id),
                    ("since", &since),
                    ("confirm", "on"),
                ],
            ),
            ("replay_progress", vec![("replay_id", &replay_id)]),
            ("delivery_chart", vec![]),
            ("reenable_endpoint", vec![("endpoint_id", &endpoint.id)]),
        ];
        for (function, extra) in calls {
            let own_calls_that_succeed =
                public_id == own_app && matches!(function, "list_deliveries" | "delivery_chart");
            let mut form = vec![("public_id", public_id)];
            form.extend(extra);
            let response = hooked.app.call_with(&intruder, function, &form).await;
            if own_calls_that_succeed {
                let page = json(response).await;
                assert!(
                    !page.to_string().contains(delivery_id.as_str()),
                    "{function} leaked: {page}"
                );
            } else {
                assert_eq!(response.status(), 404, "{function} on {public_id}");
            }
        }
        let live = intruder
            .get(hooked.app.url(&format!("/apps/{}/live", hooked.public_id)))
            .send()
            .await
            .unwrap();
        assert_eq!(
            live.status(),
            404,
            "the live feed of another owner's application"
        );
    }
}

on_both_backends!(
    the_list_filters_and_pages,
    the_detail_masks_secrets_and_redelivery_keeps_the_webhook_id,
    replay_sends_exactly_the_failed_deliveries_in_range,
    health_shows_a_disabled_endpoint_until_it_is_re_enabled,
    the_live_feed_announces_new_deliveries,
    shutdown_ends_the_live_feed,
    metrics_and_the_system_view_change_after_a_delivery,
    other_owners_get_not_found_on_every_route,
);
