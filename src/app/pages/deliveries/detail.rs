//! `/apps/{publicId}/deliveries/{deliveryId}`: the exact request (credentials masked), every
//! attempt with what came back, and "Redeliver now"; the detail is a live region.

use super::live::LiveUpdates;
use super::table::When;
use crate::api::deliveries::{get_delivery, Redeliver};
use crate::app::components::{form_error, CopyButton, FormAlert, SubmitButton};
use crate::app::pages::app_frame::{use_app_detail, use_public_id};
use crate::model::delivery::{
    AttemptView, DeliveryDetail, DeliveryStatus, RequestPreview, TEST_EVENT_NAME,
};
use crate::model::ids::DeliveryId;
use crate::model::org::Action;
use crate::model::outcome::failure_in_words;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn DeliveryDetailPage() -> impl IntoView {
    let public_id = use_public_id();
    let params = use_params_map();
    let delivery_id =
        Memo::new(move |_| DeliveryId::from(params.read().get("delivery_id").unwrap_or_default()));
    let redeliver = ServerAction::<Redeliver>::new();
    let app = use_app_detail();
    let detail = Resource::new(
        move || {
            (
                public_id.get(),
                delivery_id.get(),
                redeliver.version().get(),
            )
        },
        |(id, delivery, _)| get_delivery(id, delivery),
    );
    let redeliver_error: Signal<Option<AppError>> =
        Signal::derive(move || redeliver.value().get().and_then(Result::err));
    let refresh_href = format!(
        "/apps/{}/deliveries/{}",
        public_id.get_untracked(),
        delivery_id.get_untracked()
    );

    let content = move || {
        Suspend::new(async move {
            let may_redeliver = app
                .await
                .is_ok_and(|app| app.role.allows(Action::Redeliver));
            match detail.await {
                Ok(detail) => view! { <DetailView detail redeliver may_redeliver/> }.into_any(),
                Err(AppError::NotFound) => view! {
                    <section class="card"><p class="empty">"This delivery does not exist (or was purged)."</p></section>
                }
                .into_any(),
                Err(err) => view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any(),
            }
        })
    };
    view! {
        <p><a href=move || format!("/apps/{}/deliveries", public_id.get())>"← All deliveries"</a></p>
        <LiveUpdates public_id=public_id.get_untracked() refresh_href/>
        // Outside the live region: a redraw must not wipe the error of the post just made.
        <FormAlert message=form_error(redeliver_error)/>
        <div id="live-delivery" data-live-region="">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>{content}</Suspense>
        </div>
    }
}

#[component]
fn DetailView(
    detail: DeliveryDetail,
    redeliver: ServerAction<Redeliver>,
    may_redeliver: bool,
) -> impl IntoView {
    let public_id = use_public_id();
    let summary = detail.summary;
    let now_ms = detail.now_ms;
    let can_redeliver = may_redeliver
        && summary.status != DeliveryStatus::Delivering
        && summary.status != DeliveryStatus::Held
        && summary.event_name != TEST_EVENT_NAME;
    let waiting_behind = detail.waiting_behind.map(|head| {
        let href = format!("/apps/{}/deliveries/{head}", public_id.get_untracked());
        view! {
            <p class="notice" data-testid="waiting-behind">
                "Waiting behind " <a href=href><code>{head.to_string()}</code></a>
                ": this endpoint receives a facial ID's webhooks one at a time, in order."
            </p>
        }
    });
    let when = match (summary.completed_at_ms, summary.next_attempt_at_ms) {
        (Some(done), _) => view! { "finished " <When at_ms=done now_ms/> }.into_any(),
        (None, Some(next)) => view! { "next attempt " <When at_ms=next now_ms/> }.into_any(),
        (None, None) => view! { "not finished" }.into_any(),
    };
    let curl = curl_command(&detail.request);
    let body = detail.request.body.clone();
    let headers = detail
        .request
        .headers
        .into_iter()
        .map(|(name, value)| view! { <tr><th scope="row">{name}</th><td><code>{value}</code></td></tr> })
        .collect_view();
    let attempts = if detail.attempts.is_empty() {
        view! { <p class="empty">"No attempt yet."</p> }.into_any()
    } else {
        detail
            .attempts
            .into_iter()
            .rev()
            .map(|attempt| view! { <AttemptEntry attempt now_ms/> })
            .collect_view()
            .into_any()
    };
    view! {
        <section class="card" aria-labelledby="delivery-heading">
            <header class="endpoint-head">
                <h2 id="delivery-heading">{format!("{} → {}", summary.event_name, summary.endpoint_label())}</h2>
                <span class=format!("badge status-{}", summary.status.as_str()) data-testid="delivery-status">{summary.status.label()}</span>
            </header>
            <dl class="facts">
                <div><dt>"Delivery"</dt><dd class="copyable"><code>{summary.id.to_string()}</code> <CopyButton text=summary.id.to_string() label="Copy delivery ID"/></dd></div>
                <div><dt>"webhook-id"</dt><dd class="copyable"><code data-testid="webhook-id">{summary.event_id.to_string()}</code> <CopyButton text=summary.event_id.to_string() label="Copy webhook-id"/></dd></div>
                <div><dt>"Facial ID"</dt><dd class="copyable"><code>{summary.facial_id.clone()}</code> <CopyButton text=summary.facial_id.clone() label="Copy facial ID"/></dd></div>
                <div><dt>"Endpoint"</dt><dd><code title=summary.endpoint_url.clone()>{summary.endpoint_url.clone()}</code></dd></div>
                <div><dt>"Attempts"</dt><dd>{summary.attempts}</dd></div>
                <div><dt>"Created"</dt><dd><When at_ms=summary.created_at_ms now_ms/></dd></div>
                <div><dt>"State"</dt><dd>{when}</dd></div>
                {(summary.status == DeliveryStatus::Retrying).then(|| view! {
                    <div><dt>"Retry schedule"</dt><dd data-testid="retry-schedule">{
                        detail.retry_schedule.clone().unwrap_or_else(|| "The server's schedule".to_owned())
                    }</dd></div>
                })}
            </dl>
            {waiting_behind}
            {can_redeliver.then(|| view! {
                <ActionForm action=redeliver attr:class="inline-actions">
                    <input type="hidden" name="public_id" value=move || public_id.get().to_string()/>
                    <input type="hidden" name="delivery_id" value=summary.id.to_string()/>
                    <SubmitButton label="Redeliver now" pending_label="Queuing…" pending=redeliver.pending()/>
                    <span class="hint">"A new attempt with the same webhook-id."</span>
                </ActionForm>
            })}
        </section>
        <section class="card" aria-labelledby="request-heading">
            <h2 id="request-heading">"Request"</h2>
            <p><code>{format!("{} {}", detail.request.method, detail.request.url)}</code></p>
            <table class="list headers" data-testid="request-headers"><tbody>{headers}</tbody></table>
            <div class="body-head">
                <h3>"Body"</h3>
                <CopyButton text=body.clone() label="Copy body"/>
            </div>
            <pre class="snippet wrap" tabindex="0" data-testid="request-body">{body}</pre>
            <p class="hint">"Byte for byte as the dispatcher signs and sends it (with the plan and payload option as they are now). The bearer token and the signatures are masked; each attempt is signed with its own timestamp."</p>
            <details class="curl">
                <summary>"Replay with curl"</summary>
                <pre class="snippet" tabindex="0" data-testid="curl">{curl.clone()}</pre>
                <CopyButton text=curl label="Copy curl command"/>
                <p class="hint">"Set FACEHOOK_WEBHOOK_TOKEN first. The masked signature will not verify: a receiver that checks it answers 401, as it should for a copy."</p>
            </details>
        </section>
        <section class="card" aria-labelledby="attempts-heading">
            <h2 id="attempts-heading">"Attempts"</h2>
            {attempts}
        </section>
    }
}

