//! Durability: a `facehook serve` process killed with SIGKILL mid-load loses no accepted
//! event, and replicas sharing PostgreSQL deliver every event without sending one twice at once.

mod common;

use common::dispatch::{hooked, loopback_dispatch, unthrottled_app};
use common::process::{
    facehook, facehook_command, free_port, post_enroll, provision, provision_app, serve, serve_with,
};
use common::receiver::{Receiver, Reply};
use common::{spawn_app_with, Backend, TestDatabase};
use facehook::server::config::DispatchConfig;
use facehook::server::dispatch::{Dispatcher, RetrySchedule};
use facehook::server::store::Store;
use facehook::server::targets::{parse_allow_entry, AllowList};
use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

async fn a_killed_server_loses_no_accepted_event(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.otherwise(Reply::status(200).delayed(Duration::from_millis(20)));
    let (public_id, key) = provision_app(&database.url);
    facehook(
        &[
            "endpoints",
            "add",
            &public_id,
            &receiver.url("/crash"),
            "--timeout-secs",
            "1",
        ],
        &database.url,
        "",
    );

    let port = free_port();
    let mut server = serve(&database.url, port).await;
    let mut accepted = HashSet::new();
    let mut sends = tokio::task::JoinSet::new();
    // Counted as they are accepted: the kill waits for a load in flight both ways, however
    // the machine splits its time between intake and delivery.
    let accepted_so_far = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for n in 0..400 {
        let (key, counter) = (key.clone(), accepted_so_far.clone());
        sends.spawn(async move {
            let sent = post_enroll(port, &key, &format!("face-{n}")).await;
            if sent.is_some() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            sent
        });
        if n == 200 {
            receiver.wait_for(20, Duration::from_secs(10)).await;
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while accepted_so_far.load(std::sync::atomic::Ordering::SeqCst) < 40
                && std::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            server.kill().expect("SIGKILL the server");
            let _ = server.wait();
        }
    }
    while let Some(sent) = sends.join_next().await {
        if let Some(event_id) = sent.unwrap() {
            accepted.insert(event_id);
        }
    }
    assert!(
        accepted.len() >= 40,
        "only {} accepted before the kill",
        accepted.len()
    );

    let mut restarted = serve(&database.url, free_port()).await;
    // Deliveries in flight at the kill come back when their lease (1 s timeout + margin) ends.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let delivered: HashSet<String> = receiver
            .received()
            .iter()
            .map(|r| r.header("webhook-id").to_owned())
            .collect();
        let missing = accepted.difference(&delivered).count();
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} of {} accepted events never arrived",
            accepted.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    restarted.kill().ok();
    let _ = restarted.wait();
}

async fn sigterm_lets_an_attempt_in_flight_finish(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.otherwise(Reply::status(200).delayed(Duration::from_millis(1500)));
    let key = provision(&database.url, &receiver.url("/slow"), "5");
    let port = free_port();
    let mut server = serve(&database.url, port).await;
    let event_id = post_enroll(port, &key, "face-term")
        .await
        .expect("accepted");
    receiver.wait_for(1, Duration::from_secs(10)).await;

    let signalled = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("run kill");
    assert!(signalled.success());
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(12),
            "still running after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");

    let store = database.store().await;
    let deliveries = store
        .deliveries_of_event(&event_id.as_str().into())
        .await
        .unwrap();
    assert_eq!(deliveries[0].status, "delivered", "{deliveries:?}");
    assert_eq!(receiver.received().len(), 1);
}

async fn roles_split_between_serve_and_dispatch(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let receiver = Receiver::start("127.0.0.1:0").await;
    let key = provision(&database.url, &receiver.url("/split"), "2");
    let port = free_port();
    let mut server = serve_with(&database.url, port, &[("FACEHOOK_NO_DISPATCH", "true")]).await;
    let event_id = post_enroll(port, &key, "face-split")
        .await
        .expect("accepted");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.count(), 0, "serve --no-dispatch sends nothing");

    let mut worker = facehook_command(&["dispatch"], &database.url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start facehook dispatch");
    let received = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(received[0].header("webhook-id"), event_id);
    for child in [&mut worker, &mut server] {
        child.kill().ok();
        let _ = child.wait();
    }
}

async fn retention_purges_old_events_with_their_history(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.no_dispatch = true;
    })
    .await;
    let hooked = hooked(app).await;
    hooked.add_endpoint("http://127.0.0.1:9/never", &[]).await;
    let old = hooked.enroll("face-old").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cutoff = facehook::server::clock::now_ms();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let recent = hooked.enroll("face-recent").await;
    assert_eq!(hooked.deliveries(&old).await.len(), 1);

    let mut purged = 0;
    loop {
        let batch = hooked.store.purge_events_before(cutoff, 1).await.unwrap();
        if batch == 0 {
            break;
        }
        purged += batch;
    }
    assert_eq!(purged, 1);
    assert!(
        hooked.deliveries(&old).await.is_empty(),
        "deliveries go with their event"
    );
    assert_eq!(
        hooked.deliveries(&recent).await.len(),
        1,
        "newer events stay"
    );
}

async fn replicas_share_the_queue_without_double_sending(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.otherwise(Reply::status(200).delayed(Duration::from_millis(30)));
    let hooked = unthrottled_app(backend, true).await;
    hooked.add_endpoint(&receiver.url("/replicas"), &[]).await;
    let settings = DispatchConfig {
        retry_schedule: RetrySchedule::parse("0s").unwrap(),
        max_in_flight: 3,
        ..Default::default()
    };
    // The backlog exists before either replica starts, so both find work at once.
    let mut events = Vec::new();
    for n in 0..60 {
        events.push(hooked.enroll(&format!("face-{n}")).await);
    }
    let allow = AllowList::new(vec![parse_allow_entry("127.0.0.0/8").unwrap()]);
    let mut replicas = Vec::new();
    for _ in 0..2 {
        // Each replica has its own connection pool, as separate processes would.
        let store = Store::connect(&hooked.app.database.url).await.unwrap();
        replicas.push(Dispatcher::start(store, &settings, allow.clone()).unwrap());
    }

    let received = receiver.wait_for(60, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for request in receiver.received() {
        *seen
            .entry(request.header("webhook-id").to_owned())
            .or_default() += 1;
    }
    assert_eq!(received.len(), 60);
    assert!(
        seen.values().all(|&n| n == 1),
        "a delivery was sent twice: {seen:?}"
    );
    assert_eq!(seen.len(), events.len());
    assert!(
        receiver.peak_in_flight() > 3,
        "one replica allows 3 in flight; a peak of {} means only one replica worked",
        receiver.peak_in_flight()
    );
    // Idle replicas hear of new events through NOTIFY, long before their 5-second poll.
    for n in 1..=3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        hooked.enroll(&format!("face-late-{n}")).await;
        receiver.wait_for(60 + n, Duration::from_millis(1500)).await;
    }
    for replica in replicas {
        replica.shutdown().await;
    }
}

on_both_backends!(
    a_killed_server_loses_no_accepted_event,
    sigterm_lets_an_attempt_in_flight_finish,
    roles_split_between_serve_and_dispatch,
    retention_purges_old_events_with_their_history,
);

mod replicas {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::replicas_share_the_queue_without_double_sending(crate::common::Backend::Postgres)
            .await
    }
}
