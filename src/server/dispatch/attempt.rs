//! One attempt: send the signed request, then decide what follows from what came back —
//! delivered, retry at a time, failed — and what it means for the endpoint's health.

use super::message;
use super::schedule::{self, RetrySchedule};
use super::transport::{ErrorClass, Transport};
use crate::server::clock::now_ms;
use crate::server::store::{
    AttemptOutcome, AttemptRecord, ClaimedDelivery, EndpointVerdict, NextStep,
};
use std::time::Duration;

pub const MS_PER_DAY: f64 = 86_400_000.0;

/// How long a 429 without `Retry-After` pauses its endpoint, and the longest any 429 may.
const PAUSE_ON_429: Duration = Duration::from_secs(2);
const LONGEST_PAUSE: Duration = Duration::from_secs(600);

/// How failures are followed up.
pub enum AttemptPolicy {
    /// Queue deliveries: retry on the schedule; failures count against the endpoint.
    Scheduled {
        schedule: RetrySchedule,
        disable_after_ms: i64,
    },
    /// Test events from the console: one attempt, and the endpoint's health is left alone.
    Once,
}

impl AttemptPolicy {
    fn affects_endpoint(&self) -> bool {
        matches!(self, AttemptPolicy::Scheduled { .. })
    }
}

pub struct Attempts {
    pub transport: Transport,
    pub policy: AttemptPolicy,
}

impl Attempts {
    /// Sends one attempt and decides what follows it.
    pub async fn make(&self, delivery: ClaimedDelivery) -> AttemptOutcome {
        let started_at = now_ms();
        let message = message::build(&delivery, started_at);
        let timeout = Duration::from_secs(delivery.timeout_secs.clamp(1, 60) as u64);
        let report = self.transport.send(&delivery.url, message, timeout).await;
        let duration_ms = i64::try_from(report.duration.as_millis()).unwrap_or(i64::MAX);
        let attempts_made = usize::try_from(delivery.attempts).unwrap_or(0) + 1;
        let schedule = own_schedule(&delivery);
        let mut pause_endpoint_until = None;
        let mut attempt = AttemptRecord {
            started_at,
            duration_ms,
            ..AttemptRecord::default()
        };
        let (next, endpoint) = match report.result {
            Ok(response) => {
                attempt.http_version = Some(response.http_version.clone());
                attempt.remote_addr = response.remote_addr.map(|a| a.to_string());
                attempt.status_code = Some(i64::from(response.status));
                attempt.response_headers = serde_json::to_string(&response.headers).ok();
                attempt.response_excerpt = Some(response.body_excerpt.clone());
                if (200..300).contains(&response.status) {
                    let verdict = if self.policy.affects_endpoint() {
                        EndpointVerdict::Healthy
                    } else {
                        EndpointVerdict::Unchanged
                    };
                    (NextStep::Delivered, verdict)
                } else {
                    attempt.error_class = Some(ErrorClass::HttpStatus.as_str().to_owned());
                    attempt.error_message = Some(status_message(response.status));
                    if response.status == 410 && self.policy.affects_endpoint() {
                        let reason = format!(
                            "the endpoint answered 410 Gone at {}",
                            crate::server::clock::rfc3339(started_at)
                        );
                        (NextStep::Failed, EndpointVerdict::Disable { reason })
                    } else {
                        let retry_after = matches!(response.status, 429 | 503)
                            .then(|| response.header("retry-after"))
                            .flatten()
                            .and_then(|v| {
                                schedule::parse_retry_after(v, std::time::SystemTime::now())
                            });
                        if response.status == 429 && self.policy.affects_endpoint() {
                            // The receiver is overwhelmed, not just this delivery: every
                            // replica leaves the endpoint alone for a while.
                            let pause = retry_after.unwrap_or(PAUSE_ON_429).min(LONGEST_PAUSE);
                            pause_endpoint_until = Some(started_at + pause.as_millis() as i64);
                        }
                        (
                            self.next_after_failure(schedule.as_ref(), attempts_made, retry_after),
                            self.failing_verdict(),
                        )
                    }
                }
            }
            Err(failure) => {
                attempt.error_class = Some(failure.class.as_str().to_owned());
                attempt.error_message = Some(failure.message);
                (
                    self.next_after_failure(schedule.as_ref(), attempts_made, None),
                    self.failing_verdict(),
                )
            }
        };
        AttemptOutcome {
            duration: report.duration,
            delivery_id: delivery.delivery_id,
            lease_token: delivery.lease_token,
            endpoint_id: delivery.endpoint_id,
            attempt,
            next,
            endpoint,
            order_key: delivery.order_key,
            pause_endpoint_until,
        }
    }

    /// After a failure: the next attempt's time on the endpoint's own schedule (`own`) or
    /// the operator's, or failed for good when the schedule is exhausted.
    fn next_after_failure(
        &self,
        own: Option<&RetrySchedule>,
        attempts_made: usize,
        retry_after: Option<Duration>,
    ) -> NextStep {
        let AttemptPolicy::Scheduled { schedule, .. } = &self.policy else {
            return NextStep::Failed;
        };
        let schedule = own.unwrap_or(schedule);
        let jitter = rand::random::<f64>() * 2.0 - 1.0;
        match schedule.next_delay(attempts_made, retry_after, jitter) {
            Some(delay) => {
                let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
                NextStep::RetryAt(now_ms().saturating_add(delay_ms))
            }
            None => NextStep::Failed,
        }
    }

    fn failing_verdict(&self) -> EndpointVerdict {
        let AttemptPolicy::Scheduled {
            disable_after_ms, ..
        } = &self.policy
        else {
            return EndpointVerdict::Unchanged;
        };
        let days = *disable_after_ms as f64 / MS_PER_DAY;
        EndpointVerdict::Failing {
            disable_if_failing_since: now_ms() - disable_after_ms,
            reason: format!("every delivery failed for {days} days"),
        }
    }
}

/// The endpoint's own retry schedule, if it has one (checked when saved).
fn own_schedule(delivery: &ClaimedDelivery) -> Option<RetrySchedule> {
    RetrySchedule::parse(delivery.retry_schedule.as_deref()?).ok()
}

fn status_message(status: u16) -> String {
    let reason = hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("the endpoint answered {status} {reason}")
        .trim_end()
        .to_owned()
}
