//! What the delivery benchmarks share: the backends chosen on the command line, enrolling a
//! range of facial IDs, and a dispatcher that may deliver to loopback.
// Each benchmark uses a part of this.
#![allow(dead_code)]

pub mod process;
pub mod seed;

use crate::common::dispatch::Hooked;
use crate::common::receiver::Receiver;
use crate::common::Backend;
use facehook::server::config::DispatchConfig;
use facehook::server::dispatch::{Dispatcher, RetrySchedule};
use facehook::server::store::Store;
use facehook::server::targets::{parse_allow_entry, AllowList};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The backends named on the command line (`sqlite`, `postgres`), or both.
pub fn chosen_backends() -> Vec<Backend> {
    let all = [Backend::Sqlite, Backend::Postgres];
    // Other arguments (cargo's flags, a benchmark's part names) leave the choice alone.
    let chosen: Vec<Backend> = std::env::args()
        .skip(1)
        .filter_map(|arg| all.into_iter().find(|b| backend_name(*b) == arg))
        .collect();
    if chosen.is_empty() {
        all.to_vec()
    } else {
        all.into_iter().filter(|b| chosen.contains(b)).collect()
    }
}

pub fn backend_name(backend: Backend) -> String {
    format!("{backend:?}").to_lowercase()
}

/// Enrolls facial IDs `{prefix}-{from}` to `{prefix}-{to - 1}`, 16 requests in flight.
pub async fn enroll_range(hooked: &Arc<Hooked>, prefix: &str, from: usize, to: usize) {
    let mut senders = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let (hooked, prefix) = (hooked.clone(), prefix.to_owned());
        senders.spawn(async move {
            for n in (from + worker..to).step_by(16) {
                hooked.enroll(&format!("{prefix}-{n}")).await;
            }
        });
    }
    while senders.join_next().await.is_some() {}
}

/// A dispatcher on `store` that retries at once and may deliver to 127.0.0.0/8.
pub fn loopback_dispatcher(store: &Store) -> Dispatcher {
    dispatcher_with_schedule(store, "0s")
}

/// A dispatcher on `store` retrying on `schedule`, delivering to 127.0.0.0/8.
pub fn dispatcher_with_schedule(store: &Store, schedule: &str) -> Dispatcher {
    let config = DispatchConfig {
        retry_schedule: RetrySchedule::parse(schedule).unwrap(),
        ..Default::default()
    };
    Dispatcher::start(store.clone(), &config, loopback_allowed()).unwrap()
}

/// Sends `count` authentications of `facial_id`, one after another (their order is theirs).
pub async fn auth_many(hooked: &Hooked, facial_id: &str, count: usize) {
    for _ in 0..count {
        hooked
            .send_event(serde_json::json!({
                "eventName": "auth", "facialId": facial_id, "clientIp": "203.0.113.9"
            }))
            .await;
    }
}

/// An allow list that lets deliveries reach 127.0.0.0/8, where the receivers listen.
pub fn loopback_allowed() -> AllowList {
    AllowList::new(vec![parse_allow_entry("127.0.0.0/8").unwrap()])
}

/// Requests per second `receiver` takes while the middle 80% of `total` arrive, from its
/// count sampled every millisecond (a run lasts hundreds of them).
pub async fn steady_rate(receiver: &Receiver, total: usize) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(300);
    let (from_at, from_count) = count_reaches(receiver, total / 10, total, deadline).await;
    let (to_at, to_count) = count_reaches(receiver, total - total / 10, total, deadline).await;
    (to_count - from_count) as f64 / (to_at - from_at).as_secs_f64().max(1e-3)
}

/// When `receiver` has counted at least `count` of `total` requests, and its count then.
pub async fn count_reaches(
    receiver: &Receiver,
    count: usize,
    total: usize,
    deadline: Instant,
) -> (Instant, usize) {
    loop {
        let arrived = receiver.count();
        let now = Instant::now();
        if arrived >= count {
            return (now, arrived);
        }
        assert!(now < deadline, "only {arrived} of {total} requests arrived");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Adds an enabled endpoint at `url` to `app_id` straight through the store, as many as a
/// benchmark needs (the console's limit is lifted).
pub async fn insert_endpoint(store: &Store, app_id: &str, url: String) {
    insert_endpoint_with(store, app_id, url, false).await;
}

/// `insert_endpoint`, delivering in order per facial ID when `ordered`; returns its id.
pub async fn insert_endpoint_with(
    store: &Store,
    app_id: &str,
    url: String,
    ordered: bool,
) -> String {
    let settings = facehook::server::store::EndpointSettings {
        url,
        description: String::new(),
        enabled: true,
        events: None,
        include_payload: false,
        timeout_secs: 6,
        ordered,
        signature_scheme: Default::default(),
        custom_headers: "[]".to_owned(),
        retry_schedule: None,
        rate_per_sec: None,
    };
    let keys = facehook::server::store::NewSigningKeys {
        hmac_secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        ed25519_secret_key: "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=",
    };
    store
        .insert_endpoint(&app_id.into(), &settings, &keys, 1000)
        .await
        .unwrap()
        .expect("endpoint added")
        .id
        .to_string()
}
