//! What the dispatcher does when delivery goes wrong: retries on the schedule, honours
//! Retry-After, disables on 410, times out, refuses private targets, keeps a slow endpoint
//! from delaying a healthy one, and gives back what it could not finish at shutdown — on
//! SQLite and PostgreSQL.

mod common;

use common::dispatch::{dispatching_app, dispatching_app_with, loopback_dispatch};
use common::receiver::{Receiver, Reply};
use common::{spawn_app_with, Backend};
use facehook::server::config::DispatchConfig;
use facehook::server::dispatch::{Dispatcher, RetrySchedule};
use facehook::server::targets::{parse_allow_entry, AllowList};
use std::time::{Duration, Instant};

const WITHIN: Duration = Duration::from_secs(15);

async fn retries_on_the_schedule_until_delivered(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.script([Reply::status(500), Reply::status(502)]);
    let hooked = dispatching_app(backend, "0s,300ms,300ms,300ms").await;
    hooked.add_endpoint(&receiver.url("/flaky"), &[]).await;

    let event_id = hooked.enroll("face-retry").await;

    let received = receiver.wait_for(3, WITHIN).await;
    let ids: Vec<_> = received.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(
        ids,
        [event_id.as_str(); 3],
        "the same webhook-id on every retry"
    );
    let deliveries = hooked.wait_for_status(&event_id, "delivered", WITHIN).await;
    assert_eq!(deliveries[0].attempts, 3);
    let attempts = hooked.attempts(&deliveries[0].id).await;
    let statuses: Vec<_> = attempts.iter().map(|a| a.attempt.status_code).collect();
    assert_eq!(statuses, [Some(500), Some(502), Some(200)]);
    assert_eq!(
        attempts[0].attempt.error_class.as_deref(),
        Some("http_status")
    );
    assert_eq!(attempts[2].attempt.error_class, None);
    let gap = received[1].at - received[0].at;
    assert!(gap >= Duration::from_millis(200), "retried after {gap:?}");
}

async fn fails_when_the_schedule_runs_out(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.otherwise(Reply::status(500));
    let hooked = dispatching_app(backend, "0s,100ms").await;
    hooked.add_endpoint(&receiver.url("/down"), &[]).await;
    let event_id = hooked.enroll("face-down").await;
    let deliveries = hooked.wait_for_status(&event_id, "failed", WITHIN).await;
    assert_eq!(deliveries[0].attempts, 2);
    assert_eq!(deliveries[0].last_status_code, Some(500));
    assert_eq!(receiver.received().len(), 2);
}

async fn retry_after_sets_the_next_attempt(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.script([Reply::status(429).header("retry-after", "2")]);
    // Without Retry-After the retry would come after 100 ms; the ceiling is 100 ms + 60 s.
    let hooked = dispatching_app(backend, "0s,100ms,60s").await;
    hooked.add_endpoint(&receiver.url("/busy"), &[]).await;
    hooked.enroll("face-busy").await;
    let received = receiver.wait_for(2, WITHIN).await;
    let gap = received[1].at - received[0].at;
    assert!(
        gap >= Duration::from_millis(1900) && gap < Duration::from_secs(10),
        "Retry-After: 2 gave a gap of {gap:?}"
    );
}

