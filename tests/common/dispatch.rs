//! A served application with the dispatcher on, an owner, an API key and helpers to add
//! endpoints and send events — the arrangement every delivery test starts from.

use super::console::{create_app, json, owner, save_endpoint};
use super::{spawn_app_with, Backend, TestApp};
use facehook::model::ids::DeliveryId;
use facehook::server::config::ServeConfig;
use facehook::server::dispatch::RetrySchedule;
use facehook::server::store::{
    AttemptLogRecord, AttemptOutcome, AttemptRecord, ClaimLimits, ClaimedDelivery, DeliveryListing,
    EndpointVerdict, NextStep, Store,
};
use facehook::server::targets::parse_allow_entry;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The lease margin of `CLAIM_LIMITS`.
pub const CLAIM_MARGIN_MS: i64 = 10_000;
/// Up to 10 per claim, 4 held per endpoint, 2 of them on the wire at once.
pub const CLAIM_LIMITS: ClaimLimits = ClaimLimits {
    limit: 10,
    held_per_endpoint: 4,
    on_wire_per_endpoint: 2,
    lease_margin_ms: CLAIM_MARGIN_MS,
};

pub struct Hooked {
    pub app: TestApp,
    pub owner: reqwest::Client,
    pub public_id: String,
    pub key: String,
    pub store: Store,
}

pub struct EndpointCreated {
    pub id: String,
    pub secret: String,
}

/// Lets the dispatcher reach loopback receivers and retry on `schedule`.
pub fn loopback_dispatch(config: &mut ServeConfig, schedule: &str) {
    config.no_dispatch = false;
    config.targets.allow_targets = vec![
        parse_allow_entry("127.0.0.0/8").unwrap(),
        parse_allow_entry("::1").unwrap(),
    ];
    config.dispatch.retry_schedule = RetrySchedule::parse(schedule).unwrap();
}

pub async fn dispatching_app(backend: Backend, schedule: &str) -> Hooked {
    dispatching_app_with(backend, |config| loopback_dispatch(config, schedule)).await
}

pub async fn dispatching_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut ServeConfig),
) -> Hooked {
    let app = spawn_app_with(backend, configure).await;
    hooked(app).await
}

/// An app that delivers to loopback on the `0s` schedule, with its API rate limit lifted so
/// load generators are never refused; with `queue_only` it only queues events, for a
/// dispatcher the caller starts itself.
pub async fn unthrottled_app(backend: Backend, queue_only: bool) -> Hooked {
    dispatching_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.no_dispatch = queue_only;
        config.api_rate_per_second = 1_000_000;
        config.api_burst = 1_000_000;
    })
    .await
}

/// An owner, an application and its API key on a running app.
pub async fn hooked(app: TestApp) -> Hooked {
    let owner = owner(&app, "owner@example.com").await;
    let public_id = create_app(&app, &owner, "Delivery").await;
    let key = json(
        app.call_with(&owner, "take_issued_api_key", &[("public_id", &public_id)])
            .await,
    )
    .await
    .as_str()
    .expect("a fresh application shows its API key once")
    .to_owned();
    let store = app.database.store().await;
    Hooked {
        app,
        owner,
        public_id,
        key,
        store,
    }
}

impl Hooked {
    /// Saves an enabled endpoint at `url` (plus any extra form fields) and returns its id
    /// and signing secret.
    pub async fn add_endpoint(&self, url: &str, extra: &[(&str, &str)]) -> EndpointCreated {
        let mut form = vec![("url", url)];
        form.extend_from_slice(extra);
        let saved = json(save_endpoint(&self.app, &self.owner, &self.public_id, &form).await).await;
        let id = saved["id"]
            .as_str()
            .unwrap_or_else(|| panic!("endpoint saved: {saved}"))
            .to_owned();
        let secrets = json(
            self.app
                .call_with(
                    &self.owner,
                    "reveal_signing_secrets",
                    &[("public_id", &self.public_id), ("endpoint_id", &id)],
                )
                .await,
        )
        .await;
        EndpointCreated {
            id,
            secret: secrets["current"].as_str().unwrap().to_owned(),
        }
    }

