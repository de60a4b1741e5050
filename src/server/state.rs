//! The shared state handed to every request: cheap to clone, built once by `startup`.

use crate::server::admin::Admin;
use crate::server::alerts::Alerts;
use crate::server::apps::Apps;
use crate::server::assets::SiteAssets;
use crate::server::auth::Auth;
use crate::server::config::ServeConfig;
use crate::server::deliveries::Deliveries;
use crate::server::dispatch::TestSender;
use crate::server::ingest::{Ingest, RateLimiter};
use crate::server::orgs::Orgs;
use crate::server::store::Store;
use crate::server::system::System;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub assets: SiteAssets,
    pub store: Store,
    pub auth: Auth,
    pub apps: Apps,
    pub orgs: Orgs,
    pub alerts: Alerts,
    pub admin: Admin,
    pub ingest: Ingest,
    pub deliveries: Deliveries,
    pub system: System,
    pub tester: TestSender,
    pub rate_limiter: Arc<RateLimiter>,
    pub config: Arc<ServeConfig>,
    /// Turns true when the server starts shutting down, so endless responses (the live
    /// feed) end and graceful shutdown does not wait on them forever.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