#[component]
fn AttemptEntry(attempt: AttemptView, now_ms: i64) -> impl IntoView {
    let outcome = match (&attempt.status_code, &attempt.error_class) {
        (Some(code), None) => format!("HTTP {code}"),
        (code, Some(class)) => {
            failure_in_words(class, attempt.error_message.as_deref().unwrap_or(""), *code)
        }
        (None, None) => "No response".to_owned(),
    };
    let class = if attempt.error_class.is_none() {
        "attempt delivered"
    } else {
        "attempt failed"
    };
    let facts = [
        Some(format!("{} ms", attempt.duration_ms)),
        attempt.http_version.clone(),
        attempt.remote_addr.clone(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    // The transport's own words, for whoever debugs the receiver; the heading says it plainly.
    let detail = attempt
        .error_message
        .clone()
        .filter(|_| attempt.status_code.is_none())
        .map(|message| view! { <p class="hint error-detail">{message}</p> });
    let headers = (!attempt.response_headers.is_empty()).then(|| {
        let rows = attempt
            .response_headers
            .into_iter()
            .map(|(name, value)| view! { <tr><th scope="row">{name}</th><td><code>{value}</code></td></tr> })
            .collect_view();
        view! {
            <details>
                <summary>"Response headers"</summary>
                <table class="list headers"><tbody>{rows}</tbody></table>
            </details>
        }
    });
    view! {
        <article class=class data-testid="attempt">
            <h3>{format!("Attempt {} · {outcome}", attempt.number)}</h3>
            <p class="hint"><When at_ms=attempt.started_at_ms now_ms/>{format!(" · {facts}")}</p>
            {detail}
            {headers}
            {attempt.response_excerpt.filter(|b| !b.is_empty()).map(|body| view! { <pre class="excerpt">{body}</pre> })}
        </article>
    }
}

/// A `curl` that sends the same request again, credentials left as placeholders.
fn curl_command(request: &RequestPreview) -> String {
    let quote = |text: &str| format!("'{}'", text.replace('\'', r"'\''"));
    let mut lines = vec![format!(
        "curl -X {} {}",
        request.method,
        quote(&request.url)
    )];
    for (name, value) in &request.headers {
        // Double quotes only for the token, which the shell must expand; all else is quoted
        // single, so nothing in a header value is ever run.
        let header = if name == "www-authenticate" {
            "\"www-authenticate: Bearer $FACEHOOK_WEBHOOK_TOKEN\"".to_owned()
        } else {
            quote(&format!("{name}: {value}"))
        };
        lines.push(format!("  -H {header}"));
    }
    lines.push(format!("  --data-raw {}", quote(&request.body)));
    lines.join(" \\\n")
}
