//! Alerts: an evaluator that looks at delivery every few seconds and raises each alert once
//! per episode (recorded with its mails and webhook message before anything is sent), the
//! operational webhook's sender, and the console's view of them.
//!
//! The evaluator reads state the dispatcher keeps anyway (failure counts, disable times,
//! failed deliveries, heartbeats) plus this process's success rates, so delivery itself
//! does no extra work for alerts.

mod compose;
mod console;
mod webhook;

pub use console::Alerts;
pub use webhook::run_sender as run_webhook_sender;

use crate::model::alert::AlertKind;
use crate::model::ids::EndpointId;
use crate::server::dispatch::{DispatchMetrics, EndpointRate};
use crate::server::store::{
    new_id, EndpointFacts, NewAlert, NewEpisode, OpenEndpointEpisode, Store, StoreError,
};
use compose::{alert, failing_reason, span, Subject};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Work due this long with no dispatcher attempting anything is `dispatcher.silent`.
const SILENT_AFTER_MS: i64 = 60_000;
/// Failed deliveries are counted once they are this old, so rows committed after their
/// completion time (an outcome batch waiting for SQLite's lock, up to its 10 s busy timeout)
/// are not passed over.
const EXHAUSTED_LAG_MS: i64 = 10_000;
/// An operator episode closes once its condition has been clear this long.
const OPERATOR_CLEAR_MS: i64 = 5 * 60_000;
/// At start, failed deliveries this recent are counted (a restart misses none).
const EXHAUSTED_LOOKBACK_MS: i64 = 24 * 3_600_000;

#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub check_every: Duration,
    /// `queue.backlog` when the oldest due delivery has waited this long.
    pub backlog_after_ms: i64,
    /// `FACEHOOK_DISABLE_AFTER_DAYS`, for the disable warnings.
    pub disable_after_ms: i64,
    /// The console's address, for links in mail and webhook messages.
    pub console_url: String,
    /// Whether this server sends mail: without, alerts queue none (they would all go out,
    /// stale, the day mail is configured).
    pub mail_on: bool,
}

pub struct Evaluator {
    store: Store,
    settings: AlertSettings,
    /// This process's dispatcher, whose success rates the rate rule reads.
    dispatch: Option<Arc<DispatchMetrics>>,
    exhausted_counted_to: i64,
    /// When each operator condition was last seen clear while its episode is open.
    clear_since: HashMap<&'static str, i64>,
}

/// Runs the evaluator every `check_every` until aborted; errors are logged and retried.
pub fn spawn(
    store: Store,
    settings: AlertSettings,
    dispatch: Option<Arc<DispatchMetrics>>,
) -> tokio::task::JoinHandle<()> {
    let mut evaluator = Evaluator::new(store, settings, dispatch);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(evaluator.settings.check_every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(err) = evaluator.check(crate::server::clock::now_ms()).await {
                tracing::warn!(error = %err, "checking for alerts failed; trying again");
            }
        }
    })
}

impl Evaluator {
    pub fn new(
        store: Store,
        settings: AlertSettings,
        dispatch: Option<Arc<DispatchMetrics>>,
    ) -> Self {
        let exhausted_counted_to = crate::server::clock::now_ms() - EXHAUSTED_LOOKBACK_MS;
        Evaluator {
            store,
            settings,
            dispatch,
            exhausted_counted_to,
            clear_since: HashMap::new(),
        }
    }

    /// One look at everything; each step raises what it finds once.
    pub async fn check(&mut self, now: i64) -> Result<(), StoreError> {
        let rates: HashMap<EndpointId, EndpointRate> = self
            .dispatch
            .as_ref()
            .map(|d| d.success_rates.last_hour(now))
            .unwrap_or_default()
            .into_iter()
            .map(|rate| (rate.endpoint_id.clone(), rate))
            .collect();
        self.disabled(now).await?;
        self.failing(now, &rates).await?;
        self.exhausted(now).await?;
        self.warnings(now).await?;
        let episodes = self.store.open_endpoint_episodes().await?;
        self.recoveries(now, &episodes, &rates).await?;
        self.queue(now).await?;
        Ok(())
    }

