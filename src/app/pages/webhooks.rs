//! The WEBHOOKS tab: the webhook token, each endpoint's settings and signing secrets,
//! a form to add an endpoint, and how receivers verify what they get.

use crate::api::apps::{
    list_endpoints, reveal_signing_secrets, reveal_webhook_token, DeleteEndpoint,
    RotateSigningSecret, RotateWebhookToken, SaveEndpoint,
};
use crate::api::deliveries::take_test_results;
use crate::app::components::{
    field_error, form_error, sent_from, CopyButton, Field, FormAlert, SubmitButton,
};
use crate::app::format::utc_time;
use crate::app::pages::app_frame::{use_app_detail, use_public_id};
use crate::app::pages::endpoint_health::{DisabledNotice, HealthBadge};
use crate::app::pages::test_event::TestEventPanel;
use crate::model::app::{
    EndpointView, EventKind, SigningSecrets, TestDeliveryResult, MAX_ENDPOINTS_PER_APP,
    PAYLOAD_PLAN_NOTICE,
};
use crate::model::form::{RetainedForm, FORM_ID_FIELD};
use crate::model::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn WebhooksTab() -> impl IntoView {
    let public_id = use_public_id();
    let detail = use_app_detail();
    let endpoints = Resource::new(move || public_id.get(), list_endpoints);
    let test_results = Resource::new(move || public_id.get(), take_test_results);

    let body = move || {
        Suspend::new(async move {
            let allows_payload = detail
                .await
                .map(|app| app.plan.allows_payload())
                .unwrap_or(false);
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
            let mut test_results = test_results.await.unwrap_or_default();
            let count = endpoints.len();
            Some(view! {
                <section class="card" aria-labelledby="endpoints-heading">
                    <h2 id="endpoints-heading">{format!("Endpoints ({count} of {MAX_ENDPOINTS_PER_APP})")}</h2>
                    {if endpoints.is_empty() {
                        Some(view! { <p class="empty">"No endpoints yet: add the URL that should receive this application's events."</p> })
                    } else {
                        None
                    }}
                    {endpoints
                        .into_iter()
                        .map(|endpoint| {
                            let last_test = test_results
                                .iter()
                                .position(|(id, _)| *id == endpoint.id)
                                .map(|at| test_results.swap_remove(at).1);
                            view! { <EndpointCard endpoint allows_payload last_test/> }
                        })
                        .collect_view()}
                </section>
                <section class="card" aria-labelledby="add-endpoint-heading">
                    <h2 id="add-endpoint-heading">"Add an endpoint"</h2>
                    <EndpointForm endpoint=None allows_payload/>
                </section>
            }
            .into_any())
        })
    };

    view! {
        <WebhookTokenCard/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>{body}</Suspense>
        <VerifyPanel/>
    }
}

#[component]
fn WebhookTokenCard() -> impl IntoView {
    let public_id = use_public_id();
    let query = use_query_map();
    let rotate = ServerAction::<RotateWebhookToken>::new();
    let revealed = Resource::new(
        move || {
            (
                public_id.get(),
                query.read().get("reveal") == Some("token".into()),
            )
        },
        |(id, reveal)| async move {
            if reveal {
                reveal_webhook_token(id).await.map(Some)
            } else {
                Ok(None)
            }
        },
    );
    let token = move || {
        Suspend::new(async move {
            let rotated = rotate.value().get().and_then(Result::ok);
            let shown = match rotated {
                Some(token) => Some(token),
                None => revealed.await.ok().flatten(),
            };
            match shown {
                Some(token) => view! {
                    <p class="secret-row"><code class="secret" data-testid="webhook-token">{token.clone()}</code> <CopyButton text=token label="Copy webhook token"/></p>
                }
                .into_any(),
                None => view! {
                    <p><a href="?reveal=token">"Reveal webhook token"</a></p>
                }
                .into_any(),
            }
        })
    };
    view! {
        <section class="card" aria-labelledby="token-heading">
            <h2 id="token-heading">"Webhook token"</h2>
            <p class="hint">"Sent with every webhook as " <code>"WWW-Authenticate: Bearer <token>"</code> ", as FACEIO does; receivers compare it with their copy."</p>
            <Transition fallback=|| ()>{token}</Transition>
            <ActionForm action=rotate attr:class="inline-actions">
                <input type="hidden" name="public_id" value=public_id/>
                <SubmitButton label="Rotate webhook token" pending_label="Rotating…" pending=rotate.pending()/>
            </ActionForm>
        </section>
    }
}

