//! Delivery controls per endpoint, on both backends: in order per facial ID (a failing head
//! holds back only its own facial ID), ed25519 and HMAC signatures checked by verifiers we did
//! not write, custom headers, the endpoint's own retry schedule, its rate limit, the pause a
//! 429 asks for, and the application's HTTPS-only switch.

mod common;

use base64::Engine;
use common::console::{error_field, json};
use common::dispatch::{dispatching_app, unthrottled_app, Hooked};
use common::receiver::{Received, Receiver, Reply};
use common::Backend;
use facehook::server::config::DispatchConfig;
use facehook::server::dispatch::{Dispatcher, RetrySchedule};
use facehook::server::store::Store;
use facehook::server::targets::{parse_allow_entry, AllowList};
use serde_json::Value;
use std::time::{Duration, Instant};

const WITHIN: Duration = Duration::from_secs(15);

/// Saves `endpoint_id`'s delivery controls from form fields (signature `hmac` unless given).
async fn set_controls(
    hooked: &Hooked,
    endpoint_id: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("public_id", hooked.public_id.as_str()),
        ("endpoint_id", endpoint_id),
    ];
    if !fields.iter().any(|(name, _)| *name == "signature") {
        form.push(("signature", "hmac"));
    }
    form.extend_from_slice(fields);
    hooked
        .app
        .call_with(&hooked.owner, "save_delivery_controls", &form)
        .await
}

async fn set_controls_ok(hooked: &Hooked, endpoint_id: &str, fields: &[(&str, &str)]) -> Value {
    let response = set_controls(hooked, endpoint_id, fields).await;
    assert_eq!(response.status(), 200);
    json(response).await
}

async fn auth(hooked: &Hooked, facial_id: &str) -> String {
    hooked
        .send_event(serde_json::json!({
            "eventName": "auth", "facialId": facial_id, "clientIp": "203.0.113.9"
        }))
        .await
}

/// The `webhook-id`s (event ids) of requests about `facial_id`, in arrival order.
fn arrivals_of(received: &[Received], facial_id: &str) -> Vec<String> {
    received
        .iter()
        .filter(|r| r.json()["facialId"] == facial_id)
        .map(|r| r.header("webhook-id").to_owned())
        .collect()
}

/// A facial ID whose first delivery keeps failing holds back its own later deliveries, in
/// order, and nobody else's; they go once the head has failed for good, and a redelivery of
/// the head goes to the back of the line.
async fn a_failing_head_holds_back_only_its_facial_id(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.when_body_has(
        r#""eventName":"enroll","facialId":"face-a""#,
        Reply::status(500),
    );
    let hooked = dispatching_app(backend, "0s,400ms,400ms,400ms").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/ordered"), &[]).await;
    let view = set_controls_ok(&hooked, &endpoint.id, &[("ordered", "on")]).await;
    assert_eq!(view["controls"]["ordered"], true);

    let a_enroll = hooked.enroll("face-a").await;
    let a_first = auth(&hooked, "face-a").await;
    let b_enroll = hooked.enroll("face-b").await;
    let b_auth = auth(&hooked, "face-b").await;
    let a_second = auth(&hooked, "face-a").await;

    // face-b is not delayed by face-a's failing head.
    hooked.wait_for_status(&b_enroll, "delivered", WITHIN).await;
    hooked.wait_for_status(&b_auth, "delivered", WITHIN).await;
    let head = hooked.deliveries(&a_enroll).await.remove(0);
    let held = hooked.deliveries(&a_first).await.remove(0);
    assert_eq!(held.status, "held", "behind a retrying head: {held:?}");
    assert_ne!(
        head.status, "failed",
        "face-b went while the head was still trying"
    );
    assert_eq!(
        hooked.store.waiting_behind(&held.id).await.unwrap(),
        Some(head.id.clone())
    );

    hooked.wait_for_status(&a_enroll, "failed", WITHIN).await;
    hooked.wait_for_status(&a_first, "delivered", WITHIN).await;
    hooked.wait_for_status(&a_second, "delivered", WITHIN).await;
    let received = receiver.received();
    let a = arrivals_of(&received, "face-a");
    assert_eq!(
        a.len(),
        6,
        "4 attempts of the head, then the two in order: {a:?}"
    );
    assert!(a[..4].iter().all(|id| *id == a_enroll));
    assert_eq!(a[4..], [a_first.clone(), a_second.clone()]);

    // Sent again, the head goes behind whatever of face-a is unfinished: here nothing.
    receiver.clear_rules();
    let app_id = hooked.public_id.as_str().into();
    assert!(hooked.store.redeliver(&app_id, &head.id).await.unwrap());
    hooked.wait_for_status(&a_enroll, "delivered", WITHIN).await;
    assert_eq!(
        arrivals_of(&receiver.received(), "face-a").last(),
        Some(&a_enroll)
    );
}

