//! An endpoint's health on the WEBHOOKS tab: the last day's delivered share and the current
//! run of failures as a badge, and for a disabled endpoint why and when, with "Re-enable".

use crate::api::apps::ReenableEndpoint;
use crate::app::components::{form_error, sent_from, FormAlert, SubmitButton};
use crate::app::format::utc_time;
use crate::app::pages::app_frame::use_public_id;
use crate::model::app::EndpointView;
use crate::model::form::FORM_ID_FIELD;
use crate::model::AppError;
use leptos::prelude::*;

#[component]
pub fn HealthBadge(endpoint: EndpointView) -> impl IntoView {
    let health = endpoint.health;
    let (class, text) = if !endpoint.enabled {
        ("badge health-off", "Disabled".to_owned())
    } else {
        let share = health
            .delivered_percent()
            .map(|p| format!("{p}% delivered (24 h)"))
            .unwrap_or_else(|| "No deliveries in 24 h".to_owned());
        let class = match (health.consecutive_failures, health.delivered_percent()) {
            (0, Some(p)) if p >= 95 => "badge health-good",
            (0, None) => "badge health-idle",
            (n, _) if n >= 5 => "badge health-bad",
            _ => "badge health-warn",
        };
        let failures = match health.consecutive_failures {
            0 => String::new(),
            1 => " · 1 failure in a row".to_owned(),
            n => format!(" · {n} failures in a row"),
        };
        (class, format!("{share}{failures}"))
    };
    view! { <span class=class data-testid="endpoint-health">{text}</span> }
}

/// Shown only for a disabled endpoint.
#[component]
pub fn DisabledNotice(
    endpoint: EndpointView,
    /// Whether the member's role may turn the endpoint back on.
    may_reenable: bool,
) -> impl IntoView {
    let public_id = use_public_id();
    let reenable = ServerAction::<ReenableEndpoint>::new();
    let form_id = format!("reenable-{}", endpoint.id);
    let sent_here = sent_from(&form_id);
    let error: Signal<Option<AppError>> = Signal::derive(move || {
        reenable
            .value()
            .get()
            .and_then(Result::err)
            .filter(|_| sent_here)
    });
    let when = endpoint
        .disabled_at_ms
        .map(|at| format!(" since {}", utc_time(at)))
        .unwrap_or_default();
    let reason = endpoint
        .disabled_reason
        .clone()
        .map(|reason| format!(": {reason}"))
        .unwrap_or_default();
    (!endpoint.enabled).then(|| {
        view! {
            <div class="disabled-notice" role="status" data-testid="disabled-notice">
                <p>{format!("Disabled{when}{reason}")}</p>
                <p class="hint">"Deliveries already queued for it wait and are sent on re-enable; events that arrive while it is disabled are not sent to it."</p>
                {may_reenable.then(|| view! {
                    <ActionForm action=reenable attr:class="inline-actions">
                        <input type="hidden" name="public_id" value=move || public_id.get().to_string()/>
                        <input type="hidden" name="endpoint_id" value=endpoint.id.to_string()/>
                        <input type="hidden" name=FORM_ID_FIELD value=form_id.clone()/>
                        <SubmitButton label="Re-enable" pending_label="Re-enabling…" pending=reenable.pending()/>
                    </ActionForm>
                })}
                <FormAlert message=form_error(error)/>
            </div>
        }
    })
}
