//! The dispatcher's main loop as named steps: reclaim expired leases, claim and spawn attempts,
//! wait for room while attempts run or until something is due, and drain at shutdown. What one
//! claimed delivery holds of the dispatcher's capacity is a `Holding`, freed on drop.

use super::attempt::Attempts;
use super::handoff::{HandedOver, Handoff};
use super::heartbeat::{self, HeartbeatTask};
use super::lanes::{LaneHold, Lanes, ENDPOINT_LOOKAHEAD, LOOKAHEAD};
use super::rate::RateLimits;
use super::recorder::{self, Recorder};
use super::{retention, DispatchMetrics, LEASE_MARGIN_MS};
use crate::server::clock::now_ms;
use crate::server::store::{
    ClaimCursor, ClaimLimits, ClaimedDelivery, DeliveryHandoff, DeliveryListener, Store,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

/// Most deliveries one claim leases.
const CLAIM_BATCH: usize = 256;
/// How often expired leases are looked for.
const RECLAIM_EVERY: Duration = Duration::from_secs(1);
/// How often held deliveries with nothing in front of them are looked for (a release lost
/// with its process; normally none).
const ORDER_SWEEP_EVERY: Duration = Duration::from_secs(30);
/// Longest wait for attempts in flight to free slots before claiming again.
const REFILL_WAIT: Duration = Duration::from_millis(20);
/// The safety-net poll when no wake-up arrives.
const IDLE_POLL: Duration = Duration::from_secs(5);
/// How long shutdown waits for attempts in flight before giving their leases back.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub(super) struct Worker {
    pub store: Store,
    pub metrics: Arc<DispatchMetrics>,
    pub attempts: Attempts,
    /// Attempts on the wire at once, in all.
    pub max_in_flight: usize,
    /// Attempts on the wire at once per endpoint.
    pub on_wire_per_endpoint: i64,
    pub retention_days: u32,
    /// Endpoints' rate limits, this replica's share.
    pub rates: Arc<RateLimits>,
}

/// What this process holds: a slot per delivery held (claimed, waiting for its lane or on the
/// wire), a permit per attempt on the wire (holding ahead only pays if it never takes the wire
/// from other endpoints), each endpoint's lane, and the lease tokens not yet with the recorder.
/// Shared with intake's handoff, which takes slots and places in lanes too.
#[derive(Clone)]
pub(super) struct Holdings {
    pub slots: Arc<Semaphore>,
    wire: Arc<Semaphore>,
    /// Counted in memory, so a claim can refill an endpoint the moment an attempt ends,
    /// without waiting for its outcome to be recorded.
    pub lanes: Arc<Lanes>,
    /// One claim leases many deliveries under one token, which is given back at shutdown
    /// while any of them is unfinished: each token with how many are.
    leases: Arc<Mutex<HashMap<String, usize>>>,
    /// Most deliveries held per endpoint.
    held_per_endpoint: i64,
}

impl Holdings {
    /// A slot, a place in `lane` and both places on the wire, if all are free now: what a
    /// delivery handed over by intake needs to go out at once, within its one-round lease.
    pub fn reserve_now(&self, lane: LaneHold) -> Option<Reserved> {
        let on_wire = OnWire::try_take(&lane, &self.wire)?;
        let slot = self.slots.clone().try_acquire_owned().ok()?;
        Some(Reserved {
            slot,
            lane,
            on_wire,
        })
    }

    /// One delivery's share of the dispatcher, from its slot and its place in the lane; its
    /// lease is counted until the outcome is with the recorder.
    pub fn holding(
        &self,
        slot: OwnedSemaphorePermit,
        lane: LaneHold,
        lease_token: &str,
    ) -> Holding {
        *lock(&self.leases)
            .entry(lease_token.to_owned())
            .or_default() += 1;
        Holding {
            on_wire: None,
            _slot: slot,
            lane,
            wire: self.wire.clone(),
            leases: self.leases.clone(),
            lease_token: lease_token.to_owned(),
        }
    }
}

/// One claimed delivery's share of the dispatcher: its slot and its place in its endpoint's
/// lane, both freed when dropped (an attempt that ends, or one cut short at shutdown), and its
/// lease's count, forgotten only once the outcome is with the recorder so that a lease still
/// listed at shutdown is given back.
pub(super) struct Holding {
    /// Its places on the wire, when taken before the attempt was spawned.
    on_wire: Option<OnWire>,
    _slot: OwnedSemaphorePermit,
    lane: LaneHold,
    wire: Arc<Semaphore>,
    leases: Arc<Mutex<HashMap<String, usize>>>,
    lease_token: String,
}

/// What intake reserved for a delivery it hands over, before its transaction commits.
pub(super) struct Reserved {
    slot: OwnedSemaphorePermit,
    lane: LaneHold,
    on_wire: OnWire,
}

