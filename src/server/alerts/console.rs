//! The console's side of alerts: the bell's count, the alerts page, each account's mail
//! choices, and each organization's thresholds and operational webhook. The console's
//! server functions call these; every rule about who may see or change what is here.

use crate::model::alert::{
    AlertKind, AlertMailChoices, AlertRules, AlertSettingsView, AlertView, AlertsPage, EpisodeView,
};
use crate::model::org::{Action, AuditAction};
use crate::model::AppError;
use crate::server::apps::EndpointUrl;
use crate::server::auth::Account;
use crate::server::clock::now_ms;
use crate::server::orgs::{Audit, Member};
use crate::server::store::Store;
use crate::server::targets::AllowList;
use serde_json::json;
use std::sync::Arc;

/// The alerts page shows this many, newest first.
const PAGE_SIZE: i64 = 100;
/// The bell counts up to this many ("99+" beyond).
pub const UNREAD_CAP: i64 = 100;

#[derive(Clone)]
pub struct Alerts {
    store: Store,
    audit: Audit,
    allow: Arc<AllowList>,
}

impl Alerts {
    pub fn new(store: Store, allow: Arc<AllowList>) -> Self {
        Alerts {
            audit: Audit::new(store.clone()),
            store,
            allow,
        }
    }

    /// Alerts raised since the account last opened the alerts page.
    pub async fn unread(&self, member: &Member, is_operator: bool) -> Result<i64, AppError> {
        Ok(self
            .store
            .unread_alerts(
                member.actor.account_id()?,
                &member.org_id,
                is_operator,
                UNREAD_CAP,
            )
            .await?)
    }

    /// The newest alerts with their episodes; opening the page marks them read.
    pub async fn page(&self, member: &Member, is_operator: bool) -> Result<AlertsPage, AppError> {
        // Marked up to the moment before the read: an alert raised while the page is read
        // stays unread until it has been shown.
        let looked_at = now_ms();
        let rows = self
            .store
            .alerts_for(&member.org_id, is_operator, PAGE_SIZE)
            .await?;
        let seen_before = self
            .store
            .mark_alerts_seen(member.actor.account_id()?, &member.org_id, looked_at)
            .await?;
        let mut open = std::collections::HashSet::new();
        let alerts = rows
            .into_iter()
            .map(|row| {
                let episode = match (&row.episode_id, row.opened_at) {
                    (Some(id), Some(opened_at_ms)) => {
                        if row.closed_at.is_none() {
                            open.insert(id.clone());
                        }
                        Some(EpisodeView {
                            id: id.clone(),
                            opened_at_ms,
                            closed_at_ms: row.closed_at,
                            deliveries_affected: row.episode_deliveries.unwrap_or(0),
                        })
                    }
                    _ => None,
                };
                AlertView {
                    endpoint_href: match (&row.app_id, &row.endpoint_id) {
                        (Some(app), Some(endpoint)) => {
                            Some(format!("/apps/{app}/webhooks/{endpoint}"))
                        }
                        _ => None,
                    },
                    unread: row.raised_at > seen_before,
                    id: row.id,
                    kind: row.kind,
                    message: row.message,
                    raised_at_ms: row.raised_at,
                    endpoint_url: row.endpoint_url,
                    deliveries_affected: row.deliveries_affected,
                    episode,
                }
            })
            .collect();
        Ok(AlertsPage {
            alerts,
            open_episodes: open.len(),
        })
    }

    pub async fn mail_choices(
        &self,
        account: &Account,
        mail_configured: bool,
    ) -> Result<AlertMailChoices, AppError> {
        Ok(AlertMailChoices {
            chosen: self.store.alert_mail_prefs(&account.id).await?,
            is_operator: account.is_operator,
            email: account.email.clone(),
            email_verified: account.email_verified,
            mail_configured,
        })
    }

