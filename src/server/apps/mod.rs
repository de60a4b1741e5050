//! Applications and their webhook endpoints: ownership, plans, credentials, URL rules.
//! Every owner-facing call answers `NotFound` for another account's IDs, exactly as for
//! IDs that do not exist. Knows nothing of HTTP or the UI.

mod endpoint_url;
mod health;

pub use endpoint_url::EndpointUrl;

use crate::model::app::{
    check_timeout_secs, normalise_subscription, AppDetail, AppName, AppSummary, EndpointView,
    EventKind, IssuedApiKey, Plan, SigningSecrets, MAX_ENDPOINTS_PER_APP, PAYLOAD_PLAN_NOTICE,
};
use crate::model::delivery::EndpointHealth;
use crate::model::AppError;
use crate::server::error::internal;
use crate::server::secrets;
use crate::server::store::{
    now_ms, AppRecord, EndpointRecord, EndpointSettings, NewAppCredentials, Store,
};
use crate::server::targets::AllowList;
use std::sync::Arc;

/// How long a rotated signing secret stays valid beside the new one.
pub const PREVIOUS_SECRET_VALIDITY_MS: i64 = 24 * 60 * 60 * 1000;
const MAX_DESCRIPTION_CHARS: usize = 200;

#[derive(Clone)]
pub struct Apps {
    store: Store,
    allow: Arc<AllowList>,
}

/// An owner's endpoint, as test events, replays and re-enabling need it.
pub struct OwnedEndpoint {
    pub app_id: String,
    pub endpoint_id: String,
    pub enabled: bool,
}

/// What an owner submits for an endpoint; checked by `Apps` before anything is stored.
#[derive(Debug, Clone)]
pub struct EndpointInput {
    pub url: String,
    pub description: String,
    pub enabled: bool,
    /// `None`: every event kind.
    pub events: Option<Vec<EventKind>>,
    pub include_payload: bool,
    pub timeout_secs: i64,
}

impl Apps {
    pub fn new(store: Store, allow: AllowList) -> Self {
        Apps {
            store,
            allow: Arc::new(allow),
        }
    }

    pub async fn list(&self, owner_id: &str) -> Result<Vec<AppSummary>, AppError> {
        let rows = self.store.apps_of_owner(owner_id).await?;
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
        owner_id: &str,
        name: &str,
        plan: Plan,
    ) -> Result<IssuedApiKey, AppError> {
        let name = AppName::parse(name)?;
        let api_key = secrets::new_api_key();
        let record = self
            .store
            .insert_app(
                owner_id,
                name.as_str(),
                plan.as_str(),
                NewAppCredentials {
                    api_key_hash: &secrets::hash_api_key(&api_key),
                    api_key_prefix: &secrets::api_key_display_prefix(&api_key),
                    webhook_token: &secrets::new_webhook_token(),
                },
            )
            .await?;
        Ok(IssuedApiKey {
            public_id: record.id,
            api_key,
        })
    }

    pub async fn detail(&self, owner_id: &str, public_id: &str) -> Result<AppDetail, AppError> {
        let app = self.owned(owner_id, public_id).await?;
        Ok(AppDetail {
            plan: stored_plan(&app.plan)?,
            public_id: app.id,
            name: app.name,
            created_at_ms: app.created_at,
            api_key_prefix: app.api_key_prefix,
        })
    }

    pub async fn rename(
        &self,
        owner_id: &str,
        public_id: &str,
        name: &str,
    ) -> Result<(), AppError> {
        let name = AppName::parse(name)?;
        found(
            self.store
                .rename_app(owner_id, public_id, name.as_str())
                .await?,
        )
    }

    /// Deletes an application once the owner has typed its name to confirm.
    pub async fn delete(
        &self,
        owner_id: &str,
        public_id: &str,
        confirmation: &str,
    ) -> Result<(), AppError> {
        let app = self.owned(owner_id, public_id).await?;
        if confirmation.trim() != app.name {
            return Err(AppError::invalid(
                "confirmation",
                format!("Type the application's name, {}, to confirm.", app.name),
            ));
        }
        found(self.store.delete_app(owner_id, public_id).await?)
    }