    fn episode_for(endpoint: &EndpointFacts, now: i64, by_rate: bool) -> NewEpisode {
        NewEpisode {
            by_rate,
            id: new_id("epi"),
            subject: endpoint.id.to_string(),
            org_id: Some(endpoint.org_id.clone()),
            app_id: Some(endpoint.app_id.clone()),
            endpoint_id: Some(endpoint.id.clone()),
            opened_at: now,
        }
    }

    /// `endpoint.failing`: consecutive failures at the threshold, or the success rate under
    /// it; opens the endpoint's episode.
    async fn failing(
        &self,
        now: i64,
        rates: &HashMap<EndpointId, EndpointRate>,
    ) -> Result<(), StoreError> {
        let mut candidates: Vec<(EndpointFacts, Option<(u64, u64)>)> = self
            .store
            .endpoints_past_failure_threshold()
            .await?
            .into_iter()
            .map(|e| (e, None))
            .collect();
        let rated: Vec<EndpointId> = rates
            .values()
            .filter(|r| r.failures > 0)
            .map(|r| r.endpoint_id.clone())
            .filter(|id| !candidates.iter().any(|(e, _)| &e.id == id))
            .collect();
        for endpoint in self.store.endpoint_facts(&rated).await? {
            let Some(rate) = rates.get(&endpoint.id) else {
                continue;
            };
            if endpoint.enabled
                && !endpoint.alerting
                && rate.below(
                    endpoint.alert_rate_percent,
                    endpoint.alert_rate_min_attempts,
                )
            {
                candidates.push((endpoint, Some((rate.attempts, rate.failures))));
            }
        }
        for (endpoint, rate) in candidates {
            let episode = Self::episode_for(&endpoint, now, rate.is_some());
            let message = format!(
                "The endpoint {} is failing: {}.",
                endpoint.url,
                failing_reason(endpoint.consecutive_failures, rate)
            );
            let raised = alert(
                AlertKind::EndpointFailing,
                self.subject(&endpoint, &episode.id),
                message,
                format!("{}:{}", episode.id, AlertKind::EndpointFailing.as_str()),
                0,
                now,
                &self.settings,
            );
            self.store.open_episode(&episode, &raised).await?;
        }
        Ok(())
    }

    fn subject<'a>(&self, endpoint: &'a EndpointFacts, episode_id: &'a str) -> Subject<'a> {
        Subject {
            org_id: Some(&endpoint.org_id),
            endpoint: Some(endpoint),
            episode_id: Some(episode_id),
        }
    }

    /// `endpoint.disabled`: Facehook disabled it (410, or the failure window); joins the
    /// endpoint's open episode or opens one.
    async fn disabled(&self, now: i64) -> Result<(), StoreError> {
        let since = now - EXHAUSTED_LOOKBACK_MS;
        for endpoint in self.store.disabled_without_alert(since).await? {
            let disabled_at = endpoint.disabled_at.unwrap_or(now);
            let key = format!(
                "{}:{}:{disabled_at}",
                AlertKind::EndpointDisabled.as_str(),
                endpoint.id
            );
            let message = format!(
                "Facehook disabled the endpoint {}: {}. Its deliveries wait until you enable it again.",
                endpoint.url,
                endpoint.disabled_reason.as_deref().unwrap_or("it kept failing")
            );
            match self.store.open_episode_of(endpoint.id.as_str()).await? {
                Some(episode_id) => {
                    let raised = alert(
                        AlertKind::EndpointDisabled,
                        self.subject(&endpoint, &episode_id),
                        message,
                        key,
                        0,
                        now,
                        &self.settings,
                    );
                    self.store.raise_alert(&raised).await?;
                }
                None => {
                    let episode = Self::episode_for(&endpoint, now, false);
                    let raised = alert(
                        AlertKind::EndpointDisabled,
                        self.subject(&endpoint, &episode.id),
                        message,
                        key,
                        0,
                        now,
                        &self.settings,
                    );
                    self.store.open_episode(&episode, &raised).await?;
                }
            }
        }
        Ok(())
    }

