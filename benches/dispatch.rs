//! `make bench`, delivery half: on loopback, (a) a bare hyper client POSTing to a receiver —
//! the machine's ceiling — then (b) Facehook delivering to the same receiver: sustained
//! deliveries/s with 1 and with 100 endpoints, on SQLite and PostgreSQL, each rate printed as
//! a ratio of (a) (ingest→receiver latency is the `latency` benchmark's). Everything shares the machine's 2 cores.
//! Two more lines split Facehook's cost: its signed message and transport with no database,
//! and each backend's queue (claims and records) with no request sent.
//!
//! The ceiling moves with whatever else the machine is doing, so each sustained run is paired
//! with a measurement of (a) taken just before it, and the figures are the median of `ROUNDS`
//! pairs. Both rates are steady-state rates: arrivals are counted between the 10th and the
//! 90th percentile of the run, so neither side's start-up (connecting, the dispatcher's first
//! claim) nor its tail (the last few connections finishing) is mistaken for its pace.
//! `cargo bench --features ssr --bench dispatch -- sqlite` runs one backend;
//! `FACEHOOK_BENCH_DELIVERIES` queues more deliveries per run (for profiling).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/mod.rs"]
mod support;

use common::receiver::Receiver;
use common::Backend;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BARE_REQUESTS: usize = 20_000;
/// The bare client's requests in flight.
const BARE_CONCURRENCY: usize = 64;
/// The dispatcher's default cap per endpoint: (a) at this many in flight is a lone endpoint's
/// ceiling.
const PER_ENDPOINT_CONCURRENCY: usize = 8;
const DELIVERIES: usize = 20_000;
const ROUNDS: usize = 5;

/// A rate and its ratio to the ceiling measured just before it, as medians.
struct Paired {
    per_second: f64,
    ratio: f64,
}

#[tokio::main]
async fn main() {
    println!(
        "dispatch benchmark (loopback; receiver, server and clients share the machine's cores; \
         medians of {ROUNDS} runs, each against (a) measured just before it)"
    );
    let bare = median(ROUNDS, || bare_rate(BARE_CONCURRENCY)).await;
    let bare_lane = median(ROUNDS, || bare_rate(PER_ENDPOINT_CONCURRENCY)).await;
    println!("(a) bare hyper client, {BARE_CONCURRENCY} in flight: {bare:.0} requests/s");
    println!(
        "    with {PER_ENDPOINT_CONCURRENCY} in flight (one endpoint's cap): {bare_lane:.0} \
         requests/s ({:.2}x of (a))",
        bare_lane / bare
    );
    for concurrency in [BARE_CONCURRENCY, PER_ENDPOINT_CONCURRENCY] {
        let alone = against_bare(|| transport_rate(concurrency)).await;
        println!(
            "    Facehook's signed message and transport alone, {concurrency} in flight, no \
             database: {:.0} requests/s ({:.2}x of (a))",
            alone.per_second, alone.ratio
        );
    }
    println!(
        "{:<10} {:>14} {:>8} {:>16} {:>8}",
        "backend", "1 endpoint/s", "vs (a)", "100 endpoints/s", "vs (a)"
    );
    for backend in support::chosen_backends() {
        let name = support::backend_name(backend);
        let one = against_bare(|| sustained(backend, 1)).await;
        let hundred = against_bare(|| sustained(backend, 100)).await;
        println!(
            "{:<10} {:>14.0} {:>7.2}x {:>16.0} {:>7.2}x",
            name, one.per_second, one.ratio, hundred.per_second, hundred.ratio
        );
        let one = against_bare(|| queue_rate(backend, 1)).await;
        let hundred = against_bare(|| queue_rate(backend, 100)).await;
        println!(
            "{:<10} its queue alone, no request sent: {:.0}/s ({:.2}x of (a)) with 1 endpoint, \
             {:.0}/s ({:.2}x) with 100",
            "", one.per_second, one.ratio, hundred.per_second, hundred.ratio
        );
    }
    println!("targets: SQLite >= 0.5x and PostgreSQL >= 0.3x of (a)");
}

