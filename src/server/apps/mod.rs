//! Applications and their webhook endpoints: plans, credentials, URL rules. Every call acts
//! as a `Member` of the application's organization: another organization's IDs are
//! `NotFound`, exactly as IDs that do not exist; a role too weak is `Forbidden`. Every change
//! (and every secret read) is written to the audit log. Knows nothing of HTTP or the UI.

use crate::model::ids::{AppId, EndpointId};

mod controls;
mod endpoint_url;
mod endpoints;
mod health;

pub use endpoint_url::EndpointUrl;

use crate::model::app::{AppDetail, AppName, AppSummary, IssuedApiKey, Plan};
use crate::model::org::{Action, AuditAction};
use crate::model::AppError;
use crate::server::error::internal;
use crate::server::orgs::{Actor, Audit, Member};
use crate::server::secrets;
use crate::server::store::{AppRecord, NewAppCredentials, Store};
use crate::server::targets::AllowList;
use serde_json::json;
use std::sync::Arc;

/// How long a rotated signing secret stays valid beside the new one.
pub const PREVIOUS_SECRET_VALIDITY_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Clone)]
pub struct Apps {
    store: Store,
    allow: Arc<AllowList>,
    audit: Audit,
}

/// A member's endpoint, as test events, replays and re-enabling need it.
pub struct OwnedEndpoint {
    pub app_id: AppId,
    pub endpoint_id: EndpointId,
    pub enabled: bool,
}

/// What a member submits for an endpoint; checked by `Apps` before anything is stored.
#[derive(Debug, Clone)]
pub struct EndpointInput {
    pub url: String,
    pub description: String,
    pub enabled: bool,
    /// `None`: every event kind.
    pub events: Option<Vec<crate::model::app::EventKind>>,
    pub include_payload: bool,
    pub timeout_secs: i64,
    /// `None`: as they are (on an update) or the defaults (on a new endpoint). A secret
    /// header given with an empty value keeps its saved value.
    pub controls: Option<crate::model::controls::DeliveryControls>,
}

impl Apps {
    pub fn new(store: Store, allow: AllowList) -> Self {
        Apps {
            audit: Audit::new(store.clone()),
            store,
            allow: Arc::new(allow),
        }
    }

    pub async fn list(&self, member: &Member) -> Result<Vec<AppSummary>, AppError> {
        member.require(Action::ViewApps)?;
        let rows = self.store.apps_of_org(&member.org_id).await?;
        rows.into_iter()
            .map(|row| {
                Ok(AppSummary {
                    plan: stored_plan(&row.plan)?,
                    public_id: row.id,
                    name: row.name,
                    endpoint_count: row.endpoint_count,
                    last_event_at_ms: row.last_event_at,
                    created_at_ms: row.created_at,
                })
            })
            .collect()
    }

    /// Creates an application on `plan`; its API key is in the answer and nowhere else.
    pub async fn create(
        &self,
        member: &Member,
        name: &str,
        plan: Plan,
    ) -> Result<IssuedApiKey, AppError> {
        member.require(Action::CreateApp)?;
        let name = AppName::parse(name)?;
        let api_key = secrets::new_api_key();
        let record = self
            .store
            .insert_app(
                &member.org_id,
                member.actor.person(),
                name.as_str(),
                plan.as_str(),
                NewAppCredentials {
                    api_key_hash: &secrets::hash_api_key(&api_key),
                    api_key_prefix: &secrets::api_key_display_prefix(&api_key),
                    webhook_token: &secrets::new_webhook_token(),
                },
            )
            .await?;
        let details = json!({"name": record.name, "plan": record.plan});
        self.audit
            .record(
                member,
                AuditAction::AppCreate,
                ("app", record.id.as_str()),
                Some(details),
            )
            .await?;
        Ok(IssuedApiKey {
            public_id: record.id,
            api_key,
        })
    }

    pub async fn detail(&self, member: &Member, public_id: &AppId) -> Result<AppDetail, AppError> {
        let app = self.owned(member, Action::ViewApps, public_id).await?;
        Ok(AppDetail {
            plan: stored_plan(&app.plan)?,
            public_id: app.id,
            name: app.name,
            created_at_ms: app.created_at,
            api_key_prefix: app.api_key_prefix,
            https_only: app.https_only,
            role: member.role,
        })
    }

    pub async fn rename(
        &self,
        member: &Member,
        public_id: &AppId,
        name: &str,
    ) -> Result<(), AppError> {
        let app = self.owned(member, Action::RenameApp, public_id).await?;
        let name = AppName::parse(name)?;
        found(
            self.store
                .rename_app(&member.org_id, &app.id, name.as_str())
                .await?,
        )?;
        let details = json!({"before": {"name": app.name}, "after": {"name": name.as_str()}});
        self.audit
            .record(
                member,
                AuditAction::AppRename,
                ("app", app.id.as_str()),
                Some(details),
            )
            .await
    }