#[component]
fn EndpointCard(
    endpoint: EndpointView,
    allows_payload: bool,
    last_test: Option<TestDeliveryResult>,
) -> impl IntoView {
    let public_id = use_public_id();
    let delete = ServerAction::<DeleteEndpoint>::new();
    let endpoint_id = endpoint.id.clone();
    let label = format!("Endpoint {}", endpoint.url);
    let title = if endpoint.description.is_empty() {
        endpoint.url.clone()
    } else {
        endpoint.description.clone()
    };
    view! {
        <article class="endpoint" aria-label=label>
            <header class="endpoint-head">
                <h3>{title}</h3>
                <HealthBadge endpoint=endpoint.clone()/>
            </header>
            <DisabledNotice endpoint=endpoint.clone()/>
            <EndpointForm endpoint=Some(endpoint) allows_payload/>
            <TestEventPanel endpoint_id=endpoint_id.clone() last=last_test/>
            <SigningSecretsPanel endpoint_id=endpoint_id.clone()/>
            <ActionForm action=delete attr:class="inline-actions">
                <input type="hidden" name="public_id" value=public_id/>
                <input type="hidden" name="endpoint_id" value=endpoint_id/>
                <button type="submit" class="danger" disabled=move || delete.pending().get()>"Delete endpoint"</button>
            </ActionForm>
        </article>
    }
}

