//! The boundary: `#[server]` functions the console calls and the plain HTTP routes.
//! Thin by design: read the request (session, state), call a `server` service, map the outcome.

pub mod admin;
pub mod alerts;
pub mod apps;
pub mod auth;
pub mod catalog;
pub mod controls;
pub mod deliveries;
pub mod orgs;
pub mod recovery;
pub mod registry;
pub mod security;
pub mod theme;
pub mod tokens;

#[cfg(feature = "ssr")]
pub mod assets;
#[cfg(feature = "ssr")]
pub mod audit_export;
#[cfg(feature = "ssr")]
mod context;
#[cfg(feature = "ssr")]
pub mod forms;
#[cfg(feature = "ssr")]
pub mod guard;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod input;
#[cfg(feature = "ssr")]
pub mod rest;
#[cfg(feature = "ssr")]
pub mod status;