impl Reserved {
    /// The delivery's holding, its lease counted and its places on the wire taken.
    pub fn holding(self, holdings: &Holdings, lease_token: &str) -> Holding {
        let mut holding = holdings.holding(self.slot, self.lane, lease_token);
        holding.on_wire = Some(self.on_wire);
        holding
    }
}

/// An attempt's places on the wire: its endpoint's and the dispatcher's.
pub(super) struct OnWire {
    _lane: OwnedSemaphorePermit,
    _wire: OwnedSemaphorePermit,
}

impl OnWire {
    /// Both places, if free now.
    fn try_take(lane: &LaneHold, wire: &Arc<Semaphore>) -> Option<OnWire> {
        Some(OnWire {
            _lane: lane.on_wire_places().try_acquire_owned().ok()?,
            _wire: wire.clone().try_acquire_owned().ok()?,
        })
    }

    /// Both places, once free; `None` only if a semaphore were closed, which they never are.
    async fn wait_for(holding: &Holding) -> Option<OnWire> {
        Some(OnWire {
            _lane: holding.lane.on_wire_places().acquire_owned().await.ok()?,
            _wire: holding.wire.clone().acquire_owned().await.ok()?,
        })
    }
}

impl Holding {
    /// The outcome is with the recorder: the lease no longer needs giving back.
    fn handed_over(self) {
        let mut leases = lock(&self.leases);
        if let Some(count) = leases.get_mut(&self.lease_token) {
            *count -= 1;
            if *count == 0 {
                leases.remove(&self.lease_token);
            }
        }
    }
}

impl Worker {
    /// Gives a delivery back, unattempted, due when its endpoint's rate (or pause) has a turn
    /// for it. If
    /// that fails the lease runs out and it is taken over then: later, never lost.
    async fn postpone(&self, delivery: &ClaimedDelivery, wait: Duration) {
        let at = now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 4);
        if let Err(err) = self
            .store
            .postpone(&delivery.delivery_id, &delivery.lease_token, at)
            .await
        {
            tracing::warn!(error = %err, delivery = %delivery.delivery_id, "postponing a rate-limited delivery failed");
        }
    }
}

/// The loop's state between steps.
struct Run {
    worker: Arc<Worker>,
    holdings: Holdings,
    attempts: JoinSet<()>,
    cursor: ClaimCursor,
    last_reclaim: Option<Instant>,
    last_order_sweep: Option<Instant>,
    listener: Option<DeliveryListener>,
    recorder: Recorder,
    heartbeat: HeartbeatTask,
    purger: JoinHandle<()>,
    stopped: watch::Receiver<bool>,
    /// Fresh deliveries intake leased to this dispatcher, to start.
    handed: mpsc::UnboundedReceiver<HandedOver>,
    handoff: Arc<dyn DeliveryHandoff>,
}

impl Worker {
    pub(super) async fn run(self, stopped: watch::Receiver<bool>) {
        let mut run = Run::start(self, stopped).await;
        while !*run.stopped.borrow() {
            while run.attempts.try_join_next().is_some() {}
            while let Ok((delivery, holding)) = run.handed.try_recv() {
                run.start_handed(delivery, holding);
            }
            run.reclaim_if_due().await;
            if run.claim_and_spawn().await {
                continue;
            }
            if run.attempts.is_empty() {
                run.wait_until_due().await;
            } else {
                run.wait_for_room().await;
            }
        }
        run.drain().await;
    }
}

