//! The application's HTTPS-only switch: with it on, plain `http://` endpoints are refused
//! (and it cannot be turned on while one remains).

use crate::api::controls::SetHttpsOnly;
use crate::app::components::{field_error, form_error, sent_from, FormAlert, SubmitButton};
use crate::app::pages::app_frame::use_public_id;
use crate::model::form::FORM_ID_FIELD;
use crate::model::AppError;
use leptos::prelude::*;

const FORM: &str = "https-only";

#[component]
pub fn HttpsOnlyCard(https_only: bool) -> impl IntoView {
    let public_id = use_public_id();
    let save = ServerAction::<SetHttpsOnly>::new();
    let sent_here = sent_from(FORM);
    let error: Signal<Option<AppError>> = Signal::derive(move || {
        save.value()
            .get()
            .and_then(Result::err)
            .filter(|_| sent_here)
    });
    let switch_error = field_error(error, "https_only");
    view! {
        <section class="card" aria-labelledby="https-only-heading">
            <h2 id="https-only-heading">"Transport security"</h2>
            <FormAlert message=form_error(error)/>
            <ActionForm action=save attr:class="stack">
                <input type="hidden" name="public_id" value=move || public_id.get().to_string()/>
                <input type="hidden" name=FORM_ID_FIELD value=FORM/>
                <div class="check">
                    <input type="checkbox" id="https_only" name="https_only" checked=https_only
                        aria-describedby="https_only-hint"
                        aria-invalid=move || switch_error.get().map(|_| "true")/>
                    <label for="https_only">"HTTPS only"</label>
                </div>
                <p class="hint" id="https_only-hint">"Refuse plain http:// endpoints, so every webhook travels encrypted (TLS 1.2 or 1.3)."</p>
                <p class="field-error" id="https_only-error" role="alert" hidden=move || switch_error.get().is_none()>{move || switch_error.get()}</p>
                <div class="inline-actions">
                    <SubmitButton label="Save" pending_label="Saving…" pending=save.pending()/>
                </div>
            </ActionForm>
        </section>
    }
}
