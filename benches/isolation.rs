//! `make bench`, isolation: how fast a healthy endpoint drains when a slow endpoint (2 s per
//! answer) has a due backlog queued ahead of it, against the same run without that backlog, on
//! SQLite and PostgreSQL. The issue asks that a slow endpoint never delay others; a claim that
//! has to walk past the slow endpoint's due rows on every pass shows up here as a ratio below 1.
//! The "ordered" rows do the same for order per facial ID: one facial ID whose first delivery
//! keeps failing, with a thousand more held behind it, beside many healthy facial IDs.
//! `cargo bench --features ssr --bench isolation -- sqlite` runs one backend, `-- ordered` the
//! ordered rows alone.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/mod.rs"]
mod support;

use common::receiver::{Receiver, Reply};
use common::Backend;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Deliveries the healthy endpoint drains in each run (the slow one gets as many, interleaved).
const HEALTHY: usize = 16_000;
/// The slow endpoint's due deliveries queued before the healthy endpoint exists.
const BACKLOG: usize = 20_000;
const SLOW_ANSWER: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() {
    // `-- ordered` runs the ordered rows alone.
    if !std::env::args().any(|arg| arg == "ordered") {
        slow_endpoint_rows().await;
    }
    ordered_rows().await;
}

async fn slow_endpoint_rows() {
    println!(
        "isolation benchmark: a healthy endpoint drains {HEALTHY} deliveries beside a slow one \
         ({} s per answer), without and with {BACKLOG} of the slow one's deliveries due ahead",
        SLOW_ANSWER.as_secs()
    );
    print_heading("backlog");
    for backend in support::chosen_backends() {
        let clear = healthy_drain(backend, 0).await;
        let behind = healthy_drain(backend, BACKLOG).await;
        print_rows(backend, [(0, &clear), (BACKLOG, &behind)]);
    }
    println!(
        "target: 1.00x (a slow endpoint does not delay others); the ratio compares overall rates, \
         from the dispatcher's start to the healthy endpoint's last delivery"
    );
}

async fn ordered_rows() {
    println!(
        "ordered: {HEALTHY} facial IDs to an endpoint that delivers in order per facial ID, \
         without and with one facial ID whose first delivery keeps failing and {HELD} more held \
         behind it"
    );
    print_heading("held");
    for backend in support::chosen_backends() {
        let clear = ordered_drain(backend, 0).await;
        let behind = ordered_drain(backend, HELD).await;
        print_rows(backend, [(0, &clear), (HELD, &behind)]);
    }
    println!("target: 1.00x (a failing facial ID holds back only its own deliveries)");
}

fn print_heading(what_is_ahead: &str) {
    println!(
        "{:<10} {:>9} {:>14} {:>14} {:>14} {:>8}",
        "backend", what_is_ahead, "first after ms", "steady/s", "overall/s", "ratio"
    );
}

/// A backend's clear run and the run with something ahead, each against the clear one.
fn print_rows(backend: Backend, [clear, behind]: [(usize, &Drain); 2]) {
    for (ahead, drain) in [clear, behind] {
        println!(
            "{:<10} {:>9} {:>14.1} {:>14.0} {:>14.0} {:>7.2}x",
            support::backend_name(backend),
            ahead,
            drain.first_after.as_secs_f64() * 1000.0,
            drain.steady,
            drain.overall,
            drain.overall / clear.1.overall
        );
    }
}

/// Deliveries of the stuck facial ID held behind its failing first one.
const HELD: usize = 1_000;

/// How an ordered endpoint drains `HEALTHY` facial IDs (one delivery each) with `held` of one
/// other facial ID's deliveries waiting behind its failing first one (which retries in 10
/// minutes, so it stays in front for the whole run).
async fn ordered_drain(backend: Backend, held: usize) -> Drain {
    // Keeps what it receives (not only a count), to fail the stuck facial ID's requests.
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.when_body_has(r#""facialId":"stuck""#, Reply::status(500));
    let hooked = Arc::new(common::dispatch::unthrottled_app(backend, true).await);
    let endpoint = hooked.add_endpoint(&receiver.url("/ordered"), &[]).await;
    let ordered = [
        ("public_id", hooked.public_id.as_str()),
        ("endpoint_id", endpoint.id.as_str()),
        ("signature", "hmac"),
        ("ordered", "on"),
    ];
    let saved = hooked
        .app
        .call_with(&hooked.owner, "save_delivery_controls", &ordered)
        .await;
    assert_eq!(saved.status(), 200);
    if held > 0 {
        // The stuck facial ID's line: its enroll, whose attempts fail, and `held`
        // authentications behind it.
        hooked.enroll("stuck").await;
        support::auth_many(&hooked, "stuck", held).await;
    }
    support::enroll_range(&hooked, "ordered", 0, HEALTHY).await;
    let started = Instant::now();
    let dispatcher = support::dispatcher_with_schedule(&hooked.store, "0s,10m");
    let deadline = started + Duration::from_secs(300);
    // The stuck facial ID's first delivery is attempted once in the run; nothing behind it.
    let total = HEALTHY + usize::from(held > 0);
    let (first_at, _) = support::count_reaches(&receiver, 1, total, deadline).await;
    let steady = support::steady_rate(&receiver, total).await;
    receiver.wait_for(total, Duration::from_secs(300)).await;
    let overall = HEALTHY as f64 / started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        receiver.count(),
        total,
        "nothing behind the stuck facial ID went out"
    );
    dispatcher.shutdown().await;
    receiver.stop();
    if let Ok(hooked) = Arc::try_unwrap(hooked) {
        hooked.app.stop().await;
    }
    Drain {
        first_after: first_at - started,
        steady,
        overall,
    }
}

/// How the healthy endpoint drained: its first delivery's wait from the dispatcher's start,
/// its rate while the middle 80% arrived, and its rate from the start to the last arrival.
struct Drain {
    first_after: Duration,
    steady: f64,
    overall: f64,
}

/// How the healthy endpoint drains with `backlog` of the slow endpoint's deliveries due ahead
/// of its own.
async fn healthy_drain(backend: Backend, backlog: usize) -> Drain {
    let slow = Receiver::start("127.0.0.1:0").await;
    slow.otherwise(Reply::status(200).delayed(SLOW_ANSWER));
    let healthy = Receiver::start_counting("127.0.0.1:0").await;
    let hooked = Arc::new(common::dispatch::unthrottled_app(backend, true).await);
    hooked.add_endpoint(&slow.url("/slow"), &[]).await;
    support::enroll_range(&hooked, "isolation", 0, backlog).await;
    hooked.add_endpoint(&healthy.url("/healthy"), &[]).await;
    support::enroll_range(&hooked, "isolation", backlog, backlog + HEALTHY).await;
    let started = Instant::now();
    let dispatcher = support::loopback_dispatcher(&hooked.store);
    let deadline = started + Duration::from_secs(300);
    let (first_at, _) = support::count_reaches(&healthy, 1, HEALTHY, deadline).await;
    let steady = support::steady_rate(&healthy, HEALTHY).await;
    healthy.wait_for(HEALTHY, Duration::from_secs(300)).await;
    let overall = HEALTHY as f64 / started.elapsed().as_secs_f64();
    dispatcher.shutdown().await;
    slow.stop();
    healthy.stop();
    if let Ok(hooked) = Arc::try_unwrap(hooked) {
        hooked.app.stop().await;
    }
    Drain {
        first_after: first_at - started,
        steady,
        overall,
    }
}
