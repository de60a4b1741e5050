//! What the operator's `/admin` page shows.

use crate::model::ids::{AccountId, AppId, OrgId};

use super::app::Plan;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminAccount {
    pub id: AccountId,
    pub email: String,
    pub is_operator: bool,
    pub disabled: bool,
    pub app_count: i64,
    pub email_verified: bool,
    pub two_factor: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminApp {
    pub public_id: AppId,
    pub name: String,
    /// The owning organization's name.
    pub organization: String,
    pub plan: Plan,
    pub endpoint_count: i64,
}

/// An organization with its members ("email (role)") and applications ("name (id)").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOrg {
    pub id: OrgId,
    pub name: String,
    pub members: String,
    pub apps: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOverview {
    pub accounts: Vec<AdminAccount>,
    pub orgs: Vec<AdminOrg>,
    pub apps: Vec<AdminApp>,
}

/// The delivery system as a whole: the operator's view of the queue and the replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemView {
    pub pending: i64,
    /// Waiting behind an earlier delivery of the same facial ID (ordered endpoints).
    pub held: i64,
    pub retrying: i64,
    pub delivering: i64,
    pub failed: i64,
    /// Delivered by every live replica over the last minute.
    pub delivered_last_minute: i64,
    pub oldest_pending_age_ms: Option<i64>,
    pub replicas: Vec<ReplicaView>,
}

impl SystemView {
    pub fn deliveries_per_second(&self) -> f64 {
        self.delivered_last_minute as f64 / 60.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaView {
    pub replica_id: String,
    pub host: String,
    pub started_at_ms: i64,
    pub last_seen_at_ms: i64,
    pub delivered_last_minute: i64,
    /// Seen within the last few heartbeats.
    pub live: bool,
}