    /// Replaces the account's choices; operator kinds only for operators.
    pub async fn set_mail_choices(
        &self,
        account: &Account,
        kinds: &[String],
    ) -> Result<(), AppError> {
        let mut chosen = Vec::new();
        for raw in kinds {
            let kind = AlertKind::parse(raw.trim()).ok_or_else(|| {
                AppError::invalid(
                    "kinds",
                    format!(
                        "{raw:?} is not an alert kind; choose from {}.",
                        AlertKind::ALL.map(|k| k.as_str()).join(", ")
                    ),
                )
            })?;
            if kind.for_operators() && !account.is_operator {
                return Err(AppError::invalid(
                    "kinds",
                    format!("{} is for the server's operators only.", kind.as_str()),
                ));
            }
            if !chosen.contains(&kind.as_str()) {
                chosen.push(kind.as_str());
            }
        }
        Ok(self
            .store
            .set_alert_mail_prefs(&account.id, &chosen)
            .await?)
    }

    pub async fn settings(&self, member: &Member) -> Result<AlertSettingsView, AppError> {
        let can_edit = member.role.allows(Action::ManageAlerts);
        let (webhook_url, secret) = self.store.ops_webhook(&member.org_id).await?;
        // Incident tools put credentials in their URLs: other roles see only the host.
        let webhook_url = match (webhook_url, can_edit) {
            (Some(url), false) => Some(
                url::Url::parse(&url)
                    .ok()
                    .and_then(|u| u.host_str().map(|h| format!("{}://{h}/…", u.scheme())))
                    .unwrap_or_else(|| "(set)".to_owned()),
            ),
            (url, _) => url,
        };
        Ok(AlertSettingsView {
            rules: self.store.alert_rules(&member.org_id).await?,
            webhook_secret: secret.filter(|_| can_edit && webhook_url.is_some()),
            webhook_url,
            can_edit,
        })
    }

    pub async fn set_rules(&self, member: &Member, rules: AlertRules) -> Result<(), AppError> {
        member.require(Action::ManageAlerts)?;
        let before = self.store.alert_rules(&member.org_id).await?;
        self.store.set_alert_rules(&member.org_id, &rules).await?;
        self.audit
            .record(
                member,
                AuditAction::AlertSettings,
                ("organization", member.org_id.as_str()),
                Some(json!({ "before": rules_json(&before), "after": rules_json(&rules) })),
            )
            .await
    }

    /// Sets the operational webhook's URL (the endpoint URL rules apply), making its secret
    /// the first time; an empty URL removes the webhook.
    pub async fn set_webhook(&self, member: &Member, raw_url: &str) -> Result<(), AppError> {
        member.require(Action::ManageAlerts)?;
        let (before, secret) = self.store.ops_webhook(&member.org_id).await?;
        let url = match raw_url.trim() {
            "" => None,
            raw => Some(
                EndpointUrl::parse(raw, &self.allow)
                    .await?
                    .as_str()
                    .to_owned(),
            ),
        };
        let new_secret = secret
            .is_none()
            .then(crate::server::secrets::new_signing_secret);
        self.store
            .set_ops_webhook(&member.org_id, url.as_deref(), new_secret.as_deref())
            .await?;
        self.audit
            .record(
                member,
                AuditAction::AlertSettings,
                ("organization", member.org_id.as_str()),
                Some(json!({ "webhook": { "before": before, "after": url } })),
            )
            .await
    }

    /// A new signing secret for the operational webhook; messages not yet sent are signed
    /// with it.
    pub async fn rotate_webhook_secret(&self, member: &Member) -> Result<(), AppError> {
        member.require(Action::ManageAlerts)?;
        let (url, _) = self.store.ops_webhook(&member.org_id).await?;
        if url.is_none() {
            return Err(AppError::invalid(
                "url",
                "Save an operational webhook URL first.",
            ));
        }
        let secret = crate::server::secrets::new_signing_secret();
        self.store
            .set_ops_webhook(&member.org_id, url.as_deref(), Some(&secret))
            .await?;
        self.audit
            .record(
                member,
                AuditAction::AlertSettings,
                ("organization", member.org_id.as_str()),
                Some(json!({ "webhook": "secret rotated" })),
            )
            .await
    }
}

fn rules_json(rules: &AlertRules) -> serde_json::Value {
    json!({
        "failures": rules.failures,
        "ratePercent": rules.rate_percent,
        "minAttempts": rules.min_attempts,
    })
}