async fn gone_disables_the_endpoint_at_once(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.otherwise(Reply::status(410));
    let hooked = dispatching_app(backend, "0s,100ms,100ms").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/gone"), &[]).await;
    let event_id = hooked.enroll("face-gone").await;
    let deliveries = hooked.wait_for_status(&event_id, "failed", WITHIN).await;
    assert_eq!(deliveries[0].attempts, 1, "no retry after 410");

    let listed = hooked.endpoints().await;
    let shown = &listed.as_array().unwrap()[0];
    assert_eq!(shown["id"], endpoint.id.as_str());
    assert_eq!(shown["enabled"], false);
    let reason = shown["disabled_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("410 Gone"), "{shown}");

    // A disabled endpoint gets no new deliveries.
    let later = hooked
        .send_event(serde_json::json!({
            "eventName": "auth", "facialId": "face-gone", "clientIp": "203.0.113.9"
        }))
        .await;
    assert!(hooked.deliveries(&later).await.is_empty());
    assert_eq!(receiver.received().len(), 1);
}

async fn an_endpoint_failing_for_too_long_is_disabled(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.otherwise(Reply::status(500));
    let hooked = dispatching_app_with(backend, |config| {
        loopback_dispatch(config, "0s,1500ms,1500ms");
        // About one second: the first failure starts the clock, the retry finds it expired.
        config.dispatch.disable_failing_after_days = 1.0 / 86_400.0;
    })
    .await;
    hooked.add_endpoint(&receiver.url("/failing"), &[]).await;
    let event_id = hooked.enroll("face-failing").await;
    receiver.wait_for(2, WITHIN).await;
    let deadline = Instant::now() + WITHIN;
    let shown = loop {
        let listed = hooked.endpoints().await;
        let shown = listed[0].clone();
        if shown["enabled"] == false || Instant::now() > deadline {
            break shown;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(shown["enabled"], false, "{shown}");
    let reason = shown["disabled_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("every delivery failed"), "{reason}");
    // The delivery keeps its place: not failed, just waiting for the endpoint to come back.
    let deliveries = hooked.deliveries(&event_id).await;
    assert_eq!(deliveries[0].status, "retrying");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 2, "no attempt while disabled");
}

async fn a_slow_response_times_out(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.otherwise(Reply::status(200).delayed(Duration::from_secs(5)));
    let hooked = dispatching_app(backend, "0s").await;
    hooked
        .add_endpoint(&receiver.url("/slow"), &[("timeout_secs", "1")])
        .await;
    let started = Instant::now();
    let event_id = hooked.enroll("face-timeout").await;
    let deliveries = hooked.wait_for_status(&event_id, "failed", WITHIN).await;
    assert!(started.elapsed() < Duration::from_secs(4));
    let attempts = hooked.attempts(&deliveries[0].id).await;
    assert_eq!(attempts[0].attempt.error_class.as_deref(), Some("timeout"));
    assert!(
        (900..3000).contains(&attempts[0].attempt.duration_ms),
        "{attempts:?}"
    );
}

async fn private_targets_are_refused_unless_allowed(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    // Saving is allowed (loopback is listed for this server) but the dispatcher started
    // below has no allow list: every attempt is refused before connecting.
    let app = spawn_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.no_dispatch = true;
    })
    .await;
    let hooked = common::dispatch::hooked(app).await;
    hooked.add_endpoint(&receiver.url("/literal"), &[]).await;
    hooked
        .add_endpoint(
            &format!("http://localhost:{}/name", receiver.addr.port()),
            &[],
        )
        .await;
    let settings = DispatchConfig {
        retry_schedule: RetrySchedule::parse("0s").unwrap(),
        ..Default::default()
    };
    let refusing =
        Dispatcher::start(hooked.store.clone(), &settings, AllowList::default()).unwrap();
    let event_id = hooked.enroll("face-ssrf").await;
    let deliveries = hooked.wait_for_status(&event_id, "failed", WITHIN).await;
    refusing.shutdown().await;
    for delivery in &deliveries {
        let attempts = hooked.attempts(&delivery.id).await;
        assert_eq!(attempts[0].attempt.error_class.as_deref(), Some("policy"));
        let message = attempts[0]
            .attempt
            .error_message
            .clone()
            .unwrap_or_default();
        assert!(message.contains("loopback address"), "{message}");
        assert!(message.contains("FACEHOOK_ALLOW_TARGETS"), "{message}");
    }
    assert!(
        receiver.received().is_empty(),
        "nothing reached the receiver"
    );
}

async fn a_slow_endpoint_does_not_delay_a_healthy_one(backend: Backend) {
    let slow = Receiver::start("127.0.0.1:0").await;
    slow.otherwise(Reply::status(200).delayed(Duration::from_secs(3)));
    let healthy = Receiver::start("127.0.0.1:0").await;
    let hooked = dispatching_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.dispatch.max_in_flight = 16;
        config.dispatch.max_in_flight_per_endpoint = 4;
    })
    .await;
    hooked
        .add_endpoint(&slow.url("/slow"), &[("timeout_secs", "10")])
        .await;
    hooked.add_endpoint(&healthy.url("/fast"), &[]).await;

    let started = Instant::now();
    for n in 0..20 {
        hooked.enroll(&format!("face-{n}")).await;
    }
    healthy.wait_for(20, Duration::from_secs(10)).await;
    let healthy_done = started.elapsed();
    assert!(
        healthy_done < Duration::from_secs(3),
        "the healthy endpoint waited {healthy_done:?} behind the slow one"
    );
    assert!(slow.peak_in_flight() <= 4, "peak {}", slow.peak_in_flight());
    slow.wait_for(8, Duration::from_secs(10)).await;
}

/// One claim leases both deliveries of an event under one token; the fast one finishes, the
/// hung one outlives the shutdown grace, and its lease is given back rather than left to run
/// out (the token is still held while any delivery leased under it is unfinished).
async fn shutdown_gives_back_the_lease_of_an_unfinished_attempt(backend: Backend) {
    let fast = Receiver::start("127.0.0.1:0").await;
    let hung = Receiver::start("127.0.0.1:0").await;
    hung.otherwise(Reply::status(200).delayed(Duration::from_secs(60)));
    let app = spawn_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.no_dispatch = true;
    })
    .await;
    let hooked = common::dispatch::hooked(app).await;
    let fast_endpoint = hooked.add_endpoint(&fast.url("/fast"), &[]).await;
    let hung_endpoint = hooked
        .add_endpoint(&hung.url("/hung"), &[("timeout_secs", "30")])
        .await;
    let event_id = hooked.enroll("face-shutdown").await;

    let settings = DispatchConfig {
        retry_schedule: RetrySchedule::parse("0s").unwrap(),
        ..Default::default()
    };
    let loopback = AllowList::new(vec![parse_allow_entry("127.0.0.0/8").unwrap()]);
    let dispatcher = Dispatcher::start(hooked.store.clone(), &settings, loopback).unwrap();
    hung.wait_for(1, WITHIN).await;
    let deadline = Instant::now() + WITHIN;
    loop {
        let deliveries = hooked.deliveries(&event_id).await;
        let fast_done = deliveries
            .iter()
            .any(|d| d.endpoint_id == fast_endpoint.id.as_str() && d.status == "delivered");
        if fast_done {
            break;
        }
        assert!(Instant::now() < deadline, "not delivered: {deliveries:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    dispatcher.shutdown().await;

    let deliveries = hooked.deliveries(&event_id).await;
    let unfinished = deliveries
        .iter()
        .find(|d| d.endpoint_id == hung_endpoint.id.as_str())
        .expect("the hung endpoint's delivery");
    assert_eq!(unfinished.status, "pending", "{unfinished:?}");
    assert_eq!(unfinished.attempts, 0);
}

on_both_backends!(
    retries_on_the_schedule_until_delivered,
    fails_when_the_schedule_runs_out,
    retry_after_sets_the_next_attempt,
    gone_disables_the_endpoint_at_once,
    a_slow_response_times_out,
    an_endpoint_failing_for_too_long_is_disabled,
    private_targets_are_refused_unless_allowed,
    a_slow_endpoint_does_not_delay_a_healthy_one,
    shutdown_gives_back_the_lease_of_an_unfinished_attempt,
);
