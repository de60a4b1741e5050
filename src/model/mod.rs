//! Types shared by the UI and the server: what crosses the server-function boundary.
//! Nothing here may depend on the database, the HTTP stack or the browser.

pub mod account;
pub mod admin;
pub mod app;
pub mod delivery;
pub mod error;
pub mod registry;
pub mod time;

pub use account::{requires_sign_in, CurrentUser, EmailAddress, NewPassword};
pub use error::AppError;
