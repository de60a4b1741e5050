//! Accessible form parts: a visible label for every input, errors tied to their field
//! with `aria-describedby`, and buttons that show when a submission is pending.

use crate::model::form::RetainedForm;
use crate::model::AppError;
use leptos::prelude::*;

/// Whether this page's failed form (if any) was the one with this `form_id`: forms repeated
/// per endpoint post to one action, and a failure belongs only to the one that was sent.
pub fn sent_from(form_id: &str) -> bool {
    use_context::<RetainedForm>().is_none_or(|retained| retained.is_form(Some(form_id)))
}

/// The message for `field`, if the last submission failed on it.
pub fn field_error(error: Signal<Option<AppError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || {
        error
            .get()
            .filter(|e| e.field() == Some(field))
            .map(|e| e.to_string())
    })
}

/// The message of a failure that belongs to no single field.
pub fn form_error(error: Signal<Option<AppError>>) -> Signal<Option<String>> {
    Signal::derive(move || {
        error
            .get()
            .filter(|e| e.field().is_none())
            .map(|e| e.to_string())
    })
}

#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    /// Element id, when one page has several forms with the same field names.
    #[prop(optional, into)]
    id: Option<String>,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(default = true)] required: bool,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional, into)] value: Option<String>,
    /// The form's `form_id`, when several forms on the page post to the same action.
    #[prop(optional, into)]
    form: Option<String>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    // After a failed post the page shows what the user typed, not what was stored.
    let value = use_context::<RetainedForm>()
        .and_then(|retained| retained.value(form.as_deref(), name))
        .or(value);
    let id = id.unwrap_or_else(|| name.to_owned());
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described_by = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if error.get().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=input_type
                autocomplete=autocomplete
                value=value
                required=required
                aria-invalid=move || error.get().map(|_| "true")
                aria-describedby=described_by
            />
            {hint.map(|text| view! { <p class="hint" id=hint_id>{text}</p> })}
            <p class="field-error" id=error_id hidden=move || error.get().is_none()>
                {move || error.get()}
            </p>
        </div>
    }
}

/// A failure that is not about one field (wrong credentials, throttling, server trouble).
#[component]
pub fn FormAlert(message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <p class="form-alert" role="alert">{move || message.get()}</p>
        </Show>
    }
}

#[component]
pub fn SubmitButton(
    label: &'static str,
    pending_label: &'static str,
    pending: Memo<bool>,
    /// `primary` (the card's one main action), `secondary`, or `danger` (destructive, red).
    #[prop(default = "primary")]
    class: &'static str,
) -> impl IntoView {
    view! {
        <button type="submit" class=class disabled=move || pending.get() aria-busy=move || pending.get().to_string()>
            {move || if pending.get() { pending_label } else { label }}
        </button>
    }
}

/// Copies `text` to the clipboard and says so (announced to screen readers), then goes back
/// to "Copy" after a few seconds. An island: hydrated on its own. Without JavaScript the value
/// stays selectable on screen.
#[island]
pub fn CopyButton(#[prop(into)] text: String, #[prop(into)] label: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let _ = window().navigator().clipboard().write_text(&text);
            set_timeout(move || copied.set(false), std::time::Duration::from_secs(3));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
        copied.set(true);
    };
    view! {
        <button type="button" class="secondary" on:click=copy aria-label=label>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
        <span class="visually-hidden" role="status">{move || copied.get().then_some("Copied")}</span>
    }
}
