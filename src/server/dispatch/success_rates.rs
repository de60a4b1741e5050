//! Each endpoint's attempts and failures over the last hour, per minute, in this process:
//! what `endpoint.failing`'s success-rate rule reads. Kept in memory (a hash map update per
//! outcome) so the hot path writes nothing more to the database; with several replicas each
//! judges from the attempts it made, and a restart starts the hour afresh.

use crate::model::ids::EndpointId;

use crate::server::store::{AttemptOutcome, EndpointVerdict};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

const MINUTE_MS: i64 = 60_000;
const WINDOW_MINUTES: i64 = 60;

/// (minute, attempts, failures) for the minutes of the last hour that saw attempts.
type Minutes = VecDeque<(i64, u64, u64)>;

#[derive(Debug, Default)]
pub struct SuccessRates {
    endpoints: Mutex<HashMap<EndpointId, Minutes>>,
}

/// One endpoint's last hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRate {
    pub endpoint_id: EndpointId,
    pub attempts: u64,
    pub failures: u64,
}

impl EndpointRate {
    /// Whether the success rate is under `percent` over at least `min_attempts` attempts.
    pub fn below(&self, percent: i64, min_attempts: i64) -> bool {
        let succeeded = self.attempts - self.failures;
        self.attempts >= u64::try_from(min_attempts).unwrap_or(u64::MAX)
            && (succeeded as u128) * 100
                < (self.attempts as u128) * u128::try_from(percent).unwrap_or(0)
    }
}

impl SuccessRates {
    /// Counts a batch's outcomes that speak about their endpoint (not test events).
    pub fn record(&self, outcomes: &[AttemptOutcome], now_ms: i64) {
        let minute = now_ms.div_euclid(MINUTE_MS);
        let mut endpoints = self
            .endpoints
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for outcome in outcomes {
            if outcome.endpoint == EndpointVerdict::Unchanged {
                continue;
            }
            let failed = u64::from(outcome.endpoint != EndpointVerdict::Healthy);
            let minutes = endpoints.entry(outcome.endpoint_id.clone()).or_default();
            match minutes.back_mut() {
                Some((at, attempts, failures)) if *at == minute => {
                    *attempts += 1;
                    *failures += failed;
                }
                _ => minutes.push_back((minute, 1, failed)),
            }
            while minutes
                .front()
                .is_some_and(|(at, _, _)| *at <= minute - WINDOW_MINUTES)
            {
                minutes.pop_front();
            }
        }
    }

    /// Every endpoint with attempts in the last hour; forgets the others.
    pub fn last_hour(&self, now_ms: i64) -> Vec<EndpointRate> {
        let oldest = now_ms.div_euclid(MINUTE_MS) - WINDOW_MINUTES;
        let mut endpoints = self
            .endpoints
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        endpoints.retain(|_, minutes| {
            while minutes.front().is_some_and(|(at, _, _)| *at <= oldest) {
                minutes.pop_front();
            }
            !minutes.is_empty()
        });
        endpoints
            .iter()
            .map(|(id, minutes)| {
                let (attempts, failures) = minutes
                    .iter()
                    .fold((0, 0), |(a, f), (_, aa, ff)| (a + aa, f + ff));
                EndpointRate {
                    endpoint_id: id.clone(),
                    attempts,
                    failures,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::{AttemptRecord, NextStep};

    fn outcome(endpoint: &str, verdict: EndpointVerdict) -> AttemptOutcome {
        AttemptOutcome {
            duration: std::time::Duration::ZERO,
            delivery_id: "del_1".into(),
            lease_token: "lease_1".into(),
            endpoint_id: endpoint.into(),
            attempt: AttemptRecord::default(),
            next: NextStep::Delivered,
            endpoint: verdict,
            order_key: None,
            pause_endpoint_until: None,
        }
    }

    fn failing() -> EndpointVerdict {
        EndpointVerdict::Failing {
            disable_if_failing_since: 0,
            reason: String::new(),
        }
    }

    #[test]
    fn counts_an_hour_per_endpoint_and_ignores_tests() {
        let rates = SuccessRates::default();
        let start = 10 * 3_600_000;
        rates.record(
            &[
                outcome("ep_a", EndpointVerdict::Healthy),
                outcome("ep_a", failing()),
                outcome("ep_a", EndpointVerdict::Unchanged),
            ],
            start,
        );
        rates.record(&[outcome("ep_a", failing())], start + 30 * MINUTE_MS);
        let rate = &rates.last_hour(start + 30 * MINUTE_MS)[0];
        assert_eq!((rate.attempts, rate.failures), (3, 2));
        assert!(rate.below(50, 3));
        assert!(!rate.below(50, 4), "too few attempts to judge");
        assert!(!rate.below(30, 3));
        // An hour after the first minute, only the later attempt is left; then none.
        let later = &rates.last_hour(start + 60 * MINUTE_MS)[0];
        assert_eq!((later.attempts, later.failures), (1, 1));
        assert!(rates.last_hour(start + 91 * MINUTE_MS).is_empty());
    }
}
