//! The Deliveries tab: what was sent where and what came back. A filter kept in the URL,
//! the 24-hour chart, the paged list with a live feed, and bulk replay of failures.

mod chart;
mod detail;
mod live;
mod replay;
mod table;

pub use chart::DeliveryChartView;
pub use detail::DeliveryDetailPage;
pub use live::LiveUpdates;
pub use table::{DeliveriesTable, When};

use crate::api::apps::list_endpoints;
use crate::api::deliveries::{get_delivery_chart, list_deliveries, Redeliver};
use crate::app::components::{form_error, FormAlert};
use crate::app::pages::app_frame::{use_app_detail, use_public_id};
use crate::model::app::{EndpointView, EventKind};
use crate::model::delivery::{DeliveryQuery, DeliveryStatus, MAX_SEARCH_CHARS, TEST_EVENT_NAME};
use crate::model::org::{Action, Role};
use crate::model::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use replay::ReplayPanel;

#[component]
pub fn DeliveriesTab() -> impl IntoView {
    let public_id = use_public_id();
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let query = query.read();
        let value = |name: &str| query.get(name).filter(|v| !v.is_empty());
        DeliveryQuery {
            status: value("status"),
            event: value("event"),
            endpoint: value("endpoint"),
            from: value("from"),
            to: value("to"),
            search: value("q"),
        }
    });
    let page = Memo::new(move |_| {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0)
    });
    let listing = Resource::new(
        move || (public_id.get(), filter.get(), page.get()),
        |(id, f, page)| {
            list_deliveries(
                id,
                f.status,
                f.event,
                f.endpoint,
                f.from,
                f.to,
                f.search,
                Some(page.to_string()),
            )
        },
    );
    let endpoints = Resource::new(move || public_id.get(), list_endpoints);
    let app = use_app_detail();
    let chart = Resource::new(move || public_id.get(), |id| get_delivery_chart(id, None));
    // A failed "Redeliver" from a row comes back here.
    let redeliver = ServerAction::<Redeliver>::new();
    let redeliver_error: Signal<Option<AppError>> =
        Signal::derive(move || redeliver.value().get().and_then(Result::err));
    let refresh_href = format!(
        "/apps/{}/deliveries?{}",
        public_id.get_untracked(),
        filter.get_untracked().to_url_query(page.get_untracked())
    );

    let chart_view = move || {
        Suspend::new(async move {
            match chart.await {
                Ok(chart) => Some(view! { <DeliveryChartView chart/> }.into_any()),
                Err(AppError::NotFound) => None,
                Err(err) => Some(
                    view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any(),
                ),
            }
        })
    };
    let list_view = move || {
        Suspend::new(async move {
            let role = app.await.map(|app| app.role).unwrap_or(Role::Viewer);
            let may_redeliver = role.allows(Action::Redeliver);
            let listing = match listing.await {
                Ok(listing) => listing,
                Err(AppError::NotFound) => return None,
                Err(err) => {
                    // A bad filter value: say which field and why; the form above stays usable.
                    return Some(view! {
                        <p class="form-alert" role="alert" data-testid="filter-error">{err.to_string()}</p>
                    }.into_any());
                }
            };
            let current = filter.get_untracked();
            let href_for = move |page: u32| {
                format!(
                    "/apps/{}/deliveries?{}",
                    public_id.get_untracked(),
                    current.to_url_query(page)
                )
            };
            let newer = (listing.page > 0).then(|| href_for(listing.page - 1));
            let older = listing.has_more.then(|| href_for(listing.page + 1));
            let rows = if listing.items.is_empty() {
                view! { <p class="empty">"No deliveries match (yet). Events sent to this application appear here."</p> }.into_any()
            } else {
                view! { <DeliveriesTable items=listing.items now_ms=listing.now_ms may_redeliver/> }
                    .into_any()
            };
            Some(
                view! {
                    {rows}
                    <nav class="pager" aria-label="Pages">
                        {newer.map(|href| view! { <a href=href>"Newer"</a> })}
                        {older.map(|href| view! { <a href=href>"Older"</a> })}
                    </nav>
                }
                .into_any(),
            )
        })
    };

    let filter_form = move || {
        Suspend::new(async move {
            let current = filter.get();
            let endpoints = endpoints.await.ok()?;
            Some(view! { <FilterForm filter=current endpoints/> })
        })
    };
    let replay_panel = move || {
        Suspend::new(async move {
            let endpoints = endpoints.await.ok()?;
            let role = app.await.ok()?.role;
            (!endpoints.is_empty() && role.allows(Action::Redeliver))
                .then(|| view! { <ReplayPanel endpoints/> })
        })
    };

    // The chart and the list are live regions: the feed redraws them, never the forms.
    view! {
        <section class="card" aria-labelledby="chart-heading">
            <h2 id="chart-heading">"Last 24 hours"</h2>
            <div id="live-chart" data-live-region="">
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>{chart_view}</Suspense>
            </div>
        </section>
        <section class="card" aria-labelledby="deliveries-heading">
            <h2 id="deliveries-heading">"Deliveries"</h2>
            <Suspense fallback=|| ()>{filter_form}</Suspense>
            <FormAlert message=form_error(redeliver_error)/>
            <LiveUpdates public_id=public_id.get_untracked() refresh_href/>
            <div id="live-deliveries" data-live-region="">
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>{list_view}</Suspense>
            </div>
        </section>
        <Suspense fallback=|| ()>{replay_panel}</Suspense>
    }
}

#[component]
fn FilterForm(filter: DeliveryQuery, endpoints: Vec<EndpointView>) -> impl IntoView {
    let chosen = |value: &Option<String>, option: &str| value.as_deref() == Some(option);
    let statuses = DeliveryStatus::ALL
        .into_iter()
        .map(|s| view! { <option value=s.as_str() selected=chosen(&filter.status, s.as_str())>{s.label()}</option> })
        .collect_view();
    let events = EventKind::ALL
        .into_iter()
        .map(|k| (k.as_str(), k.label()))
        .chain([(TEST_EVENT_NAME, "Test event")])
        .map(|(value, label)| view! { <option value=value selected=chosen(&filter.event, value)>{label}</option> })
        .collect_view();
    let endpoint_options = endpoints
        .into_iter()
        .map(|e| {
            let selected = chosen(&filter.endpoint, e.id.as_str());
            let label = e.label();
            view! { <option value=e.id.to_string() selected=selected>{label}</option> }
        })
        .collect_view();
    view! {
        <form method="get" class="filters" role="search" aria-label="Filter deliveries">
            <label class="search">"Delivery, event or facial ID"
                <input type="search" name="q" value=filter.search.clone().unwrap_or_default()
                    maxlength=MAX_SEARCH_CHARS.to_string() placeholder="del_…, evt_… or a facial ID"/>
            </label>
            <label>"Status"
                <select name="status"><option value="">"Any"</option>{statuses}</select>
            </label>
            <label>"Event"
                <select name="event"><option value="">"Any"</option>{events}</select>
            </label>
            <label>"Endpoint"
                <select name="endpoint"><option value="">"Any"</option>{endpoint_options}</select>
            </label>
            <label>"From (UTC)"
                <input type="datetime-local" name="from" value=filter.from.clone().unwrap_or_default()/>
            </label>
            <label>"To (UTC)"
                <input type="datetime-local" name="to" value=filter.to.clone().unwrap_or_default()/>
            </label>
            <div class="filter-actions">
                <button type="submit" class="secondary">"Filter"</button>
                <a href="?">"Clear"</a>
            </div>
        </form>
    }
}
