//! Order per facial ID where it is hardest to keep: across a `facehook serve` killed with
//! SIGKILL mid-load (at least once, and never out of order), and with two dispatcher replicas
//! sharing one PostgreSQL queue.

mod common;

use common::dispatch::unthrottled_app;
use common::process::{facehook, free_port, post_event, provision_app, serve};
use common::receiver::{Received, Receiver, Reply};
use common::{Backend, TestDatabase};
use facehook::server::config::DispatchConfig;
use facehook::server::dispatch::{Dispatcher, RetrySchedule};
use facehook::server::store::Store;
use facehook::server::targets::{parse_allow_entry, AllowList};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const FACIAL_IDS: usize = 10;
const EVENTS_EACH: usize = 8;

/// Each facial ID's accepted events, in the order they were accepted.
type Sent = Vec<(String, Vec<String>)>;

/// Sends `EVENTS_EACH` events per facial ID (an enroll, then authentications), the facial IDs
/// side by side and each one's events one after another; a facial ID stops at its first
/// refusal (the server was killed).
async fn send_in_order(
    port: u16,
    key: &str,
    prefix: &str,
) -> tokio::task::JoinSet<(String, Vec<String>)> {
    let mut senders = tokio::task::JoinSet::new();
    for n in 0..FACIAL_IDS {
        let (key, facial_id) = (key.to_owned(), format!("{prefix}-{n}"));
        senders.spawn(async move {
            let mut accepted = Vec::new();
            for k in 0..EVENTS_EACH {
                let name = if k == 0 { "enroll" } else { "auth" };
                match post_event(port, &key, name, &facial_id).await {
                    Some(event_id) => accepted.push(event_id),
                    None => break,
                }
            }
            (facial_id, accepted)
        });
    }
    senders
}

/// Fails unless every accepted event arrived and each facial ID's arrivals never go back
/// to an earlier event (a repeat of the one just sent is at least once, not disorder).
fn assert_in_order(sent: &Sent, received: &[Received]) {
    for (facial_id, accepted) in sent {
        let place: HashMap<&str, usize> = accepted
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let arrivals: Vec<usize> = received
            .iter()
            .filter_map(|r| place.get(r.header("webhook-id")).copied())
            .collect();
        assert!(
            arrivals.windows(2).all(|pair| pair[0] <= pair[1]),
            "{facial_id} arrived out of order: {arrivals:?}"
        );
        let mut distinct = arrivals.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), accepted.len(), "{facial_id}: {arrivals:?}");
    }
}

async fn wait_for_all(receiver: &Receiver, sent: &Sent, within: Duration) -> Vec<Received> {
    let wanted: usize = sent.iter().map(|(_, ids)| ids.len()).sum();
    let deadline = Instant::now() + within;
    loop {
        let received = receiver.received();
        let mut arrived: Vec<&str> = received.iter().map(|r| r.header("webhook-id")).collect();
        arrived.sort_unstable();
        arrived.dedup();
        let accepted_arrived = sent
            .iter()
            .flat_map(|(_, ids)| ids)
            .filter(|id| arrived.binary_search(&id.as_str()).is_ok())
            .count();
        if accepted_arrived == wanted {
            return received;
        }
        assert!(
            Instant::now() < deadline,
            "{accepted_arrived} of {wanted} accepted events arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `facehook endpoints add --ordered`, a load of ten facial IDs at once, a SIGKILL in the
/// middle and a restart: every accepted event arrives, each facial ID's in order.
async fn order_survives_a_killed_server(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.otherwise(Reply::status(200).delayed(Duration::from_millis(20)));
    let (public_id, key) = provision_app(&database.url);
    let added = facehook(
        &[
            "endpoints",
            "add",
            &public_id,
            &receiver.url("/ordered"),
            "--timeout-secs",
            "1",
            "--ordered",
            "--signature",
            "both",
            "--header",
            "X-Route: eu",
            "--retry-schedule",
            "0s,1s,1s",
            "--rate",
            "1000",
        ],
        &database.url,
        "",
    );
    assert!(
        added["publicKey"].as_str().unwrap().starts_with("whpk_"),
        "{added}"
    );

    let port = free_port();
    let mut server = serve(&database.url, port).await;
    let mut senders = send_in_order(port, &key, "face").await;
    receiver.wait_for(25, Duration::from_secs(20)).await;
    server.kill().expect("SIGKILL the server");
    let _ = server.wait();
    let mut sent = Vec::new();
    while let Some(done) = senders.join_next().await {
        sent.push(done.unwrap());
    }
    let accepted: usize = sent.iter().map(|(_, ids)| ids.len()).sum();
    assert!(accepted >= 25, "only {accepted} accepted before the kill");

    let mut restarted = serve(&database.url, free_port()).await;
    // Deliveries in flight at the kill come back when their lease (1 s timeout + margin) ends.
    let received = wait_for_all(&receiver, &sent, Duration::from_secs(60)).await;
    assert_in_order(&sent, &received);
    assert!(received.iter().all(|r| r.header("x-route") == "eu"));
    restarted.kill().ok();
    let _ = restarted.wait();
}

/// Two dispatcher replicas on one PostgreSQL queue, a backlog of ten facial IDs: both work,
/// and each facial ID's deliveries still arrive one at a time in order.
async fn two_replicas_keep_each_facial_id_in_order(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.otherwise(Reply::status(200).delayed(Duration::from_millis(25)));
    let hooked = unthrottled_app(backend, true).await;
    let endpoint = hooked.add_endpoint(&receiver.url("/replicas"), &[]).await;
    let saved = hooked
        .app
        .call_with(
            &hooked.owner,
            "save_delivery_controls",
            &[
                ("public_id", hooked.public_id.as_str()),
                ("endpoint_id", &endpoint.id),
                ("signature", "hmac"),
                ("ordered", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 200);
    let mut sent: Sent = Vec::new();
    for n in 0..FACIAL_IDS {
        let facial_id = format!("face-{n}");
        let mut ids = vec![hooked.enroll(&facial_id).await];
        for _ in 1..EVENTS_EACH {
            ids.push(
                hooked
                    .send_event(serde_json::json!({
                        "eventName": "auth", "facialId": facial_id, "clientIp": "203.0.113.9"
                    }))
                    .await,
            );
        }
        sent.push((facial_id, ids));
    }
    let settings = DispatchConfig {
        retry_schedule: RetrySchedule::parse("0s").unwrap(),
        max_in_flight: 3,
        ..Default::default()
    };
    let allow = AllowList::new(vec![parse_allow_entry("127.0.0.0/8").unwrap()]);
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let store = Store::connect(&hooked.app.database.url).await.unwrap();
        replicas.push(Dispatcher::start(store, &settings, allow.clone()).unwrap());
    }
    let received = wait_for_all(&receiver, &sent, Duration::from_secs(60)).await;
    assert_in_order(&sent, &received);
    assert_eq!(received.len(), FACIAL_IDS * EVENTS_EACH, "each sent once");
    assert!(
        receiver.peak_in_flight() > 3,
        "one replica allows 3 in flight; a peak of {} means only one replica worked",
        receiver.peak_in_flight()
    );
    for replica in replicas {
        replica.shutdown().await;
    }
}

on_both_backends!(order_survives_a_killed_server);

mod replicas {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::two_replicas_keep_each_facial_id_in_order(crate::common::Backend::Postgres).await
    }
}
