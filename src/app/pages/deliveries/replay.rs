//! "Replay failed" for one endpoint since a time: a GET form counts what would be sent (so the
//! count is in the URL and works without JavaScript), a confirmed POST queues them, and the
//! replay's progress is a live region.

use crate::api::deliveries::{count_replayable, get_replay_progress, ReplayFailed};
use crate::app::components::{field_error, form_error, FormAlert};
use crate::app::pages::app_frame::use_public_id;
use crate::model::app::EndpointView;
use crate::model::delivery::ReplayProgress;
use crate::model::ids::EndpointId;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ReplayPanel(endpoints: Vec<EndpointView>) -> impl IntoView {
    let public_id = use_public_id();
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).filter(|v| !v.is_empty());
    let chosen = move || param("replay_endpoint").zip(param("replay_since"));
    let count = Resource::new(
        move || (public_id.get(), chosen()),
        |(id, chosen)| async move {
            match chosen {
                Some((endpoint, since)) => {
                    Some(count_replayable(id, EndpointId::from(endpoint), since).await)
                }
                None => None,
            }
        },
    );
    let replay = ServerAction::<ReplayFailed>::new();
    let replay_error: Signal<Option<AppError>> =
        Signal::derive(move || replay.value().get().and_then(Result::err));
    let replay_id = move || {
        replay
            .value()
            .get()
            .and_then(Result::ok)
            .map(|p| p.replay_id)
            .or_else(|| param("replay"))
    };
    let progress = Resource::new(
        move || (public_id.get(), replay_id()),
        |(id, replay)| async move {
            match replay {
                Some(replay) => Some(get_replay_progress(id, replay).await),
                None => None,
            }
        },
    );

    let selected_endpoint = param("replay_endpoint").unwrap_or_default();
    let options = endpoints
        .into_iter()
        .map(|e| {
            let selected = e.id == selected_endpoint.as_str();
            let label = e.label();
            view! { <option value=e.id.to_string() selected=selected>{label}</option> }
        })
        .collect_view();
    let confirm_step = move || {
        Suspend::new(async move {
            let (endpoint_id, since) = chosen()?;
            let view = match count.await? {
                Ok(0) => view! { <p class="empty" data-testid="replay-count">"No failed deliveries to replay in that range."</p> }.into_any(),
                Ok(n) => {
                    let since_error = field_error(replay_error, "since");
                    let confirm_error = field_error(replay_error, "confirm");
                    view! {
                        <p data-testid="replay-count">{format!("{n} failed deliveries since {since} UTC will be sent again.")}</p>
                        <ActionForm action=replay attr:class="inline-actions">
                            <input type="hidden" name="public_id" value=public_id.get_untracked().to_string()/>
                            <input type="hidden" name="endpoint_id" value=endpoint_id/>
                            <input type="hidden" name="since" value=since/>
                            <div class="check">
                                <input type="checkbox" id="replay-confirm" name="confirm" required=true/>
                                <label for="replay-confirm">{format!("Send {n} deliveries again")}</label>
                            </div>
                            <button type="submit" disabled=move || replay.pending().get()>"Replay failed"</button>
                            <span class="field-error" hidden=move || confirm_error.get().or(since_error.get()).is_none()>
                                {move || confirm_error.get().or(since_error.get())}
                            </span>
                        </ActionForm>
                    }.into_any()
                }
                Err(err) => view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any(),
            };
            Some(view)
        })
    };
    let progress_view = move || {
        Suspend::new(async move {
            progress.await.map(|result| match result {
                Ok(progress) => view! { <ProgressLine progress/> }.into_any(),
                Err(err) => {
                    view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any()
                }
            })
        })
    };

    view! {
        <section class="card" aria-labelledby="replay-heading">
            <h2 id="replay-heading">"Replay failed deliveries"</h2>
            <p class="hint">"Sends every failed delivery of one endpoint again, from a time you choose (UTC)."</p>
            <form method="get" class="filters">
                <label>"Endpoint"
                    <select name="replay_endpoint" required=true>{options}</select>
                </label>
                <label>"Failed since (UTC)"
                    <input type="datetime-local" name="replay_since" required=true value=param("replay_since").unwrap_or_default()/>
                </label>
                <button type="submit" class="secondary">"Count failed deliveries"</button>
            </form>
            <FormAlert message=form_error(replay_error)/>
            <Transition fallback=|| ()>{confirm_step}</Transition>
            <div id="live-replay-progress" data-live-region="">
                <Suspense fallback=|| ()>{progress_view}</Suspense>
            </div>
        </section>
    }
}

#[component]
fn ProgressLine(progress: ReplayProgress) -> impl IntoView {
    let done = progress.delivered + progress.failed;
    let text = if progress.finished() {
        format!(
            "Replay finished: {} of {} delivered, {} failed.",
            progress.delivered, progress.total, progress.failed
        )
    } else {
        format!(
            "Replaying {} deliveries: {} delivered, {} failed, {} waiting.",
            progress.total,
            progress.delivered,
            progress.failed,
            progress.waiting()
        )
    };
    view! {
        <div class="replay-progress" role="status" data-testid="replay-progress">
            <progress max=progress.total.to_string() value=done.to_string()></progress>
            <p>{text}</p>
        </div>
    }
}
