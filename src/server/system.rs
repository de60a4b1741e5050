//! The delivery system for operators: queue depth, throughput and replicas, as the `/admin`
//! view and as Prometheus text for `GET /metrics`. Queue figures are cluster-wide (read from
//! the database); attempt counters and latency are this process's dispatcher's.

use crate::model::admin::{ReplicaView, SystemView};
use crate::model::AppError;
use crate::server::clock::now_ms;
use crate::server::dispatch::{DispatchMetrics, MetricsSnapshot};
use crate::server::store::Store;
use std::fmt::Write;
use std::sync::Arc;

/// A replica that missed three heartbeats is shown as gone.
const LIVE_WITHIN_MS: i64 = 15_000;

#[derive(Clone)]
pub struct System {
    store: Store,
    metrics: Arc<DispatchMetrics>,
}

impl System {
    /// `metrics` belongs to this process's dispatcher (never incremented without one).
    pub fn new(store: Store, metrics: Arc<DispatchMetrics>) -> Self {
        System { store, metrics }
    }

    pub async fn view(&self) -> Result<SystemView, AppError> {
        let now = now_ms();
        let depth = self.store.queue_depth().await?;
        let replicas: Vec<ReplicaView> = self
            .store
            .heartbeats()
            .await?
            .into_iter()
            .map(|beat| ReplicaView {
                live: now - beat.last_seen_at <= LIVE_WITHIN_MS,
                replica_id: beat.replica_id,
                host: beat.host,
                started_at_ms: beat.started_at,
                last_seen_at_ms: beat.last_seen_at,
                delivered_last_minute: beat.delivered_last_minute,
            })
            .collect();
        Ok(SystemView {
            pending: depth.pending,
            retrying: depth.retrying,
            delivering: depth.delivering,
            failed: depth.failed,
            delivered_last_minute: replicas
                .iter()
                .filter(|r| r.live)
                .map(|r| r.delivered_last_minute)
                .sum(),
            oldest_pending_age_ms: depth.oldest_pending_at.map(|at| (now - at).max(0)),
            replicas,
        })
    }

    /// Prometheus text exposition format, version 0.0.4.
    pub async fn prometheus(&self) -> Result<String, AppError> {
        let view = self.view().await?;
        Ok(render(&view, &self.metrics.snapshot()))
    }
}

fn render(view: &SystemView, snapshot: &MetricsSnapshot) -> String {
    let mut out = String::with_capacity(4096);
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let attempts: Vec<_> = snapshot
        .attempts
        .iter()
        .map(|(outcome, n)| (format!("{{outcome=\"{outcome}\"}}"), n.to_string()))
        .collect();
    metric(
        "facehook_delivery_attempts_total",
        "counter",
        "Delivery attempts made by this process, by outcome (delivered or the error class).",
        &attempts,
    );
    let mut latency: Vec<_> = snapshot
        .latency_buckets
        .iter()
        .map(|(bound, n)| (format!("_bucket{{le=\"{bound}\"}}"), n.to_string()))
        .collect();
    latency.push((
        "_bucket{le=\"+Inf\"}".into(),
        snapshot.latency_count.to_string(),
    ));
    latency.push(("_sum".into(), snapshot.latency_sum_seconds.to_string()));
    latency.push(("_count".into(), snapshot.latency_count.to_string()));
    metric(
        "facehook_delivery_attempt_duration_seconds",
        "histogram",
        "Time from connect to response head of this process's delivery attempts.",
        &latency,
    );
    let depth: Vec<_> = [
        ("pending", view.pending),
        ("retrying", view.retrying),
        ("delivering", view.delivering),
        ("failed", view.failed),
    ]
    .iter()
    .map(|(status, n)| (format!("{{status=\"{status}\"}}"), n.to_string()))
    .collect();
    metric(
        "facehook_queue_depth",
        "gauge",
        "Deliveries by status across every replica (delivered ones are not counted).",
        &depth,
    );
    let oldest = view.oldest_pending_age_ms.unwrap_or(0) as f64 / 1000.0;
    metric(
        "facehook_oldest_pending_age_seconds",
        "gauge",
        "Age of the oldest delivery never attempted yet; 0 when none waits.",
        &[(String::new(), oldest.to_string())],
    );
    metric(
        "facehook_deliveries_per_second",
        "gauge",
        "Deliveries per second over the last minute, summed over live dispatcher replicas.",
        &[(String::new(), view.deliveries_per_second().to_string())],
    );
    let live = view.replicas.iter().filter(|r| r.live).count();
    metric(
        "facehook_dispatcher_replicas",
        "gauge",
        "Dispatcher replicas that sent a heartbeat in the last 15 seconds.",
        &[(String::new(), live.to_string())],
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = DispatchMetrics::default();
        let view = SystemView {
            pending: 3,
            retrying: 1,
            delivering: 0,
            failed: 2,
            delivered_last_minute: 120,
            oldest_pending_age_ms: Some(1500),
            replicas: Vec::new(),
        };
        let text = render(&view, &metrics.snapshot());
        for line in [
            "# TYPE facehook_delivery_attempts_total counter",
            "facehook_delivery_attempts_total{outcome=\"delivered\"} 0",
            "facehook_delivery_attempt_duration_seconds_bucket{le=\"0.005\"} 0",
            "facehook_delivery_attempt_duration_seconds_bucket{le=\"+Inf\"} 0",
            "facehook_delivery_attempt_duration_seconds_count 0",
            "facehook_queue_depth{status=\"pending\"} 3",
            "facehook_queue_depth{status=\"failed\"} 2",
            "facehook_oldest_pending_age_seconds 1.5",
            "facehook_deliveries_per_second 2",
            "facehook_dispatcher_replicas 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
