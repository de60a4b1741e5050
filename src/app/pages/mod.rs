//! One module per console page.

mod account;
mod admin;
mod alerts;
mod app_frame;
mod app_overview;
mod apps;
mod auth_forms;
mod deliveries;
mod endpoint_health;
mod events;
mod facial_ids;
mod home;
mod not_found;
mod org;
mod recovery;
mod test_event;
mod webhooks;

pub use account::{AccountPage, TwoFactorPage};
pub use admin::AdminPage;
pub use alerts::AlertsPage;
pub use app_frame::AppFrame;
pub use app_overview::AppOverview;
pub use apps::AppsPage;
pub use auth_forms::{LoginPage, SignInCodePage, SignupPage};
pub use deliveries::{DeliveriesTab, DeliveryDetailPage};
pub use events::EventCatalogTab;
pub use facial_ids::FacialIdsTab;
pub use home::HomePage;
pub use not_found::NotFound;
pub use org::{AuditPage, InvitePage, OrgPage};
pub use recovery::{ForgotPasswordPage, ResetPasswordPage, VerifyEmailPage};
pub use webhooks::{EndpointPage, WebhooksTab};