    /// `endpoint.disable_warning` at 50 % and 90 % of the failure window, once each per run
    /// of failures (a check that finds 90 % passed raises that one only); opens the
    /// endpoint's episode if the failing rules have not.
    async fn warnings(&self, now: i64) -> Result<(), StoreError> {
        let window = self.settings.disable_after_ms.max(1);
        for endpoint in self.store.failing_since_before(now - window / 2).await? {
            let Some(since) = endpoint.failing_since else {
                continue;
            };
            let failing_for = now - since;
            let percent = if failing_for * 10 >= window * 9 {
                90
            } else {
                50
            };
            let key = format!(
                "{}:{}:{since}:{percent}",
                endpoint.id,
                AlertKind::DisableWarning.as_str()
            );
            if self.store.alert_key_exists(&key).await? {
                continue;
            }
            let message = format!(
                "The endpoint {} has failed for {}: {percent} % of the way to being disabled after {}.",
                endpoint.url,
                span(failing_for),
                span(window)
            );
            let existing = self.store.open_episode_of(endpoint.id.as_str()).await?;
            let episode = Self::episode_for(&endpoint, now, false);
            let episode_id = existing.clone().unwrap_or_else(|| episode.id.clone());
            let raised = alert(
                AlertKind::DisableWarning,
                self.subject(&endpoint, &episode_id),
                message,
                key,
                0,
                now,
                &self.settings,
            );
            match existing {
                Some(_) => self.store.raise_alert(&raised).await?,
                None => self.store.open_episode(&episode, &raised).await?,
            };
        }
        Ok(())
    }

    /// `endpoint.recovered`: delivered since the episode opened, enabled, and not failing by
    /// either rule; closes the episode.
    async fn recoveries(
        &self,
        now: i64,
        episodes: &[OpenEndpointEpisode],
        rates: &HashMap<EndpointId, EndpointRate>,
    ) -> Result<(), StoreError> {
        for open in episodes {
            let endpoint = &open.endpoint;
            let delivered_since_open = endpoint
                .last_success_at
                .is_some_and(|at| at >= open.opened_at);
            // The rate rule is judged only by a process that sees the endpoint's attempts;
            // an episode it opened waits for such a process to see the rate recover.
            let rate_failing = match rates.get(&endpoint.id) {
                Some(rate) => rate.below(
                    endpoint.alert_rate_percent,
                    endpoint.alert_rate_min_attempts,
                ),
                None => open.by_rate,
            };
            if !(delivered_since_open
                && endpoint.enabled
                && endpoint.failing_since.is_none()
                && !rate_failing)
            {
                continue;
            }
            let message = format!(
                "The endpoint {} delivers again; the episode that opened {} ago is closed.",
                endpoint.url,
                span(now - open.opened_at)
            );
            let raised = alert(
                AlertKind::EndpointRecovered,
                self.subject(endpoint, &open.episode_id),
                message,
                format!(
                    "{}:{}",
                    open.episode_id,
                    AlertKind::EndpointRecovered.as_str()
                ),
                0,
                now,
                &self.settings,
            );
            self.store
                .close_episode(&open.episode_id, Some(&raised))
                .await?;
        }
        Ok(())
    }

    /// `delivery.exhausted`: deliveries that failed their last attempt, counted once; at most
    /// one alert an hour per endpoint, carrying how many failed since the one before.
    async fn exhausted(&mut self, now: i64) -> Result<(), StoreError> {
        let until = now - EXHAUSTED_LAG_MS;
        if until > self.exhausted_counted_to {
            let batches = self
                .store
                .exhausted_deliveries(self.exhausted_counted_to, until)
                .await?;
            for batch in batches {
                let compose = self.exhausted_alert(&batch.endpoint, now).await?;
                self.store
                    .count_exhausted(
                        &batch.endpoint.id,
                        batch.counted_until,
                        batch.newest,
                        batch.count,
                        &compose,
                    )
                    .await?;
            }
            self.exhausted_counted_to = until;
        }
        let waiting = self.store.endpoints_with_pending_exhausted().await?;
        for endpoint in self.store.endpoint_facts(&waiting).await? {
            let compose = self.exhausted_alert(&endpoint, now).await?;
            self.store.flush_exhausted(&endpoint.id, &compose).await?;
        }
        Ok(())
    }

