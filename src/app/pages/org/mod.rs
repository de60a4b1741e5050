//! `/org`: the organization the console shows — its members and their roles, invitations,
//! API tokens, alert rules and the operational webhook, the audit log's door, a new organization, and leaving or deleting. Each card offers only
//! what the member's role allows; the server checks again.

use crate::model::ids::OrgId;
mod alerts;
mod audit;
mod invite;
mod members;
mod tokens;

pub use audit::AuditPage;
pub use invite::InvitePage;

use crate::api::orgs::{org_settings, CreateOrg, DeleteOrg, LeaveOrg, RenameOrg};
use crate::app::components::{field_error, form_error, Confirm, Field, FormAlert, SubmitButton};
use crate::model::org::{Action, OrgPage as OrgPageData, Role};
use crate::model::AppError;
use alerts::{AlertRulesCard, OpsWebhookCard};
use invite::{InvitationsCard, InviteCard};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use members::MembersCard;
use tokens::TokensCard;

#[component]
pub fn OrgPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| org_settings());
    let content = move || {
        Suspend::new(async move {
            match page.await {
                Ok(page) => view! { <OrgCards page/> }.into_any(),
                Err(err) => {
                    view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any()
                }
            }
        })
    };
    view! {
        <Title text="Organization"/>
        <Suspense fallback=|| view! { <section class="card"><p>"Loading…"</p></section> }>{content}</Suspense>
        <NewOrgCard/>
    }
}

#[component]
fn OrgCards(page: OrgPageData) -> impl IntoView {
    let org = page.org.clone();
    let role = org.role;
    view! {
        <section class="card" aria-labelledby="org-heading">
            <h1 id="org-heading">{org.name.clone()}</h1>
            <p class="hint">
                "Your role: " <strong data-testid="org-role">{role.label()}</strong> " — " {role.summary()} "."
            </p>
            {role.allows(Action::ViewAudit).then(|| view! {
                <p><A href="/org/audit">"Audit log"</A>" — who did what, and when."</p>
            })}
            {role.allows(Action::RenameOrg).then(|| view! { <RenameForm org_id=org.id.clone() name=org.name.clone()/> })}
        </section>
        <MembersCard org=org.clone() members=page.members/>
        {role.allows(Action::ManageMembers).then(|| view! {
            <InviteCard org=org.clone() mail_configured=page.mail_configured link=page.invitation_link.clone()/>
        })}
        <InvitationsCard org=org.clone() invitations=page.invitations/>
        {role.allows(Action::ManageMembers).then(|| view! {
            <TokensCard org=org.clone() tokens=page.tokens issued=page.issued_token.clone()/>
        })}
        <AlertRulesCard org_id=org.id.clone() settings=page.alerts.clone()/>
        <OpsWebhookCard org_id=org.id.clone() settings=page.alerts/>
        <LeaveCard org_id=org.id.clone() name=org.name.clone() role/>
    }
}

#[component]
fn RenameForm(org_id: OrgId, name: String) -> impl IntoView {
    let rename = ServerAction::<RenameOrg>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || rename.value().get().and_then(Result::err));
    view! {
        <ActionForm action=rename attr:class="stack" attr:novalidate=true>
            <input type="hidden" name="org_id" value=org_id.to_string()/>
            <FormAlert message=form_error(error)/>
            <Field label="Organization name" name="name" id="org-name" value=name error=field_error(error, "name")/>
            <SubmitButton label="Rename" pending_label="Renaming…" pending=rename.pending() class="secondary"/>
        </ActionForm>
    }
}

/// Leaving, and for owners deleting: both red and confirmed.
#[component]
fn LeaveCard(org_id: OrgId, name: String, role: Role) -> impl IntoView {
    let leave = ServerAction::<LeaveOrg>::new();
    let delete = ServerAction::<DeleteOrg>::new();
    let leave_error: Signal<Option<AppError>> =
        Signal::derive(move || leave.value().get().and_then(Result::err));
    let delete_error: Signal<Option<AppError>> =
        Signal::derive(move || delete.value().get().and_then(Result::err));
    let delete_org_id = org_id.clone();
    let delete_name = name.clone();
    view! {
        <section class="card danger-zone" aria-labelledby="leave-heading">
            <h2 id="leave-heading">"Leave or delete"</h2>
            // The last owner's refusal names the member it is about; it shows here all the same.
            <FormAlert message=Signal::derive(move || leave_error.get().map(|e| e.to_string()))/>
            <Confirm opener="Leave this organization…"
                question=format!("Leave {name}?")
                consequence="You lose access to its applications until someone invites you again. Its last owner cannot leave.">
                <ActionForm action=leave attr:class="inline-actions">
                    <input type="hidden" name="org_id" value=org_id.to_string()/>
                    <SubmitButton label="Leave organization" pending_label="Leaving…" pending=leave.pending() class="danger"/>
                </ActionForm>
            </Confirm>
            {role.allows(Action::DeleteOrg).then(|| view! {
                <Confirm opener="Delete this organization…"
                    question=format!("Delete {delete_name} with all its applications?")
                    consequence="Its applications, API keys, endpoints, deliveries, members and audit log are deleted. This cannot be undone.">
                    <ActionForm action=delete attr:class="stack" attr:novalidate=true>
                        <input type="hidden" name="org_id" value=delete_org_id.to_string()/>
                        <FormAlert message=form_error(delete_error)/>
                        <Field label="Type the organization's name to confirm" name="confirmation" id="delete-org-confirmation"
                            autocomplete="off" error=field_error(delete_error, "confirmation")/>
                        <SubmitButton label="Delete organization" pending_label="Deleting…" pending=delete.pending() class="danger"/>
                    </ActionForm>
                </Confirm>
            })}
        </section>
    }
}

#[component]
fn NewOrgCard() -> impl IntoView {
    let create = ServerAction::<CreateOrg>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || create.value().get().and_then(Result::err));
    view! {
        <section class="card" aria-labelledby="new-org-heading">
            <h2 id="new-org-heading">"New organization"</h2>
            <p class="hint">"For another team or company: you become its owner, and switch between organizations from the menu."</p>
            <FormAlert message=form_error(error)/>
            <ActionForm action=create attr:class="stack" attr:novalidate=true>
                <Field label="Name" name="name" id="new-org-name" error=field_error(error, "name")/>
                <SubmitButton label="Create organization" pending_label="Creating…" pending=create.pending()/>
            </ActionForm>
        </section>
    }
}
