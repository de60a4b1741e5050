//! The operational webhook's sender: each organization's alerts POSTed to its one URL, signed
//! with Standard Webhooks under the organization's own secret, over the dispatcher's
//! transport (the same SSRF rules, TLS and HTTP versions) and on its retry schedule. Its
//! failures are retried and logged; they never raise an alert, so it cannot alert about
//! itself.

use crate::server::clock::now_ms;
use crate::server::dispatch::{
    signature_header, AnyKey, Message, RetrySchedule, SigningKey, Transport,
};
use crate::server::store::{OpsDelivery, OpsOutcome, Store};
use std::time::Duration;

const BATCH: i64 = 16;
const TIMEOUT: Duration = Duration::from_secs(10);
/// Outlasts a batch sent one after another, so no other replica takes a message mid-send.
const LEASE_MS: i64 = (BATCH * 10 + 30) * 1000;
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Sends what the outbox holds for as long as it runs (aborted at shutdown).
pub async fn run_sender(store: Store, transport: Transport, schedule: RetrySchedule) {
    loop {
        let sent = match store.lease_ops_deliveries(BATCH, LEASE_MS).await {
            Ok(batch) => {
                let count = batch.len();
                for delivery in batch {
                    send(&store, &transport, &schedule, delivery).await;
                }
                count
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the operational webhook outbox");
                0
            }
        };
        if sent == 0 {
            tokio::time::sleep(IDLE_POLL).await;
        }
    }
}

async fn send(
    store: &Store,
    transport: &Transport,
    schedule: &RetrySchedule,
    delivery: OpsDelivery,
) {
    let attempts_made = usize::try_from(delivery.attempts).unwrap_or(0) + 1;
    let Some(key) = delivery
        .secret
        .as_deref()
        .and_then(|secret| SigningKey::from_secret(secret).ok())
    else {
        tracing::error!(alert_id = %delivery.id, "the operational webhook has no usable secret");
        record(
            store,
            &delivery,
            OpsOutcome::Failed,
            None,
            Some("no signing secret"),
        )
        .await;
        return;
    };
    let timestamp = now_ms().div_euclid(1000);
    let body = delivery.body.clone().into_bytes();
    let signature = signature_header(&[AnyKey::Hmac(key)], delivery.id.as_str(), timestamp, &body);
    let message = Message {
        headers: vec![
            ("content-type".into(), "application/json".to_owned()),
            ("webhook-id".into(), delivery.id.to_string()),
            ("webhook-timestamp".into(), timestamp.to_string()),
            ("webhook-signature".into(), signature),
        ],
        body,
    };
    let report = transport.send(&delivery.url, message, TIMEOUT).await;
    let (status, error) = match &report.result {
        Ok(response) if (200..300).contains(&response.status) => {
            record(
                store,
                &delivery,
                OpsOutcome::Delivered,
                Some(response.status),
                None,
            )
            .await;
            return;
        }
        Ok(response) => (
            Some(response.status),
            format!("the webhook answered {}", response.status),
        ),
        Err(failure) => (None, failure.message.clone()),
    };
    let jitter = rand::random::<f64>() * 2.0 - 1.0;
    let outcome = match schedule.next_delay(attempts_made, None, jitter) {
        Some(delay) => OpsOutcome::RetryAt(
            now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2)),
        ),
        None => OpsOutcome::Failed,
    };
    tracing::warn!(alert_id = %delivery.id, %error, ?outcome, "operational webhook not delivered");
    record(store, &delivery, outcome, status, Some(&error)).await;
}

async fn record(
    store: &Store,
    delivery: &OpsDelivery,
    outcome: OpsOutcome,
    status: Option<u16>,
    error: Option<&str>,
) {
    if let Err(err) = store
        .record_ops_attempt(delivery, &outcome, status.map(i64::from), error)
        .await
    {
        // The lease runs out and the message is sent again: at least once, never lost.
        tracing::warn!(alert_id = %delivery.id, error = %err, "cannot record an operational webhook attempt");
    }
}
