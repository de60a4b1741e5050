//! An application's webhook endpoints: their settings (checked before anything is stored),
//! signing secrets, and the audit entries their changes leave.

use crate::model::ids::{AppId, EndpointId};

use super::PREVIOUS_SECRET_VALIDITY_MS;
use super::{controls, found, stored_plan, Apps, EndpointInput, EndpointUrl, OwnedEndpoint};
use crate::model::app::EndpointHealth;
use crate::model::app::{
    check_timeout_secs, normalise_subscription, EndpointView, EventKind, SigningSecrets,
    MAX_ENDPOINTS_PER_APP, PAYLOAD_PLAN_NOTICE,
};
use crate::model::org::{Action, AuditAction};
use crate::model::AppError;
use crate::server::clock::now_ms;
use crate::server::dispatch::new_ed25519_secret;
use crate::server::error::internal;
use crate::server::orgs::Member;
use crate::server::secrets;
use crate::server::store::{AppRecord, EndpointRecord, EndpointSettings, NewSigningKeys};
use serde_json::json;

const MAX_DESCRIPTION_CHARS: usize = 200;

impl Apps {
    pub async fn endpoints(
        &self,
        member: &Member,
        public_id: &AppId,
    ) -> Result<Vec<EndpointView>, AppError> {
        let app = self.owned(member, Action::ViewApps, public_id).await?;
        let rows = self.store.endpoints_of_app(&app.id).await?;
        let mut views: Vec<EndpointView> = rows
            .into_iter()
            .map(endpoint_view)
            .collect::<Result<_, _>>()?;
        self.add_recent_health(&app.id, &mut views).await?;
        Ok(views)
    }

    /// Adds an endpoint; the answer holds its signing secret.
    pub async fn add_endpoint(
        &self,
        member: &Member,
        public_id: &AppId,
        input: EndpointInput,
    ) -> Result<(EndpointView, String), AppError> {
        let app = self.owned(member, Action::EditEndpoints, public_id).await?;
        let plan = stored_plan(&app.plan)?;
        if input.include_payload && !plan.allows_payload() {
            return Err(payload_refusal());
        }
        let settings = self.settings(&app, input, None, None).await?;
        let secret = secrets::new_signing_secret();
        let ed25519 = new_ed25519_secret();
        let keys = NewSigningKeys {
            hmac_secret: &secret,
            ed25519_secret_key: &ed25519,
        };
        let record = self
            .store
            .insert_endpoint(&app.id, &settings, &keys, MAX_ENDPOINTS_PER_APP)
            .await?
            .ok_or_else(|| {
                AppError::invalid(
                    "url",
                    format!(
                        "This application already has {MAX_ENDPOINTS_PER_APP} endpoints, the most allowed; remove one first."
                    ),
                )
            })?;
        self.audit
            .record(
                member,
                AuditAction::EndpointCreate,
                ("endpoint", record.id.as_str()),
                Some(json!({"app": app.id, "after": settings_json(&record)})),
            )
            .await?;
        Ok((endpoint_view(record)?, secret))
    }

    /// Saves an endpoint's settings. On plans without payload inclusion the stored setting is
    /// kept as it is (it just does not apply), and turning it on is refused.
    pub async fn update_endpoint(
        &self,
        member: &Member,
        public_id: &AppId,
        endpoint_id: &EndpointId,
        input: EndpointInput,
    ) -> Result<EndpointView, AppError> {
        let app = self.owned(member, Action::EditEndpoints, public_id).await?;
        let current = self.owned_endpoint(&app, endpoint_id).await?;
        let plan = stored_plan(&app.plan)?;
        let include_payload = if plan.allows_payload() {
            input.include_payload
        } else if input.include_payload && !current.include_payload {
            return Err(payload_refusal());
        } else {
            current.include_payload
        };
        let settings = self
            .settings(&app, input, Some(include_payload), Some(&current))
            .await?;
        found(
            self.store
                .update_endpoint(&app.id, &current.id, &settings, &new_ed25519_secret())
                .await?,
        )?;
        let saved = self.owned_endpoint(&app, endpoint_id).await?;
        let (before, after) = (settings_json(&current), settings_json(&saved));
        if before != after {
            let mut others_before = before.clone();
            let mut others_after = after.clone();
            others_before["enabled"] = json!(null);
            others_after["enabled"] = json!(null);
            // Switching an endpoint on or off alone reads as that in the log.
            let action = match (others_before == others_after, saved.enabled) {
                (true, true) => AuditAction::EndpointEnable,
                (true, false) => AuditAction::EndpointDisable,
                (false, _) => AuditAction::EndpointUpdate,
            };
            let details = json!({"app": app.id, "before": before, "after": after});
            self.audit
                .record(
                    member,
                    action,
                    ("endpoint", saved.id.as_str()),
                    Some(details),
                )
                .await?;
        }
        endpoint_view(saved)
    }

