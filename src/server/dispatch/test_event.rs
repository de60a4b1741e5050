//! "Send test event" from the console: one signed `test` event to one endpoint, sent now and
//! answered inline, recorded like any delivery but never retried and never held against the
//! endpoint's health.

use crate::model::ids::{AppId, DeliveryId, EndpointId};

use super::attempt::{AttemptPolicy, Attempts};
use super::{Transport, LEASE_MARGIN_MS};
use crate::server::store::{NextStep, Store, StoreError};
use std::sync::Arc;

/// What the test attempt saw, for the console.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub delivery_id: DeliveryId,
    pub delivered: bool,
    pub status_code: Option<i64>,
    pub duration_ms: i64,
    pub http_version: Option<String>,
    pub response_excerpt: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
}

#[derive(Clone)]
pub struct TestSender {
    store: Store,
    attempts: Arc<Attempts>,
}

impl TestSender {
    /// Sends over `transport`, normally the dispatcher's, so both share one connection pool.
    pub fn new(store: Store, transport: Transport) -> Self {
        TestSender {
            store,
            attempts: Arc::new(Attempts {
                transport,
                policy: AttemptPolicy::Once,
            }),
        }
    }

    /// Sends a test event, as `sent_as` (an event kind's name or `test`), to `endpoint_id` of
    /// `app_id` (already checked to be the caller's); `None` when there is no such endpoint.
    pub async fn send(
        &self,
        app_id: &AppId,
        endpoint_id: &EndpointId,
        client_ip: &str,
        sent_as: &str,
    ) -> Result<Option<TestOutcome>, StoreError> {
        let Some(delivery) = self
            .store
            .create_test_delivery(app_id, endpoint_id, client_ip, sent_as, LEASE_MARGIN_MS)
            .await?
        else {
            return Ok(None);
        };
        let outcome = self.attempts.make(delivery).await;
        self.store
            .record_attempts(std::slice::from_ref(&outcome))
            .await?;
        let a = outcome.attempt;
        Ok(Some(TestOutcome {
            delivery_id: outcome.delivery_id,
            delivered: outcome.next == NextStep::Delivered,
            status_code: a.status_code,
            duration_ms: a.duration_ms,
            http_version: a.http_version,
            response_excerpt: a.response_excerpt,
            error_class: a.error_class,
            error_message: a.error_message,
        }))
    }
}
