//! A plain form post that failed: what the user typed comes back with the error, so the page
//! they return to shows both (Post/Redirect/Get without losing input).

use serde::{Deserialize, Serialize};

/// The hidden field naming which of several forms with the same action was sent (the endpoint
/// forms on the WEBHOOKS tab); forms that are alone on their page need none.
pub const FORM_ID_FIELD: &str = "form_id";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetainedForm {
    /// The server function's path (`/api/save_endpoint`).
    pub action: String,
    /// The error, encoded as the framework encodes it for a URL.
    pub error: String,
    /// The form's `form_id`, when it has one.
    pub form: Option<String>,
    /// Every field sent but secrets (passwords, tokens), in order.
    pub fields: Vec<(String, String)>,
}

impl RetainedForm {
    /// Whether this is the form identified by `form` (forms without an id match each other).
    pub fn is_form(&self, form: Option<&str>) -> bool {
        self.form.as_deref() == form
    }

    /// What the user typed into `name`, if this is their form.
    pub fn value(&self, form: Option<&str>, name: &str) -> Option<String> {
        if !self.is_form(form) {
            return None;
        }
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_only_to_their_form() {
        let retained = RetainedForm {
            form: Some("new".into()),
            fields: vec![("url".into(), "ftp://x".into())],
            ..RetainedForm::default()
        };
        assert_eq!(
            retained.value(Some("new"), "url").as_deref(),
            Some("ftp://x")
        );
        assert_eq!(retained.value(Some("ep_1"), "url"), None);
        assert_eq!(retained.value(None, "url"), None);
        assert_eq!(retained.value(Some("new"), "description"), None);
    }
}
