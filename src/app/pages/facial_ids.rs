//! The Facial IDs tab: the registry, newest first, searchable, with each ID's linked payload,
//! deletion (which emits a `deletion` event), and the last day's event counts.

use crate::api::registry::{list_facial_ids, DeleteFacialId};
use crate::app::components::{field_error, form_error, FormAlert};
use crate::app::format::utc_time;
use crate::app::pages::app_frame::{use_app_detail, use_public_id};
use crate::model::org::Action;
use crate::model::registry::FacialIdSummary;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn FacialIdsTab() -> impl IntoView {
    let public_id = use_public_id();
    let query = use_query_map();
    let search = move || query.read().get("q").filter(|q| !q.is_empty());
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let delete = ServerAction::<DeleteFacialId>::new();
    let app = use_app_detail();
    let listing = Resource::new(
        move || (public_id.get(), search(), page(), delete.version().get()),
        |(id, search, page, _)| list_facial_ids(id, search, Some(page.to_string())),
    );
    let delete_error: Signal<Option<AppError>> =
        Signal::derive(move || delete.value().get().and_then(Result::err));

    let content = move || {
        Suspend::new(async move {
            let may_delete = app
                .await
                .is_ok_and(|app| app.role.allows(Action::DeleteFacialIds));
            let listing = match listing.await {
                Ok(listing) => listing,
                Err(AppError::NotFound) => return None,
                Err(err) => {
                    return Some(
                        view! { <p class="form-alert" role="alert">{err.to_string()}</p> }
                            .into_any(),
                    )
                }
            };
            let query_for = |page: u32| {
                let q = search().map(|q| format!("&q={q}")).unwrap_or_default();
                format!("?page={page}{q}")
            };
            let newer = (listing.page > 0).then(|| query_for(listing.page - 1));
            let older = listing.has_more.then(|| query_for(listing.page + 1));
            Some(view! {
                <section class="card" aria-labelledby="counts-heading">
                    <h2 id="counts-heading">"Events in the last 24 hours"</h2>
                    <dl class="counts">
                        {listing.counts_24h.into_iter().map(|(kind, n)| view! {
                            <div><dt>{kind.label()}</dt><dd>{n}</dd></div>
                        }).collect_view()}
                    </dl>
                </section>
                <section class="card" aria-labelledby="registry-heading">
                    <h2 id="registry-heading">"Facial IDs"</h2>
                    <form method="get" class="inline-actions" role="search">
                        <label for="facial-id-search">"Search by facial ID"</label>
                        <input id="facial-id-search" name="q" type="search" value=search().unwrap_or_default()/>
                        <button type="submit" class="secondary">"Search"</button>
                    </form>
                    <FormAlert message=form_error(delete_error)/>
                    {if listing.items.is_empty() {
                        view! { <p class="empty">"No facial IDs enrolled yet (or none match the search)."</p> }.into_any()
                    } else {
                        listing.items.into_iter().map(|item| view! { <FacialIdEntry item delete delete_error may_delete/> }).collect_view().into_any()
                    }}
                    <nav class="pager" aria-label="Pages">
                        {newer.map(|href| view! { <a href=href>"Newer"</a> })}
                        {older.map(|href| view! { <a href=href>"Older"</a> })}
                    </nav>
                </section>
            }
            .into_any())
        })
    };
    view! { <Suspense fallback=|| view! { <p>"Loading…"</p> }>{content}</Suspense> }
}

#[component]
fn FacialIdEntry(
    item: FacialIdSummary,
    delete: ServerAction<DeleteFacialId>,
    delete_error: Signal<Option<AppError>>,
    /// Whether the member's role may delete facial IDs (else no form is shown).
    may_delete: bool,
) -> impl IntoView {
    let public_id = use_public_id();
    let confirm_id = format!("confirm-{}", item.facial_id);
    let details = [
        item.gender.clone().map(|g| format!("gender {g}")),
        item.age.map(|a| format!("age {a}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let confirm_error = field_error(delete_error, "confirm");
    let label = format!("Facial ID {}", item.facial_id);
    let delete_label = format!("Delete facial ID {}", item.facial_id);
    let hidden_id = item.facial_id.clone();
    view! {
        <article class="facial-id" aria-label=label>
            <header class="endpoint-head">
                <h3><code>{item.facial_id.clone()}</code></h3>
                <span class="hint">{format!("enrolled {}", utc_time(item.enrolled_at_ms))}</span>
            </header>
            <p class="hint">
                {item.last_auth_at_ms.map(|t| format!("Last authentication {}", utc_time(t))).unwrap_or_else(|| "Never authenticated".into())}
                {(!details.is_empty()).then(|| format!(" · {details}"))}
            </p>
            <details>
                <summary>"Linked payload"</summary>
                <pre class="snippet" tabindex="0" data-testid="linked-payload">{item.payload.unwrap_or_else(|| "(none)".into())}</pre>
            </details>
            {may_delete.then(|| view! {
            <ActionForm action=delete attr:class="inline-actions">
                <input type="hidden" name="public_id" value=move || public_id.get().to_string()/>
                <input type="hidden" name="facial_id" value=hidden_id/>
                <div class="check">
                    <input type="checkbox" id=confirm_id.clone() name="confirm" required=true/>
                    <label for=confirm_id>"Confirm deletion"</label>
                </div>
                <button type="submit" class="danger" aria-label=delete_label>"Delete"</button>
                <span class="field-error" hidden=move || confirm_error.get().is_none()>{move || confirm_error.get()}</span>
            </ActionForm>
            })}
        </article>
    }
}
