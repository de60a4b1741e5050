//! `/apps`: the Application Manager — the owner's applications and a form to create one.

use crate::api::apps::{list_apps, CreateApp};
use crate::api::orgs::current_orgs;
use crate::app::components::{field_error, form_error, Field, FormAlert, RoleNote, SubmitButton};
use crate::app::format::{utc_time, PlanBadge};
use crate::model::org::Action;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn AppsPage() -> impl IntoView {
    let create = ServerAction::<CreateApp>::new();
    let apps = Resource::new(|| (), |_| list_apps());
    let orgs = Resource::new(|| (), |_| current_orgs());
    let error: Signal<Option<AppError>> =
        Signal::derive(move || create.value().get().and_then(Result::err));

    let table = move || {
        Suspend::new(async move {
            match apps.await {
                Ok(apps) if apps.is_empty() => view! {
                    <p class="empty">
                        "You have no applications yet. Create one below to get its API key and webhook settings."
                    </p>
                }
                .into_any(),
                Ok(apps) => view! {
                    <table class="list">
                        <caption class="visually-hidden">"Your applications"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Name"</th>
                                <th scope="col">"Public ID"</th>
                                <th scope="col">"Plan"</th>
                                <th scope="col">"Endpoints"</th>
                                <th scope="col">"Last event"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {apps
                                .into_iter()
                                .map(|app| {
                                    let href = format!("/apps/{}", app.public_id);
                                    view! {
                                        <tr>
                                            <td><A href=href>{app.name}</A></td>
                                            <td><code>{app.public_id.to_string()}</code></td>
                                            <td><PlanBadge plan=app.plan/></td>
                                            <td>{app.endpoint_count}</td>
                                            <td>{app.last_event_at_ms.map(utc_time).unwrap_or_else(|| "No events yet".into())}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                .into_any(),
                Err(err) => view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any(),
            }
        })
    };

    // The create form names the organization it was shown for, so a switch in another tab
    // cannot move the new application elsewhere; a role that cannot create is told so.
    let create_card = move || {
        Suspend::new(async move {
            let org = orgs.await.ok()?.current;
            Some(if org.role.allows(Action::CreateApp) {
                view! {
                    <section class="card">
                        <h2>"Create an application"</h2>
                        <FormAlert message=form_error(error)/>
                        <ActionForm action=create attr:class="stack" attr:novalidate=true>
                            <input type="hidden" name="org_id" value=org.id.to_string()/>
                            <Field label="Application name" name="name" hint="1 to 80 characters, e.g. Front door kiosk."
                                error=field_error(error, "name")/>
                            <SubmitButton label="Create application" pending_label="Creating…" pending=create.pending()/>
                        </ActionForm>
                    </section>
                }
                .into_any()
            } else {
                view! {
                    <section class="card">
                        <h2>"Create an application"</h2>
                        <RoleNote role=org.role action=Action::CreateApp/>
                    </section>
                }
                .into_any()
            })
        })
    };
    let org_name = move || {
        Suspend::new(async move {
            orgs.await
                .ok()
                .map(|orgs| view! { <p class="hint" data-testid="apps-org">{format!("In {}", orgs.current.name)}</p> })
        })
    };

    view! {
        <Title text="Applications"/>
        <section class="card">
            <h1>"Application Manager"</h1>
            <Transition fallback=|| ()>{org_name}</Transition>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>{table}</Suspense>
        </section>
        <Transition fallback=|| ()>{create_card}</Transition>
    }
}