    /// Makes the `delivery.exhausted` alert of `endpoint` for a number of deliveries.
    async fn exhausted_alert(
        &self,
        endpoint: &EndpointFacts,
        now: i64,
    ) -> Result<impl Fn(i64) -> NewAlert + Sync + use<>, StoreError> {
        let episode_id = self.store.open_episode_of(endpoint.id.as_str()).await?;
        let (endpoint, settings) = (endpoint.clone(), self.settings.clone());
        Ok(move |count: i64| {
            let message = format!(
                "{count} deliver{} to {} failed {} last attempt and will not be retried; redeliver from the Deliveries tab once it works.",
                if count == 1 { "y" } else { "ies" },
                endpoint.url,
                if count == 1 { "its" } else { "their" },
            );
            alert(
                AlertKind::DeliveryExhausted,
                Subject {
                    org_id: Some(&endpoint.org_id),
                    endpoint: Some(&endpoint),
                    episode_id: episode_id.as_deref(),
                },
                message,
                format!(
                    "{}:{}:{now}",
                    AlertKind::DeliveryExhausted.as_str(),
                    endpoint.id
                ),
                count,
                now,
                &settings,
            )
        })
    }

    /// The operator's alerts: `queue.backlog` and `dispatcher.silent`, each an episode that
    /// closes (silently) when the condition passes.
    async fn queue(&mut self, now: i64) -> Result<(), StoreError> {
        let backlog_cutoff = now - self.settings.backlog_after_ms;
        let oldest = self
            .store
            .oldest_due_before(now - SILENT_AFTER_MS.min(self.settings.backlog_after_ms))
            .await?;
        let backlog = oldest.filter(|at| *at <= backlog_cutoff);
        let message = backlog.map(|at| {
            format!(
                "The oldest waiting delivery has been due for {}: the dispatchers are not keeping up.",
                span(now - at)
            )
        });
        self.operator_episode(AlertKind::QueueBacklog, "queue", message, now)
            .await?;
        let silent = match oldest.filter(|at| *at <= now - SILENT_AFTER_MS) {
            Some(at) if !self.store.dispatcher_attempting_since(now - SILENT_AFTER_MS).await? => {
                Some(format!(
                    "Deliveries have been due for {} and no dispatcher attempted any in the last minute: check that `facehook serve` or `facehook dispatch` is running.",
                    span(now - at)
                ))
            }
            _ => None,
        };
        self.operator_episode(AlertKind::DispatcherSilent, "dispatcher", silent, now)
            .await
    }

    /// Opens `subject`'s episode with an alert saying `message`, or closes it once `None`
    /// has held for `OPERATOR_CLEAR_MS`: a condition hovering at its threshold opens one
    /// episode, not one per check.
    async fn operator_episode(
        &mut self,
        kind: AlertKind,
        subject: &'static str,
        message: Option<String>,
        now: i64,
    ) -> Result<(), StoreError> {
        let open = self.store.open_episode_of(subject).await?;
        match (message, open) {
            (Some(message), None) => {
                let episode = NewEpisode {
                    id: new_id("epi"),
                    subject: subject.to_owned(),
                    org_id: None,
                    app_id: None,
                    endpoint_id: None,
                    opened_at: now,
                    by_rate: false,
                };
                let raised = alert(
                    kind,
                    Subject {
                        org_id: None,
                        endpoint: None,
                        episode_id: Some(&episode.id),
                    },
                    message,
                    format!("{}:{}", episode.id, kind.as_str()),
                    0,
                    now,
                    &self.settings,
                );
                self.store.open_episode(&episode, &raised).await?;
            }
            (Some(_), Some(_)) => {
                self.clear_since.remove(subject);
            }
            (None, Some(episode_id)) => {
                let clear_since = *self.clear_since.entry(subject).or_insert(now);
                if now - clear_since >= OPERATOR_CLEAR_MS {
                    self.store.close_episode(&episode_id, None).await?;
                    self.clear_since.remove(subject);
                }
            }
            _ => {}
        }
        Ok(())
    }
}
