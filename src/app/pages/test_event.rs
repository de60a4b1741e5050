//! "Send test event" on an endpoint card: sends a signed `test` event now and shows what came
//! back (status, protocol, time, response excerpt, or the error) right under the button, after
//! the form's post and redirect.

use crate::api::deliveries::SendTestEvent;
use crate::app::components::{sent_from, SubmitButton};
use crate::app::pages::app_frame::use_public_id;
use crate::model::app::TestDeliveryResult;
use crate::model::form::FORM_ID_FIELD;
use crate::model::ids::EndpointId;
use crate::model::AppError;
use leptos::prelude::*;

/// `last` is the outcome of the test event this endpoint's form just sent, if any;
/// `event_type` the type it sends as.
#[component]
pub fn TestEventPanel(
    endpoint_id: EndpointId,
    event_type: String,
    last: Option<TestDeliveryResult>,
) -> impl IntoView {
    let public_id = use_public_id();
    let send = ServerAction::<SendTestEvent>::new();
    let form_id = format!("test-{endpoint_id}");
    let sent_here = sent_from(&form_id);
    let outcome = move || {
        last.clone()
            .map(Ok)
            .or_else(|| send.value().get().filter(|_| sent_here))
            .map(outcome_view)
    };
    view! {
        <div class="test-event">
            <ActionForm action=send attr:class="inline-actions">
                <input type="hidden" name="public_id" value=move || public_id.get().to_string()/>
                <input type="hidden" name="endpoint_id" value=endpoint_id.to_string()/>
                <input type="hidden" name=FORM_ID_FIELD value=form_id/>
                <input type="hidden" name="event_type" value=event_type/>
                <SubmitButton label="Send test event" pending_label="Sending…" pending=send.pending()/>
            </ActionForm>
            {outcome}
        </div>
    }
}

fn outcome_view(sent: Result<TestDeliveryResult, AppError>) -> AnyView {
    match sent {
        Ok(result) => {
            let class = if result.delivered {
                "test-result delivered"
            } else {
                "test-result failed"
            };
            let excerpt = result
                .response_excerpt
                .clone()
                .filter(|body| !body.is_empty())
                .map(|body| view! { <pre class="excerpt">{body}</pre> });
            view! {
                <div class=class role="status" data-testid="test-result">
                    <p>{result.summary()}</p>
                    {excerpt}
                </div>
            }
            .into_any()
        }
        Err(err) => view! {
            <div class="test-result failed" role="alert" data-testid="test-result">
                <p>{err.to_string()}</p>
            </div>
        }
        .into_any(),
    }
}
