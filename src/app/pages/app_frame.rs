//! `/apps/{publicId}/…`: the application's header and tabs around the selected tab.
//! Another account's application gets the same not-found page as a missing one.

use crate::api::apps::get_app;
use crate::app::format::PlanBadge;
use crate::app::pages::NotFound;
use crate::model::app::AppDetail;
use crate::model::ids::AppId;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::use_params_map;

/// The application's public ID from the URL.
pub fn use_public_id() -> Memo<AppId> {
    let params = use_params_map();
    Memo::new(move |_| AppId::from(params.read().get("public_id").unwrap_or_default()))
}

/// The application shown on the current page.
pub fn use_app_detail() -> Resource<Result<AppDetail, AppError>> {
    let public_id = use_public_id();
    Resource::new(move || public_id.get(), get_app)
}

#[component]
pub fn AppFrame() -> impl IntoView {
    let public_id = use_public_id();
    let detail = use_app_detail();
    // A tab stays current on its sub-pages (an endpoint's page is under WEBHOOKS).
    let tab = move |path: &'static str, label: &'static str| {
        let href = move || format!("/apps/{}{path}", public_id.get());
        view! { <A href=href exact=path.is_empty()>{label}</A> }
    };

    let header = move || {
        Suspend::new(async move {
            match detail.await {
                Ok(app) => view! {
                    <Title text=app.name.clone()/>
                    <header class="app-header">
                        <h1>{app.name}</h1>
                        <p class="app-meta"><code>{app.public_id.to_string()}</code> " " <PlanBadge plan=app.plan/></p>
                    </header>
                }
                .into_any(),
                Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                Err(err) => view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any(),
            }
        })
    };
    let found = move || !matches!(detail.get(), Some(Err(AppError::NotFound)));

    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>{header}</Suspense>
        <Show when=found>
            <nav class="tabs" aria-label="Application">
                {tab("", "Overview")}
                {tab("/webhooks", "WEBHOOKS")}
                {tab("/facial-ids", "Facial IDs")}
                {tab("/deliveries", "Deliveries")}
                {tab("/events", "Events")}
            </nav>
            <Outlet/>
        </Show>
    }
}
