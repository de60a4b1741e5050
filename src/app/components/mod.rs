//! Reusable pieces of the console's forms.

mod confirm;
mod form;

pub use confirm::Confirm;
pub use form::{field_error, form_error, sent_from, CopyButton, Field, FormAlert, SubmitButton};
