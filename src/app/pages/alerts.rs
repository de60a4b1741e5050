//! `/alerts`: the newest alerts of the organization the console shows (and the server's,
//! for operators), each with its episode — open or closed, how many deliveries it cost —
//! and a link to the endpoint. Opening the page marks them read.

use crate::api::alerts::list_alerts;
use crate::app::format::utc_time;
use crate::model::alert::{AlertView, AlertsPage as AlertsData};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn AlertsPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| list_alerts());
    let content = move || {
        Suspend::new(async move {
            match page.await {
                Ok(page) => view! { <AlertList page/> }.into_any(),
                Err(err) => {
                    view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any()
                }
            }
        })
    };
    view! {
        <Title text="Alerts"/>
        <section class="card" aria-labelledby="alerts-heading">
            <h1 id="alerts-heading">"Alerts"</h1>
            <p class="hint">
                "Raised once per episode when delivery breaks, and closed when it recovers. "
                "Choose which are mailed to you on your " <A href="/account">"account page"</A>
                "; owners and admins set the rules and an operational webhook on the "
                <A href="/org">"organization page"</A>"."
            </p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>{content}</Suspense>
        </section>
    }
}

#[component]
fn AlertList(page: AlertsData) -> impl IntoView {
    if page.alerts.is_empty() {
        return view! {
            <p class="empty" data-testid="no-alerts">"No alerts: every endpoint is delivering."</p>
        }
        .into_any();
    }
    let open = match page.open_episodes {
        0 => "No episode is open.".to_owned(),
        1 => "1 episode is open.".to_owned(),
        n => format!("{n} episodes are open."),
    };
    view! {
        <p data-testid="open-episodes">{open}</p>
        <ul class="alert-list" data-testid="alerts">
            {page.alerts.into_iter().map(|alert| view! { <AlertItem alert/> }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn AlertItem(alert: AlertView) -> impl IntoView {
    let severity = match alert.kind.as_str() {
        "endpoint.recovered" => "health-good",
        "endpoint.disabled" | "dispatcher.silent" => "health-bad",
        _ => "health-warn",
    };
    let episode = alert.episode.map(|episode| {
        let state = match episode.closed_at_ms {
            Some(closed) => format!(
                "Episode {} to {}",
                utc_time(episode.opened_at_ms),
                utc_time(closed)
            ),
            None => format!("Episode open since {}", utc_time(episode.opened_at_ms)),
        };
        let cost = match episode.deliveries_affected {
            0 => String::new(),
            1 => " · 1 delivery failed for good".to_owned(),
            n => format!(" · {n} deliveries failed for good"),
        };
        view! { <p class="hint" data-testid="alert-episode">{state}{cost}</p> }
    });
    let count = (alert.kind == "delivery.exhausted").then(|| {
        view! { <p class="hint">{format!("Deliveries counted: {}", alert.deliveries_affected)}</p> }
    });
    let link = alert.endpoint_href.map(|href| {
        let label = alert
            .endpoint_url
            .map(|url| format!("Open the endpoint {url}"))
            .unwrap_or_else(|| "Open the endpoint".to_owned());
        view! { <p class="alert-link"><A href=href attr:data-testid="alert-endpoint-link">{label}</A></p> }
    });
    view! {
        <li class="alert-item" class:unread=alert.unread data-testid="alert" data-kind=alert.kind.clone()>
            <p class="alert-head">
                <span class=format!("badge {severity}")>{alert.kind.clone()}</span>
                {alert.unread.then(|| view! { " " <span class="badge">"New"</span> })}
                " " <time class="hint">{utc_time(alert.raised_at_ms)}</time>
            </p>
            <p class="alert-message">{alert.message}</p>
            {count}
            {episode}
            {link}
        </li>
    }
}
