//! An endpoint's delivery settings: order per facial ID, the signature scheme and its public
//! key, custom headers, the retry schedule and a rate limit, in one form with one action. The
//! same rules as the REST API and the CLI apply (`save_delivery_controls`).

use crate::api::controls::SaveDeliveryControls;
use crate::app::components::{
    field_error, form_error, sent_from, CopyButton, Field, FormAlert, SubmitButton,
};
use crate::app::pages::app_frame::use_public_id;
use crate::model::app::EndpointView;
use crate::model::controls::{CustomHeader, SignatureScheme, MAX_CUSTOM_HEADERS, RETRY_PRESETS};
use crate::model::form::FORM_ID_FIELD;
use crate::model::AppError;
use leptos::prelude::*;

/// Empty rows offered below the saved headers, so one can be added without JavaScript.
const BLANK_HEADER_ROWS: usize = 2;

#[component]
pub fn DeliveryControlsCard(endpoint: EndpointView) -> impl IntoView {
    let public_id = use_public_id();
    let save = ServerAction::<SaveDeliveryControls>::new();
    let prefix = format!("controls-{}", endpoint.id);
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
    let controls = endpoint.controls.clone();
    let preset = controls.retry_preset();
    let retry_choice = match (&controls.retry_schedule, preset) {
        (None, _) => "default",
        (Some(_), Some(name)) => name,
        (Some(_), None) => "custom",
    };
    let custom_value = match retry_choice {
        "custom" => controls.retry_schedule.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let rate_value = controls
        .rate_per_sec
        .map(|r| r.to_string())
        .unwrap_or_default();
    let rows_shown = (controls.custom_headers.len() + BLANK_HEADER_ROWS).min(MAX_CUSTOM_HEADERS);
    let mut rows: Vec<Option<CustomHeader>> =
        controls.custom_headers.iter().cloned().map(Some).collect();
    rows.resize(rows_shown, None);
    let headers_error = field_error(error, "headers");
    let headers_error_id = id("headers-error");
    let headers_described = headers_error_id.clone();

    view! {
        <section class="card" aria-labelledby="delivery-heading">
            <h2 id="delivery-heading">"Delivery"</h2>
            <FormAlert message=form_error(error)/>
            <ActionForm action=save attr:class="stack controls-form" attr:novalidate=true>
                <input type="hidden" name="public_id" value=move || public_id.get().to_string()/>
                <input type="hidden" name="endpoint_id" value=endpoint.id.to_string()/>
                <input type="hidden" name=FORM_ID_FIELD value=prefix.clone()/>
                <div class="check">
                    <input type="checkbox" id=id("ordered") name="ordered" checked=controls.ordered
                        aria-describedby=id("ordered-hint")/>
                    <label for=id("ordered")>"Deliver in order per facial ID"</label>
                </div>
                <p class="hint" id=id("ordered-hint")>
                    "A facial ID's webhooks go one at a time, in event order: a later one waits until the earlier is delivered or has failed for good. Other facial IDs are never held back."
                </p>
                <fieldset class="group">
                    <legend>"Signature"</legend>
                    {SignatureScheme::ALL.into_iter().map(|scheme| {
                        let radio = id(&format!("signature-{}", scheme.as_str()));
                        view! {
                            <div class="check">
                                <input type="radio" id=radio.clone() name="signature" value=scheme.as_str()
                                    checked=controls.signature_scheme == scheme/>
                                <label for=radio>{scheme.label()}</label>
                            </div>
                        }
                    }).collect_view()}
                    {endpoint.public_key.clone().map(|key| view! {
                        <p class="secret-row">
                            <span class="hint">"Public key for " <code>"v1a"</code> ": "</span>
                            <code class="secret" data-testid="public-key">{key.clone()}</code>
                            " " <CopyButton text=key label="Copy public key"/>
                        </p>
                    })}
                </fieldset>
                <fieldset class="group" aria-describedby=move || headers_error.get().map(|_| headers_described.clone())>
                    <legend>"Custom headers"</legend>
                    <p class="hint">{format!(
                        "Sent with every webhook, up to {MAX_CUSTOM_HEADERS}. A secret value is hidden once saved; leave it blank to keep it."
                    )}</p>
                    <div class="header-rows">
                        {rows.into_iter().enumerate().map(|(index, row)| {
                            let (name, value, secret) = match row {
                                Some(h) => (h.name, h.value, h.secret),
                                None => (String::new(), String::new(), false),
                            };
                            let field = |part: &str| id(&format!("header-{index}-{part}"));
                            let placeholder = if secret { "•••••• kept" } else { "Value" };
                            view! {
                                <div class="header-row">
                                    <label class="visually-hidden" for=field("name")>{format!("Header {} name", index + 1)}</label>
                                    <input id=field("name") name=format!("headers[{index}][name]") value=name
                                        placeholder="Name" autocomplete="off" spellcheck="false"/>
                                    <label class="visually-hidden" for=field("value")>{format!("Header {} value", index + 1)}</label>
                                    <input id=field("value") name=format!("headers[{index}][value]") value=value
                                        placeholder=placeholder autocomplete="off" spellcheck="false"/>
                                    <div class="check">
                                        <input type="checkbox" id=field("secret") name=format!("headers[{index}][secret]") checked=secret/>
                                        <label for=field("secret")>"Secret"</label>
                                    </div>
                                </div>
                            }
                        }).collect_view()}
                    </div>
                    <p class="field-error" id=headers_error_id hidden=move || headers_error.get().is_none()>{move || headers_error.get()}</p>
                </fieldset>
                <fieldset class="group">
                    <legend>"Retries"</legend>
                    <div class="check">
                        <input type="radio" id=id("retry-default") name="retry" value="default" checked=retry_choice == "default"/>
                        <label for=id("retry-default")>"The server's schedule"</label>
                    </div>
                    {RETRY_PRESETS.iter().map(|(name, label, delays)| {
                        let radio = id(&format!("retry-{name}"));
                        view! {
                            <div class="check">
                                <input type="radio" id=radio.clone() name="retry" value=*name checked=retry_choice == *name/>
                                <label for=radio>{*label} " " <span class="hint retry-delays">{format!("({delays})")}</span></label>
                            </div>
                        }
                    }).collect_view()}
                    <div class="check">
                        <input type="radio" id=id("retry-custom") name="retry" value="custom" checked=retry_choice == "custom"/>
                        <label for=id("retry-custom")>"Custom:"</label>
                    </div>
                    <Field label="Delays before each attempt" name="retry_custom" id=id("retry_custom")
                        required=false value=custom_value form=prefix.clone()
                        hint="Comma-separated, like 0s,5s,1m,10m: at most 20 attempts, each delay at most 24h."
                        error=field_error(error, "retry_schedule")/>
                </fieldset>
                <Field label="Rate limit (deliveries per second)" name="rate" id=id("rate") input_type="number"
                    required=false value=rate_value form=prefix.clone()
                    hint=RATE_HINT
                    error=field_error(error, "rate")/>
                <div class="inline-actions">
                    <SubmitButton label="Save delivery settings" pending_label="Saving…" pending=save.pending()/>
                </div>
            </ActionForm>
        </section>
    }
}

/// Kept in step with `MAX_RATE_PER_SEC` by the test below.
const RATE_HINT: &str =
    "Empty for no limit; 1 to 10000. A 429 from the receiver also slows it down.";

#[cfg(test)]
mod tests {
    #[test]
    fn the_rate_hint_names_the_limit() {
        let max = crate::model::controls::MAX_RATE_PER_SEC.to_string();
        assert!(super::RATE_HINT.contains(&max));
    }
}
