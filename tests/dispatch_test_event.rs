//! "Send test event" from the WEBHOOKS tab, through the real server on SQLite and PostgreSQL:
//! the outcome comes back inline, the attempt is recorded, and other owners get not-found.

mod common;

use common::console::{json, owner};
use common::dispatch::dispatching_app;
use common::receiver::{Receiver, Reply};
use common::Backend;
use std::time::Duration;

async fn a_test_event_is_sent_now_and_answered_inline(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.script([Reply::status(200)]);
    let hooked = dispatching_app(backend, "0s,100ms").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/test"), &[]).await;

    let result = json(
        hooked
            .app
            .call_with(
                &hooked.owner,
                "send_test_event",
                &[
                    ("public_id", &hooked.public_id),
                    ("endpoint_id", &endpoint.id),
                ],
            )
            .await,
    )
    .await;

    assert_eq!(result["delivered"], true, "{result}");
    assert_eq!(result["status_code"], 200);
    assert_eq!(result["http_version"], "HTTP/1.1");
    assert_eq!(result["response_excerpt"], "ok");
    let received = receiver.received();
    assert_eq!(received.len(), 1, "sent before the call returned");
    let body = received[0].json();
    assert_eq!(body["eventName"], "test");
    assert_eq!(body["appId"], hooked.public_id.as_str());
    standardwebhooks::Webhook::new(&endpoint.secret)
        .unwrap()
        .verify(&received[0].body, &received[0].headers)
        .expect("the test event is signed like any other");
    let attempts = hooked
        .attempts(&result["delivery_id"].as_str().unwrap().into())
        .await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].attempt.status_code, Some(200));

    // Failure is shown, not retried, and does not count against the endpoint.
    receiver.otherwise(Reply::status(503));
    let failed = json(
        hooked
            .app
            .call_with(
                &hooked.owner,
                "send_test_event",
                &[
                    ("public_id", &hooked.public_id),
                    ("endpoint_id", &endpoint.id),
                ],
            )
            .await,
    )
    .await;
    assert_eq!(failed["delivered"], false);
    assert_eq!(failed["status_code"], 503);
    assert_eq!(failed["error_class"], "http_status");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.received().len(),
        2,
        "a failed test event is not retried"
    );
}

async fn an_unreachable_endpoint_reports_the_error(backend: Backend) {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hooked = dispatching_app(backend, "0s").await;
    let endpoint = hooked
        .add_endpoint(&format!("http://127.0.0.1:{closed_port}/gone"), &[])
        .await;
    let result = json(
        hooked
            .app
            .call_with(
                &hooked.owner,
                "send_test_event",
                &[
                    ("public_id", &hooked.public_id),
                    ("endpoint_id", &endpoint.id),
                ],
            )
            .await,
    )
    .await;
    assert_eq!(result["delivered"], false);
    assert_eq!(result["error_class"], "connect", "{result}");
    assert!(result["status_code"].is_null());
}

async fn another_owner_cannot_send_a_test_event(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let hooked = dispatching_app(backend, "0s").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/mine"), &[]).await;
    let stranger = owner(&hooked.app, "stranger@example.com").await;
    let response = hooked
        .app
        .call_with(
            &stranger,
            "send_test_event",
            &[
                ("public_id", &hooked.public_id),
                ("endpoint_id", &endpoint.id),
            ],
        )
        .await;
    assert_eq!(response.status(), 404);
    let unknown = hooked.send_test_event(&hooked.owner, "ep_nope").await;
    assert_eq!(unknown.status(), 404);
    assert!(receiver.received().is_empty());
}

on_both_backends!(
    a_test_event_is_sent_now_and_answered_inline,
    an_unreachable_endpoint_reports_the_error,
    another_owner_cannot_send_a_test_event,
);
