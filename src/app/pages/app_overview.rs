//! The Overview tab: IDs, plan, the API key (shown once), rename and delete.

use crate::api::apps::{take_issued_api_key, DeleteApp, RenameApp, RotateApiKey};
use crate::app::components::{
    field_error, form_error, Confirm, CopyButton, Field, FormAlert, RoleNote, SubmitButton,
};
use crate::app::format::{utc_time, PlanBadge};
use crate::app::pages::app_frame::{use_app_detail, use_public_id};
use crate::model::org::Action;
use crate::model::AppError;
use leptos::prelude::*;

#[component]
pub fn AppOverview() -> impl IntoView {
    let public_id = use_public_id();
    let detail = use_app_detail();
    let rename = ServerAction::<RenameApp>::new();
    let rotate = ServerAction::<RotateApiKey>::new();
    let delete = ServerAction::<DeleteApp>::new();
    let issued_key = Resource::new(
        move || (public_id.get(), rotate.version().get()),
        |(id, _)| take_issued_api_key(id),
    );
    let rename_error: Signal<Option<AppError>> =
        Signal::derive(move || rename.value().get().and_then(Result::err));
    let delete_error: Signal<Option<AppError>> =
        Signal::derive(move || delete.value().get().and_then(Result::err));

    let key_notice = move || {
        Suspend::new(async move {
            issued_key.await.ok().flatten().map(|key| {
                view! {
                    <div class="secret-once" role="status">
                        <p><strong>"Your API key"</strong> " — copy it now; it will not be shown again."</p>
                        <p class="secret-row"><code class="secret" data-testid="issued-api-key">{key.clone()}</code> <CopyButton text=key label="Copy API key"/></p>
                    </div>
                }
            })
        })
    };
    let facts = move || {
        Suspend::new(async move {
            detail.await.ok().map(|app| {
                view! {
                    <dl class="facts">
                        <dt>"Public ID"</dt>
                        <dd><code>{app.public_id.to_string()}</code></dd>
                        <dt>"Plan"</dt>
                        <dd><PlanBadge plan=app.plan/></dd>
                        <dt>"Created"</dt>
                        <dd>{utc_time(app.created_at_ms)}</dd>
                        <dt>"API key"</dt>
                        <dd><code>{app.api_key_prefix}"…"</code></dd>
                    </dl>
                }
            })
        })
    };

    // Names the application, so the confirmation cannot be mistaken for another one's.
    let rotate_confirm = move || {
        Suspend::new(async move {
            let app = detail.await.ok()?;
            if !app.role.allows(Action::RotateApiKey) {
                return None;
            }
            let name = app.name;
            Some(view! {
                <Confirm opener="Rotate API key…"
                    question=format!("Rotate the API key of \u{201c}{name}\u{201d}?")
                    consequence="The current key stops working at once: anything that sends events with it gets 401 until it has the new key, shown once on the next page.">
                    <ActionForm action=rotate attr:class="inline-actions">
                        <input type="hidden" name="public_id" value=move || public_id.get().to_string()/>
                        <SubmitButton label="Rotate API key" pending_label="Rotating…" pending=rotate.pending() class="danger"/>
                    </ActionForm>
                </Confirm>
            })
        })
    };
    // Renaming and deleting need an owner or admin; other roles are told so instead.
    let manage = move || {
        Suspend::new(async move {
            let role = detail.await.ok()?.role;
            if !role.allows(Action::DeleteApp) {
                return Some(
                    view! {
                        <section class="card">
                            <h2>"Rename or delete"</h2>
                            <RoleNote role action=Action::DeleteApp/>
                        </section>
                    }
                    .into_any(),
                );
            }
            Some(view! {
                <section class="card">
                    <h2>"Rename"</h2>
                    <FormAlert message=form_error(rename_error)/>
                    <ActionForm action=rename attr:class="stack" attr:novalidate=true>
                        <input type="hidden" name="public_id" value=move || public_id.get().to_string()/>
                        <Field label="New name" name="name" error=field_error(rename_error, "name")/>
                        <SubmitButton label="Rename" pending_label="Renaming…" pending=rename.pending()/>
                    </ActionForm>
                </section>
                <section class="card danger-zone">
                    <h2>"Delete application"</h2>
                    <p>"Deletes its endpoints, facial IDs, events and deliveries. This cannot be undone."</p>
                    <FormAlert message=form_error(delete_error)/>
                    <ActionForm action=delete attr:class="stack" attr:novalidate=true>
                        <input type="hidden" name="public_id" value=move || public_id.get().to_string()/>
                        <Field label="Type the application name to confirm" name="confirmation"
                            error=field_error(delete_error, "confirmation")/>
                        <SubmitButton label="Delete application" pending_label="Deleting…" pending=delete.pending() class="danger"/>
                    </ActionForm>
                </section>
            }
            .into_any())
        })
    };

    view! {
        <Transition fallback=|| ()>{key_notice}</Transition>
        <section class="card">
            <h2>"Overview"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>{facts}</Suspense>
            <p class="hint"><a href="/api/v1/docs" rel="external">"How to use the API key"</a></p>
            <Transition fallback=|| ()>{rotate_confirm}</Transition>
        </section>
        <Transition fallback=|| ()>{manage}</Transition>
    }
}
