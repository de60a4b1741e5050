//! Who is in an organization and the changes owners and admins make to that: roles,
//! removal, leaving, handing ownership on. Each change is judged inside its own transaction.

use crate::model::ids::AccountId;

use super::{stored_role, Member, Orgs};
use crate::model::org::{Action, AuditAction, MemberView, Role};
use crate::model::AppError;
use crate::server::store::{MemberChange, RolesNow};
use serde_json::json;

impl Orgs {
    /// Every member may see who else is in the organization.
    pub async fn members(&self, member: &Member) -> Result<Vec<MemberView>, AppError> {
        self.store
            .members(&member.org_id)
            .await?
            .into_iter()
            .map(|record| {
                Ok(MemberView {
                    is_you: member.actor.person() == Some(&record.account_id),
                    role: stored_role(&record.role)?,
                    account_id: record.account_id,
                    email: record.email,
                    joined_at_ms: record.created_at,
                })
            })
            .collect()
    }

    pub async fn change_role(
        &self,
        member: &Member,
        account_id: &AccountId,
        role: &str,
    ) -> Result<(), AppError> {
        member.require(Action::ManageMembers)?;
        let role = Role::parse(role)?;
        let target = self.target(member, account_id).await?;
        self.change(
            member,
            &target,
            MemberChange::SetRole(role.as_str()),
            |now| {
                let actor = now.actor()?;
                actor.require(Action::ManageMembers)?;
                let was = now.target()?;
                if role == Role::Owner || was == Role::Owner {
                    actor.require(Action::ManageOwners)?;
                }
                if was == Role::Owner && role != Role::Owner {
                    now.another_owner_remains()?;
                }
                Ok(())
            },
        )
        .await?;
        let details = json!({
            "member": target.email,
            "before": {"role": target.role.as_str()},
            "after": {"role": role.as_str()},
        });
        self.audit
            .record(
                member,
                AuditAction::MemberRoleChange,
                ("account", target.account_id.as_str()),
                Some(details),
            )
            .await
    }

    pub async fn remove(&self, member: &Member, account_id: &AccountId) -> Result<(), AppError> {
        member.require(Action::ManageMembers)?;
        let target = self.target(member, account_id).await?;
        self.change(member, &target, MemberChange::Remove, |now| {
            let actor = now.actor()?;
            actor.require(Action::ManageMembers)?;
            if now.target()? == Role::Owner {
                actor.require(Action::ManageOwners)?;
                now.another_owner_remains()?;
            }
            Ok(())
        })
        .await?;
        let details = json!({"member": target.email, "role": target.role.as_str()});
        self.audit
            .record(
                member,
                AuditAction::MemberRemove,
                ("account", target.account_id.as_str()),
                Some(details),
            )
            .await
    }

    /// Leaves the organization; its last owner cannot.
    pub async fn leave(&self, member: &Member) -> Result<(), AppError> {
        let me = self.target(member, member.actor.account_id()?).await?;
        self.change(member, &me, MemberChange::Remove, |now| {
            if now.actor()? == Role::Owner {
                now.another_owner_remains()?;
            }
            Ok(())
        })
        .await?;
        self.audit
            .record(
                member,
                AuditAction::MemberLeave,
                ("account", member.actor.account_id()?.as_str()),
                None,
            )
            .await
    }

    /// Makes another member an owner and the caller an admin.
    pub async fn transfer(&self, member: &Member, account_id: &AccountId) -> Result<(), AppError> {
        member.require(Action::ManageOwners)?;
        let target = self.target(member, account_id).await?;
        if member.actor.person() == Some(&target.account_id) {
            return Err(AppError::invalid(
                "account_id",
                "Choose another member to become the owner.",
            ));
        }
        self.change(member, &target, MemberChange::TransferOwnership, |now| {
            now.actor()?.require(Action::ManageOwners)?;
            now.target()?;
            Ok(())
        })
        .await?;
        let details = json!({"to": target.email});
        self.audit
            .record(
                member,
                AuditAction::OwnershipTransfer,
                ("account", target.account_id.as_str()),
                Some(details),
            )
            .await
    }

    async fn target(
        &self,
        member: &Member,
        account_id: &AccountId,
    ) -> Result<MemberView, AppError> {
        self.members(member)
            .await?
            .into_iter()
            .find(|m| m.account_id == *account_id)
            .ok_or_else(no_such_member)
    }

    /// Makes `change` once `rule` allows it on the roles as they are inside the change's
    /// transaction.
    async fn change(
        &self,
        member: &Member,
        target: &MemberView,
        change: MemberChange<'_>,
        rule: impl FnOnce(&RolesNow) -> Result<(), AppError>,
    ) -> Result<(), AppError> {
        self.store
            .change_membership(
                &member.org_id,
                member.actor.id.recorded().ok_or(AppError::NotFound)?,
                &target.account_id,
                change,
                rule,
            )
            .await?
    }
}

/// The roles inside a membership change, as the rules read them.
trait RolesNowExt {
    fn actor(&self) -> Result<Role, AppError>;
    fn target(&self) -> Result<Role, AppError>;
    fn another_owner_remains(&self) -> Result<(), AppError>;
}

impl RolesNowExt for RolesNow {
    /// The caller's role now; a caller no longer in the organization finds nothing.
    fn actor(&self) -> Result<Role, AppError> {
        self.actor
            .as_deref()
            .ok_or(AppError::NotFound)
            .and_then(stored_role)
    }

    fn target(&self) -> Result<Role, AppError> {
        self.target
            .as_deref()
            .ok_or_else(no_such_member)
            .and_then(stored_role)
    }

    fn another_owner_remains(&self) -> Result<(), AppError> {
        if self.owners > 1 {
            Ok(())
        } else {
            Err(AppError::Conflict {
                field: "account_id".to_owned(),
                message: "An organization needs an owner: make another member an owner first, or delete the organization.".to_owned(),
            })
        }
    }
}

/// Someone not in the organization is not found, like any other organization's object.
fn no_such_member() -> AppError {
    AppError::NotFound
}