/// A replay of failed deliveries to an ordered endpoint sends each facial ID's in event
/// order, one at a time, even though they were failed side by side.
async fn a_replay_keeps_each_facial_id_in_order(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.when_body_has("face-r", Reply::status(500));
    let hooked = dispatching_app(backend, "0s").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/replayed"), &[]).await;
    set_controls_ok(&hooked, &endpoint.id, &[("ordered", "on")]).await;
    let mut sent = Vec::new();
    for facial_id in ["face-r1", "face-r2"] {
        let mut ids = vec![hooked.enroll(facial_id).await];
        ids.push(auth(&hooked, facial_id).await);
        ids.push(auth(&hooked, facial_id).await);
        sent.push((facial_id, ids));
    }
    for (_, ids) in &sent {
        for id in ids {
            hooked.wait_for_status(id, "failed", WITHIN).await;
        }
    }
    receiver.clear_rules();
    receiver.otherwise(Reply::status(200).delayed(Duration::from_millis(20)));
    let before = receiver.count();
    let (_, replayed) = hooked
        .store
        .replay_failed(&endpoint.id.as_str().into(), 0)
        .await
        .unwrap();
    assert_eq!(replayed, 6);
    let received = receiver.wait_for(before + 6, WITHIN).await;
    for (facial_id, ids) in &sent {
        assert_eq!(
            &arrivals_of(&received[before..], facial_id),
            ids,
            "{facial_id}"
        );
    }
}

/// Retention keeps an event still in an enabled endpoint's ordered line, however old: its
/// facial ID's deliveries wait behind a failing one, they are not history yet.
async fn retention_keeps_an_ordered_line(backend: Backend) {
    let hooked = unthrottled_app(backend, true).await;
    let endpoint = hooked.add_endpoint("http://127.0.0.1:9/down", &[]).await;
    set_controls_ok(&hooked, &endpoint.id, &[("ordered", "on")]).await;
    let first = hooked.enroll("face-kept").await;
    let second = auth(&hooked, "face-kept").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cutoff = facehook::server::clock::now_ms();
    assert_eq!(
        hooked.store.purge_events_before(cutoff, 10).await.unwrap(),
        0
    );
    assert_eq!(hooked.deliveries(&first).await[0].status, "pending");
    assert_eq!(hooked.deliveries(&second).await[0].status, "held");
}

/// Eight facial IDs, six events each, queued before a dispatcher starts that sends eight at a
/// time to the endpoint: each facial ID's deliveries arrive one at a time, in the order its
/// events were accepted. (Without ordering, a claim's batch goes out side by side and a
/// facial ID's events overtake each other.)
async fn each_facial_id_arrives_in_order_under_concurrency(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.otherwise(Reply::status(200).delayed(Duration::from_millis(15)));
    let hooked = std::sync::Arc::new(unthrottled_app(backend, true).await);
    let endpoint = hooked.add_endpoint(&receiver.url("/busy"), &[]).await;
    set_controls_ok(&hooked, &endpoint.id, &[("ordered", "on")]).await;
    let senders: Vec<_> = (0..8)
        .map(|n| {
            let hooked = hooked.clone();
            tokio::spawn(async move {
                let facial_id = format!("face-{n}");
                let mut sent = vec![hooked.enroll(&facial_id).await];
                for _ in 0..5 {
                    sent.push(auth(&hooked, &facial_id).await);
                }
                (facial_id, sent)
            })
        })
        .collect();
    let mut expected = Vec::new();
    for sender in senders {
        expected.push(sender.await.unwrap());
    }
    let config = DispatchConfig {
        retry_schedule: RetrySchedule::parse("0s").unwrap(),
        max_in_flight_per_endpoint: 8,
        ..Default::default()
    };
    let allow = AllowList::new(vec![parse_allow_entry("127.0.0.0/8").unwrap()]);
    let dispatcher = Dispatcher::start(hooked.store.clone(), &config, allow).unwrap();
    let received = receiver.wait_for(48, WITHIN).await;
    for (facial_id, sent) in &expected {
        assert_eq!(&arrivals_of(&received, facial_id), sent, "{facial_id}");
    }
    assert!(
        receiver.peak_in_flight() > 1,
        "facial IDs went side by side"
    );
    dispatcher.shutdown().await;
}

