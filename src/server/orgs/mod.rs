//! Organizations: who belongs to which, with what role, and the changes owners and admins
//! make to that. Another organization is `NotFound`; a role too weak is `Forbidden`.
//! Knows nothing of HTTP or sessions: callers pass the acting `Member`.

use crate::model::ids::{AccountId, AppId, OrgId};

mod audit;
mod invitations;
mod members;
mod tokens;

pub use audit::{Audit, AuditQuery, MAX_EXPORT_ENTRIES};
pub use invitations::{SentInvitation, INVITATION_VALIDITY_MS};
pub use tokens::TOKEN_PREFIX;

use crate::model::org::{personal_org_name, Action, AuditAction, OrgSummary, Role};
use crate::model::AppError;
use crate::server::auth::AccountMail;
use crate::server::error::internal;
use crate::server::store::{MembershipRecord, Store};
use serde_json::json;

/// Who acts, as the audit log names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorId {
    Account(AccountId),
    /// An organization API token (`tok_…`).
    Token(String),
    /// The operator acting outside any account (the command line).
    Operator,
}

impl ActorId {
    /// The ID the audit log stores and rate limits count by; none for the operator.
    pub fn recorded(&self) -> Option<&str> {
        match self {
            ActorId::Account(id) => Some(id.as_str()),
            ActorId::Token(id) => Some(id),
            ActorId::Operator => None,
        }
    }
}

/// Who acts (an account, with its email as the label; an API token, with its name; or the
/// operator) and from which address.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: ActorId,
    pub label: String,
    pub ip: String,
}

impl Actor {
    /// The account `account_id` (labelled by its email) acting from `ip`.
    pub fn account(account_id: AccountId, email: String, ip: String) -> Actor {
        Actor {
            id: ActorId::Account(account_id),
            label: email,
            ip,
        }
    }

    /// The operator acting from `source` (the command line) rather than as an account.
    pub fn operator(source: &str) -> Actor {
        Actor {
            id: ActorId::Operator,
            label: "operator".to_owned(),
            ip: source.to_owned(),
        }
    }

    /// The account acting, or `None` for the operator or an API token.
    pub fn person(&self) -> Option<&AccountId> {
        match &self.id {
            ActorId::Account(id) => Some(id),
            _ => None,
        }
    }

    /// The account acting; an API token or the operator is in no organization's member list,
    /// so what needs one is not found for them.
    pub fn account_id(&self) -> Result<&AccountId, AppError> {
        self.person().ok_or(AppError::NotFound)
    }
}

/// An actor in one organization, with the role it holds there.
#[derive(Debug, Clone)]
pub struct Member {
    pub actor: Actor,
    pub org_id: OrgId,
    pub org_name: String,
    pub role: Role,
}

impl Member {
    /// `Forbidden` with "your role cannot …" unless the role allows `action`.
    pub fn require(&self, action: Action) -> Result<(), AppError> {
        self.role.require(action)
    }

    pub fn summary(&self) -> OrgSummary {
        OrgSummary {
            id: self.org_id.clone(),
            name: self.org_name.clone(),
            role: self.role,
        }
    }
}

const MAX_ORG_NAME_CHARS: usize = 100;
/// Organizations one account may create a day (each may send invitations).
pub const ORGS_PER_DAY: i64 = 10;

#[derive(Clone)]
pub struct Orgs {
    store: Store,
    audit: Audit,
    mail: AccountMail,
    /// Where people reach the console, for invitation links shown to copy.
    console_url: String,
}

impl Orgs {
    pub fn new(store: Store, mail: AccountMail, console_url: String) -> Self {
        Orgs {
            audit: Audit::new(store.clone()),
            store,
            mail,
            console_url: console_url.trim_end_matches('/').to_owned(),
        }
    }

    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// The organizations `actor` belongs to, oldest membership first.
    pub async fn memberships(&self, account_id: &AccountId) -> Result<Vec<OrgSummary>, AppError> {
        self.store
            .memberships(account_id)
            .await?
            .into_iter()
            .map(summary)
            .collect()
    }

    /// Writes a console sign-in into the log of every organization the account belongs to.
    pub async fn record_sign_in(&self, actor: &Actor) -> Result<(), AppError> {
        for org in self.store.memberships(actor.account_id()?).await? {
            self.audit
                .record_in(
                    &org.org_id,
                    actor,
                    AuditAction::SignIn,
                    ("account", actor.account_id()?.as_str()),
                    None,
                )
                .await?;
        }
        Ok(())
    }

    /// The organization the console shows `actor`: `preferred` while it is still a member
    /// there, else its oldest membership. An account in no organization (it left or deleted
    /// them all) gets a new one of its own, so it always has somewhere to work.
    pub async fn current(
        &self,
        actor: Actor,
        preferred: Option<&OrgId>,
    ) -> Result<Member, AppError> {
        if let Some(org_id) = preferred {
            if let Some(record) = self.store.membership(actor.account_id()?, org_id).await? {
                return member(actor, record);
            }
        }
        match self
            .store
            .memberships(actor.account_id()?)
            .await?
            .into_iter()
            .next()
        {
            Some(record) => member(actor, record),
            None => {
                let name = personal_org_name(&actor.label).to_owned();
                self.create_unlimited(actor, &name).await
            }
        }
    }

