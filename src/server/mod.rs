//! Server-only modules: configuration, storage, authentication.
//! Never imports `app` (UI) or `api` (the boundary); `startup` wires these to them.

pub mod admin;
pub mod alerts;
pub mod apps;
pub mod assets;
pub mod auth;
pub mod clock;
pub mod config;
pub mod deliveries;
pub mod dispatch;
pub mod error;
pub mod ingest;
pub mod listener;
pub mod mail;
pub mod operations;
pub mod orgs;
pub mod secrets;
pub mod state;
pub mod store;
pub mod system;
pub mod targets;