    pub async fn rotate_api_key(
        &self,
        owner_id: &str,
        public_id: &str,
    ) -> Result<IssuedApiKey, AppError> {
        let api_key = secrets::new_api_key();
        let hash = secrets::hash_api_key(&api_key);
        let prefix = secrets::api_key_display_prefix(&api_key);
        found(
            self.store
                .set_api_key(owner_id, public_id, &hash, &prefix)
                .await?,
        )?;
        Ok(IssuedApiKey {
            public_id: public_id.to_owned(),
            api_key,
        })
    }

    pub async fn webhook_token(&self, owner_id: &str, public_id: &str) -> Result<String, AppError> {
        Ok(self.owned(owner_id, public_id).await?.webhook_token)
    }

    pub async fn rotate_webhook_token(
        &self,
        owner_id: &str,
        public_id: &str,
    ) -> Result<String, AppError> {
        let token = secrets::new_webhook_token();
        found(
            self.store
                .set_webhook_token(owner_id, public_id, &token)
                .await?,
        )?;
        Ok(token)
    }

    pub async fn endpoints(
        &self,
        owner_id: &str,
        public_id: &str,
    ) -> Result<Vec<EndpointView>, AppError> {
        let app = self.owned(owner_id, public_id).await?;
        let rows = self.store.endpoints_of_app(&app.id).await?;
        let mut views: Vec<EndpointView> = rows
            .into_iter()
            .map(endpoint_view)
            .collect::<Result<_, _>>()?;
        self.add_recent_health(&app.id, &mut views).await?;
        Ok(views)
    }

    pub async fn add_endpoint(
        &self,
        owner_id: &str,
        public_id: &str,
        input: EndpointInput,
    ) -> Result<(EndpointView, String), AppError> {
        let app = self.owned(owner_id, public_id).await?;
        let plan = stored_plan(&app.plan)?;
        if input.include_payload && !plan.allows_payload() {
            return Err(payload_refusal());
        }
        let settings = self.settings(input, None)?;
        let secret = secrets::new_signing_secret();
        let record = self
            .store
            .insert_endpoint(&app.id, &settings, &secret, MAX_ENDPOINTS_PER_APP)
            .await?
            .ok_or_else(|| {
                AppError::invalid(
                    "url",
                    format!(
                        "This application already has {MAX_ENDPOINTS_PER_APP} endpoints, the most allowed; remove one first."
                    ),
                )
            })?;
        Ok((endpoint_view(record)?, secret))
    }

    /// Saves an endpoint's settings. On plans without payload inclusion the stored setting is
    /// kept as it is (it just does not apply), and turning it on is refused.
    pub async fn update_endpoint(
        &self,
        owner_id: &str,
        public_id: &str,
        endpoint_id: &str,
        input: EndpointInput,
    ) -> Result<EndpointView, AppError> {
        let app = self.owned(owner_id, public_id).await?;
        let current = self.owned_endpoint(&app, endpoint_id).await?;
        let plan = stored_plan(&app.plan)?;
        let include_payload = if plan.allows_payload() {
            input.include_payload
        } else if input.include_payload && !current.include_payload {
            return Err(payload_refusal());
        } else {
            current.include_payload
        };
        let settings = self.settings(input, Some(include_payload))?;
        found(
            self.store
                .update_endpoint(&app.id, endpoint_id, &settings)
                .await?,
        )?;
        let saved = self.owned_endpoint(&app, endpoint_id).await?;
        endpoint_view(saved)
    }

    pub async fn delete_endpoint(
        &self,
        owner_id: &str,
        public_id: &str,
        endpoint_id: &str,
    ) -> Result<(), AppError> {
        let app = self.owned(owner_id, public_id).await?;
        found(self.store.delete_endpoint(&app.id, endpoint_id).await?)
    }

    pub async fn signing_secrets(
        &self,
        owner_id: &str,
        public_id: &str,
        endpoint_id: &str,
    ) -> Result<SigningSecrets, AppError> {
        let app = self.owned(owner_id, public_id).await?;
        let endpoint = self.owned_endpoint(&app, endpoint_id).await?;
        Ok(signing_secrets(&endpoint, now_ms()))
    }

