//! Test events from the console: a `test` event and one delivery to the chosen endpoint,
//! created already leased so the sender attempts it at once and the queue leaves it alone.

use crate::model::ids::{AppId, EndpointId};

use super::queue::leased_one_sql;
use super::ClaimedDelivery;
use super::{new_id, on_db, Store, StoreError};
use crate::server::clock::now_ms;

impl Store {
    /// Records a `test` event for `endpoint_id` of `app_id`, sent as `sent_as` (an event
    /// kind's name, or `test`), and leases its delivery for the endpoint's timeout plus
    /// `lease_margin_ms`; `None` when the endpoint is not the app's.
    pub async fn create_test_delivery(
        &self,
        app_id: &AppId,
        endpoint_id: &EndpointId,
        client_ip: &str,
        sent_as: &str,
        lease_margin_ms: i64,
    ) -> Result<Option<ClaimedDelivery>, StoreError> {
        let now = now_ms();
        let (event_id, token, delivery_id) = (new_id("evt"), new_id("lease"), new_id("del"));
        let details = leased_one_sql();
        let delivery = on_db!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO events \
                 (id, app_id, event_name, facial_id, client_ip, occurred_at, test_kind) \
                 VALUES ($1, $2, 'test', 'test', $3, $4, $5)",
            )
            .bind(&event_id)
            .bind(app_id)
            .bind(client_ip)
            .bind(now)
            .bind((sent_as != "test").then_some(sent_as))
            .execute(&mut *tx)
            .await?;
            let created = sqlx::query(
                "INSERT INTO deliveries (id, event_id, endpoint_id, app_id, status, \
                 next_attempt_at, created_at, lease_token, lease_until) \
                 SELECT $7, $1, e.id, e.app_id, \
                 'delivering', $4, $4, $5, $4 + $6 + 1000 * e.timeout_secs \
                 FROM endpoints e WHERE e.app_id = $2 AND e.id = $3",
            )
            .bind(&event_id)
            .bind(app_id)
            .bind(endpoint_id)
            .bind(now)
            .bind(&token)
            .bind(lease_margin_ms)
            .bind(&delivery_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if created == 0 {
                return Ok(None);
            }
            let delivery = sqlx::query_as::<_, ClaimedDelivery>(&details)
                .bind(&token)
                .bind(&delivery_id)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(delivery)
        })?;
        Ok(delivery)
    }
}
