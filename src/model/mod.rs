//! Types shared by the UI and the server: what crosses the server-function boundary.
//! Nothing here may depend on the database, the HTTP stack or the browser (the typed IDs only
//! derive how sqlx stores them, on the server).

pub mod account;
pub mod admin;
pub mod alert;
pub mod app;
pub mod catalog;
pub mod controls;
pub mod delivery;
pub mod error;
pub mod form;
pub mod ids;
pub mod org;
pub mod outcome;
pub mod registry;
pub mod security;
pub mod theme;
pub mod time;
pub mod token;

pub use account::{requires_sign_in, CurrentUser, EmailAddress, NewPassword};
pub use error::AppError;
pub use ids::{AccountId, AppId, DeliveryId, EndpointId, EventId, OrgId};

/// A list's page number from a form or URL (`page`); absent means the first page.
pub fn parse_page(raw: Option<&str>) -> Result<u32, AppError> {
    match raw.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(0),
        Some(page) => page.parse().map_err(|_| {
            AppError::invalid(
                "page",
                format!("Expected a page number (0, 1, 2, …), got {page:?}."),
            )
        }),
    }
}
