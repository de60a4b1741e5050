//! What this process's dispatcher has done: attempts by outcome and a latency histogram (on
//! `prometheus-client`, registered for `/metrics`), and a per-second tally of the last minute
//! for the heartbeat. Counters start at zero with the process, as Prometheus expects.

use crate::server::store::AttemptOutcome;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::VecDeque;
use std::sync::Mutex;

/// Outcome labels: `delivered`, or the error class of a failed attempt.
pub const OUTCOMES: [&str; 7] = [
    "delivered",
    "http_status",
    "timeout",
    "connect",
    "tls",
    "dns",
    "policy",
];

/// Histogram bucket bounds for attempt latency, in seconds.
pub const LATENCY_BUCKETS_SECONDS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug)]
pub struct DispatchMetrics {
    attempts: Family<OutcomeLabel, Counter>,
    /// The family's counters in `OUTCOMES` order, looked up once so counting takes no lock.
    attempts_by_outcome: Vec<Counter>,
    latency: Histogram,
    /// Deliveries this process took from its queue by a claim, and those intake handed it
    /// straight after their commit.
    claimed: Counter,
    handed_over: Counter,
    /// (second, delivered, attempts) for the seconds of the last minute that saw attempts.
    recent: Mutex<VecDeque<(i64, u64, u64)>>,
    /// Each endpoint's success rate over the last hour, for alerts.
    pub success_rates: super::SuccessRates,
}

impl Default for DispatchMetrics {
    fn default() -> Self {
        let attempts = Family::<OutcomeLabel, Counter>::default();
        // Every outcome is listed from the start, at zero, so a scrape shows each series.
        let attempts_by_outcome = OUTCOMES
            .iter()
            .map(|outcome| attempts.get_or_create(&OutcomeLabel { outcome }).clone())
            .collect();
        DispatchMetrics {
            attempts,
            attempts_by_outcome,
            latency: Histogram::new(LATENCY_BUCKETS_SECONDS),
            claimed: Counter::default(),
            handed_over: Counter::default(),
            recent: Mutex::default(),
            success_rates: super::SuccessRates::default(),
        }
    }
}

impl DispatchMetrics {
    /// Counts one batch of outcomes, all at `now_ms`: the per-second tally is locked once.
    pub fn record(&self, outcomes: &[AttemptOutcome], now_ms: i64) {
        let mut delivered = 0;
        for outcome in outcomes {
            let attempt = &outcome.attempt;
            let label = attempt.error_class.as_deref().unwrap_or("delivered");
            let slot = OUTCOMES
                .iter()
                .position(|o| *o == label)
                .unwrap_or(OUTCOMES.len() - 1);
            if let Some(counter) = self.attempts_by_outcome.get(slot) {
                counter.inc();
            }
            self.latency.observe(outcome.duration.as_secs_f64());
            delivered += u64::from(attempt.error_class.is_none());
        }
        if outcomes.is_empty() {
            return;
        }
        self.success_rates.record(outcomes, now_ms);
        let second = now_ms.div_euclid(1000);
        let attempts = outcomes.len() as u64;
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match recent.back_mut() {
            Some((at, d, a)) if *at == second => {
                *d += delivered;
                *a += attempts;
            }
            _ => recent.push_back((second, delivered, attempts)),
        }
        while recent.front().is_some_and(|(at, _, _)| *at <= second - 60) {
            recent.pop_front();
        }
    }

    /// `count` deliveries were claimed from the queue.
    pub fn count_claimed(&self, count: usize) {
        self.claimed.inc_by(count as u64);
    }

    /// One delivery came straight from intake, leased in its transaction.
    pub fn count_handed_over(&self) {
        self.handed_over.inc();
    }

    /// Deliveries and attempts in the 60 seconds before `now_ms`.
    pub fn last_minute(&self, now_ms: i64) -> (u64, u64) {
        let since = now_ms.div_euclid(1000) - 60;
        let recent = self
            .recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        recent
            .iter()
            .filter(|(at, _, _)| *at > since)
            .fold((0, 0), |(d, a), (_, dd, aa)| (d + dd, a + aa))
    }

    /// Adds this process's attempt metrics to `registry` (they share their counts with it).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "facehook_delivery_attempts",
            "Delivery attempts made by this process, by outcome (delivered or the error class)",
            self.attempts.clone(),
        );
        registry.register(
            "facehook_delivery_attempt_duration_seconds",
            "Time from connect to response head of this process's delivery attempts",
            self.latency.clone(),
        );
        registry.register(
            "facehook_deliveries_claimed",
            "Deliveries this process's dispatcher claimed from the queue",
            self.claimed.clone(),
        );
        registry.register(
            "facehook_deliveries_handed_over",
            "Fresh deliveries intake handed straight to this process's dispatcher, without a claim",
            self.handed_over.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::{AttemptRecord, EndpointVerdict, NextStep};

    fn outcome(error_class: Option<&str>, duration_micros: u64) -> AttemptOutcome {
        AttemptOutcome {
            duration: std::time::Duration::from_micros(duration_micros),
            delivery_id: "del_1".into(),
            lease_token: "lease_1".into(),
            endpoint_id: "ep_1".into(),
            attempt: AttemptRecord {
                error_class: error_class.map(str::to_owned),
                ..AttemptRecord::default()
            },
            next: NextStep::Delivered,
            endpoint: EndpointVerdict::Unchanged,
            order_key: None,
            pause_endpoint_until: None,
        }
    }

    #[test]
    fn counts_outcomes_latency_and_the_last_minute() {
        let metrics = DispatchMetrics::default();
        metrics.record(
            &[outcome(None, 3_000), outcome(Some("timeout"), 6_000_000)],
            1_000_500,
        );
        metrics.record(&[outcome(None, 40_250)], 1_030_000);
        metrics.count_claimed(5);
        metrics.count_handed_over();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        for line in [
            "facehook_delivery_attempts_total{outcome=\"delivered\"} 2",
            "facehook_delivery_attempts_total{outcome=\"timeout\"} 1",
            "facehook_delivery_attempts_total{outcome=\"dns\"} 0",
            "facehook_delivery_attempt_duration_seconds_count 3",
            "facehook_delivery_attempt_duration_seconds_bucket{le=\"0.005\"} 1",
            "facehook_delivery_attempt_duration_seconds_bucket{le=\"0.05\"} 2",
            "facehook_delivery_attempt_duration_seconds_bucket{le=\"30\"} 3",
            "facehook_deliveries_claimed_total 5",
            "facehook_deliveries_handed_over_total 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        let sum: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("facehook_delivery_attempt_duration_seconds_sum "))
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert!((sum - 6.04325).abs() < 1e-9, "{sum}");
        assert_eq!(metrics.last_minute(1_030_000), (2, 3));
        // A minute on, the first second has left the window.
        assert_eq!(metrics.last_minute(1_060_500), (1, 1));
    }
}
