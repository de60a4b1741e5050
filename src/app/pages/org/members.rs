//! The members card: who is in the organization with which role; owners and admins change
//! roles and remove members here, and an owner hands ownership on.

use crate::api::orgs::{ChangeMemberRole, RemoveMember, TransferOwnership};
use crate::app::components::{Confirm, FormAlert, SubmitButton};
use crate::app::format::utc_time;
use crate::model::org::{Action, MemberView, OrgSummary, Role};
use crate::model::AppError;
use leptos::prelude::*;

#[component]
pub fn MembersCard(org: OrgSummary, members: Vec<MemberView>) -> impl IntoView {
    let change = ServerAction::<ChangeMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let transfer = ServerAction::<TransferOwnership>::new();
    let error: Signal<Option<AppError>> = Signal::derive(move || {
        change
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| remove.value().get().and_then(Result::err))
            .or_else(|| transfer.value().get().and_then(Result::err))
    });
    let count = members.len();
    view! {
        <section class="card" aria-labelledby="members-heading">
            <h2 id="members-heading">{format!("Members ({count})")}</h2>
            // Every failure here is about the member acted on, so it shows above the list.
            <FormAlert message=Signal::derive(move || error.get().map(|e| e.to_string()))/>
            <ul class="member-list" data-testid="members">
                {members.into_iter().map(|member| view! {
                    <MemberItem org=org.clone() member change remove transfer/>
                }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn MemberItem(
    org: OrgSummary,
    member: MemberView,
    change: ServerAction<ChangeMemberRole>,
    remove: ServerAction<RemoveMember>,
    transfer: ServerAction<TransferOwnership>,
) -> impl IntoView {
    let viewer = org.role;
    // Owners are managed only by owners; nobody edits their own role here (they leave).
    let may_manage = !member.is_you
        && viewer.allows(Action::ManageMembers)
        && (member.role != Role::Owner || viewer.allows(Action::ManageOwners));
    let offered_roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|role| *role != Role::Owner || viewer.allows(Action::ManageOwners))
        .collect();
    let select_id = format!("role-{}", member.account_id);
    let email = member.email.clone();
    view! {
        <li class="member" data-testid="member">
            <div class="member-what">
                <strong>{member.email.clone()}</strong>
                {member.is_you.then(|| view! { " " <span class="badge health-good">"You"</span> })}
                " " <span class="badge" data-testid="member-role">{member.role.label()}</span>
            </div>
            <p class="hint">"Joined " {utc_time(member.joined_at_ms)}</p>
            {may_manage.then(|| {
                let (email_remove, email_transfer) = (email.clone(), email.clone());
                let (id_change, id_remove, id_transfer) = (member.account_id.clone(), member.account_id.clone(), member.account_id.clone());
                let (org_change, org_remove, org_transfer) = (org.id.clone(), org.id.clone(), org.id.clone());
                view! {
                    <ActionForm action=change attr:class="inline-form member-role-form">
                        <input type="hidden" name="org_id" value=org_change.to_string()/>
                        <input type="hidden" name="account_id" value=id_change.to_string()/>
                        <label for=select_id.clone() class="visually-hidden">{format!("Role of {email}")}</label>
                        <select id=select_id name="role">
                            {offered_roles.iter().map(|role| view! {
                                <option value=role.as_str() selected=*role == member.role>{role.label()}</option>
                            }).collect_view()}
                        </select>
                        " "
                        <SubmitButton label="Change role" pending_label="Saving…" pending=change.pending() class="secondary"/>
                    </ActionForm>
                    <Confirm opener="Remove…"
                        question=format!("Remove {email_remove} from {}?", org.name)
                        consequence="They lose access to this organization's applications at once.">
                        <ActionForm action=remove attr:class="inline-actions">
                            <input type="hidden" name="org_id" value=org_remove.to_string()/>
                            <input type="hidden" name="account_id" value=id_remove.to_string()/>
                            <SubmitButton label="Remove member" pending_label="Removing…" pending=remove.pending() class="danger"/>
                        </ActionForm>
                    </Confirm>
                    {viewer.allows(Action::ManageOwners).then(|| view! {
                        <Confirm opener="Transfer ownership…"
                            question=format!("Make {email_transfer} the owner?")
                            consequence="They become an owner and you become an admin.">
                            <ActionForm action=transfer attr:class="inline-actions">
                                <input type="hidden" name="org_id" value=org_transfer.to_string()/>
                                <input type="hidden" name="account_id" value=id_transfer.to_string()/>
                                <SubmitButton label="Transfer ownership" pending_label="Transferring…" pending=transfer.pending() class="danger"/>
                            </ActionForm>
                        </Confirm>
                    })}
                }
            })}
        </li>
    }
}
