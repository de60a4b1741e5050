//! A list of deliveries people can scan: endpoint by name, status, the last outcome in words,
//! times with seconds and "3 min ago" (exact UTC on hover). The whole row opens the delivery;
//! one whose last attempt failed can be sent again from its row.

use crate::api::deliveries::Redeliver;
use crate::app::pages::app_frame::use_public_id;
use crate::model::delivery::{DeliveryStatus, DeliverySummary, TEST_EVENT_NAME};
use crate::model::form::FORM_ID_FIELD;
use crate::model::ids::DeliveryId;
use crate::model::time::{relative_time, utc_seconds};
use leptos::prelude::*;

/// "5 min ago", with the exact UTC time in the tooltip and the markup.
#[component]
pub fn When(at_ms: i64, now_ms: i64) -> impl IntoView {
    let exact = utc_seconds(at_ms);
    view! {
        <time datetime=exact.replace(" UTC", "Z").replace(' ', "T") title=exact.clone()>
            {relative_time(at_ms, now_ms)}
        </time>
    }
}

#[component]
pub fn DeliveriesTable(
    items: Vec<DeliverySummary>,
    now_ms: i64,
    /// The endpoint column, left out on an endpoint's own page.
    #[prop(default = true)]
    show_endpoint: bool,
    /// Whether the member's role may redeliver (else rows offer no Redeliver button).
    may_redeliver: bool,
) -> impl IntoView {
    view! {
        <table class="list deliveries clickable" data-testid="deliveries">
            <thead><tr>
                <th scope="col">"Event"</th>
                {show_endpoint.then(|| view! { <th scope="col">"Endpoint"</th> })}
                <th scope="col">"Status"</th>
                <th scope="col">"Last outcome"</th>
                <th scope="col">"Created"</th>
                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
            </tr></thead>
            <tbody>
                {items
                    .into_iter()
                    .map(|item| view! { <DeliveryRow item now_ms show_endpoint may_redeliver/> })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn DeliveryRow(
    item: DeliverySummary,
    now_ms: i64,
    show_endpoint: bool,
    may_redeliver: bool,
) -> impl IntoView {
    let public_id = use_public_id();
    let href = format!("/apps/{}/deliveries/{}", public_id.get_untracked(), item.id);
    let next = item.next_attempt_at_ms.map(|next| {
        view! { <span class="status-next">"next " <When at_ms=next now_ms/></span> }
    });
    let latency = item
        .last_latency_ms
        .filter(|_| item.last_error_class.is_none() || item.last_status_code.is_some())
        .map(|ms| view! { <span class="muted">{format!(" · {ms} ms")}</span> });
    let attempts = match item.attempts {
        0 => String::new(),
        1 => "1 attempt".to_owned(),
        n => format!("{n} attempts"),
    };
    // Its last attempt failed: sending it again now is the obvious next step.
    let redeliverable = may_redeliver
        && matches!(
            item.status,
            DeliveryStatus::Failed | DeliveryStatus::Retrying
        )
        && item.event_name != TEST_EVENT_NAME;
    let outcome_title = item.last_error_message.clone().unwrap_or_default();
    // The link covers the row, so its title is the row's tooltip: the exact values.
    let row_title = [
        Some(format!("Created {}", utc_seconds(item.created_at_ms))),
        Some(item.endpoint_url.clone()),
        item.last_error_message.clone(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n");
    view! {
        <tr data-status=item.status.as_str()>
            <td>
                // The row's one link; CSS stretches it over the whole row.
                <a class="row-link" href=href title=row_title>{item.event_name.clone()}</a>
                <code class="id" title=item.facial_id.clone()>{item.facial_id.clone()}</code>
            </td>
            {show_endpoint.then(|| view! {
                <td class="endpoint-cell" title=item.endpoint_url.clone()>{item.endpoint_label()}</td>
            })}
            <td>
                <span class=format!("badge status-{}", item.status.as_str())>{item.status.label()}</span>
                {next}
            </td>
            <td title=outcome_title>{item.last_outcome()}{latency}<span class="status-next">{attempts}</span></td>
            <td><When at_ms=item.created_at_ms now_ms/></td>
            <td class="row-actions">
                {redeliverable.then(|| view! { <RedeliverButton delivery_id=item.id.clone()/> })}
            </td>
        </tr>
    }
}

/// "Redeliver" on a failed row: a small plain form above the row's link.
#[component]
fn RedeliverButton(delivery_id: DeliveryId) -> impl IntoView {
    let public_id = use_public_id();
    let redeliver = ServerAction::<Redeliver>::new();
    let form_id = format!("redeliver-{delivery_id}");
    view! {
        <ActionForm action=redeliver attr:class="inline-form">
            <input type="hidden" name="public_id" value=move || public_id.get().to_string()/>
            <input type="hidden" name="delivery_id" value=delivery_id.to_string()/>
            <input type="hidden" name=FORM_ID_FIELD value=form_id/>
            <button type="submit" class="secondary small" disabled=move || redeliver.pending().get()>"Redeliver"</button>
        </ActionForm>
    }
}