async fn median<F, Fut>(rounds: usize, mut run: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = f64>,
{
    let mut figures = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        figures.push(run().await);
    }
    middle(figures)
}

fn middle(mut figures: Vec<f64>) -> f64 {
    figures.sort_by(f64::total_cmp);
    figures[figures.len() / 2]
}

/// `run`'s rate, and its ratio to (a) measured just before each run, as medians of `ROUNDS`.
async fn against_bare<F, Fut>(mut run: F) -> Paired
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = f64>,
{
    let (mut rates, mut ratios) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let ceiling = bare_rate(BARE_CONCURRENCY).await;
        let rate = run().await;
        rates.push(rate);
        ratios.push(rate / ceiling);
    }
    Paired {
        per_second: middle(rates),
        ratio: middle(ratios),
    }
}

/// (a): a plain hyper client with pooled keep-alive connections, no database, no signing.
async fn bare_rate(concurrency: usize) -> f64 {
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    let receiver = Receiver::start_counting("127.0.0.1:0").await;
    let client: Client<_, Full<bytes::Bytes>> =
        Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let uri: hyper::Uri = receiver.url("/bare").parse().unwrap();
    let body = bytes::Bytes::from_static(
        br#"{"eventName":"enroll","facialId":"bare","appId":"fioabcdefgh","clientIp":"203.0.113.1","details":{"timestamp":"2026-11-25T20:00:00Z"}}"#,
    );
    let sent = (BARE_REQUESTS / concurrency) * concurrency;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, uri, body) = (client.clone(), uri.clone(), body.clone());
        workers.spawn(async move {
            for _ in 0..BARE_REQUESTS / concurrency {
                let request = hyper::Request::post(uri.clone())
                    .header("content-type", "application/json")
                    .body(Full::new(body.clone()))
                    .unwrap();
                let response = client.request(request).await.expect("bare request");
                assert!(response.status().is_success());
                http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .unwrap();
            }
        });
    }
    let rate = support::steady_rate(&receiver, sent).await;
    while workers.join_next().await.is_some() {}
    receiver.stop();
    rate
}

/// What the database costs, by leaving it out: Facehook's own message building, signing and
/// transport (the dispatcher's client, with its guard and body excerpt) on one delivery read
/// once, sent over and over.
async fn transport_rate(concurrency: usize) -> f64 {
    use facehook::server::dispatch::{build_message, Transport};
    use facehook::server::store::ClaimedDelivery;
    let receiver = Receiver::start_counting("127.0.0.1:0").await;
    let transport = Transport::new(support::loopback_allowed(), None).unwrap();
    let delivery = Arc::new(ClaimedDelivery {
        delivery_id: "del_bench".into(),
        lease_token: "lease_bench".into(),
        event_id: "evt_bench".into(),
        attempts: 0,
        event_name: "enroll".into(),
        facial_id: "bare".into(),
        client_ip: "203.0.113.1".into(),
        gender: None,
        age: None,
        payload: None,
        occurred_at: 1_764_100_800_000,
        app_id: "fioabcdefgh".into(),
        plan: facehook::model::app::Plan::Free,
        webhook_token: "fhw_bench".into(),
        endpoint_id: "ep_bench".into(),
        url: receiver.url("/transport"),
        timeout_secs: 6,
        include_payload: false,
        signing_secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into(),
        previous_signing_secret: None,
        previous_secret_expires_at: None,
        order_key: None,
        signature_scheme: Default::default(),
        ed25519_secret_key: None,
        previous_ed25519_secret_key: None,
        custom_headers: "[]".to_owned(),
        retry_schedule: None,
        rate_per_sec: None,
    });
    let sent = (BARE_REQUESTS / concurrency) * concurrency;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (transport, delivery) = (transport.clone(), delivery.clone());
        workers.spawn(async move {
            for _ in 0..BARE_REQUESTS / concurrency {
                let message = build_message(&delivery, facehook::server::clock::now_ms());
                let report = transport
                    .send(&delivery.url, message, Duration::from_secs(6))
                    .await;
                assert_eq!(report.result.expect("transport request").status, 200);
            }
        });
    }
    let rate = support::steady_rate(&receiver, sent).await;
    while workers.join_next().await.is_some() {}
    receiver.stop();
    rate
}

