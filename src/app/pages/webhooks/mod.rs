//! The WEBHOOKS tab: the webhook token, the endpoints as a list (one row each, the whole row
//! opens the endpoint's page), and the form to add one. Each endpoint's settings, secret,
//! test event and deletion live on its own page (`endpoint_page`).

mod controls_card;
mod endpoint_form;
mod endpoint_page;
mod https_only;
mod secrets;
mod token;

pub use endpoint_page::EndpointPage;

use crate::api::apps::list_endpoints;
use crate::app::components::RoleNote;
use crate::app::pages::app_frame::{use_app_detail, use_public_id};
use crate::app::pages::deliveries::When;
use crate::app::pages::endpoint_health::HealthBadge;
use crate::model::app::{EndpointView, MAX_ENDPOINTS_PER_APP};
use crate::model::org::Action;
use crate::model::time::{server_now_ms, utc_seconds};
use crate::model::AppError;
use endpoint_form::EndpointForm;
use leptos::prelude::*;
use token::WebhookTokenCard;

#[component]
pub fn WebhooksTab() -> impl IntoView {
    let public_id = use_public_id();
    let detail = use_app_detail();
    let endpoints = Resource::new(move || public_id.get(), list_endpoints);

    let body = move || {
        Suspend::new(async move {
            let app = match detail.await {
                Ok(app) => app,
                Err(_) => return None,
            };
            let allows_payload = app.plan.allows_payload();
            let endpoints = match endpoints.await {
                Ok(endpoints) => endpoints,
                Err(AppError::NotFound) => return None,
                Err(err) => {
                    return Some(
                        view! { <p class="form-alert" role="alert">{err.to_string()}</p> }
                            .into_any(),
                    )
                }
            };
            let count = endpoints.len();
            let catalog = format!("/apps/{}/events", app.public_id);
            Some(view! {
                <section class="card" aria-labelledby="endpoints-heading">
                    <div class="card-head">
                        <h2 id="endpoints-heading">{format!("Endpoints ({count} of {MAX_ENDPOINTS_PER_APP})")}</h2>
                        <a href="#add-endpoint-heading">"Add endpoint"</a>
                    </div>
                    {if endpoints.is_empty() {
                        view! { <p class="empty">"No endpoints yet: add the URL that should receive this application's events."</p> }.into_any()
                    } else {
                        view! { <EndpointList endpoints/> }.into_any()
                    }}
                </section>
                <WebhookTokenCard app_name=app.name.clone() role=app.role/>
                {app.role.allows(Action::EditEndpoints).then(|| view! { <https_only::HttpsOnlyCard https_only=app.https_only/> })}
                <section class="card" aria-labelledby="add-endpoint-heading">
                    <h2 id="add-endpoint-heading">"Add an endpoint"</h2>
                    {if app.role.allows(Action::EditEndpoints) {
                        view! { <EndpointForm endpoint=None allows_payload/> }.into_any()
                    } else {
                        view! { <RoleNote role=app.role action=Action::EditEndpoints/> }.into_any()
                    }}
                </section>
                <section class="card" aria-labelledby="catalog-heading">
                    <h2 id="catalog-heading">"What receivers get"</h2>
                    <p>"Every event type with its example body exactly as sent, and verification code for Node.js, Python, Go and Rust: "
                        <a href=catalog>"Event catalog"</a></p>
                </section>
            }
            .into_any())
        })
    };

    view! { <Suspense fallback=|| view! { <p>"Loading…"</p> }>{body}</Suspense> }
}

#[component]
fn EndpointList(endpoints: Vec<EndpointView>) -> impl IntoView {
    let public_id = use_public_id();
    let now_ms = server_now_ms();
    view! {
        <table class="list endpoints clickable" data-testid="endpoints">
            <thead><tr>
                <th scope="col">"Endpoint"</th>
                <th scope="col">"State"</th>
                <th scope="col">"Events"</th>
                <th scope="col">"Last delivery"</th>
            </tr></thead>
            <tbody>
                {endpoints
                    .into_iter()
                    .map(|endpoint| {
                        let href = format!("/apps/{}/webhooks/{}", public_id.get_untracked(), endpoint.id);
                        let last = endpoint.health.last_delivery_at_ms.map(|at| view! { <When at_ms=at now_ms/> });
                        // The link covers the row, so its title is the row's tooltip.
                        let row_title = match endpoint.health.last_delivery_at_ms {
                            Some(at) => format!("{}\nLast delivery {}", endpoint.url, utc_seconds(at)),
                            None => endpoint.url.clone(),
                        };
                        view! {
                            <tr>
                                <td class="endpoint-cell">
                                    <a class="row-link" href=href title=row_title>{endpoint.label()}</a>
                                    <span class="url truncate" title=endpoint.url.clone()>{endpoint.url.clone()}</span>
                                </td>
                                <td><HealthBadge endpoint=endpoint.clone()/></td>
                                <td>{endpoint.events_label()}</td>
                                <td>{last.map(IntoAny::into_any).unwrap_or_else(|| view! { <span class="muted">"None in 24 h"</span> }.into_any())}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
