//! Reusable pieces of the console's forms.

mod form;

pub use form::{field_error, form_error, sent_from, CopyButton, Field, FormAlert, SubmitButton};