    /// `actor` as a member of `org_id`; `NotFound` when it is not one.
    pub async fn member(&self, actor: Actor, org_id: &OrgId) -> Result<Member, AppError> {
        stored_id(org_id)?;
        let record = self
            .store
            .membership(actor.account_id()?, org_id)
            .await?
            .ok_or(AppError::NotFound)?;
        member(actor, record)
    }

    /// `actor` as a member of the organization that owns application `public_id`; `NotFound`
    /// for an application of an organization it is not in, as for one that does not exist.
    pub async fn member_for_app(
        &self,
        actor: Actor,
        public_id: &AppId,
    ) -> Result<Member, AppError> {
        stored_id(public_id)?;
        let record = self
            .store
            .membership_for_app(actor.account_id()?, public_id)
            .await?
            .ok_or(AppError::NotFound)?;
        member(actor, record)
    }

    /// A new organization with `actor` as its owner; at most `ORGS_PER_DAY` a day.
    pub async fn create(&self, actor: Actor, name: &str) -> Result<Member, AppError> {
        let made = self
            .audit
            .recent(
                &actor,
                [AuditAction::OrgCreate, AuditAction::OrgCreate],
                86_400_000,
            )
            .await?;
        if made >= ORGS_PER_DAY {
            return Err(AppError::Limited {
                field: "name".to_owned(),
                message: format!("You created {ORGS_PER_DAY} organizations today, the most allowed; try again tomorrow."),
                retry_after_secs: 3600,
            });
        }
        self.create_unlimited(actor, name).await
    }

    async fn create_unlimited(&self, actor: Actor, name: &str) -> Result<Member, AppError> {
        let name = org_name(name)?;
        let org_id = self.store.insert_org(&name, actor.account_id()?).await?;
        let member = self.member(actor, &org_id).await?;
        self.audit
            .record(
                &member,
                AuditAction::OrgCreate,
                ("org", org_id.as_str()),
                Some(json!({"name": name})),
            )
            .await?;
        Ok(member)
    }

    pub async fn rename(&self, member: &Member, name: &str) -> Result<(), AppError> {
        member.require(Action::RenameOrg)?;
        let name = org_name(name)?;
        if !self.store.rename_org(&member.org_id, &name).await? {
            return Err(AppError::NotFound);
        }
        let details = json!({"before": {"name": member.org_name}, "after": {"name": name}});
        self.audit
            .record(
                member,
                AuditAction::OrgRename,
                ("org", member.org_id.as_str()),
                Some(details),
            )
            .await
    }

    /// Deletes the organization with its applications, once its name is typed to confirm.
    pub async fn delete(&self, member: &Member, confirmation: &str) -> Result<(), AppError> {
        member.require(Action::DeleteOrg)?;
        if confirmation.trim() != member.org_name {
            return Err(AppError::invalid(
                "confirmation",
                format!(
                    "Type the organization's name, {}, to confirm.",
                    member.org_name
                ),
            ));
        }
        if self.store.delete_org(&member.org_id).await? {
            tracing::info!(org = %member.org_id, by = member.actor.id.recorded().unwrap_or("operator"), "organization deleted");
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}

/// Refuses, as not found, an ID from a URL path that no ID can be: a NUL (which PostgreSQL
/// refuses in text) or text past any ID's length.
fn stored_id(id: &(impl AsRef<str> + ?Sized)) -> Result<(), AppError> {
    let text = id.as_ref();
    if text.contains('\0') || text.len() > 64 {
        Err(AppError::NotFound)
    } else {
        Ok(())
    }
}

fn member(actor: Actor, record: MembershipRecord) -> Result<Member, AppError> {
    Ok(Member {
        actor,
        role: stored_role(&record.role)?,
        org_id: record.org_id,
        org_name: record.name,
    })
}

fn summary(record: MembershipRecord) -> Result<OrgSummary, AppError> {
    Ok(OrgSummary {
        role: stored_role(&record.role)?,
        id: record.org_id,
        name: record.name,
    })
}

fn stored_role(raw: &str) -> Result<Role, AppError> {
    Role::parse(raw).map_err(|_| internal(format!("unknown role {raw:?} in the database")))
}

fn org_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "Give the organization a name."));
    }
    if name.chars().count() > MAX_ORG_NAME_CHARS {
        return Err(AppError::invalid(
            "name",
            format!("Names are at most {MAX_ORG_NAME_CHARS} characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "name",
            "Names cannot contain control characters.",
        ));
    }
    Ok(name.to_owned())
}
