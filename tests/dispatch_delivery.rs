//! What a receiver gets: the FACEIO body, the bearer token, Standard Webhooks signatures
//! (checked by the `standardwebhooks` crate), the payload rule, IPv6, HTTPS with HTTP/2 or
//! HTTP/1.1 — through the real server and dispatcher, on SQLite and PostgreSQL.

mod common;

use common::dispatch::{dispatching_app, dispatching_app_with, loopback_dispatch};
use common::receiver::{Receiver, TestPki};
use common::Backend;
use serde_json::json;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);

fn verify(secret: &str, received: &common::receiver::Received) {
    let verifier = standardwebhooks::Webhook::new(secret).expect("a valid signing secret");
    verifier
        .verify(&received.body, &received.headers)
        .expect("the Standard Webhooks signature verifies");
    let mut unsigned = received.headers.clone();
    unsigned.remove("webhook-signature");
    assert!(verifier.verify(&received.body, &unsigned).is_err());
}

async fn delivers_the_faceio_body_signed_and_authenticated(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let hooked = dispatching_app(backend, "0s").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/hook"), &[]).await;

    let event_id = hooked.enroll("face-1").await;

    let received = receiver.wait_for(1, WITHIN).await;
    let request = &received[0];
    let body = request.json();
    assert_eq!(body["eventName"], "enroll");
    assert_eq!(body["facialId"], "face-1");
    assert_eq!(body["appId"], hooked.public_id.as_str());
    assert_eq!(body["clientIp"], "203.0.113.9");
    assert_eq!(body["details"]["gender"], "female");
    assert_eq!(body["details"]["age"], 31);
    let timestamp = body["details"]["timestamp"].as_str().unwrap();
    assert!(
        timestamp.ends_with('Z') && timestamp.contains('T'),
        "{timestamp}"
    );
    assert!(body.get("payload").is_none(), "free plan: no payload");
    assert_eq!(request.header("content-type"), "application/json");
    assert!(request.header("user-agent").starts_with("Facehook/"));
    assert_eq!(
        request.header("www-authenticate"),
        format!("Bearer {}", hooked.webhook_token().await)
    );
    assert_eq!(request.header("webhook-id"), event_id);
    verify(&endpoint.secret, request);

    let deliveries = hooked.wait_for_status(&event_id, "delivered", WITHIN).await;
    let attempts = hooked.attempts(&deliveries[0].id).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].attempt.status_code, Some(200));
    assert_eq!(
        attempts[0].attempt.http_version.as_deref(),
        Some("HTTP/1.1")
    );
    assert_eq!(
        attempts[0].attempt.remote_addr.as_deref(),
        Some(receiver.addr.to_string().as_str())
    );
    assert_eq!(attempts[0].attempt.response_excerpt.as_deref(), Some("ok"));
}

/// The dispatcher idles on a 5-second safety-net poll; each event must arrive long before it.
async fn new_events_wake_the_dispatcher_at_once(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let hooked = dispatching_app(backend, "0s").await;
    hooked.add_endpoint(&receiver.url("/wake"), &[]).await;
    for n in 1..=3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        hooked.enroll(&format!("face-wake-{n}")).await;
        receiver.wait_for(n, Duration::from_millis(1500)).await;
    }
}

async fn both_signatures_verify_while_a_rotated_secret_is_valid(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let hooked = dispatching_app(backend, "0s").await;
    let old = hooked.add_endpoint(&receiver.url("/hook"), &[]).await;
    let rotated = common::console::json(
        hooked
            .app
            .call_with(
                &hooked.owner,
                "rotate_signing_secret",
                &[("public_id", &hooked.public_id), ("endpoint_id", &old.id)],
            )
            .await,
    )
    .await;
    let new_secret = rotated["current"].as_str().unwrap();
    assert_ne!(new_secret, old.secret);

    hooked.enroll("face-rotation").await;

    let received = receiver.wait_for(1, WITHIN).await;
    assert_eq!(
        received[0].header("webhook-signature").split(' ').count(),
        2
    );
    verify(new_secret, &received[0]);
    verify(&old.secret, &received[0]);
}

