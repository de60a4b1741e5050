//! The dispatcher: claims due deliveries under a lease, sends each as a signed POST, and
//! records the attempt and what follows (delivered, retry later, failed, endpoint disabled).
//! Runs without the console: it needs only a `Store`, its settings and the allow list.

mod attempt;
mod handoff;
mod heartbeat;
mod lanes;
mod message;
mod metrics;
mod rate;
mod recorder;
mod retention;
mod schedule;
mod settings;
mod signature;
mod success_rates;
mod test_event;
mod transport;
mod worker;

pub use message::{build as build_message, custom_headers, example_body, Message, USER_AGENT};
pub use metrics::{DispatchMetrics, LATENCY_BUCKETS_SECONDS, OUTCOMES};
pub use schedule::RetrySchedule;
pub use settings::DispatchConfig;
pub use signature::{new_ed25519_secret, signature_header, AnyKey, Ed25519Key, SigningKey};
pub use success_rates::{EndpointRate, SuccessRates};
pub use test_event::{TestOutcome, TestSender};
pub use transport::{Transport, TransportError};

use crate::server::store::Store;
use crate::server::targets::AllowList;
use attempt::{AttemptPolicy, Attempts, MS_PER_DAY};
use std::sync::Arc;
use tokio::sync::watch;
use worker::Worker;
pub use worker::SHUTDOWN_GRACE;

/// A lease lasts one endpoint timeout per round of attempts its delivery waits through (its
/// own included) and this margin for the body read and the write of the outcome; only then
/// may another worker take the delivery over.
pub(crate) const LEASE_MARGIN_MS: i64 = 10_000;

/// A running dispatcher; `shutdown` stops it cleanly.
pub struct Dispatcher {
    stop: watch::Sender<bool>,
    worker: tokio::task::JoinHandle<()>,
    metrics: Arc<DispatchMetrics>,
}

impl Dispatcher {
    /// Starts delivering. Fails only on configuration that can never work (an unreadable CA file).
    pub fn start(
        store: Store,
        config: &DispatchConfig,
        allow: AllowList,
    ) -> Result<Self, TransportError> {
        let transport = Transport::new(allow, config.extra_ca_file.as_deref())?;
        Ok(Self::with_transport(store, config, transport))
    }

    /// Starts delivering over `transport`, whose connection pool the caller may share.
    pub fn with_transport(store: Store, config: &DispatchConfig, transport: Transport) -> Self {
        let (stop, stopped) = watch::channel(false);
        let metrics = Arc::new(DispatchMetrics::default());
        let worker = Worker {
            store,
            metrics: metrics.clone(),
            attempts: Attempts {
                transport,
                policy: AttemptPolicy::Scheduled {
                    schedule: config.retry_schedule.clone(),
                    disable_after_ms: (config.disable_failing_after_days * MS_PER_DAY) as i64,
                },
            },
            max_in_flight: config.max_in_flight as usize,
            on_wire_per_endpoint: i64::from(config.max_in_flight_per_endpoint),
            retention_days: config.retention_days,
            rates: Default::default(),
        };
        let worker = tokio::spawn(worker.run(stopped));
        Dispatcher {
            stop,
            worker,
            metrics,
        }
    }

    /// What this dispatcher has done since it started, for `/metrics`.
    pub fn metrics(&self) -> Arc<DispatchMetrics> {
        self.metrics.clone()
    }

    /// Stops claiming, lets attempts in flight finish for up to `SHUTDOWN_GRACE`, records
    /// their outcomes and gives back the leases of any that did not finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(err) = self.worker.await {
            tracing::error!(error = %err, "the dispatcher stopped abnormally");
        }
    }
}