    pub async fn rotate_signing_secret(
        &self,
        owner_id: &str,
        public_id: &str,
        endpoint_id: &str,
    ) -> Result<SigningSecrets, AppError> {
        let app = self.owned(owner_id, public_id).await?;
        let expires_at = now_ms() + PREVIOUS_SECRET_VALIDITY_MS;
        let secret = secrets::new_signing_secret();
        found(
            self.store
                .rotate_signing_secret(&app.id, endpoint_id, &secret, expires_at)
                .await?,
        )?;
        let endpoint = self.owned_endpoint(&app, endpoint_id).await?;
        Ok(signing_secrets(&endpoint, now_ms()))
    }

    /// The application and endpoint behind an owner's endpoint, or `NotFound` for anything
    /// that is not theirs.
    pub async fn owned_endpoint_state(
        &self,
        owner_id: &str,
        public_id: &str,
        endpoint_id: &str,
    ) -> Result<OwnedEndpoint, AppError> {
        let app = self.owned(owner_id, public_id).await?;
        let endpoint = self.owned_endpoint(&app, endpoint_id).await?;
        Ok(OwnedEndpoint {
            app_id: app.id,
            endpoint_id: endpoint.id,
            enabled: endpoint.enabled,
        })
    }

    /// Operator action: changes any application's plan.
    pub async fn set_plan(&self, public_id: &str, plan: Plan) -> Result<(), AppError> {
        found(self.store.set_plan(public_id.trim(), plan.as_str()).await?)
    }

    async fn owned(&self, owner_id: &str, public_id: &str) -> Result<AppRecord, AppError> {
        self.store
            .app_of_owner(owner_id, public_id.trim())
            .await?
            .ok_or(AppError::NotFound)
    }

    async fn owned_endpoint(
        &self,
        app: &AppRecord,
        endpoint_id: &str,
    ) -> Result<EndpointRecord, AppError> {
        self.store
            .endpoint_of_app(&app.id, endpoint_id.trim())
            .await?
            .ok_or(AppError::NotFound)
    }

    fn settings(
        &self,
        input: EndpointInput,
        include_payload: Option<bool>,
    ) -> Result<EndpointSettings, AppError> {
        let url = EndpointUrl::parse(&input.url, &self.allow)?;
        let description = input.description.trim().to_owned();
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(AppError::invalid(
                "description",
                format!("Descriptions are at most {MAX_DESCRIPTION_CHARS} characters."),
            ));
        }
        let timeout_secs = check_timeout_secs(input.timeout_secs)?;
        let events = match input.events {
            Some(kinds) if kinds.is_empty() => {
                return Err(AppError::invalid(
                    "events",
                    "Choose at least one event, or all events.",
                ))
            }
            Some(kinds) => normalise_subscription(kinds),
            None => None,
        };
        Ok(EndpointSettings {
            url: url.as_str().to_owned(),
            description,
            enabled: input.enabled,
            events: events.map(|kinds| {
                kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            include_payload: include_payload.unwrap_or(input.include_payload),
            timeout_secs,
        })
    }
}

fn payload_refusal() -> AppError {
    AppError::invalid("include_payload", PAYLOAD_PLAN_NOTICE)
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

fn endpoint_view(record: EndpointRecord) -> Result<EndpointView, AppError> {
    let events = match record.events.as_deref() {
        None => None,
        Some(list) => EventKind::parse_list(list)
            .map_err(|_| internal(format!("unknown event list {list:?} in the database")))?,
    };
    Ok(EndpointView {
        id: record.id,
        url: record.url,
        description: record.description,
        enabled: record.enabled,
        events,
        include_payload: record.include_payload,
        timeout_secs: record.timeout_secs,
        disabled_reason: record.disabled_reason,
        disabled_at_ms: record.disabled_at,
        health: EndpointHealth {
            consecutive_failures: record.consecutive_failures,
            ..EndpointHealth::default()
        },
    })
}

fn signing_secrets(endpoint: &EndpointRecord, now: i64) -> SigningSecrets {
    let still_valid = endpoint
        .previous_secret_expires_at
        .filter(|expires| *expires > now);
    SigningSecrets {
        current: endpoint.signing_secret.clone(),
        previous: still_valid.and(endpoint.previous_signing_secret.clone()),
        previous_expires_at_ms: still_valid,
    }
}
