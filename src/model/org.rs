//! Organizations as the UI and the server both see them: roles, what each role may do, and
//! the views of members, invitations and the audit log. `Role::allows` is the one matrix.

use crate::model::ids::{AccountId, OrgId};

use super::AppError;
use serde::{Deserialize, Serialize};

/// A member's role in an organization; the README's role table is this enum's `allows`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Developer,
    Viewer,
}

impl Role {
    /// Most powerful first, as the role pickers list them.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Developer, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::Viewer => "viewer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Developer => "Developer",
            Role::Viewer => "Viewer",
        }
    }

    /// One line for role pickers.
    pub fn summary(self) -> &'static str {
        match self {
            Role::Owner => "Everything, including members, owners and deleting the organization",
            Role::Admin => "Applications, endpoints, secrets and members (except owners)",
            Role::Developer => "Endpoints, test events, redelivery and replay; reads secrets",
            Role::Viewer => "Reads everything except secrets",
        }
    }

    pub fn parse(raw: &str) -> Result<Role, AppError> {
        let raw = raw.trim();
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(raw))
            .ok_or_else(|| {
                AppError::invalid(
                    "role",
                    format!("Choose a role: {}.", Role::ALL.map(Role::as_str).join(", ")),
                )
            })
    }

    pub fn allows(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Owner => true,
            Role::Admin => !matches!(action, ManageOwners | RenameOrg | DeleteOrg),
            Role::Developer => matches!(
                action,
                ViewApps | EditEndpoints | RevealSecrets | SendTestEvents | Redeliver
            ),
            Role::Viewer => matches!(action, ViewApps),
        }
    }

    /// `Ok` when this role may do `action`, else the refusal a member sees.
    pub fn require(self, action: Action) -> Result<(), AppError> {
        if self.allows(action) {
            Ok(())
        } else {
            Err(AppError::Forbidden {
                message: format!(
                    "Your role ({}) cannot {}; ask an owner or admin of this organization.",
                    self.label(),
                    action.what()
                ),
            })
        }
    }
}

/// Everything a member may be allowed or refused, one variant per rule in the role table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Applications, endpoints, deliveries, facial IDs, the catalog: everything but secrets.
    ViewApps,
    CreateApp,
    /// Rename an application.
    RenameApp,
    DeleteApp,
    RotateApiKey,
    /// Create, update, enable, disable and delete endpoints.
    EditEndpoints,
    /// Read signing secrets and the webhook token.
    RevealSecrets,
    /// Rotate signing secrets and the webhook token.
    RotateSecrets,
    SendTestEvents,
    /// Redeliver one delivery or replay failed ones.
    Redeliver,
    DeleteFacialIds,
    ViewAudit,
    /// Invite, change roles, remove members and revoke invitations, except for owners.
    ManageMembers,
    /// Make, demote or remove owners; transfer ownership.
    ManageOwners,
    RenameOrg,
    DeleteOrg,
    /// Alert thresholds and the operational webhook.
    ManageAlerts,
}

impl Action {
    pub const ALL: [Action; 17] = [
        Action::ViewApps,
        Action::CreateApp,
        Action::RenameApp,
        Action::DeleteApp,
        Action::RotateApiKey,
        Action::EditEndpoints,
        Action::RevealSecrets,
        Action::RotateSecrets,
        Action::SendTestEvents,
        Action::Redeliver,
        Action::DeleteFacialIds,
        Action::ViewAudit,
        Action::ManageMembers,
        Action::ManageOwners,
        Action::RenameOrg,
        Action::DeleteOrg,
        Action::ManageAlerts,
    ];

