//! `/org/audit`: the organization's audit log, newest first, filtered by a plain GET form
//! (actor, action, time) and exported with the same filter as CSV or JSON.

use crate::api::orgs::{audit_log, current_orgs};
use crate::app::format::utc_time;
use crate::model::org::{AuditAction, AuditEntry};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

const FILTERS: [&str; 4] = ["actor", "action", "from", "to"];

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).filter(|v| !v.is_empty());
    let log = Resource::new(
        move || (FILTERS.map(param), param("page")),
        |([actor, action, from, to], page)| async move {
            (
                current_orgs().await,
                audit_log(actor, action, from, to, page).await,
            )
        },
    );
    let content = move || {
        Suspend::new(async move {
            let (choice, page) = log.await;
            let org = match choice {
                Ok(choice) => choice.current,
                Err(err) => {
                    return view! { <p class="form-alert" role="alert">{err.to_string()}</p> }
                        .into_any()
                }
            };
            let filter_query: String = FILTERS
                .iter()
                .filter_map(|name| param(name).map(|value| (name.to_string(), value)))
                .map(|(name, value)| format!("&{name}={}", encode(&value)))
                .collect();
            let export = |format: &str| {
                format!("/org/{}/audit/export?format={format}{filter_query}", org.id)
            };
            let body = match page {
                Ok(page) if page.entries.is_empty() => {
                    view! { <p class="empty">"No entries match."</p> }.into_any()
                }
                Ok(page) => {
                    let next = page
                        .has_more
                        .then(|| format!("?page={}{filter_query}", page.page + 1));
                    let previous =
                        (page.page > 0).then(|| format!("?page={}{filter_query}", page.page - 1));
                    view! {
                        <ul class="audit-list" data-testid="audit-log">
                            {page.entries.into_iter().map(|entry| view! { <AuditItem entry/> }).collect_view()}
                        </ul>
                        <nav class="pager" aria-label="Audit log pages">
                            {previous.map(|href| view! { <a href=href>"Newer"</a> })}
                            {next.map(|href| view! { <a href=href>"Older"</a> })}
                        </nav>
                    }
                    .into_any()
                }
                Err(err) => {
                    view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any()
                }
            };
            view! {
                <section class="card" aria-labelledby="audit-heading">
                    <h1 id="audit-heading">{format!("Audit log · {}", org.name)}</h1>
                    <p class="hint">"Who did what, from where, and when. Settings show their values before and after; secrets never appear."</p>
                    <FilterForm param=move |name| param(name)/>
                    <p class="inline-actions">
                        <a class="button secondary" href=export("csv") download="">"Export CSV"</a>
                        " "
                        <a class="button secondary" href=export("json") download="">"Export JSON"</a>
                    </p>
                    {body}
                    <p><A href="/org">"Back to the organization"</A></p>
                </section>
            }
            .into_any()
        })
    };
    view! {
        <Title text="Audit log"/>
        <Suspense fallback=|| view! { <section class="card"><p>"Loading…"</p></section> }>{content}</Suspense>
    }
}

#[component]
fn FilterForm(param: impl Fn(&str) -> Option<String> + Copy + Send + 'static) -> impl IntoView {
    let chosen = param("action");
    let actions = AuditAction::ALL
        .into_iter()
        .map(|action| {
            let name = action.as_str();
            view! { <option value=name selected=chosen.as_deref() == Some(name)>{name}</option> }
        })
        .collect_view();
    view! {
        <form method="get" class="filters" role="search" aria-label="Filter the audit log">
            <label>"Actor (email starts with)"
                <input type="search" name="actor" maxlength="200" value=param("actor").unwrap_or_default()/>
            </label>
            <label>"Action"
                <select name="action"><option value="">"Any"</option>{actions}</select>
            </label>
            <label>"From (UTC)"
                <input type="datetime-local" name="from" value=param("from").unwrap_or_default()/>
            </label>
            <label>"To (UTC)"
                <input type="datetime-local" name="to" value=param("to").unwrap_or_default()/>
            </label>
            <div class="filter-actions">
                <button type="submit" class="secondary">"Filter"</button>
                <a href="?">"Clear"</a>
            </div>
        </form>
    }
}

#[component]
fn AuditItem(entry: AuditEntry) -> impl IntoView {
    view! {
        <li class="audit-entry" data-testid="audit-entry">
            <div class="audit-what">
                <code class="audit-action">{entry.action}</code>
                " "
                <span>{entry.object_kind}" "<code>{entry.object_id}</code></span>
            </div>
            <p class="hint">
                <span>{entry.actor}</span>" · "<span>{entry.ip}</span>" · "<span>{utc_time(entry.at_ms)}</span>
            </p>
            {entry.details.map(|details| view! { <pre class="audit-details">{details}</pre> })}
        </li>
    }
}

/// Percent-encodes a query value (what a browser would send from the form).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