    /// The endpoints as the WEBHOOKS tab lists them.
    pub async fn endpoints(&self) -> Value {
        json(
            self.app
                .call_with(
                    &self.owner,
                    "list_endpoints",
                    &[("public_id", &self.public_id)],
                )
                .await,
        )
        .await
    }

    /// "Send test event" on `endpoint_id` of this application, as `client`.
    pub async fn send_test_event(
        &self,
        client: &reqwest::Client,
        endpoint_id: &str,
    ) -> reqwest::Response {
        self.app
            .call_with(
                client,
                "send_test_event",
                &[("public_id", &self.public_id), ("endpoint_id", endpoint_id)],
            )
            .await
    }

    pub async fn webhook_token(&self) -> String {
        let token = json(
            self.app
                .call_with(
                    &self.owner,
                    "reveal_webhook_token",
                    &[("public_id", &self.public_id)],
                )
                .await,
        )
        .await;
        token.as_str().unwrap().to_owned()
    }

    /// POSTs an event and returns its id; fails the test unless it was accepted.
    pub async fn send_event(&self, body: Value) -> String {
        let response = self
            .app
            .client
            .post(self.app.url("/api/v1/events"))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let reply: Value = response.json().await.unwrap();
        assert_eq!(status, 202, "{reply}");
        reply["eventId"].as_str().unwrap().to_owned()
    }

    pub async fn enroll(&self, facial_id: &str) -> String {
        self.send_event(json!({
            "eventName": "enroll", "facialId": facial_id, "clientIp": "203.0.113.9",
            "details": {"gender": "female", "age": 31}, "payload": {"user": facial_id}
        }))
        .await
    }

    pub async fn set_plan(&self, plan: &str) {
        assert!(self
            .store
            .set_plan(&self.public_id.as_str().into(), plan)
            .await
            .unwrap());
    }

    pub async fn deliveries(&self, event_id: &str) -> Vec<DeliveryListing> {
        self.store
            .deliveries_of_event(&event_id.into())
            .await
            .unwrap()
    }

    pub async fn attempts(&self, delivery_id: &DeliveryId) -> Vec<AttemptLogRecord> {
        self.store.attempts_of_delivery(delivery_id).await.unwrap()
    }

    /// Waits until every delivery of `event_id` has status `status`.
    pub async fn wait_for_status(
        &self,
        event_id: &str,
        status: &str,
        within: Duration,
    ) -> Vec<DeliveryListing> {
        let deadline = Instant::now() + within;
        loop {
            let deliveries = self.deliveries(event_id).await;
            if !deliveries.is_empty() && deliveries.iter().all(|d| d.status == status) {
                return deliveries;
            }
            assert!(
                Instant::now() < deadline,
                "deliveries of {event_id} not all {status} within {within:?}: {deliveries:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// A delivered outcome for `delivery`, reported under `lease_token`, with what a loopback
/// receiver answers (status, version, address, headers, an empty body).
pub fn delivered(delivery: &ClaimedDelivery, lease_token: &str) -> AttemptOutcome {
    AttemptOutcome {
        delivery_id: delivery.delivery_id.clone(),
        lease_token: lease_token.to_owned(),
        endpoint_id: delivery.endpoint_id.clone(),
        attempt: AttemptRecord {
            started_at: facehook::server::clock::now_ms(),
            duration_ms: 1,
            http_version: Some("HTTP/1.1".to_owned()),
            remote_addr: Some("127.0.0.1:9".to_owned()),
            status_code: Some(200),
            response_headers: Some(
                r#"[["content-length","0"],["date","Fri, 27 Nov 2026 12:00:00 GMT"]]"#.to_owned(),
            ),
            response_excerpt: Some(String::new()),
            ..AttemptRecord::default()
        },
        duration: Duration::from_millis(1),
        next: NextStep::Delivered,
        endpoint: EndpointVerdict::Healthy,
        order_key: delivery.order_key.clone(),
        pause_endpoint_until: None,
    }
}

/// The value of the `/metrics` series whose line starts with `series` (name and labels).
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .parse()
        .unwrap()
}