impl Run {
    async fn start(worker: Worker, stopped: watch::Receiver<bool>) -> Run {
        let worker = Arc::new(worker);
        let holdings = Holdings {
            slots: Arc::new(Semaphore::new(worker.max_in_flight * LOOKAHEAD as usize)),
            wire: Arc::new(Semaphore::new(worker.max_in_flight)),
            lanes: Arc::new(Lanes::new(worker.on_wire_per_endpoint as usize)),
            leases: Arc::default(),
            held_per_endpoint: worker.on_wire_per_endpoint * ENDPOINT_LOOKAHEAD,
        };
        let listener = match worker.store.delivery_listener().await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "cannot LISTEN for new deliveries; polling instead");
                None
            }
        };
        let (to_start, handed) = mpsc::unbounded_channel();
        let slots = worker.max_in_flight * LOOKAHEAD as usize;
        let handoff: Arc<dyn DeliveryHandoff> = Arc::new(Handoff {
            holdings: holdings.clone(),
            slots,
            room_below: worker.max_in_flight,
            lane_room_below: worker.on_wire_per_endpoint,
            to_start,
        });
        worker.store.hand_deliveries_to(handoff.clone());
        tracing::info!(backend = worker.store.backend_name(), "dispatcher started");
        Run {
            handed,
            handoff,
            recorder: recorder::spawn(worker.store.clone(), worker.metrics.clone()),
            heartbeat: heartbeat::spawn(
                worker.store.clone(),
                worker.metrics.clone(),
                worker.rates.clone(),
            ),
            purger: retention::spawn(worker.store.clone(), worker.retention_days),
            worker,
            holdings,
            attempts: JoinSet::new(),
            cursor: ClaimCursor::default(),
            last_reclaim: None,
            last_order_sweep: None,
            listener,
            stopped,
        }
    }

    /// Takes over deliveries whose lease ran out, once a second.
    async fn reclaim_if_due(&mut self) {
        if self
            .last_reclaim
            .is_some_and(|at| at.elapsed() < RECLAIM_EVERY)
        {
            return;
        }
        self.last_reclaim = Some(Instant::now());
        // Reclaimed leases, and another replica's given back, keep their old due times,
        // which may lie behind the cursor.
        self.cursor.restart();
        match self.worker.store.reclaim_expired_leases().await {
            Ok(0) => {}
            Ok(reclaimed) => tracing::warn!(reclaimed, "took over deliveries whose lease ran out"),
            Err(err) => tracing::error!(error = %err, "reclaiming expired leases failed"),
        }
        if self
            .last_order_sweep
            .is_none_or(|at| at.elapsed() >= ORDER_SWEEP_EVERY)
        {
            self.last_order_sweep = Some(Instant::now());
            match self.worker.store.release_stranded().await {
                Ok(0) => {}
                Ok(released) => tracing::warn!(
                    released,
                    "released held deliveries with nothing in front of them"
                ),
                Err(err) => {
                    tracing::error!(error = %err, "releasing stranded held deliveries failed")
                }
            }
        }
    }

    /// Claims as many due deliveries as there are free slots and starts an attempt for each.
    /// Returns whether to claim again at once rather than wait.
    async fn claim_and_spawn(&mut self) -> bool {
        let free = self.holdings.slots.available_permits().min(CLAIM_BATCH);
        if free == 0 {
            return false;
        }
        // Taken before the claim, since intake takes slots too: every delivery the claim
        // leases has its slot waiting. Those left over go back when this returns.
        let Ok(mut slots) = self
            .holdings
            .slots
            .clone()
            .try_acquire_many_owned(free as u32)
        else {
            return false;
        };
        let limits = ClaimLimits {
            limit: free as i64,
            held_per_endpoint: self.holdings.held_per_endpoint,
            on_wire_per_endpoint: self.worker.on_wire_per_endpoint,
            lease_margin_ms: LEASE_MARGIN_MS,
        };
        let held = self.holdings.lanes.held();
        let claimed = match self
            .worker
            .store
            .claim_deliveries(&held, limits, &mut self.cursor)
            .await
        {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::error!(error = %err, "claiming deliveries failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = self.stopped.changed() => {}
                }
                return true;
            }
        };
        if claimed.is_empty() {
            return false;
        }
        self.worker.metrics.count_claimed(claimed.len());
        let took_all_it_could = claimed.len() == free;
        let mut filled_a_lane = false;
        for delivery in claimed {
            // Never missing: the claim leased no more than `free`.
            let Some(slot) = slots.split(1) else {
                break;
            };
            let holding = self.hold(&delivery, slot);
            filled_a_lane |= holding.lane.held() >= self.holdings.held_per_endpoint;
            self.spawn_attempt(delivery, holding);
        }
        // A claim that took fewer than it could has taken everything claimable now, unless it
        // filled an endpoint's lane and its walk was full: the walk may have ended in that
        // endpoint's rows (a slow endpoint's backlog ahead of everyone else's), and the next
        // claim, which leaves the endpoint out, reaches the rows behind them. Waiting for
        // attempts to end held a healthy endpoint's first deliveries behind a slow endpoint's
        // backlog for the whole refill wait; with nothing behind (a lone endpoint), claiming
        // again only cost a scan.
        took_all_it_could || (filled_a_lane && self.cursor.walk_was_full())
    }

    /// Takes a place in the lane and a count on the lease for `delivery`, in `slot`.
    fn hold(&self, delivery: &ClaimedDelivery, slot: OwnedSemaphorePermit) -> Holding {
        let lane = self.holdings.lanes.hold(&delivery.endpoint_id);
        self.holdings.holding(slot, lane, &delivery.lease_token)
    }

    /// A delivery intake handed over, leased in its own transaction.
    fn start_handed(&mut self, delivery: ClaimedDelivery, holding: Holding) {
        self.worker.metrics.count_handed_over();
        self.spawn_attempt(delivery, holding);
    }

    fn spawn_attempt(&mut self, delivery: ClaimedDelivery, holding: Holding) {
        let worker = self.worker.clone();
        let outcomes = self.recorder.sender();
        self.attempts.spawn(async move {
            let mut holding = holding;
            if let Some(until) = worker.rates.paused_until(&delivery.endpoint_id, now_ms()) {
                let wait = Duration::from_millis((until - now_ms()).max(0) as u64);
                worker.postpone(&delivery, wait).await;
                holding.lane.leave();
                holding.handed_over();
                return;
            }
            let outcome = {
                // A handed-over delivery came with its places on the wire; neither semaphore
                // is ever closed.
                let _on_wire = match holding.on_wire.take() {
                    Some(places) => Some(places),
                    None => OnWire::wait_for(&holding).await,
                };
                // Its rate's turn is waited for on the wire: the lease counts the rounds of
                // waiting for the wire, and its margin covers the turn (`LONGEST_WAIT`).
                if let Some(rate) = delivery.rate_per_sec {
                    if let Err(wait) = worker.rates.admit(&delivery.endpoint_id, rate).await {
                        worker.postpone(&delivery, wait).await;
                        holding.lane.leave();
                        holding.handed_over();
                        return;
                    }
                }
                worker.attempts.make(delivery).await
            };
            if let Some(until) = outcome.pause_endpoint_until {
                worker.rates.pause(&outcome.endpoint_id, until);
            }
            // The endpoint's place frees now: a claim may refill it while the outcome waits
            // for the recorder.
            holding.lane.leave();
            if outcomes.send(outcome).await.is_ok() {
                holding.handed_over();
            }
        });
    }

    /// Nothing claimable while attempts are in flight: their endpoints are at their cap, or
    /// nothing else is due. Lets a quarter of them finish first, so the next claim refills
    /// many slots at once instead of one per statement; new deliveries and a short deadline
    /// still end the wait at once.
    async fn wait_for_room(&mut self) {
        let enough = (self.attempts.len() / 4).max(1);
        let deadline = tokio::time::sleep(REFILL_WAIT);
        tokio::pin!(deadline);
        let mut finished = 0;
        while finished < enough {
            tokio::select! {
                Some(_) = self.attempts.join_next() => finished += 1,
                Some((delivery, holding)) = self.handed.recv() => {
                    self.start_handed(delivery, holding);
                }
                _ = &mut deadline => break,
                _ = self.worker.store.deliveries_committed() => break,
                _ = announced(&mut self.listener) => break,
                _ = self.stopped.changed() => break,
            }
        }
    }

    /// Nothing in flight: sleeps until the next delivery is due (at most `IDLE_POLL`), or
    /// until new deliveries, a recorded retry or a stop request wake it.
    async fn wait_until_due(&mut self) {
        let wait = match self.worker.store.next_due_at().await {
            Ok(Some(at)) => Duration::from_millis((at - now_ms()).max(0) as u64).min(IDLE_POLL),
            Ok(None) => IDLE_POLL,
            Err(_) => Duration::from_secs(1),
        };
        // Due but not claimable with nothing in flight: another replica holds the rows for a
        // moment. Look again shortly rather than spinning.
        let wait = wait.max(Duration::from_millis(5));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            Some((delivery, holding)) = self.handed.recv() => {
                self.start_handed(delivery, holding);
            }
            _ = self.worker.store.deliveries_committed() => {}
            _ = announced(&mut self.listener) => {}
            _ = self.recorder.recorded() => {}
            _ = self.stopped.changed() => {}
        }
    }

    /// Lets attempts in flight finish for up to `SHUTDOWN_GRACE`, records their outcomes and
    /// gives back the leases of any that did not finish.
    async fn drain(mut self) {
        tracing::info!(in_flight = self.attempts.len(), "dispatcher stopping");
        // Deliveries handed over but not started keep their leases, given back below.
        self.worker.store.stop_handing_deliveries_to(&self.handoff);
        self.handed.close();
        while self.handed.try_recv().is_ok() {}
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while self.attempts.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            self.attempts.abort_all();
            while self.attempts.join_next().await.is_some() {}
        }
        self.recorder.finish().await;
        self.purger.abort();
        let store = &self.worker.store;
        self.heartbeat.stop(store).await;
        let unfinished: Vec<String> = lock(&self.holdings.leases)
            .drain()
            .map(|(token, _)| token)
            .collect();
        match store.release_leases(&unfinished).await {
            Ok(released) if released > 0 => {
                tracing::info!(released, "gave back the leases of unfinished attempts")
            }
            Ok(_) => {}
            Err(err) => tracing::error!(error = %err, "giving back leases failed; they expire"),
        }
        tracing::info!("dispatcher stopped");
    }
}

async fn announced(listener: &mut Option<DeliveryListener>) {
    match listener {
        Some(l) => {
            if l.announced().await.is_err() {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        None => std::future::pending().await,
    }
}

fn lock<T>(shared: &Mutex<T>) -> MutexGuard<'_, T> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
