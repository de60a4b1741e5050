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

    /// The values the user sent as the list `name` (`name[0]`, `name[3]`, …), if this is their form.
    pub fn list(&self, form: Option<&str>, name: &str) -> Vec<&str> {
        if !self.is_form(form) {
            return Vec::new();
        }
        self.fields
            .iter()
            .filter(|(field, _)| {
                field
                    .strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('['))
                    .is_some_and(|rest| rest.ends_with(']'))
            })
            .map(|(_, value)| value.as_str())
            .collect()
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

    #[test]
    fn a_list_is_every_indexed_field_of_its_name() {
        let retained = RetainedForm {
            fields: vec![
                ("events[1]".into(), "auth".into()),
                ("events_mode".into(), "selected".into()),
                ("events[4]".into(), "pincode_update".into()),
                ("eventsx[0]".into(), "enroll".into()),
            ],
            ..RetainedForm::default()
        };
        assert_eq!(retained.list(None, "events"), ["auth", "pincode_update"]);
        assert!(retained.list(Some("new"), "events").is_empty());
    }
}
