//! `/apps/{publicId}/events`: the event catalog — each event type, when it fires, its fields,
//! and an example body exactly as this application's receivers get it; then how to verify.

mod snippets;

use crate::api::catalog::get_event_catalog;
use crate::app::components::CopyButton;
use crate::app::pages::app_frame::use_public_id;
use crate::model::app::PAYLOAD_PLAN_NOTICE;
use crate::model::catalog::{EventCatalog, EventTypeDoc, BODY_FIELDS};
use crate::model::AppError;
use leptos::prelude::*;
use snippets::SNIPPETS;

#[component]
pub fn EventCatalogTab() -> impl IntoView {
    let public_id = use_public_id();
    let catalog = Resource::new(move || public_id.get(), get_event_catalog);
    let content = move || {
        Suspend::new(async move {
            match catalog.await {
                Ok(catalog) => Some(view! { <CatalogView catalog/> }.into_any()),
                Err(AppError::NotFound) => None,
                Err(err) => Some(
                    view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any(),
                ),
            }
        })
    };
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>{content}</Suspense>
        <VerifyCard/>
    }
}

#[component]
fn CatalogView(catalog: EventCatalog) -> impl IntoView {
    let payload_note = if catalog.plan_allows_payload {
        "This application's plan includes the linked payload: endpoints with \u{201c}Include each user's linked payload\u{201d} on receive it as below; others get the same body without it."
    } else {
        PAYLOAD_PLAN_NOTICE
    };
    let contents = catalog
        .events
        .iter()
        .map(|event| {
            let href = format!("#event-{}", event.name);
            view! { <li><a href=href><code>{event.name.clone()}</code></a> " — " {event.label.clone()}</li> }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="catalog-heading">
            <h2 id="catalog-heading">"Event catalog"</h2>
            <p>"Each webhook is an HTTP POST with one JSON object. Its fields, in the order they are sent:"</p>
            <table class="list fields stacked">
                <caption class="visually-hidden">"Body fields"</caption>
                <thead><tr><th scope="col">"Field"</th><th scope="col">"Type"</th><th scope="col">"Meaning"</th></tr></thead>
                <tbody>
                    {BODY_FIELDS
                        .into_iter()
                        .map(|(name, kind, meaning)| view! {
                            <tr><th scope="row"><code>{name}</code></th><td>{kind}</td><td>{meaning}</td></tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
            <p class="hint">{payload_note}</p>
            <nav aria-label="Event types"><ul class="toc">{contents}</ul></nav>
        </section>
        {catalog.events.into_iter().map(|event| view! { <EventCard event/> }).collect_view()}
    }
}

#[component]
fn EventCard(event: EventTypeDoc) -> impl IntoView {
    let heading_id = format!("event-{}", event.name);
    let body = event.example_body.clone();
    view! {
        <section class="card event-type" aria-labelledby=heading_id.clone() data-event=event.name.clone()>
            <h2 id=heading_id.clone()><code>{event.name.clone()}</code> " · " {event.label}</h2>
            <p>{event.fires_when}</p>
            <div class="body-head">
                <h3>"Example body"</h3>
                <CopyButton text=body.clone() label=format!("Copy the {} example", event.name)/>
            </div>
            <pre class="snippet wrap" tabindex="0" data-testid="example-body">{body}</pre>
        </section>
    }
}

/// The headers every webhook carries and code that checks them.
#[component]
fn VerifyCard() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="verify-heading">
            <h2 id="verify-heading">"How to verify a webhook"</h2>
            <p>"Every delivery carries these headers:"</p>
            <dl class="facts">
                <div><dt><code>"WWW-Authenticate"</code></dt>
                <dd><code>"Bearer <webhook token>"</code>" — compare with the token on the WEBHOOKS tab (FACEIO receivers already do)."</dd></div>
                <div><dt><code>"webhook-id"</code></dt>
                <dd>"The event ID, the same on every retry: use it to ignore duplicates."</dd></div>
                <div><dt><code>"webhook-timestamp"</code></dt>
                <dd>"Unix seconds of this attempt: reject anything older than five minutes."</dd></div>
                <div><dt><code>"webhook-signature"</code></dt>
                <dd><code>"v1,<base64 HMAC-SHA256 of id.timestamp.body>"</code>" — two, space-separated, while a rotated secret is still valid."</dd></div>
            </dl>
            <p>"Check the signature over the body's raw bytes, before parsing it:"</p>
            {SNIPPETS
                .iter()
                .map(|snippet| view! {
                    <details class="snippet-block">
                        <summary>{snippet.language}</summary>
                        <pre class="snippet" tabindex="0"><code>{snippet.code}</code></pre>
                        <CopyButton text=snippet.code label=format!("Copy the {} code", snippet.language)/>
                    </details>
                })
                .collect_view()}
        </section>
    }
}
