//! What the operator's `/admin` page shows.

use super::app::Plan;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminAccount {
    pub id: String,
    pub email: String,
    pub is_operator: bool,
    pub disabled: bool,
    pub app_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminApp {
    pub public_id: String,
    pub name: String,
    pub owner_email: String,
    pub plan: Plan,
    pub endpoint_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOverview {
    pub accounts: Vec<AdminAccount>,
    pub apps: Vec<AdminApp>,
}