    /// Saves only an endpoint's delivery controls, its other settings as they are.
    pub async fn update_controls(
        &self,
        member: &Member,
        public_id: &AppId,
        endpoint_id: &EndpointId,
        controls: crate::model::controls::DeliveryControls,
    ) -> Result<EndpointView, AppError> {
        let app = self.owned(member, Action::EditEndpoints, public_id).await?;
        let current = self.owned_endpoint(&app, endpoint_id).await?;
        let events = match current.events.as_deref() {
            None => None,
            Some(list) => EventKind::parse_list(list)?,
        };
        let input = EndpointInput {
            url: current.url.clone(),
            description: current.description.clone(),
            enabled: current.enabled,
            events,
            include_payload: current.include_payload,
            timeout_secs: current.timeout_secs,
            controls: Some(controls),
        };
        self.update_endpoint(member, public_id, endpoint_id, input)
            .await
    }

    pub async fn delete_endpoint(
        &self,
        member: &Member,
        public_id: &AppId,
        endpoint_id: &EndpointId,
    ) -> Result<(), AppError> {
        let app = self.owned(member, Action::EditEndpoints, public_id).await?;
        let endpoint = self.owned_endpoint(&app, endpoint_id).await?;
        found(self.store.delete_endpoint(&app.id, &endpoint.id).await?)?;
        let details = json!({"app": app.id, "before": settings_json(&endpoint)});
        self.audit
            .record(
                member,
                AuditAction::EndpointDelete,
                ("endpoint", endpoint.id.as_str()),
                Some(details),
            )
            .await
    }

    pub async fn signing_secrets(
        &self,
        member: &Member,
        public_id: &AppId,
        endpoint_id: &EndpointId,
    ) -> Result<SigningSecrets, AppError> {
        let app = self.owned(member, Action::RevealSecrets, public_id).await?;
        let endpoint = self.owned_endpoint(&app, endpoint_id).await?;
        self.audit
            .record(
                member,
                AuditAction::SecretReveal,
                ("endpoint", endpoint.id.as_str()),
                None,
            )
            .await?;
        Ok(signing_secrets(&endpoint, now_ms()))
    }

    pub async fn rotate_signing_secret(
        &self,
        member: &Member,
        public_id: &AppId,
        endpoint_id: &EndpointId,
    ) -> Result<SigningSecrets, AppError> {
        let app = self.owned(member, Action::RotateSecrets, public_id).await?;
        let endpoint = self.owned_endpoint(&app, endpoint_id).await?;
        let expires_at = now_ms() + PREVIOUS_SECRET_VALIDITY_MS;
        let secret = secrets::new_signing_secret();
        let ed25519 = new_ed25519_secret();
        let keys = NewSigningKeys {
            hmac_secret: &secret,
            ed25519_secret_key: &ed25519,
        };
        found(
            self.store
                .rotate_signing_secret(&app.id, &endpoint.id, &keys, expires_at)
                .await?,
        )?;
        self.audit
            .record(
                member,
                AuditAction::SecretRotate,
                ("endpoint", endpoint.id.as_str()),
                None,
            )
            .await?;
        let endpoint = self.owned_endpoint(&app, endpoint_id).await?;
        Ok(signing_secrets(&endpoint, now_ms()))
    }