async fn payload_follows_plan_and_toggle_at_send_time(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    // The first attempt fails; the retry comes after the plan and toggle changed.
    receiver.script([common::receiver::Reply::status(500)]);
    let hooked = dispatching_app(backend, "0s,1s").await;
    hooked.set_plan("business").await;
    let endpoint = hooked
        .add_endpoint(&receiver.url("/hook"), &[("include_payload", "on")])
        .await;

    hooked.enroll("face-payload").await;
    let first = receiver.wait_for(1, WITHIN).await;
    assert_eq!(first[0].json()["payload"], json!({"user": "face-payload"}));

    hooked.set_plan("premium").await;
    let retried = receiver.wait_for(2, WITHIN).await;
    assert!(
        retried[1].json().get("payload").is_none(),
        "premium: no payload"
    );
    assert_eq!(
        retried[0].header("webhook-id"),
        retried[1].header("webhook-id")
    );

    hooked.set_plan("enterprise").await;
    hooked.enroll("face-payload-2").await;
    let third = receiver.wait_for(3, WITHIN).await;
    assert_eq!(
        third[2].json()["payload"],
        json!({"user": "face-payload-2"})
    );

    let saved = common::console::save_endpoint(
        &hooked.app,
        &hooked.owner,
        &hooked.public_id,
        &[
            ("endpoint_id", &endpoint.id),
            ("url", &receiver.url("/hook")),
        ],
    )
    .await;
    assert_eq!(saved.status(), 200);
    hooked.enroll("face-payload-3").await;
    let fourth = receiver.wait_for(4, WITHIN).await;
    assert!(fourth[3].json().get("payload").is_none(), "toggle off");
}

async fn delivers_to_an_ipv6_loopback_receiver(backend: Backend) {
    let receiver = Receiver::start("[::1]:0").await;
    let hooked = dispatching_app(backend, "0s").await;
    hooked.add_endpoint(&receiver.url("/v6"), &[]).await;
    let event_id = hooked.enroll("face-v6").await;
    receiver.wait_for(1, WITHIN).await;
    let deliveries = hooked.wait_for_status(&event_id, "delivered", WITHIN).await;
    let attempts = hooked.attempts(&deliveries[0].id).await;
    assert_eq!(
        attempts[0].attempt.remote_addr.as_deref(),
        Some(receiver.addr.to_string().as_str())
    );
    assert!(attempts[0]
        .attempt
        .remote_addr
        .as_deref()
        .unwrap()
        .starts_with("[::1]"));
}

async fn https_negotiates_http2_or_http11_by_alpn(backend: Backend) {
    let pki = TestPki::generate();
    let ca_dir = tempfile::tempdir().unwrap();
    let ca_file = ca_dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let h2_only = Receiver::start_tls(pki.server_config(&[b"h2"])).await;
    let h1_only = Receiver::start_tls(pki.server_config(&[b"http/1.1"])).await;
    let hooked = dispatching_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.dispatch.extra_ca_file = Some(ca_file.clone());
    })
    .await;
    hooked
        .add_endpoint(
            &format!("https://127.0.0.1:{}/h2", h2_only.addr.port()),
            &[],
        )
        .await;
    hooked
        .add_endpoint(
            &format!("https://localhost:{}/h1", h1_only.addr.port()),
            &[],
        )
        .await;

    let event_id = hooked.enroll("face-tls").await;

    let over_h2 = h2_only.wait_for(1, WITHIN).await;
    let over_h1 = h1_only.wait_for(1, WITHIN).await;
    assert_eq!(over_h2[0].version, axum::http::Version::HTTP_2);
    assert_eq!(over_h1[0].version, axum::http::Version::HTTP_11);
    assert_eq!(h2_only.tls_versions(), ["TLSv1_3"]);
    assert_eq!(h1_only.tls_versions(), ["TLSv1_3"]);
    let deliveries = hooked.wait_for_status(&event_id, "delivered", WITHIN).await;
    let mut versions = Vec::new();
    for delivery in &deliveries {
        versions.extend(
            hooked
                .attempts(&delivery.id)
                .await
                .into_iter()
                .filter_map(|a| a.attempt.http_version),
        );
    }
    versions.sort();
    assert_eq!(versions, ["HTTP/1.1", "HTTP/2"]);
}

async fn an_unknown_certificate_authority_is_a_tls_failure(backend: Backend) {
    let pki = TestPki::generate();
    let receiver = Receiver::start_tls(pki.server_config(&[b"h2", b"http/1.1"])).await;
    let hooked = dispatching_app(backend, "0s").await;
    hooked
        .add_endpoint(&format!("https://127.0.0.1:{}/", receiver.addr.port()), &[])
        .await;
    let event_id = hooked.enroll("face-untrusted").await;
    let deliveries = hooked.wait_for_status(&event_id, "failed", WITHIN).await;
    let attempts = hooked.attempts(&deliveries[0].id).await;
    assert_eq!(
        attempts[0].attempt.error_class.as_deref(),
        Some("tls"),
        "{attempts:?}"
    );
    assert!(receiver.received().is_empty());
}

on_both_backends!(
    delivers_the_faceio_body_signed_and_authenticated,
    new_events_wake_the_dispatcher_at_once,
    both_signatures_verify_while_a_rotated_secret_is_valid,
    payload_follows_plan_and_toggle_at_send_time,
    delivers_to_an_ipv6_loopback_receiver,
    https_negotiates_http2_or_http11_by_alpn,
    an_unknown_certificate_authority_is_a_tls_failure,
);
