//! An endpoint's signing secret: revealed on request (`?reveal=secret`), copied, rotated after
//! a confirmation that names the endpoint. The previous secret signs too for 24 hours.

use crate::api::apps::{reveal_signing_secrets, RotateSigningSecret};
use crate::app::components::{Confirm, CopyButton, RoleNote, SubmitButton};
use crate::app::format::utc_time;
use crate::app::pages::app_frame::use_public_id;
use crate::model::app::SigningSecrets;
use crate::model::ids::EndpointId;
use crate::model::org::{Action, Role};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SigningSecretCard(
    endpoint_id: EndpointId,
    endpoint_label: String,
    role: Role,
) -> impl IntoView {
    let public_id = use_public_id();
    let query = use_query_map();
    let rotate = ServerAction::<RotateSigningSecret>::new();
    let revealed = {
        let endpoint_id = endpoint_id.clone();
        Resource::new(
            move || {
                (
                    public_id.get(),
                    query.read().get("reveal") == Some("secret".into()),
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
    let secrets = move || {
        Suspend::new(async move {
            match revealed.await.ok().flatten() {
                Some(secrets) => view! { <SecretsList secrets/> }.into_any(),
                None if role.allows(Action::RevealSecrets) => view! {
                    <p><a href="?reveal=secret#secret-heading" class="button-link">"Reveal signing secret"</a></p>
                }
                .into_any(),
                None => view! { <RoleNote role action=Action::RevealSecrets/> }.into_any(),
            }
        })
    };
    view! {
        <section class="card" aria-labelledby="secret-heading">
            <h2 id="secret-heading">"Signing secret"</h2>
            <p class="hint">"Receivers check each webhook's " <code>"webhook-signature"</code> " with it (Standard Webhooks)."</p>
            <Transition fallback=|| ()>{secrets}</Transition>
            {role.allows(Action::RotateSecrets).then(|| view! {
            <Confirm opener="Rotate signing secret…"
                question=format!("Rotate the signing secret of \u{201c}{endpoint_label}\u{201d}?")
                consequence="A new secret signs every webhook from now on. The previous one keeps signing alongside it for 24 hours, so you have a day to update the receiver.">
                <ActionForm action=rotate attr:class="inline-actions">
                    <input type="hidden" name="public_id" value=move || public_id.get().to_string()/>
                    <input type="hidden" name="endpoint_id" value=endpoint_id.to_string()/>
                    <SubmitButton label="Rotate signing secret" pending_label="Rotating…" pending=rotate.pending() class="danger"/>
                </ActionForm>
            </Confirm>
            })}
        </section>
    }
}

#[component]
fn SecretsList(secrets: SigningSecrets) -> impl IntoView {
    let current = secrets.current;
    view! {
        <dl class="facts">
            <div>
                <dt>"Current"</dt>
                <dd class="secret-row"><code class="secret" data-testid="current-secret">{current.clone()}</code> <CopyButton text=current label="Copy current signing secret"/></dd>
            </div>
            {secrets.previous.map(|previous| {
                let expiry = secrets.previous_expires_at_ms.map(utc_time).unwrap_or_default();
                view! {
                    <div>
                        <dt>"Previous"</dt>
                        <dd>
                            <code class="secret" data-testid="previous-secret">{previous}</code>
                            <span class="hint" data-testid="previous-expiry">{format!(" valid until {expiry}")}</span>
                        </dd>
                    </div>
                }
            })}
        </dl>
    }
}