    /// Completes "Your role cannot …".
    pub fn what(self) -> &'static str {
        match self {
            Action::ViewApps => "view applications",
            Action::CreateApp => "create applications",
            Action::RenameApp => "rename applications",
            Action::DeleteApp => "delete applications",
            Action::RotateApiKey => "rotate API keys",
            Action::EditEndpoints => "change endpoints",
            Action::RevealSecrets => "reveal secrets",
            Action::RotateSecrets => "rotate secrets",
            Action::SendTestEvents => "send test events",
            Action::Redeliver => "redeliver or replay deliveries",
            Action::DeleteFacialIds => "delete facial IDs",
            Action::ViewAudit => "read the audit log",
            Action::ManageMembers => "manage members, invitations and API tokens",
            Action::ManageOwners => "manage owners",
            Action::RenameOrg => "rename the organization",
            Action::DeleteOrg => "delete the organization",
            Action::ManageAlerts => "change alert rules or the operational webhook",
        }
    }
}

/// Every kind of audit log entry; the log's filter and the README list these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    SignIn,
    AppCreate,
    AppRename,
    AppHttpsOnly,
    AppDelete,
    ApiKeyRotate,
    PlanChange,
    TokenReveal,
    TokenRotate,
    EndpointCreate,
    EndpointUpdate,
    EndpointEnable,
    EndpointDisable,
    EndpointDelete,
    SecretReveal,
    SecretRotate,
    TestEvent,
    Redeliver,
    Replay,
    FacialIdDelete,
    OrgCreate,
    OrgRename,
    MemberInvite,
    InvitationResend,
    InvitationRevoke,
    InvitationAccept,
    MemberRoleChange,
    MemberRemove,
    MemberLeave,
    OwnershipTransfer,
    ApiTokenCreate,
    ApiTokenRevoke,
    ApiRequest,
    AlertSettings,
}

impl AuditAction {
    pub const ALL: [AuditAction; 34] = [
        AuditAction::SignIn,
        AuditAction::AppCreate,
        AuditAction::AppRename,
        AuditAction::AppHttpsOnly,
        AuditAction::AppDelete,
        AuditAction::ApiKeyRotate,
        AuditAction::PlanChange,
        AuditAction::TokenReveal,
        AuditAction::TokenRotate,
        AuditAction::EndpointCreate,
        AuditAction::EndpointUpdate,
        AuditAction::EndpointEnable,
        AuditAction::EndpointDisable,
        AuditAction::EndpointDelete,
        AuditAction::SecretReveal,
        AuditAction::SecretRotate,
        AuditAction::TestEvent,
        AuditAction::Redeliver,
        AuditAction::Replay,
        AuditAction::FacialIdDelete,
        AuditAction::OrgCreate,
        AuditAction::OrgRename,
        AuditAction::MemberInvite,
        AuditAction::InvitationResend,
        AuditAction::InvitationRevoke,
        AuditAction::InvitationAccept,
        AuditAction::MemberRoleChange,
        AuditAction::MemberRemove,
        AuditAction::MemberLeave,
        AuditAction::OwnershipTransfer,
        AuditAction::ApiTokenCreate,
        AuditAction::ApiTokenRevoke,
        AuditAction::ApiRequest,
        AuditAction::AlertSettings,
    ];

    /// The stored name: `object.verb`, so a filter on `endpoint.` finds every endpoint action.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SignIn => "console.sign_in",
            AuditAction::AppCreate => "app.create",
            AuditAction::AppRename => "app.rename",
            AuditAction::AppHttpsOnly => "app.https_only",
            AuditAction::AppDelete => "app.delete",
            AuditAction::ApiKeyRotate => "app.api_key_rotate",
            AuditAction::PlanChange => "app.plan_change",
            AuditAction::TokenReveal => "app.webhook_token_reveal",
            AuditAction::TokenRotate => "app.webhook_token_rotate",
            AuditAction::EndpointCreate => "endpoint.create",
            AuditAction::EndpointUpdate => "endpoint.update",
            AuditAction::EndpointEnable => "endpoint.enable",
            AuditAction::EndpointDisable => "endpoint.disable",
            AuditAction::EndpointDelete => "endpoint.delete",
            AuditAction::SecretReveal => "endpoint.secret_reveal",
            AuditAction::SecretRotate => "endpoint.secret_rotate",
            AuditAction::TestEvent => "endpoint.test_event",
            AuditAction::Redeliver => "delivery.redeliver",
            AuditAction::Replay => "endpoint.replay",
            AuditAction::FacialIdDelete => "facial_id.delete",
            AuditAction::OrgCreate => "org.create",
            AuditAction::OrgRename => "org.rename",
            AuditAction::MemberInvite => "member.invite",
            AuditAction::InvitationResend => "member.invitation_resend",
            AuditAction::InvitationRevoke => "member.invitation_revoke",
            AuditAction::InvitationAccept => "member.invitation_accept",
            AuditAction::MemberRoleChange => "member.role_change",
            AuditAction::MemberRemove => "member.remove",
            AuditAction::MemberLeave => "member.leave",
            AuditAction::OwnershipTransfer => "org.ownership_transfer",
            AuditAction::ApiTokenCreate => "api_token.create",
            AuditAction::ApiTokenRevoke => "api_token.revoke",
            // Any management API request through a token (changes also have their own).
            AuditAction::ApiRequest => "api.request",
            AuditAction::AlertSettings => "org.alert_settings",
        }
    }
}

