//! The event catalog's server function: what each event type looks like on the wire.

use crate::model::ids::AppId;

use crate::model::catalog::EventCatalog;
use crate::model::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context::RequestContext;

/// Every event type with an example body exactly as this application's receivers get it.
#[server(endpoint = "event_catalog")]
pub async fn get_event_catalog(public_id: AppId) -> Result<EventCatalog, AppError> {
    use crate::model::catalog::{event_label, event_names, fires_when, EventTypeDoc};
    use crate::server::dispatch::example_body;

    let ctx = RequestContext::load().await?;
    let (_, app) = ctx
        .owned_app(&public_id, crate::model::org::Action::ViewApps)
        .await?;
    let events = event_names()
        .map(|name| EventTypeDoc {
            name: name.to_owned(),
            label: event_label(name).to_owned(),
            fires_when: fires_when(name).to_owned(),
            example_body: String::from_utf8_lossy(&example_body(
                &app.public_id,
                app.plan,
                name,
                true,
                None,
            ))
            .into_owned(),
        })
        .collect();
    Ok(EventCatalog {
        plan_allows_payload: app.plan.allows_payload(),
        events,
    })
}
