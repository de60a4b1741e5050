//! Server-only modules: configuration, storage, authentication.
//! Never imports `app` (UI) or `api` (the boundary); `startup` wires these to them.

pub mod auth;
pub mod config;
pub mod error;
pub mod state;
pub mod store;
