//! The facial-ID registry as the console shows it.

use super::app::EventKind;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacialIdSummary {
    pub facial_id: String,
    pub enrolled_at_ms: i64,
    pub last_auth_at_ms: Option<i64>,
    pub gender: Option<String>,
    pub age: Option<i64>,
    /// The linked payload, pretty-printed JSON, if any.
    pub payload: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacialIdPage {
    pub items: Vec<FacialIdSummary>,
    pub page: u32,
    pub has_more: bool,
    /// Events per kind over the last 24 hours, every kind listed.
    pub counts_24h: Vec<(EventKind, i64)>,
}

pub const FACIAL_IDS_PER_PAGE: u32 = 20;
