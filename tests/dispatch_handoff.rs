//! Fresh deliveries handed straight from intake to the dispatcher in the same process, leased
//! in the event's own transaction, and left to the dispatcher's claims when it has no room.

mod common;

use common::dispatch::{dispatching_app, dispatching_app_with, loopback_dispatch, Hooked};
use common::receiver::{Receiver, Reply};
use common::Backend;
use std::collections::HashSet;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(15);

async fn metric(hooked: &Hooked, series: &str) -> f64 {
    let text = hooked
        .app
        .client
        .get(hooked.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    common::dispatch::metric(&text, series)
}

/// An idle dispatcher takes every fresh delivery from intake: none waits for a claim.
async fn fresh_deliveries_start_without_a_claim(backend: Backend) {
    let (first, second) = (
        Receiver::start("127.0.0.1:0").await,
        Receiver::start("127.0.0.1:0").await,
    );
    let hooked = dispatching_app(backend, "0s").await;
    hooked.add_endpoint(&first.url("/one"), &[]).await;
    hooked.add_endpoint(&second.url("/two"), &[]).await;
    let mut events = Vec::new();
    for n in 0..5 {
        let event = hooked.enroll(&format!("face-handed-{n}")).await;
        hooked.wait_for_status(&event, "delivered", WITHIN).await;
        events.push(event);
    }
    assert_eq!(first.received().len(), 5);
    assert_eq!(second.received().len(), 5);
    for event in &events {
        for delivery in hooked.deliveries(event).await {
            assert_eq!(hooked.attempts(&delivery.id).await.len(), 1, "sent once");
        }
    }
    assert_eq!(
        metric(&hooked, "facehook_deliveries_handed_over_total").await,
        10.0
    );
    assert_eq!(
        metric(&hooked, "facehook_deliveries_claimed_total").await,
        0.0
    );
}

/// A dispatcher holding its on-the-wire cap takes nothing from intake: those deliveries are
/// written waiting and claimed in turn, and every one is sent exactly once.
async fn a_busy_dispatcher_leaves_fresh_deliveries_to_its_claims(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.otherwise(Reply::status(200).delayed(Duration::from_millis(300)));
    let hooked = dispatching_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.dispatch.max_in_flight = 1;
    })
    .await;
    hooked.add_endpoint(&receiver.url("/busy"), &[]).await;
    let mut events = Vec::new();
    for n in 0..4 {
        events.push(hooked.enroll(&format!("face-busy-{n}")).await);
    }
    for event in &events {
        hooked.wait_for_status(event, "delivered", WITHIN).await;
    }
    let ids: HashSet<String> = receiver
        .received()
        .iter()
        .map(|r| r.header("webhook-id").to_owned())
        .collect();
    assert_eq!((receiver.received().len(), ids.len()), (4, 4));
    let handed = metric(&hooked, "facehook_deliveries_handed_over_total").await;
    let claimed = metric(&hooked, "facehook_deliveries_claimed_total").await;
    // The first finds the dispatcher idle; the rest arrive while it is on the wire (unless
    // a slow machine spaces them past its 300 ms).
    assert!(
        handed >= 1.0 && claimed >= 1.0,
        "{handed} handed, {claimed} claimed"
    );
    assert_eq!(handed + claimed, 4.0, "each delivery taken once");
}

/// An endpoint with its cap of attempts on the wire takes nothing more from intake: its fresh
/// deliveries are written back unleased, in the event's transaction, and claimed in turn,
/// while another endpoint's go straight out.
async fn a_busy_endpoint_leaves_its_fresh_deliveries_to_claims(backend: Backend) {
    let (slow, fast) = (
        Receiver::start("127.0.0.1:0").await,
        Receiver::start("127.0.0.1:0").await,
    );
    slow.otherwise(Reply::status(200).delayed(Duration::from_millis(300)));
    let hooked = dispatching_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.dispatch.max_in_flight_per_endpoint = 1;
    })
    .await;
    hooked.add_endpoint(&slow.url("/slow"), &[]).await;
    hooked.add_endpoint(&fast.url("/fast"), &[]).await;
    let mut events = Vec::new();
    for n in 0..3 {
        events.push(hooked.enroll(&format!("face-lane-{n}")).await);
    }
    for event in &events {
        hooked.wait_for_status(event, "delivered", WITHIN).await;
    }
    assert_eq!((slow.received().len(), fast.received().len()), (3, 3));
    let handed = metric(&hooked, "facehook_deliveries_handed_over_total").await;
    let claimed = metric(&hooked, "facehook_deliveries_claimed_total").await;
    assert!(
        handed >= 2.0 && claimed >= 1.0,
        "{handed} handed, {claimed} claimed"
    );
    assert_eq!(handed + claimed, 6.0, "each delivery taken once");
}

on_both_backends!(
    fresh_deliveries_start_without_a_claim,
    a_busy_dispatcher_leaves_fresh_deliveries_to_its_claims,
    a_busy_endpoint_leaves_its_fresh_deliveries_to_claims,
);
