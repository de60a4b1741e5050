//! `/apps/{publicId}/webhooks/{endpointId}`: one endpoint — its health and last day, recent
//! deliveries, settings, signing secret, a test event, and the danger zone. Another owner's
//! endpoint (or one of another application) is not found.

use super::controls_card::DeliveryControlsCard;
use super::endpoint_form::EndpointForm;
use super::secrets::SigningSecretCard;
use crate::api::apps::{get_endpoint, DeleteEndpoint};
use crate::api::deliveries::{
    get_delivery_chart, list_deliveries, take_test_results, test_event_body,
};
use crate::app::components::{Confirm, RoleNote, SubmitButton};
use crate::app::pages::app_frame::{use_app_detail, use_public_id};
use crate::app::pages::deliveries::{DeliveriesTable, DeliveryChartView, When};
use crate::app::pages::endpoint_health::{DisabledNotice, HealthBadge};
use crate::app::pages::test_event::TestEventPanel;
use crate::app::pages::NotFound;
use crate::model::app::EndpointView;
use crate::model::catalog::{event_label, event_names, parse_test_type};
use crate::model::delivery::TEST_EVENT_NAME;
use crate::model::ids::EndpointId;
use crate::model::org::{Action, Role};
use crate::model::time::server_now_ms;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// How many deliveries the page lists; the Deliveries tab has the rest.
const RECENT_SHOWN: usize = 10;

#[component]
pub fn EndpointPage() -> impl IntoView {
    let public_id = use_public_id();
    let params = use_params_map();
    let endpoint_id =
        Memo::new(move |_| EndpointId::from(params.read().get("endpoint_id").unwrap_or_default()));
    let detail = use_app_detail();
    let endpoint = Resource::new(
        move || (public_id.get(), endpoint_id.get()),
        |(app, endpoint)| get_endpoint(app, endpoint),
    );
    let test_results = Resource::new(move || public_id.get(), take_test_results);

    let page = move || {
        Suspend::new(async move {
            let (allows_payload, role) = detail
                .await
                .map(|app| (app.plan.allows_payload(), app.role))
                .unwrap_or((false, Role::Viewer));
            match endpoint.await {
                Ok(endpoint) => {
                    let last_test = test_results
                        .await
                        .unwrap_or_default()
                        .into_iter()
                        .find(|(id, _)| *id == endpoint.id)
                        .map(|(_, result)| result);
                    view! { <EndpointDetail endpoint allows_payload last_test role/> }.into_any()
                }
                // Missing, deleted, or another application's: the same 404.
                Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                Err(err) => {
                    view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any()
                }
            }
        })
    };
    view! {
        <p class="breadcrumb"><a href=move || format!("/apps/{}/webhooks", public_id.get())>"← Endpoints"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>{page}</Suspense>
    }
}

#[component]
fn EndpointDetail(
    endpoint: EndpointView,
    allows_payload: bool,
    last_test: Option<crate::model::app::TestDeliveryResult>,
    role: Role,
) -> impl IntoView {
    let public_id = use_public_id();
    let label = endpoint.label();
    let now_ms = server_now_ms();
    let last = endpoint
        .health
        .last_delivery_at_ms
        .map(|at| view! { <When at_ms=at now_ms/> }.into_any())
        .unwrap_or_else(|| view! { "None in 24 h" }.into_any());
    let share = endpoint
        .health
        .delivered_percent()
        .map(|p| format!("{p}% of {}", endpoint.health.recent_total))
        .unwrap_or_else(|| "No deliveries".to_owned());
    let all_deliveries = format!(
        "/apps/{}/deliveries?endpoint={}",
        public_id.get_untracked(),
        endpoint.id
    );
    view! {
        <Title text=label.clone()/>
        <section class="card" aria-labelledby="endpoint-heading">
            <header class="endpoint-head">
                <h2 id="endpoint-heading">{label.clone()}</h2>
                <HealthBadge endpoint=endpoint.clone()/>
            </header>
            <p class="endpoint-url"><code data-testid="endpoint-url">{endpoint.url.clone()}</code></p>
            <dl class="facts">
                <div><dt>"Events"</dt><dd>{endpoint.events_label()}</dd></div>
                <div><dt>"Delivered (24 h)"</dt><dd>{share}</dd></div>
                <div><dt>"Last delivery"</dt><dd>{last}</dd></div>
                <div><dt>"Timeout"</dt><dd>{format!("{} s", endpoint.timeout_secs)}</dd></div>
            </dl>
            <DisabledNotice endpoint=endpoint.clone() may_reenable=role.allows(Action::EditEndpoints)/>
        </section>
        <ActivityCard endpoint_id=endpoint.id.clone() all_deliveries may_redeliver=role.allows(Action::Redeliver)/>
        {role.allows(Action::SendTestEvents).then(|| view! { <TestEventCard endpoint_id=endpoint.id.clone() last_test/> })}
        <section class="card" aria-labelledby="settings-heading">
            <h2 id="settings-heading">"Settings"</h2>
            {if role.allows(Action::EditEndpoints) {
                view! { <EndpointForm endpoint=Some(endpoint.clone()) allows_payload/> }.into_any()
            } else {
                view! { <RoleNote role action=Action::EditEndpoints/> }.into_any()
            }}
        </section>
        {role.allows(Action::EditEndpoints).then(|| view! { <DeliveryControlsCard endpoint=endpoint.clone()/> })}
        <SigningSecretCard endpoint_id=endpoint.id.clone() endpoint_label=label.clone() role/>
        {role.allows(Action::EditEndpoints).then(|| view! { <DangerZone endpoint_id=endpoint.id.clone() label url=endpoint.url.clone()/> })}
    }
}

