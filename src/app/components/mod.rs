//! Reusable pieces of the console's forms.

mod confirm;
mod form;
mod role_note;

pub use confirm::Confirm;
pub use form::{field_error, form_error, sent_from, CopyButton, Field, FormAlert, SubmitButton};
pub use role_note::RoleNote;
