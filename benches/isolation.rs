//! `make bench`, isolation: how fast a healthy endpoint drains when a slow endpoint (2 s per
//! answer) has a due backlog queued ahead of it, against the same run without that backlog, on
//! SQLite and PostgreSQL. The issue asks that a slow endpoint never delay others; a claim that
//! has to walk past the slow endpoint's due rows on every pass shows up here as a ratio below 1.
//! `cargo bench --features ssr --bench isolation -- sqlite` runs one backend.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/mod.rs"]
mod support;

use common::receiver::{Receiver, Reply};
use common::Backend;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Deliveries the healthy endpoint drains in each run (the slow one gets as many, interleaved).
const HEALTHY: usize = 4_000;
/// The slow endpoint's due deliveries queued before the healthy endpoint exists.
const BACKLOG: usize = 20_000;
const SLOW_ANSWER: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() {
    println!(
        "isolation benchmark: a healthy endpoint drains {HEALTHY} deliveries beside a slow one \
         ({} s per answer), without and with {BACKLOG} of the slow one's deliveries due ahead",
        SLOW_ANSWER.as_secs()
    );
    println!(
        "{:<10} {:>18} {:>18} {:>8}",
        "backend", "no backlog/s", "with backlog/s", "ratio"
    );
    for backend in support::chosen_backends() {
        let clear = healthy_rate(backend, 0).await;
        let behind = healthy_rate(backend, BACKLOG).await;
        println!(
            "{:<10} {:>18.0} {:>18.0} {:>7.2}x",
            support::backend_name(backend),
            clear,
            behind,
            behind / clear
        );
    }
    println!("target: 1.00x (a slow endpoint does not delay others)");
}

/// Deliveries per second the healthy endpoint receives, from the dispatcher's start until its
/// last delivery arrives, with `backlog` of the slow endpoint's deliveries due ahead of them.
async fn healthy_rate(backend: Backend, backlog: usize) -> f64 {
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
    healthy.wait_for(HEALTHY, Duration::from_secs(300)).await;
    let rate = HEALTHY as f64 / started.elapsed().as_secs_f64();
    dispatcher.shutdown().await;
    slow.stop();
    healthy.stop();
    if let Ok(hooked) = Arc::try_unwrap(hooked) {
        hooked.app.stop().await;
    }
    rate
}
