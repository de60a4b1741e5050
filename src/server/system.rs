//! The delivery system for operators: queue depth, throughput and replicas, as the `/admin`
//! view and as Prometheus text for `GET /metrics`. Queue figures are cluster-wide (read from
//! the database); attempt counters and latency are this process's dispatcher's.

use crate::model::admin::{ReplicaView, SystemView};
use crate::model::AppError;
use crate::server::clock::now_ms;
use crate::server::dispatch::DispatchMetrics;
use crate::server::store::Store;
use prometheus_client::encoding::prometheus_text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
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
            held: depth.held,
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

    /// The Prometheus text format (0.0.4), written by `prometheus-client`.
    pub async fn prometheus(&self) -> Result<String, AppError> {
        let view = self.view().await?;
        Ok(render(&view, &self.metrics))
    }
}

/// The content type of `System::prometheus`'s text (the Prometheus text format, 0.0.4).
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE as METRICS_CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

/// A scrape: this process's attempt metrics and the cluster's queue figures of `view`.
fn render(view: &SystemView, metrics: &DispatchMetrics) -> String {
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let depth = Family::<StatusLabel, Gauge>::default();
    for (status, count) in [
        ("pending", view.pending),
        ("held", view.held),
        ("retrying", view.retrying),
        ("delivering", view.delivering),
        ("failed", view.failed),
    ] {
        depth.get_or_create(&StatusLabel { status }).set(count);
    }
    registry.register(
        "facehook_queue_depth",
        "Deliveries by status across every replica (delivered ones are not counted)",
        depth,
    );
    let oldest = Gauge::<f64, AtomicU64>::default();
    oldest.set(view.oldest_pending_age_ms.unwrap_or(0) as f64 / 1000.0);
    registry.register(
        "facehook_oldest_pending_age_seconds",
        "Age of the oldest delivery never attempted yet; 0 when none waits",
        oldest,
    );
    let rate = Gauge::<f64, AtomicU64>::default();
    rate.set(view.deliveries_per_second());
    registry.register(
        "facehook_deliveries_per_second",
        "Deliveries per second over the last minute, summed over live dispatcher replicas",
        rate,
    );
    let live: Gauge = Gauge::default();
    live.set(view.replicas.iter().filter(|r| r.live).count() as i64);
    registry.register(
        "facehook_dispatcher_replicas",
        "Dispatcher replicas that sent a heartbeat in the last 15 seconds",
        live,
    );
    let mut text = String::with_capacity(4096);
    // Writing to a String cannot fail.
    let _ = encode(&mut text, &registry);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = DispatchMetrics::default();
        let view = SystemView {
            pending: 3,
            held: 4,
            retrying: 1,
            delivering: 0,
            failed: 2,
            delivered_last_minute: 120,
            oldest_pending_age_ms: Some(1500),
            replicas: Vec::new(),
        };
        let text = render(&view, &metrics);
        for line in [
            "# TYPE facehook_delivery_attempts_total counter",
            "facehook_delivery_attempts_total{outcome=\"delivered\"} 0",
            "facehook_delivery_attempt_duration_seconds_bucket{le=\"0.005\"} 0",
            "facehook_delivery_attempt_duration_seconds_bucket{le=\"+Inf\"} 0",
            "facehook_delivery_attempt_duration_seconds_count 0",
            "facehook_queue_depth{status=\"pending\"} 3",
            "facehook_queue_depth{status=\"held\"} 4",
            "facehook_queue_depth{status=\"failed\"} 2",
            "facehook_oldest_pending_age_seconds 1.5",
            "facehook_deliveries_per_second 2.0",
            "facehook_dispatcher_replicas 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