/// `DELIVERIES` queued with the dispatcher off, spread over `endpoints` at `url(n)`; returns
/// the app and how many were queued.
async fn queued(
    backend: Backend,
    endpoints: usize,
    url: impl Fn(usize) -> String,
) -> (Arc<common::dispatch::Hooked>, usize) {
    let hooked = common::dispatch::unthrottled_app(backend, true).await;
    let app_id = hooked.public_id.clone();
    for n in 0..endpoints {
        support::insert_endpoint(&hooked.store, app_id.as_str(), url(n)).await;
    }
    let deliveries = std::env::var("FACEHOOK_BENCH_DELIVERIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DELIVERIES);
    let events = deliveries / endpoints;
    let hooked = Arc::new(hooked);
    support::enroll_range(&hooked, "sustained", 0, events).await;
    eprintln!("queued {} deliveries", events * endpoints);
    (hooked, events * endpoints)
}

async fn stop(hooked: Arc<common::dispatch::Hooked>) {
    if let Ok(hooked) = Arc::try_unwrap(hooked) {
        hooked.app.stop().await;
    }
}

/// Sustained rate: deliveries queued with the dispatcher off (spread over `endpoints`), then a
/// dispatcher started, and its steady rate taken while the receiver gets them.
async fn sustained(backend: Backend, endpoints: usize) -> f64 {
    let receiver = Receiver::start_counting("127.0.0.1:0").await;
    let (hooked, total) = queued(backend, endpoints, |n| {
        receiver.url(&format!("/sustained/{n}"))
    })
    .await;
    let dispatcher = support::loopback_dispatcher(&hooked.store);
    let rate = support::steady_rate(&receiver, total).await;
    receiver.wait_for(total, Duration::from_secs(300)).await;
    dispatcher.shutdown().await;
    stop(hooked).await;
    rate
}

/// What the network costs, by leaving it out: the queue's own work for each delivery (claimed
/// with everything needed to send it, then recorded as delivered with a loopback receiver's
/// answer), claims and records overlapping on their own tasks as in the dispatcher, with no
/// request sent. With the transport alone, it bounds what the two can reach sharing the cores.
async fn queue_rate(backend: Backend, endpoints: usize) -> f64 {
    use facehook::server::store::{AttemptOutcome, ClaimCursor, ClaimLimits, RECORD_BATCH};
    let (hooked, total) = queued(backend, endpoints, |n| format!("http://127.0.0.1:9/{n}")).await;
    let limits = ClaimLimits {
        limit: 256,
        held_per_endpoint: i64::MAX / 2,
        on_wire_per_endpoint: PER_ENDPOINT_CONCURRENCY as i64,
        lease_margin_ms: 10_000,
    };
    let (outcomes, mut to_record) = tokio::sync::mpsc::channel::<AttemptOutcome>(4096);
    let store = hooked.store.clone();
    let recorder = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while to_record.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            store.record_attempts(&batch).await.unwrap();
            batch.clear();
        }
    });
    let mut cursor = ClaimCursor::default();
    let mut claimed_so_far = 0;
    let started = Instant::now();
    while claimed_so_far < total {
        let claimed = hooked
            .store
            .claim_deliveries(&[], limits, &mut cursor)
            .await
            .unwrap();
        assert!(
            !claimed.is_empty(),
            "{claimed_so_far} of {total} claimed, none left"
        );
        claimed_so_far += claimed.len();
        for delivery in claimed {
            let outcome = common::dispatch::delivered(&delivery, &delivery.lease_token);
            outcomes.send(outcome).await.unwrap();
        }
    }
    drop(outcomes);
    recorder.await.unwrap();
    let rate = total as f64 / started.elapsed().as_secs_f64();
    // Every outcome counted must have been written under its lease.
    let depth = hooked.store.queue_depth().await.unwrap();
    assert_eq!((depth.pending, depth.delivering), (0, 0), "all recorded");
    stop(hooked).await;
    rate
}
