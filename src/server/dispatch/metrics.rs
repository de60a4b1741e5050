//! What this process's dispatcher has done: attempts by outcome, a latency histogram, and a
//! per-second tally of the last minute. Lock-free counters, read by `/metrics` and the
//! heartbeat; counters start at zero with the process, as Prometheus expects.

use crate::server::store::AttemptOutcome;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
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

#[derive(Debug, Default)]
pub struct DispatchMetrics {
    attempts: [AtomicU64; OUTCOMES.len()],
    /// Cumulative: attempts at or under each bound.
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_SECONDS.len()],
    latency_sum_micros: AtomicU64,
    latency_count: AtomicU64,
    /// (second, delivered, attempts) for the seconds of the last minute that saw attempts.
    recent: Mutex<VecDeque<(i64, u64, u64)>>,
    /// Each endpoint's success rate over the last hour, for alerts.
    pub success_rates: super::SuccessRates,
}

/// A consistent-enough copy of the counters for one scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSnapshot {
    pub attempts: Vec<(&'static str, u64)>,
    pub latency_buckets: Vec<(f64, u64)>,
    pub latency_sum_seconds: f64,
    pub latency_count: u64,
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
            self.attempts[slot].fetch_add(1, Ordering::Relaxed);
            let seconds = outcome.duration.as_secs_f64();
            for (bound, count) in LATENCY_BUCKETS_SECONDS.iter().zip(&self.latency_buckets) {
                if seconds <= *bound {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
            let micros = u64::try_from(outcome.duration.as_micros()).unwrap_or(u64::MAX);
            self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
            self.latency_count.fetch_add(1, Ordering::Relaxed);
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

    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            attempts: OUTCOMES
                .iter()
                .zip(&self.attempts)
                .map(|(label, n)| (*label, n.load(Ordering::Relaxed)))
                .collect(),
            latency_buckets: LATENCY_BUCKETS_SECONDS
                .iter()
                .zip(&self.latency_buckets)
                .map(|(bound, n)| (*bound, n.load(Ordering::Relaxed)))
                .collect(),
            latency_sum_seconds: self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            latency_count: self.latency_count.load(Ordering::Relaxed),
        }
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
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.attempts[0], ("delivered", 2));
        assert_eq!(snapshot.attempts[2], ("timeout", 1));
        assert_eq!(snapshot.latency_count, 3);
        assert_eq!(snapshot.latency_buckets[0], (0.005, 1));
        assert_eq!(snapshot.latency_buckets[3], (0.05, 2));
        assert_eq!(snapshot.latency_buckets[11], (30.0, 3));
        assert!((snapshot.latency_sum_seconds - 6.04325).abs() < 1e-9);
        assert_eq!(metrics.last_minute(1_030_000), (2, 3));
        // A minute on, the first second has left the window.
        assert_eq!(metrics.last_minute(1_060_500), (1, 1));
    }
}
