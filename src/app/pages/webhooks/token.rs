//! The application's webhook token (`WWW-Authenticate: Bearer …` on every webhook):
//! revealed on request, copied, rotated after a confirmation that names the application.

use crate::api::apps::{reveal_webhook_token, RotateWebhookToken};
use crate::app::components::{Confirm, CopyButton, RoleNote, SubmitButton};
use crate::app::pages::app_frame::use_public_id;
use crate::model::org::{Action, Role};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn WebhookTokenCard(app_name: String, role: Role) -> impl IntoView {
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
            match revealed.await.ok().flatten() {
                Some(token) => view! {
                    <p class="secret-row"><code class="secret" data-testid="webhook-token">{token.clone()}</code> <CopyButton text=token label="Copy webhook token"/></p>
                }
                .into_any(),
                None if role.allows(Action::RevealSecrets) => view! {
                    <p><a href="?reveal=token#token-heading" class="button-link">"Reveal webhook token"</a></p>
                }
                .into_any(),
                None => view! { <RoleNote role action=Action::RevealSecrets/> }.into_any(),
            }
        })
    };
    view! {
        <section class="card" aria-labelledby="token-heading">
            <h2 id="token-heading">"Webhook token"</h2>
            <p class="hint">"Sent with every webhook as " <code>"WWW-Authenticate: Bearer <token>"</code> ", as FACEIO does; receivers compare it with their copy."</p>
            <Transition fallback=|| ()>{token}</Transition>
            {role.allows(Action::RotateSecrets).then(|| view! {
            <Confirm opener="Rotate webhook token…"
                question=format!("Rotate the webhook token of \u{201c}{app_name}\u{201d}?")
                consequence="Every endpoint gets the new token at once and the old one stops being sent: receivers that still expect it refuse webhooks until they have the new one.">
                <ActionForm action=rotate attr:class="inline-actions">
                    <input type="hidden" name="public_id" value=move || public_id.get().to_string()/>
                    <SubmitButton label="Rotate webhook token" pending_label="Rotating…" pending=rotate.pending() class="danger"/>
                </ActionForm>
            </Confirm>
            })}
        </section>
    }
}
