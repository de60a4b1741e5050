//! Organization API tokens (`fht_…`): made by owners and admins with a role no stronger than
//! they may grant, shown once, stored as SHA-256, revocable. A token acts as a `Member` whose
//! actor is the token itself, so every rule and audit entry applies to it unchanged.

use super::{stored_id, stored_role, Actor, ActorId, Member, Orgs};
use crate::model::org::{Action, AuditAction, Role};
use crate::model::token::{IssuedToken, TokenView, MAX_TOKEN_NAME_CHARS};
use crate::model::AppError;
use crate::server::clock::now_ms;
use crate::server::secrets::hash_api_key;
use crate::server::store::{ApiTokenRecord, NewApiToken, MAX_TOKENS_PER_ORG};
use rand::distributions::{Alphanumeric, DistString};
use serde_json::json;

/// Every organization API token starts so, which tells it from an application's API key.
pub const TOKEN_PREFIX: &str = "fht_";
/// How much of a token the list shows to recognise it by.
const DISPLAY_CHARS: usize = 10;

impl Orgs {
    /// The organization's tokens; only those who may make them may see them.
    pub async fn tokens(&self, member: &Member) -> Result<Vec<TokenView>, AppError> {
        member.require(Action::ManageMembers)?;
        self.store
            .api_tokens(&member.org_id)
            .await?
            .into_iter()
            .map(token_view)
            .collect()
    }

    /// A new token named `name` acting as `role`, expiring after `expires_in_days` (never when
    /// `None`). Owner tokens only by owners, as owner invitations.
    pub async fn create_token(
        &self,
        member: &Member,
        name: &str,
        role: &str,
        expires_in_days: Option<u32>,
    ) -> Result<IssuedToken, AppError> {
        member.require(Action::ManageMembers)?;
        let role = Role::parse(role)?;
        if role == Role::Owner {
            member.require(Action::ManageOwners)?;
        }
        let name = token_name(name)?;
        let held = self.store.api_tokens(&member.org_id).await?.len();
        if held as i64 >= MAX_TOKENS_PER_ORG {
            return Err(AppError::Conflict {
                field: "name".to_owned(),
                message: format!("This organization holds {MAX_TOKENS_PER_ORG} tokens, the most allowed; revoke one first."),
            });
        }
        if let Some(days) = expires_in_days {
            crate::model::token::parse_expiry_days(Some(&days.to_string()))?;
        }
        let secret = format!(
            "{TOKEN_PREFIX}{}",
            Alphanumeric.sample_string(&mut rand::thread_rng(), 40)
        );
        let prefix: String = secret.chars().take(DISPLAY_CHARS).collect();
        let expires_at = expires_in_days.map(|days| now_ms() + i64::from(days) * 86_400_000);
        let id = self
            .store
            .insert_api_token(NewApiToken {
                org_id: &member.org_id,
                name: &name,
                role: role.as_str(),
                token_hash: &hash_api_key(&secret),
                prefix: &prefix,
                created_by: member.actor.person(),
                expires_at,
            })
            .await?;
        let details = json!({"name": name, "role": role.as_str(), "expires_at": expires_at
            .map(crate::model::time::utc_time)});
        self.audit
            .record(
                member,
                AuditAction::ApiTokenCreate,
                ("api_token", &id),
                Some(details),
            )
            .await?;
        let view = self
            .store
            .api_token(&member.org_id, &id)
            .await?
            .map(token_view)
            .transpose()?
            .ok_or(AppError::NotFound)?;
        Ok(IssuedToken {
            token: secret,
            view,
        })
    }

    /// Revokes one of the organization's tokens; it stops working at once.
    pub async fn revoke_token(&self, member: &Member, token_id: &str) -> Result<(), AppError> {
        // Token IDs have no type of their own to trim them on the way in.
        let token_id = token_id.trim();
        stored_id(token_id)?;
        let token = self
            .store
            .api_token(&member.org_id, token_id)
            .await?
            .ok_or(AppError::NotFound)?;
        member.require(Action::ManageMembers)?;
        if stored_role(&token.role)? == Role::Owner {
            member.require(Action::ManageOwners)?;
        }
        self.store
            .revoke_api_token(&member.org_id, token_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let details = json!({"name": token.name, "role": token.role});
        self.audit
            .record(
                member,
                AuditAction::ApiTokenRevoke,
                ("api_token", token_id),
                Some(details),
            )
            .await
    }

    /// The member a presented token acts as; `None` for anything that is not a live token
    /// (unknown, revoked, expired, malformed: one answer, so nothing is learnt).
    pub async fn authenticate_token(
        &self,
        secret: &str,
        ip: &str,
    ) -> Result<Option<Member>, AppError> {
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 100 {
            return Ok(None);
        }
        let Some(token) = self.store.api_token_by_hash(&hash_api_key(secret)).await? else {
            return Ok(None);
        };
        if let Err(err) = self.store.touch_api_token(&token.id, ip).await {
            // A token whose last use cannot be written (a full disk) still reads.
            tracing::warn!(error = %err, "could not record a token's last use");
        }
        Ok(Some(Member {
            actor: Actor {
                label: format!("API token “{}”", token.name),
                id: ActorId::Token(token.id),
                ip: ip.to_owned(),
            },
            role: stored_role(&token.role)?,
            org_id: token.org_id,
            org_name: token.org_name,
        }))
    }
}

fn token_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid(
            "name",
            "Name the token after what uses it, e.g. “CI deploys”.",
        ));
    }
    if name.chars().count() > MAX_TOKEN_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "name",
            format!("A token name is at most {MAX_TOKEN_NAME_CHARS} characters, without control characters."),
        ));
    }
    Ok(name.to_owned())
}

fn token_view(record: ApiTokenRecord) -> Result<TokenView, AppError> {
    Ok(TokenView {
        role: stored_role(&record.role)?,
        id: record.id,
        name: record.name,
        prefix: record.prefix,
        created_by: if record.created_by.is_some() {
            record.created_by_email
        } else {
            "a deleted account".to_owned()
        },
        created_at_ms: record.created_at,
        expires_at_ms: record.expires_at,
        last_used_at_ms: record.last_used_at,
        last_used_ip: record.last_used_ip,
        active: record.active == 1,
    })
}
