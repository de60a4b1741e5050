//! The endpoint form: add one (on the WEBHOOKS tab) or change one (on its page). One form
//! for both, so a rule shown here is the one `save_endpoint` applies.

use crate::api::apps::SaveEndpoint;
use crate::app::components::{field_error, form_error, sent_from, Field, FormAlert, SubmitButton};
use crate::app::pages::app_frame::use_public_id;
use crate::model::app::{EndpointView, EventKind, PAYLOAD_PLAN_NOTICE};
use crate::model::form::{RetainedForm, FORM_ID_FIELD};
use crate::model::AppError;
use leptos::prelude::*;

#[component]
pub fn EndpointForm(endpoint: Option<EndpointView>, allows_payload: bool) -> impl IntoView {
    let public_id = use_public_id();
    let save = ServerAction::<SaveEndpoint>::new();
    let is_new = endpoint.is_none();
    let prefix = endpoint
        .as_ref()
        .map(|e| e.id.to_string())
        .unwrap_or_else(|| "new".into());
    // Every endpoint form posts to the same action: a failure belongs to the one that was sent.
    let sent_here = sent_from(&prefix);
    let error: Signal<Option<AppError>> = Signal::derive(move || {
        save.value()
            .get()
            .and_then(Result::err)
            .filter(|_| sent_here)
    });
    let id = {
        let prefix = prefix.clone();
        move |field: &str| format!("{prefix}-{field}")
    };
    // After a failed post of this form, its boxes show what the user chose, not what is stored.
    let typed = use_context::<RetainedForm>().filter(|retained| retained.is_form(Some(&prefix)));
    let chosen = |name: &str| {
        typed
            .as_ref()
            .map(|t| t.value(Some(&prefix), name).is_some())
    };
    let retained_events = typed.as_ref().map(|t| t.list(Some(&prefix), "events"));
    let all_events = match &typed {
        Some(t) => t.value(Some(&prefix), "events_mode").as_deref() != Some("selected"),
        None => endpoint.as_ref().is_none_or(|e| e.events.is_none()),
    };
    let subscribed: Vec<bool> = EventKind::ALL
        .into_iter()
        .map(|kind| match &retained_events {
            Some(sent) => sent.contains(&kind.as_str()),
            None => endpoint.as_ref().is_none_or(|e| e.subscribes_to(kind)),
        })
        .collect();
    let events_error_id = id("events-error");
    let events_described_id = events_error_id.clone();
    let hidden_endpoint_id = endpoint.as_ref().map(|e| e.id.clone());
    let url_value = endpoint.as_ref().map(|e| e.url.clone()).unwrap_or_default();
    let description_value = endpoint
        .as_ref()
        .map(|e| e.description.clone())
        .unwrap_or_default();
    let timeout_value = endpoint
        .as_ref()
        .map(|e| e.timeout_secs)
        .unwrap_or(6)
        .to_string();
    let enabled = chosen("enabled").unwrap_or_else(|| endpoint.as_ref().is_none_or(|e| e.enabled));
    let include_payload = chosen("include_payload")
        .unwrap_or_else(|| endpoint.as_ref().is_some_and(|e| e.include_payload));
    let payload_error_id = id("include_payload-error");
    let payload_hint_id = id("include_payload-hint");
    let payload_described = {
        let (hint, err) = (payload_hint_id.clone(), payload_error_id.clone());
        move || {
            let mut ids = Vec::new();
            if !allows_payload {
                ids.push(hint.clone());
            }
            if field_error(error, "include_payload").get().is_some() {
                ids.push(err.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    let events_error = field_error(error, "events");
    let payload_error = field_error(error, "include_payload");

    view! {
        <FormAlert message=form_error(error)/>
        <ActionForm action=save attr:class="stack endpoint-form" attr:novalidate=true>
            <input type="hidden" name="public_id" value=move || public_id.get().to_string()/>
            <input type="hidden" name=FORM_ID_FIELD value=prefix.clone()/>
            {hidden_endpoint_id.map(|value| view! { <input type="hidden" name="endpoint_id" value=value.to_string()/> })}
            <Field label="Endpoint URL" name="url" id=id("url") input_type="url"
                value=url_value form=prefix.clone()
                hint="http or https, e.g. https://example.com/webhooks/faceio"
                error=field_error(error, "url")/>
            <Field label="Description" name="description" id=id("description") required=false
                value=description_value form=prefix.clone()
                error=field_error(error, "description")/>
            <div class="check">
                <input type="checkbox" id=id("enabled") name="enabled" checked=enabled/>
                <label for=id("enabled")>"Enabled"</label>
            </div>
            <fieldset class="events" aria-describedby=move || events_error.get().map(|_| events_described_id.clone())>
                <legend>"Events"</legend>
                <div class="check">
                    <input type="radio" id=id("events-all") name="events_mode" value="all" checked=all_events/>
                    <label for=id("events-all")>"All events"</label>
                </div>
                <div class="check">
                    <input type="radio" id=id("events-selected") name="events_mode" value="selected" checked=!all_events/>
                    <label for=id("events-selected")>"Only these:"</label>
                </div>
                // Shown only while "Only these" is chosen (CSS `:has`, so also without JavaScript).
                <div class="event-kinds">
                    {EventKind::ALL
                        .into_iter()
                        .zip(subscribed)
                        .enumerate()
                        .map(|(index, (kind, checked))| {
                            let box_id = id(&format!("event-{}", kind.as_str()));
                            view! {
                                <div class="check">
                                    <input type="checkbox" id=box_id.clone() name=format!("events[{index}]")
                                        value=kind.as_str() checked=checked/>
                                    <label for=box_id>{kind.label()}</label>
                                </div>
                            }
                        })
                        .collect_view()}
                </div>
                <p class="field-error" id=events_error_id hidden=move || events_error.get().is_none()>{move || events_error.get()}</p>
            </fieldset>
            <div class="check">
                <input type="checkbox" id=id("include_payload") name="include_payload"
                    checked=include_payload disabled=!allows_payload
                    aria-describedby=payload_described
                    aria-invalid=move || payload_error.get().map(|_| "true")/>
                <label for=id("include_payload")>"Include each user's linked payload"</label>
            </div>
            {(!allows_payload).then(|| view! { <p class="hint" id=payload_hint_id>{PAYLOAD_PLAN_NOTICE}</p> })}
            <p class="field-error" id=payload_error_id hidden=move || payload_error.get().is_none()>{move || payload_error.get()}</p>
            <Field label="Timeout (seconds)" name="timeout_secs" id=id("timeout_secs") input_type="number"
                value=timeout_value form=prefix.clone()
                hint="1 to 30 seconds; the default is 6."
                error=field_error(error, "timeout_secs")/>
            <div class="inline-actions">
                <SubmitButton label=if is_new { "Add endpoint" } else { "Save endpoint" } pending_label="Saving…" pending=save.pending()/>
            </div>
        </ActionForm>
    }
}