fn signatures(received: &Received) -> Vec<(String, String)> {
    received
        .header("webhook-signature")
        .split(' ')
        .filter_map(|s| s.split_once(','))
        .map(|(v, sig)| (v.to_owned(), sig.to_owned()))
        .collect()
}

/// Checks a `v1a` signature with ed25519-dalek (not the ring that signed it).
fn ed25519_verifies(public_key: &str, received: &Received, signature: &str) -> bool {
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    let b64 = base64::engine::general_purpose::STANDARD;
    let key: [u8; 32] = b64
        .decode(public_key.strip_prefix("whpk_").expect("a whpk_ key"))
        .unwrap()
        .try_into()
        .unwrap();
    let key = VerifyingKey::from_bytes(&key).unwrap();
    let signature: [u8; 64] = b64.decode(signature).unwrap().try_into().unwrap();
    let mut content = format!(
        "{}.{}.",
        received.header("webhook-id"),
        received.header("webhook-timestamp")
    )
    .into_bytes();
    content.extend_from_slice(&received.body);
    key.verify(&content, &Signature::from_bytes(&signature))
        .is_ok()
}

/// `both` sends a `v1` the standardwebhooks crate verifies and a `v1a` ed25519-dalek verifies
/// with the public key the console shows; `ed25519` sends only `v1a`; a rotation signs with
/// the old key too, for a day.
async fn ed25519_signatures_verify_with_the_shown_public_key(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let hooked = dispatching_app(backend, "0s").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/signed"), &[]).await;
    let view = set_controls_ok(&hooked, &endpoint.id, &[("signature", "both")]).await;
    let public_key = view["public_key"]
        .as_str()
        .expect("a public key")
        .to_owned();
    assert!(
        !view.to_string().contains("whsk_"),
        "the private key never leaves"
    );

    hooked.enroll("face-signed").await;
    let received = receiver.wait_for(1, WITHIN).await.remove(0);
    let verifier = standardwebhooks::Webhook::new(&endpoint.secret).unwrap();
    verifier
        .verify(&received.body, &received.headers)
        .expect("v1 verifies");
    let v1a: Vec<_> = signatures(&received)
        .into_iter()
        .filter(|(v, _)| v == "v1a")
        .collect();
    assert_eq!(v1a.len(), 1);
    assert!(ed25519_verifies(&public_key, &received, &v1a[0].1));
    let mut tampered = received.clone();
    tampered.body = b"{}".to_vec().into();
    assert!(!ed25519_verifies(&public_key, &tampered, &v1a[0].1));

    set_controls_ok(&hooked, &endpoint.id, &[("signature", "ed25519")]).await;
    let rotated = json(
        hooked
            .app
            .call_with(
                &hooked.owner,
                "rotate_signing_secret",
                &[
                    ("public_id", &hooked.public_id),
                    ("endpoint_id", &endpoint.id),
                ],
            )
            .await,
    )
    .await;
    assert_eq!(rotated["previous_public_key"], public_key.as_str());
    let new_key = rotated["public_key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, public_key);
    hooked.enroll("face-rotated").await;
    let received = receiver.wait_for(2, WITHIN).await.remove(1);
    let signed = signatures(&received);
    assert!(signed.iter().all(|(v, _)| v == "v1a"), "{signed:?}");
    assert_eq!(signed.len(), 2, "the new key and, for a day, the old one");
    assert!(ed25519_verifies(&new_key, &received, &signed[0].1));
    assert!(ed25519_verifies(&public_key, &received, &signed[1].1));
}

/// Custom headers arrive with every delivery; a secret one is blank wherever it is shown and
/// kept when saved blank; reserved names are refused with the reason.
async fn custom_headers_arrive_and_secrets_stay_hidden(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let hooked = dispatching_app(backend, "0s").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/gateway"), &[]).await;
    let fields = [
        ("headers[0][name]", "X-Route"),
        ("headers[0][value]", "faces-eu"),
        ("headers[1][name]", "X-Api-Key"),
        ("headers[1][value]", "gw-s3cret"),
        ("headers[1][secret]", "on"),
    ];
    let view = set_controls_ok(&hooked, &endpoint.id, &fields).await;
    assert!(!view.to_string().contains("gw-s3cret"), "{view}");
    assert!(!hooked.endpoints().await.to_string().contains("gw-s3cret"));

    // Saved again with the secret left blank, as the form shows it: the value is kept.
    let blank = [
        ("headers[0][name]", "X-Route"),
        ("headers[0][value]", "faces-eu"),
        ("headers[1][name]", "X-Api-Key"),
        ("headers[1][value]", ""),
        ("headers[1][secret]", "on"),
    ];
    set_controls_ok(&hooked, &endpoint.id, &blank).await;
    hooked.enroll("face-headers").await;
    let received = receiver.wait_for(1, WITHIN).await.remove(0);
    assert_eq!(received.header("x-route"), "faces-eu");
    assert_eq!(received.header("x-api-key"), "gw-s3cret");

    for (name, value) in [
        ("Content-Type", "text/plain"),
        ("webhook-signature", "v1,x"),
        ("Host", "evil.example"),
        ("Transfer-Encoding", "chunked"),
        ("X-Bad", "line\r\nInjected: 1"),
    ] {
        let response = set_controls(
            &hooked,
            &endpoint.id,
            &[("headers[0][name]", name), ("headers[0][value]", value)],
        )
        .await;
        let (status, field, message) = error_field(response).await;
        assert_eq!(
            (status, field.as_str()),
            (422, "headers"),
            "{name}: {message}"
        );
        assert!(
            message.contains(name) || message.contains("character"),
            "{message}"
        );
    }
}

/// The endpoint's own schedule replaces the operator's; a bad one is refused by field.
async fn an_endpoint_retries_on_its_own_schedule(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.otherwise(Reply::status(500));
    let hooked = dispatching_app(backend, "0s").await;
    let own = hooked.add_endpoint(&receiver.url("/own"), &[]).await;
    let operators = hooked.add_endpoint(&receiver.url("/operators"), &[]).await;
    let view = set_controls_ok(
        &hooked,
        &own.id,
        &[("retry", "custom"), ("retry_custom", "0s, 200ms, 200ms")],
    )
    .await;
    assert_eq!(view["controls"]["retry_schedule"], "0s,200ms,200ms");
    let event = hooked.enroll("face-retry").await;
    hooked.wait_for_status(&event, "failed", WITHIN).await;
    for delivery in hooked.deliveries(&event).await {
        let expected = if delivery.endpoint_id.as_str() == own.id {
            3
        } else {
            1
        };
        assert_eq!(delivery.attempts, expected, "{}", delivery.endpoint_id);
    }
    assert_ne!(own.id, operators.id);
    for bad in ["0s,25h", "soon"] {
        let response = set_controls(
            &hooked,
            &own.id,
            &[("retry", "custom"), ("retry_custom", bad)],
        )
        .await;
        let (status, field, _) = error_field(response).await;
        assert_eq!((status, field.as_str()), (422, "retry_schedule"), "{bad}");
    }
}

/// A limit of 5 a second spreads 12 deliveries over more than two seconds, never more than
/// six starting in any one second.
async fn a_rate_limit_spaces_deliveries(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let hooked = dispatching_app(backend, "0s").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/limited"), &[]).await;
    set_controls_ok(&hooked, &endpoint.id, &[("rate", "5")]).await;
    for n in 0..12 {
        hooked.enroll(&format!("face-rate-{n}")).await;
    }
    let received = receiver.wait_for(12, WITHIN).await;
    let times: Vec<Instant> = received.iter().map(|r| r.at).collect();
    let span = times[11] - times[0];
    assert!(
        span >= Duration::from_millis(2000),
        "12 at 5/s took {span:?}"
    );
    assert_at_most_per_second(&times, 6);
    for bad in ["0", "many"] {
        let (status, field, _) =
            error_field(set_controls(&hooked, &endpoint.id, &[("rate", bad)]).await).await;
        assert_eq!((status, field.as_str()), (422, "rate"), "{bad}");
    }
}

/// Fails if any one-second window holds more than `most` of `times` (in order).
fn assert_at_most_per_second(times: &[Instant], most: usize) {
    for (i, start) in times.iter().enumerate() {
        let in_a_second = times[i..]
            .iter()
            .filter(|t| **t - *start < Duration::from_secs(1))
            .count();
        assert!(in_a_second <= most, "{in_a_second} within a second");
    }
}

/// Two dispatcher replicas on one PostgreSQL queue share an endpoint's limit of 4 a second:
/// each takes 2 once both have counted the other (heartbeats every 5 s), so 20 deliveries
/// take more than four seconds, and no second sees more than `2 × (2 + 1)` arrive (the
/// documented bound: a window can catch one more per replica at its edge).
async fn replicas_share_a_rate_limit(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let hooked = unthrottled_app(backend, true).await;
    let endpoint = hooked.add_endpoint(&receiver.url("/shared"), &[]).await;
    set_controls_ok(&hooked, &endpoint.id, &[("rate", "4")]).await;
    let config = DispatchConfig {
        retry_schedule: RetrySchedule::parse("0s").unwrap(),
        ..Default::default()
    };
    let allow = AllowList::new(vec![parse_allow_entry("127.0.0.0/8").unwrap()]);
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let store = Store::connect(&hooked.app.database.url).await.unwrap();
        replicas.push(Dispatcher::start(store, &config, allow.clone()).unwrap());
    }
    // Both replicas beat at start and again 5 s later, when each counts two.
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    for n in 0..20 {
        hooked.enroll(&format!("face-shared-{n}")).await;
    }
    let received = receiver.wait_for(20, Duration::from_secs(30)).await;
    let times: Vec<Instant> = received.iter().map(|r| r.at).collect();
    let span = times[19] - times[0];
    assert!(
        span >= Duration::from_millis(4_000),
        "20 at 4/s over two replicas took {span:?}"
    );
    assert_at_most_per_second(&times, 6);
    for replica in replicas {
        replica.shutdown().await;
    }
}

