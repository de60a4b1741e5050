//! One module per console page.

mod account;
mod apps;
mod auth_forms;
mod home;
mod not_found;

pub use account::AccountPage;
pub use apps::AppsPage;
pub use auth_forms::{LoginPage, SignupPage};
pub use home::HomePage;
pub use not_found::NotFound;