#[component]
fn EndpointForm(endpoint: Option<EndpointView>, allows_payload: bool) -> impl IntoView {
    let public_id = use_public_id();
    let save = ServerAction::<SaveEndpoint>::new();
    let is_new = endpoint.is_none();
    let prefix = endpoint
        .as_ref()
        .map(|e| e.id.clone())
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
    let all_events = match &typed {
        Some(t) => t.value(Some(&prefix), "events_mode").as_deref() != Some("selected"),
        None => endpoint.as_ref().is_none_or(|e| e.events.is_none()),
    };
    let subscribed: Vec<bool> = EventKind::ALL
        .into_iter()
        .map(|kind| {
            chosen(&format!("event_{}", kind.as_str()))
                .unwrap_or_else(|| endpoint.as_ref().is_none_or(|e| e.subscribes_to(kind)))
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
            <input type="hidden" name="public_id" value=public_id/>
            <input type="hidden" name=FORM_ID_FIELD value=prefix.clone()/>
            {hidden_endpoint_id.map(|value| view! { <input type="hidden" name="endpoint_id" value=value/> })}
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
                <div class="event-kinds">
                    {EventKind::ALL
                        .into_iter()
                        .zip(subscribed)
                        .map(|(kind, checked)| {
                            let box_id = id(&format!("event-{}", kind.as_str()));
                            view! {
                                <div class="check">
                                    <input type="checkbox" id=box_id.clone() name=format!("event_{}", kind.as_str()) checked=checked/>
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

#[component]
fn SigningSecretsPanel(endpoint_id: String) -> impl IntoView {
    let public_id = use_public_id();
    let query = use_query_map();
    let rotate = ServerAction::<RotateSigningSecret>::new();
    let revealed = {
        let endpoint_id = endpoint_id.clone();
        Resource::new(
            move || {
                (
                    public_id.get(),
                    query.read().get("reveal") == Some(endpoint_id.clone()),
                    endpoint_id.clone(),
                )
            },
            |(id, reveal, endpoint_id)| async move {
                if reveal {
                    reveal_signing_secrets(id, endpoint_id).await.map(Some)
                } else {
                    Ok(None)
                }
            },
        )
    };
    let reveal_href = format!("?reveal={endpoint_id}");
    let secrets = move || {
        let reveal_href = reveal_href.clone();
        Suspend::new(async move {
            let rotated = rotate.value().get().and_then(Result::ok);
            let shown = match rotated {
                Some(secrets) => Some(secrets),
                None => revealed.await.ok().flatten(),
            };
            match shown {
                Some(secrets) => view! { <SecretsList secrets/> }.into_any(),
                None => view! { <p><a href=reveal_href>"Reveal signing secret"</a></p> }.into_any(),
            }
        })
    };
    view! {
        <div class="secrets">
            <h4>"Signing secret"</h4>
            <Transition fallback=|| ()>{secrets}</Transition>
            <ActionForm action=rotate attr:class="inline-actions">
                <input type="hidden" name="public_id" value=public_id/>
                <input type="hidden" name="endpoint_id" value=endpoint_id/>
                <SubmitButton label="Rotate signing secret" pending_label="Rotating…" pending=rotate.pending()/>
                <span class="hint">"The previous secret stays valid for 24 hours."</span>
            </ActionForm>
        </div>
    }
}

#[component]
fn SecretsList(secrets: SigningSecrets) -> impl IntoView {
    let current = secrets.current;
    view! {
        <dl class="facts">
            <dt>"Current"</dt>
            <dd class="secret-row"><code class="secret" data-testid="current-secret">{current.clone()}</code> <CopyButton text=current label="Copy current signing secret"/></dd>
            {secrets.previous.map(|previous| {
                let expiry = secrets.previous_expires_at_ms.map(utc_time).unwrap_or_default();
                view! {
                    <dt>"Previous"</dt>
                    <dd>
                        <code class="secret" data-testid="previous-secret">{previous}</code>
                        <span class="hint" data-testid="previous-expiry">{format!(" valid until {expiry}")}</span>
                    </dd>
                }
            })}
        </dl>
    }
}

#[component]
fn VerifyPanel() -> impl IntoView {
    const SNIPPET: &str = r#"// Node.js receiver (Express, raw body)
const crypto = require('crypto');
function verify(req, rawBody, secret, token) {
  if (req.get('WWW-Authenticate') !== `Bearer ${token}`) return false;
  const id = req.get('webhook-id'), ts = req.get('webhook-timestamp');
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = crypto.createHmac('sha256', key)
    .update(`${id}.${ts}.${rawBody}`).digest('base64');
  return req.get('webhook-signature').split(' ')
    .some(s => s.startsWith('v1,') && crypto.timingSafeEqual(
      Buffer.from(s.slice(3)), Buffer.from(expected)));
}"#;
    view! {
        <section class="card" aria-labelledby="verify-heading">
            <h2 id="verify-heading">"How to verify a webhook"</h2>
            <p>"Every delivery is an HTTP POST with a JSON body and these headers:"</p>
            <dl class="facts">
                <dt><code>"WWW-Authenticate"</code></dt>
                <dd><code>"Bearer <webhook token>"</code>" — compare with the token above (FACEIO receivers already do)."</dd>
                <dt><code>"webhook-id"</code></dt>
                <dd>"The event ID, the same on every retry: use it to ignore duplicates."</dd>
                <dt><code>"webhook-timestamp"</code></dt>
                <dd>"Unix seconds of this attempt: reject anything older than five minutes."</dd>
                <dt><code>"webhook-signature"</code></dt>
                <dd><code>"v1,<base64 HMAC-SHA256 of id.timestamp.body>"</code>" — two space-separated signatures while a rotated secret is still valid."</dd>
            </dl>
            <p>"Any Standard Webhooks library verifies these headers; or, by hand:"</p>
            <pre class="snippet"><code>{SNIPPET}</code></pre>
        </section>
    }
}
