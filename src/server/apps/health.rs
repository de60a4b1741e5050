//! Endpoint health for the WEBHOOKS tab: the last day's delivered share, the current run of
//! failures, and turning a disabled endpoint back on.

use crate::model::ids::{AppId, EndpointId};

use super::{found, Apps};
use crate::model::app::EndpointView;
use crate::model::org::{Action, AuditAction};
use crate::model::AppError;
use crate::server::clock::now_ms;
use crate::server::orgs::Member;

const DAY_MS: i64 = 24 * 3_600_000;

impl Apps {
    /// Fills in each endpoint's deliveries of the last 24 hours.
    pub(super) async fn add_recent_health(
        &self,
        app_id: &AppId,
        views: &mut [EndpointView],
    ) -> Result<(), AppError> {
        let counts = self
            .store
            .endpoint_recent_counts(app_id, now_ms() - DAY_MS)
            .await?;
        for view in views.iter_mut() {
            if let Some(count) = counts.iter().find(|c| c.endpoint_id == view.id) {
                view.health.recent_total = count.total;
                view.health.recent_delivered = count.delivered;
                view.health.last_delivery_at_ms = count.last_at;
            }
        }
        Ok(())
    }

    /// Turns a disabled endpoint back on; the deliveries it holds are sent at once.
    pub async fn reenable_endpoint(
        &self,
        member: &Member,
        public_id: &AppId,
        endpoint_id: &EndpointId,
    ) -> Result<(), AppError> {
        let endpoint = self
            .owned_endpoint_state(member, Action::EditEndpoints, public_id, endpoint_id)
            .await?;
        found(
            self.store
                .reenable_endpoint(&endpoint.app_id, &endpoint.endpoint_id)
                .await?,
        )?;
        self.audit
            .record(
                member,
                AuditAction::EndpointEnable,
                ("endpoint", endpoint.endpoint_id.as_str()),
                None,
            )
            .await
    }
}