    /// The application and endpoint behind a member's endpoint, once the role is checked for
    /// `action`; `NotFound` for anything outside the member's organization.
    pub async fn owned_endpoint_state(
        &self,
        member: &Member,
        action: Action,
        public_id: &AppId,
        endpoint_id: &EndpointId,
    ) -> Result<OwnedEndpoint, AppError> {
        let app = self.owned(member, Action::ViewApps, public_id).await?;
        let endpoint = self.owned_endpoint(&app, endpoint_id).await?;
        member.require(action)?;
        Ok(OwnedEndpoint {
            app_id: app.id,
            endpoint_id: endpoint.id,
            enabled: endpoint.enabled,
        })
    }

    pub(super) async fn owned_endpoint(
        &self,
        app: &AppRecord,
        endpoint_id: &EndpointId,
    ) -> Result<EndpointRecord, AppError> {
        self.store
            .endpoint_of_app(&app.id, endpoint_id)
            .await?
            .ok_or(AppError::NotFound)
    }

    async fn settings(
        &self,
        app: &AppRecord,
        input: EndpointInput,
        include_payload: Option<bool>,
        current: Option<&EndpointRecord>,
    ) -> Result<EndpointSettings, AppError> {
        let url = EndpointUrl::parse(&input.url, &self.allow).await?;
        if app.https_only && url.as_str().starts_with("http:") {
            return Err(AppError::invalid(
                "url",
                "This application accepts only https:// endpoints (HTTPS only is on).",
            ));
        }
        let controls = controls::check(input.controls, current)?;
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
            ordered: controls.ordered,
            signature_scheme: controls.signature_scheme,
            custom_headers: controls.custom_headers,
            retry_schedule: controls.retry_schedule,
            rate_per_sec: controls.rate_per_sec,
        })
    }
}

/// An endpoint's settings for the audit log: everything a member edits, never its secrets.
fn settings_json(endpoint: &EndpointRecord) -> serde_json::Value {
    json!({
        "url": url_without_secrets(&endpoint.url),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "events": endpoint.events.as_deref().unwrap_or("all"),
        "include_payload": endpoint.include_payload,
        "timeout_secs": endpoint.timeout_secs,
        "ordered": endpoint.ordered,
        "signature": endpoint.signature_scheme.as_str(),
        "headers": controls::shown(endpoint).map(|c| {
            c.custom_headers.into_iter().map(|h| {
                let value = if h.secret { "***".to_owned() } else { h.value };
                json!({"name": h.name, "value": value})
            }).collect::<Vec<_>>()
        }).unwrap_or_default(),
        "retry_schedule": endpoint.retry_schedule.as_deref().unwrap_or("default"),
        "rate_per_sec": endpoint.rate_per_sec,
    })
}

/// A URL as the audit log shows it: receivers often take a token in the query string or
/// credentials before the host, so query values and the password are masked.
fn url_without_secrets(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return String::new();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if url.query().is_some() {
        let keys: Vec<String> = url.query_pairs().map(|(key, _)| key.into_owned()).collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(keys.iter().map(|key| (key.as_str(), "***")));
    }
    url.to_string()
}

fn payload_refusal() -> AppError {
    AppError::invalid("include_payload", PAYLOAD_PLAN_NOTICE)
}

fn endpoint_view(record: EndpointRecord) -> Result<EndpointView, AppError> {
    let controls = controls::shown(&record)?;
    let public_key = if record.signature_scheme.signs_ed25519() {
        controls::public_key(record.ed25519_secret_key.as_deref())
    } else {
        None
    };
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
        controls,
        public_key,
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
        public_key: controls::public_key(endpoint.ed25519_secret_key.as_deref()),
        previous_public_key: still_valid.and(controls::public_key(
            endpoint.previous_ed25519_secret_key.as_deref(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::url_without_secrets;

    #[test]
    fn audit_urls_hide_query_values_and_passwords() {
        assert_eq!(
            url_without_secrets("https://user:hunter2@example.com/hook?token=abc&v=1"),
            "https://user:***@example.com/hook?token=***&v=***"
        );
        assert_eq!(
            url_without_secrets("https://example.com/hook"),
            "https://example.com/hook"
        );
    }
}
