//! The API tokens card: owners and admins make organization tokens for the management API
//! (shown once), see when each was last used and from where, and revoke them.

use crate::api::tokens::{CreateApiToken, RevokeApiToken};
use crate::app::components::{
    field_error, form_error, Confirm, CopyButton, Field, FormAlert, SubmitButton,
};
use crate::app::format::utc_time;
use crate::model::org::{Action, OrgSummary, Role};
use crate::model::token::TokenView;
use crate::model::AppError;
use leptos::prelude::*;

#[component]
pub fn TokensCard(
    org: OrgSummary,
    tokens: Vec<TokenView>,
    issued: Option<String>,
) -> impl IntoView {
    let create = ServerAction::<CreateApiToken>::new();
    let revoke = ServerAction::<RevokeApiToken>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || create.value().get().and_then(Result::err));
    let revoke_error: Signal<Option<AppError>> =
        Signal::derive(move || revoke.value().get().and_then(Result::err));
    let shown_token = issued.map(|token| {
        view! {
            <div class="notice" data-testid="issued-token">
                <p>"Your new token (shown this once; it is stored only as a hash):"</p>
                <p class="secret-row"><code class="secret">{token.clone()}</code> <CopyButton text=token label="Copy token"/></p>
            </div>
        }
    });
    let roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|role| *role != Role::Owner || org.role.allows(Action::ManageOwners))
        .collect();
    let count = tokens.len();
    view! {
        <section class="card" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">{format!("API tokens ({count})")}</h2>
            <p class="hint">
                "For scripts and CI: a token manages this organization through the "
                <a href="/api/v1/docs">"management API"</a>
                " with the role you give it. Everything it does is in the audit log."
            </p>
            {shown_token}
            <FormAlert message=Signal::derive(move || revoke_error.get().map(|e| e.to_string()))/>
            {(!tokens.is_empty()).then(|| view! {
                <ul class="member-list" data-testid="tokens">
                    {tokens.into_iter().map(|token| {
                        let org_id = org.id.clone();
                        let used = match (token.last_used_at_ms, token.last_used_ip.clone()) {
                            (Some(at), Some(ip)) => format!("Last used {} from {ip}", utc_time(at)),
                            (Some(at), None) => format!("Last used {}", utc_time(at)),
                            _ => "Never used".to_owned(),
                        };
                        let expiry = token
                            .expires_at_ms
                            .map(|at| format!(" · expires {}", utc_time(at)))
                            .unwrap_or_else(|| " · never expires".to_owned());
                        let name = token.name.clone();
                        view! {
                            <li class="member" data-testid="token">
                                <div class="member-what">
                                    <strong>{token.name.clone()}</strong>
                                    " " <span class="badge">{token.role.label()}</span>
                                    " " <code class="id">{format!("{}…", token.prefix)}</code>
                                    {(!token.active).then(|| view! { " " <span class="badge health-off">"Inactive"</span> })}
                                </div>
                                {(!token.active).then(|| view! {
                                    <p class="hint">"Refused: whoever made it can no longer make such a token (their role changed, or they left)."</p>
                                })}
                                <p class="hint">
                                    {format!("Made by {} on {}{expiry}. {used}.", token.created_by, utc_time(token.created_at_ms))}
                                </p>
                                <Confirm opener="Revoke…"
                                    question=format!("Revoke the token “{name}”?")
                                    consequence="Whatever uses it gets 401 from its next request on. This cannot be undone.">
                                    <ActionForm action=revoke attr:class="inline-actions">
                                        <input type="hidden" name="org_id" value=org_id.to_string()/>
                                        <input type="hidden" name="token_id" value=token.id.clone()/>
                                        <SubmitButton label="Revoke token" pending_label="Revoking…" pending=revoke.pending() class="danger"/>
                                    </ActionForm>
                                </Confirm>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })}
            <h3>"New token"</h3>
            <FormAlert message=form_error(error)/>
            <ActionForm action=create attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="org_id" value=org.id.to_string()/>
                <Field label="Name" name="name" id="token-name" autocomplete="off"
                    error=field_error(error, "name")/>
                <div class="field">
                    <label for="token-role">"Role"</label>
                    <select id="token-role" name="role" aria-describedby="token-role-hint">
                        {roles.into_iter().map(|role| view! {
                            <option value=role.as_str() selected=role == Role::Developer>{format!("{} — {}", role.label(), role.summary())}</option>
                        }).collect_view()}
                    </select>
                    <p class="hint" id="token-role-hint">"What the token may do, as a member with this role."</p>
                </div>
                <div class="field">
                    <label for="token-expiry">"Expires"</label>
                    <select id="token-expiry" name="expires_in_days">
                        <option value="30">"In 30 days"</option>
                        <option value="90" selected=true>"In 90 days"</option>
                        <option value="365">"In a year"</option>
                        <option value="">"Never"</option>
                    </select>
                </div>
                <SubmitButton label="Create token" pending_label="Creating…" pending=create.pending()/>
            </ActionForm>
        </section>
    }
}