    /// Turns HTTPS only on or off. Turning it on is refused while a plain `http` endpoint
    /// remains, naming how many: they would stop receiving anything.
    pub async fn set_https_only(
        &self,
        member: &Member,
        public_id: &AppId,
        https_only: bool,
    ) -> Result<(), AppError> {
        let app = self.owned(member, Action::EditEndpoints, public_id).await?;
        if https_only {
            let plain = self.store.plain_http_endpoints(&app.id).await?;
            if plain > 0 {
                return Err(AppError::invalid(
                    "https_only",
                    format!(
                        "{plain} endpoint{} still use{} http://; change {} to https:// first.",
                        if plain == 1 { "" } else { "s" },
                        if plain == 1 { "s" } else { "" },
                        if plain == 1 { "it" } else { "them" },
                    ),
                ));
            }
        }
        found(self.store.set_https_only(&app.id, https_only).await?)?;
        if app.https_only != https_only {
            let details = json!({"before": {"https_only": app.https_only}, "after": {"https_only": https_only}});
            self.audit
                .record(
                    member,
                    AuditAction::AppHttpsOnly,
                    ("app", app.id.as_str()),
                    Some(details),
                )
                .await?;
        }
        Ok(())
    }

    /// Deletes an application once the member has typed its name to confirm.
    pub async fn delete(
        &self,
        member: &Member,
        public_id: &AppId,
        confirmation: &str,
    ) -> Result<(), AppError> {
        let app = self.owned(member, Action::DeleteApp, public_id).await?;
        if confirmation.trim() != app.name {
            return Err(AppError::invalid(
                "confirmation",
                format!("Type the application's name, {}, to confirm.", app.name),
            ));
        }
        found(self.store.delete_app(&member.org_id, &app.id).await?)?;
        self.audit
            .record(
                member,
                AuditAction::AppDelete,
                ("app", app.id.as_str()),
                Some(json!({"name": app.name})),
            )
            .await
    }

    pub async fn rotate_api_key(
        &self,
        member: &Member,
        public_id: &AppId,
    ) -> Result<IssuedApiKey, AppError> {
        let app = self.owned(member, Action::RotateApiKey, public_id).await?;
        let api_key = secrets::new_api_key();
        let hash = secrets::hash_api_key(&api_key);
        let prefix = secrets::api_key_display_prefix(&api_key);
        found(
            self.store
                .set_api_key(&member.org_id, &app.id, &hash, &prefix)
                .await?,
        )?;
        self.audit
            .record(
                member,
                AuditAction::ApiKeyRotate,
                ("app", app.id.as_str()),
                None,
            )
            .await?;
        Ok(IssuedApiKey {
            public_id: app.id,
            api_key,
        })
    }

    pub async fn webhook_token(
        &self,
        member: &Member,
        public_id: &AppId,
    ) -> Result<String, AppError> {
        let app = self.owned(member, Action::RevealSecrets, public_id).await?;
        self.audit
            .record(
                member,
                AuditAction::TokenReveal,
                ("app", app.id.as_str()),
                None,
            )
            .await?;
        Ok(app.webhook_token)
    }

    pub async fn rotate_webhook_token(
        &self,
        member: &Member,
        public_id: &AppId,
    ) -> Result<String, AppError> {
        let app = self.owned(member, Action::RotateSecrets, public_id).await?;
        let token = secrets::new_webhook_token();
        found(
            self.store
                .set_webhook_token(&member.org_id, &app.id, &token)
                .await?,
        )?;
        self.audit
            .record(
                member,
                AuditAction::TokenRotate,
                ("app", app.id.as_str()),
                None,
            )
            .await?;
        Ok(token)
    }

    /// Operator action: changes any application's plan, recorded in its organization's log.
    pub async fn set_plan(
        &self,
        operator: &Actor,
        public_id: &AppId,
        plan: Plan,
    ) -> Result<(), AppError> {
        let app = self
            .store
            .app_by_id(public_id)
            .await?
            .ok_or(AppError::NotFound)?;
        found(self.store.set_plan(&app.id, plan.as_str()).await?)?;
        let details = json!({"before": {"plan": app.plan}, "after": {"plan": plan.as_str()}});
        self.audit
            .record_in(
                &app.org_id,
                operator,
                AuditAction::PlanChange,
                ("app", app.id.as_str()),
                Some(details),
            )
            .await
    }

    /// The member's application, once its role is checked for `action`.
    async fn owned(
        &self,
        member: &Member,
        action: Action,
        public_id: &AppId,
    ) -> Result<AppRecord, AppError> {
        // Existence is checked first, so another organization's ID is `NotFound` whatever
        // the role.
        let app = self
            .store
            .app_of_org(&member.org_id, public_id)
            .await?
            .ok_or(AppError::NotFound)?;
        member.require(action)?;
        Ok(app)
    }
}

fn found(matched: bool) -> Result<(), AppError> {
    if matched {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

fn stored_plan(raw: &str) -> Result<Plan, AppError> {
    Plan::parse(raw).map_err(|_| internal(format!("unknown plan {raw:?} in the database")))
}