/// A 429 with `Retry-After: 1` pauses the whole endpoint: a fresh event waits too.
async fn a_429_pauses_the_endpoint(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.script([Reply::status(429).header("retry-after", "1")]);
    let hooked = dispatching_app(backend, "0s,100ms,100ms").await;
    hooked.add_endpoint(&receiver.url("/busy"), &[]).await;
    hooked.enroll("face-first").await;
    let first = receiver.wait_for(1, WITHIN).await.remove(0);
    // The 429's answer reaches the dispatcher a moment after the receiver saw the request.
    tokio::time::sleep(Duration::from_millis(50)).await;
    hooked.enroll("face-second").await;
    let received = receiver.wait_for(3, WITHIN).await;
    for later in &received[1..] {
        assert!(
            later.at - first.at >= Duration::from_millis(900),
            "sent {:?} after the 429",
            later.at - first.at
        );
    }
}

/// HTTPS only refuses plain http endpoints, and cannot be turned on while one remains.
async fn https_only_refuses_plain_http(backend: Backend) {
    let hooked = dispatching_app(backend, "0s").await;
    let plain = hooked.add_endpoint("http://127.0.0.1:9/plain", &[]).await;
    let switch = |on: bool| {
        let mut form = vec![("public_id", hooked.public_id.as_str())];
        if on {
            form.push(("https_only", "on"));
        }
        let app = &hooked.app;
        let owner = &hooked.owner;
        async move { app.call_with(owner, "set_https_only", &form).await }
    };
    let (status, field, message) = error_field(switch(true).await).await;
    assert_eq!((status, field.as_str()), (422, "https_only"), "{message}");
    let removed = hooked
        .app
        .call_with(
            &hooked.owner,
            "delete_endpoint",
            &[("public_id", &hooked.public_id), ("endpoint_id", &plain.id)],
        )
        .await;
    assert_eq!(removed.status(), 200);
    assert_eq!(switch(true).await.status(), 200);
    let refused = common::console::save_endpoint(
        &hooked.app,
        &hooked.owner,
        &hooked.public_id,
        &[("url", "http://127.0.0.1:9/again")],
    )
    .await;
    let (status, field, message) = error_field(refused).await;
    assert_eq!((status, field.as_str()), (422, "url"), "{message}");
    assert!(message.contains("HTTPS only"), "{message}");
}

mod replicas_share_a_rate_limit {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::replicas_share_a_rate_limit(crate::common::Backend::Postgres).await
    }
}

on_both_backends!(
    a_failing_head_holds_back_only_its_facial_id,
    a_replay_keeps_each_facial_id_in_order,
    retention_keeps_an_ordered_line,
    each_facial_id_arrives_in_order_under_concurrency,
    ed25519_signatures_verify_with_the_shown_public_key,
    custom_headers_arrive_and_secrets_stay_hidden,
    an_endpoint_retries_on_its_own_schedule,
    a_rate_limit_spaces_deliveries,
    a_429_pauses_the_endpoint,
    https_only_refuses_plain_http,
);