/// A personal organization is named after its account's email without the domain.
pub fn personal_org_name(email: &str) -> &str {
    email
        .split('@')
        .next()
        .filter(|local| !local.is_empty())
        .unwrap_or(email)
}

/// One organization the signed-in account belongs to, for the switcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSummary {
    pub id: OrgId,
    pub name: String,
    pub role: Role,
}

/// The organizations an account belongs to, and which one the console shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgChoice {
    pub current: OrgSummary,
    pub all: Vec<OrgSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub account_id: AccountId,
    pub email: String,
    pub role: Role,
    pub joined_at_ms: i64,
    pub is_you: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// An organization's settings page: who is in it and who is invited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPage {
    pub org: OrgSummary,
    pub members: Vec<MemberView>,
    pub invitations: Vec<InvitationView>,
    /// The organization's API tokens, for those who may manage them (else empty).
    pub tokens: Vec<crate::model::token::TokenView>,
    /// A token just made, shown on this page view only (taken with the page's own data, so
    /// it cannot be taken by one request and rendered by none).
    pub issued_token: Option<String>,
    /// An invitation link just made (no mail to send it), shown on this page view only.
    pub invitation_link: Option<String>,
    /// Whether invitations are mailed; without mail the inviter copies the link.
    pub mail_configured: bool,
    /// Alert thresholds and the operational webhook.
    pub alerts: crate::model::alert::AlertSettingsView,
}

/// What an invitation link shows before it is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationPreview {
    pub org_name: String,
    pub role: Role,
    pub email: String,
    pub invited_by: String,
    pub expires_at_ms: i64,
}

/// One line of an organization's audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    pub at_ms: i64,
    /// The account's email (or the operator) at the time.
    pub actor: String,
    pub action: String,
    pub object_kind: String,
    pub object_id: String,
    pub ip: String,
    /// For settings: `{"before": …, "after": …}` as JSON text; never a secret.
    pub details: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub page: u32,
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_may_do_everything_and_viewers_only_look() {
        for action in Action::ALL {
            assert!(Role::Owner.allows(action), "{action:?}");
            assert_eq!(Role::Viewer.allows(action), action == Action::ViewApps);
        }
    }

    #[test]
    fn each_role_allows_no_more_than_the_role_above_it() {
        for pair in Role::ALL.windows(2) {
            for action in Action::ALL {
                assert!(
                    !pair[1].allows(action) || pair[0].allows(action),
                    "{pair:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn audit_action_names_are_unique() {
        let names: std::collections::HashSet<_> =
            AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), AuditAction::ALL.len());
    }

    #[test]
    fn refusals_name_the_role_and_the_action() {
        let refused = Role::Developer.require(Action::DeleteApp).unwrap_err();
        assert!(refused.to_string().contains("Developer"), "{refused}");
        assert!(
            refused.to_string().contains("delete applications"),
            "{refused}"
        );
        assert_eq!(refused.status_code(), 403);
        assert_eq!(Role::parse(" Admin "), Ok(Role::Admin));
        assert_eq!(Role::parse("root").unwrap_err().field(), Some("role"));
    }
}
