//! Invitations: the form owners and admins invite with, the pending list (resend, revoke),
//! and `/invite/:token`, where the invited person joins with a new or an existing account.

use crate::api::auth::whoami;
use crate::api::orgs::{
    invitation_details, AcceptInvitation, InviteMember, ResendInvitation, RevokeInvitation,
};
use crate::app::components::{
    field_error, form_error, Confirm, CopyButton, Field, FormAlert, SubmitButton,
};
use crate::app::format::utc_time;
use crate::model::org::{Action, InvitationView, OrgSummary, Role};
use crate::model::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn InviteCard(org: OrgSummary, mail_configured: bool, link: Option<String>) -> impl IntoView {
    let invite = ServerAction::<InviteMember>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || invite.value().get().and_then(Result::err));
    let shown_link = link.map(|link| {
        view! {
            <div class="notice" data-testid="invitation-link">
                <p>"Invitation link (valid 7 days, works once):"</p>
                <p class="secret-row"><code class="secret">{link.clone()}</code> <CopyButton text=link label="Copy invitation link"/></p>
            </div>
        }
    });
    let roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|role| *role != Role::Owner || org.role.allows(Action::ManageOwners))
        .collect();
    let how = if mail_configured {
        "We mail them a link that works once, for 7 days; they join with a new or an existing account."
    } else {
        "This server sends no mail: you get a link to pass on yourself. It works once, for 7 days."
    };
    view! {
        <section class="card" aria-labelledby="invite-heading">
            <h2 id="invite-heading">"Invite someone"</h2>
            <p class="hint">{how}</p>
            {shown_link}
            <FormAlert message=form_error(error)/>
            <ActionForm action=invite attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="org_id" value=org.id.to_string()/>
                <Field label="Email" name="email" id="invite-email" input_type="email" autocomplete="off"
                    error=field_error(error, "email")/>
                <div class="field">
                    <label for="invite-role">"Role"</label>
                    <select id="invite-role" name="role" aria-describedby="invite-role-hint">
                        {roles.into_iter().map(|role| view! {
                            <option value=role.as_str() selected=role == Role::Developer>{format!("{} — {}", role.label(), role.summary())}</option>
                        }).collect_view()}
                    </select>
                    <p class="hint" id="invite-role-hint">"What they may do; you can change it later."</p>
                </div>
                <SubmitButton label="Send invitation" pending_label="Inviting…" pending=invite.pending()/>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn InvitationsCard(org: OrgSummary, invitations: Vec<InvitationView>) -> impl IntoView {
    if invitations.is_empty() {
        return ().into_any();
    }
    let resend = ServerAction::<ResendInvitation>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let error: Signal<Option<AppError>> = Signal::derive(move || {
        resend
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| revoke.value().get().and_then(Result::err))
    });
    let manage = org.role.allows(Action::ManageMembers);
    view! {
        <section class="card" aria-labelledby="invitations-heading">
            <h2 id="invitations-heading">"Pending invitations"</h2>
            <FormAlert message=Signal::derive(move || error.get().map(|e| e.to_string()))/>
            <ul class="member-list" data-testid="invitations">
                {invitations.into_iter().map(|invitation| {
                    let email = invitation.email.clone();
                    let (org_resend, org_revoke) = (org.id.clone(), org.id.clone());
                    let (id_resend, id_revoke) = (invitation.id.clone(), invitation.id.clone());
                    view! {
                        <li class="member" data-testid="invitation">
                            <div class="member-what">
                                <strong>{invitation.email.clone()}</strong>
                                " " <span class="badge">{invitation.role.label()}</span>
                            </div>
                            <p class="hint">
                                {format!("Invited by {} · expires {}", invitation.invited_by, utc_time(invitation.expires_at_ms))}
                            </p>
                            {manage.then(|| view! {
                                <ActionForm action=resend attr:class="inline-form">
                                    <input type="hidden" name="org_id" value=org_resend.to_string()/>
                                    <input type="hidden" name="invitation_id" value=id_resend/>
                                    <SubmitButton label="Resend" pending_label="Sending…" pending=resend.pending() class="secondary"/>
                                </ActionForm>
                                <Confirm opener="Revoke…"
                                    question=format!("Revoke the invitation to {email}?")
                                    consequence="Its link stops working at once.">
                                    <ActionForm action=revoke attr:class="inline-actions">
                                        <input type="hidden" name="org_id" value=org_revoke.to_string()/>
                                        <input type="hidden" name="invitation_id" value=id_revoke/>
                                        <SubmitButton label="Revoke invitation" pending_label="Revoking…" pending=revoke.pending() class="danger"/>
                                    </ActionForm>
                                </Confirm>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
    .into_any()
}

/// `/invite/:token`: what the invitation offers, and joining as the signed-in account, or
/// signing in or up first (both come back here).
#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let preview = Resource::new(token, |token| async move {
        (invitation_details(token).await, whoami().await)
    });
    let accept = ServerAction::<AcceptInvitation>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || accept.value().get().and_then(Result::err));
    let content = move || {
        Suspend::new(async move {
            let here = format!("/invite/{}", token());
            match preview.await {
                (Ok(invitation), Ok(user)) => {
                    let action = match user {
                        Some(user) => view! {
                            <p>{format!("You will join as {}.", user.email)}</p>
                            <FormAlert message=Signal::derive(move || error.get().map(|e| e.to_string()))/>
                            <ActionForm action=accept attr:class="inline-actions">
                                <input type="hidden" name="token" value=token()/>
                                <SubmitButton label="Join organization" pending_label="Joining…" pending=accept.pending()/>
                            </ActionForm>
                        }
                        .into_any(),
                        None => view! {
                            <p>"Sign in to join, or create an account first; you come back here either way."</p>
                            <p class="inline-actions">
                                <a class="button" href=format!("/signup?next={here}")>"Create an account"</a>
                                " "
                                <a class="button secondary" href=format!("/login?next={here}")>"Sign in"</a>
                            </p>
                        }
                        .into_any(),
                    };
                    view! {
                        <section class="card" aria-labelledby="invite-page-heading">
                            <h1 id="invite-page-heading">{format!("Join {}", invitation.org_name)}</h1>
                            <p>{format!("{} invited {} to join as {}: {}.", invitation.invited_by, invitation.email, invitation.role.label(), invitation.role.summary().to_lowercase())}</p>
                            <p class="hint">{format!("This invitation expires {}.", utc_time(invitation.expires_at_ms))}</p>
                            {action}
                        </section>
                    }
                    .into_any()
                }
                (Err(AppError::NotFound), _) => view! {
                    <section class="card">
                        <h1>"This invitation is no longer valid"</h1>
                        <p>"It was used, revoked or it expired. Ask the person who invited you for a new one."</p>
                        <p><A href="/apps">"Go to your applications"</A></p>
                    </section>
                }
                .into_any(),
                (Err(err), _) | (_, Err(err)) => view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any(),
            }
        })
    };
    view! {
        <Title text="Invitation"/>
        <Suspense fallback=|| view! { <section class="card"><p>"Loading…"</p></section> }>{content}</Suspense>
    }
}