/// The last day by the hour and the newest deliveries to this endpoint.
#[component]
fn ActivityCard(
    endpoint_id: EndpointId,
    all_deliveries: String,
    may_redeliver: bool,
) -> impl IntoView {
    let public_id = use_public_id();
    let chart = {
        let endpoint_id = endpoint_id.clone();
        Resource::new(
            move || (public_id.get(), endpoint_id.clone()),
            |(app, endpoint)| get_delivery_chart(app, Some(endpoint)),
        )
    };
    let recent = Resource::new(
        move || (public_id.get(), endpoint_id.clone()),
        |(app, endpoint)| {
            list_deliveries(
                app,
                None,
                None,
                Some(endpoint.to_string()),
                None,
                None,
                None,
                None,
            )
        },
    );
    let content = move || {
        let all_deliveries = all_deliveries.clone();
        Suspend::new(async move {
            let chart = chart
                .await
                .ok()
                .map(|chart| view! { <DeliveryChartView chart/> });
            let list = match recent.await {
                Ok(page) if page.items.is_empty() => view! {
                    <p class="empty">"Nothing sent to this endpoint yet. Send a test event below to try it."</p>
                }
                .into_any(),
                Ok(mut page) => {
                    page.items.truncate(RECENT_SHOWN);
                    view! {
                        <DeliveriesTable items=page.items now_ms=page.now_ms show_endpoint=false may_redeliver/>
                        <p><a href=all_deliveries>"All deliveries to this endpoint"</a></p>
                    }
                    .into_any()
                }
                Err(err) => view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any(),
            };
            view! {
                {chart}
                <h3>"Recent deliveries"</h3>
                {list}
            }
        })
    };
    view! {
        <section class="card" aria-labelledby="activity-heading">
            <h2 id="activity-heading">"Last 24 hours"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>{content}</Suspense>
        </section>
    }
}

/// Send a signed test event now, as the type chosen: first the body it sends (a plain GET
/// form chooses the type, so this works without JavaScript), then the result.
#[component]
fn TestEventCard(
    endpoint_id: EndpointId,
    last_test: Option<crate::model::app::TestDeliveryResult>,
) -> impl IntoView {
    let public_id = use_public_id();
    let query = use_query_map();
    let chosen = Memo::new(move |_| {
        let raw = query.read().get("test_type");
        parse_test_type(raw.as_deref()).unwrap_or(TEST_EVENT_NAME)
    });
    let preview = {
        let endpoint_id = endpoint_id.clone();
        Resource::new(
            move || (public_id.get(), endpoint_id.clone(), chosen.get()),
            |(app, endpoint, kind)| test_event_body(app, endpoint, Some(kind.to_owned())),
        )
    };
    let body = move || {
        Suspend::new(async move {
            preview.await.ok().map(|body| {
                view! {
                    <pre class="snippet wrap" tabindex="0" data-testid="test-body">{body}</pre>
                    <p class="hint">"With the moment it is sent. Signed like every webhook, with the same token."</p>
                }
            })
        })
    };
    let options = event_names()
        .map(|name| {
            let selected = name == chosen.get_untracked();
            let label = format!("{name} — {}", event_label(name));
            view! { <option value=name selected=selected>{label}</option> }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="test-heading">
            <h2 id="test-heading">"Test event"</h2>
            <p class="hint">"Sends a signed event to this endpoint now and shows what came back. Its facial ID is " <code>"test"</code> "; it is recorded as a test, never retried, and does not count against the endpoint."</p>
            <form method="get" class="inline-actions test-type" action="#test-heading">
                <label for="test-type">"Event type"</label>
                <select id="test-type" name="test_type">{options}</select>
                <button type="submit" class="secondary">"Show body"</button>
            </form>
            <h3>"The body it sends"</h3>
            <Suspense fallback=|| ()>{body}</Suspense>
            <TestEventPanel endpoint_id event_type=chosen.get_untracked().to_owned() last=last_test/>
        </section>
    }
}

#[component]
fn DangerZone(endpoint_id: EndpointId, label: String, url: String) -> impl IntoView {
    let public_id = use_public_id();
    let delete = ServerAction::<DeleteEndpoint>::new();
    view! {
        <section class="card danger-zone" aria-labelledby="danger-heading">
            <h2 id="danger-heading">"Danger zone"</h2>
            <Confirm opener="Delete endpoint…"
                question=format!("Delete the endpoint \u{201c}{label}\u{201d} ({url})?")
                consequence="It stops receiving events at once; its deliveries and their history are deleted with it. This cannot be undone.">
                <ActionForm action=delete attr:class="inline-actions">
                    <input type="hidden" name="public_id" value=move || public_id.get().to_string()/>
                    <input type="hidden" name="endpoint_id" value=endpoint_id.to_string()/>
                    <SubmitButton label="Delete endpoint" pending_label="Deleting…" pending=delete.pending() class="danger"/>
                </ActionForm>
            </Confirm>
        </section>
    }
}
