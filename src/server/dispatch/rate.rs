//! Rate limits per endpoint, as the owner set them: attempts start no faster than the
//! endpoint's rate, each replica taking an equal share of it (the replicas alive are counted
//! from their heartbeats). A share is at least one per second and allows no burst, so with `r`
//! replicas an endpoint limited to `n` per second sees at most `r × (ceil(n / r) + 1)` attempts
//! start in any one-second window, and more only while a replica is starting or stopping and
//! the others have not counted it yet.

use crate::model::ids::EndpointId;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Longest an attempt waits for its turn; a delivery further back is postponed instead, so
/// a lease never runs out while its delivery waits (leases have `LEASE_MARGIN_MS` to spare).
pub const LONGEST_WAIT: Duration = Duration::from_secs(5);

/// One endpoint's turns: its limiter at the rate it was made for, and how many attempts are
/// waiting for a turn now.
#[derive(Clone)]
struct Turns {
    per_second: u32,
    limiter: Arc<DefaultDirectRateLimiter>,
    waiting: Arc<std::sync::atomic::AtomicUsize>,
}

/// Each limited endpoint's turns.
#[derive(Default)]
pub struct RateLimits {
    limiters: Mutex<HashMap<EndpointId, Turns>>,
    /// Dispatcher replicas alive, this one included (at least 1).
    replicas: AtomicU64,
    /// Endpoints a 429 paused, until when (ms), known here at once; other replicas learn of
    /// a pause once it is recorded.
    paused: Mutex<HashMap<EndpointId, i64>>,
    /// Whether `paused` may hold anything, so most attempts skip its lock.
    any_paused: std::sync::atomic::AtomicBool,
    clock: DefaultClock,
}

impl RateLimits {
    /// This replica's share of `rate_per_sec`.
    pub fn share(&self, rate_per_sec: i64) -> u32 {
        let replicas = self.replicas.load(Ordering::Relaxed).max(1) as i64;
        let share = (rate_per_sec.max(1) + replicas - 1) / replicas;
        u32::try_from(share).unwrap_or(u32::MAX).max(1)
    }

    /// The endpoint answered 429: nothing more is sent to it from here before `until_ms`.
    pub fn pause(&self, endpoint: &EndpointId, until_ms: i64) {
        let mut paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        let until = paused.entry(endpoint.clone()).or_insert(until_ms);
        *until = (*until).max(until_ms);
        self.any_paused.store(true, Ordering::Relaxed);
    }

    /// Until when the endpoint is paused, if it is at `now_ms`.
    pub fn paused_until(&self, endpoint: &EndpointId, now_ms: i64) -> Option<i64> {
        if !self.any_paused.load(Ordering::Relaxed) {
            return None;
        }
        let mut paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        paused.retain(|_, until| *until > now_ms);
        if paused.is_empty() {
            self.any_paused.store(false, Ordering::Relaxed);
        }
        paused.get(endpoint).copied()
    }

    pub fn set_replicas(&self, replicas: u64) {
        self.replicas.store(replicas.max(1), Ordering::Relaxed);
    }

    /// Waits for the endpoint's next turn at `rate_per_sec`; `Err` with about how long this
    /// attempt's turn is away (behind every other attempt waiting) when that is more than
    /// `LONGEST_WAIT`. Nothing is taken then: it is postponed that long, so a deep backlog is
    /// handed back once rather than claimed and handed back turn after turn.
    pub async fn admit(&self, endpoint: &EndpointId, rate_per_sec: i64) -> Result<(), Duration> {
        let share = self.share(rate_per_sec);
        let turns = self.turns(endpoint, share);
        let waiting = Waiting::join(&turns.waiting);
        let started = tokio::time::Instant::now();
        loop {
            match turns.limiter.check() {
                Ok(()) => return Ok(()),
                Err(not_until) => {
                    let wait = not_until.wait_time_from(self.clock.now());
                    if started.elapsed() + wait > LONGEST_WAIT {
                        let behind = waiting.others() as f64 / f64::from(share);
                        return Err(wait + Duration::from_secs_f64(behind));
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    fn turns(&self, endpoint: &EndpointId, per_second: u32) -> Turns {
        let mut limiters = self
            .limiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match limiters.get(endpoint) {
            Some(turns) if turns.per_second == per_second => turns.clone(),
            _ => {
                let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
                let turns = Turns {
                    per_second,
                    limiter: Arc::new(DefaultDirectRateLimiter::direct(
                        Quota::per_second(rate).allow_burst(NonZeroU32::MIN),
                    )),
                    waiting: Default::default(),
                };
                limiters.insert(endpoint.clone(), turns.clone());
                turns
            }
        }
    }
}

/// One attempt counted among those waiting for a turn, until dropped.
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Waiting<'a> {
    fn join(count: &'a std::sync::atomic::AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Waiting(count)
    }

    /// The other attempts waiting now.
    fn others(&self) -> usize {
        self.0.load(Ordering::Relaxed).saturating_sub(1)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_is_never_waited_for_past_a_lease_margin() {
        assert!(LONGEST_WAIT.as_millis() < super::super::LEASE_MARGIN_MS as u128);
    }

    #[test]
    fn a_pause_holds_until_it_ends() {
        let limits = RateLimits::default();
        let endpoint = EndpointId::from("ep_busy");
        assert_eq!(limits.paused_until(&endpoint, 0), None);
        limits.pause(&endpoint, 1_000);
        limits.pause(&endpoint, 500);
        assert_eq!(limits.paused_until(&endpoint, 10), Some(1_000));
        assert_eq!(limits.paused_until(&EndpointId::from("ep_other"), 10), None);
        assert_eq!(limits.paused_until(&endpoint, 1_000), None);
    }

    #[test]
    fn replicas_share_the_rate_and_each_gets_at_least_one() {
        let limits = RateLimits::default();
        assert_eq!(limits.share(10), 10);
        limits.set_replicas(3);
        assert_eq!(limits.share(10), 4);
        assert_eq!(limits.share(1), 1);
        limits.set_replicas(0);
        assert_eq!(limits.share(10), 10);
    }

    #[tokio::test]
    async fn attempts_start_no_faster_than_the_rate() {
        let limits = RateLimits::default();
        let endpoint = EndpointId::from("ep_a");
        let started = tokio::time::Instant::now();
        for _ in 0..6 {
            limits.admit(&endpoint, 20).await.unwrap();
        }
        // The first goes at once, the next five 50 ms apart.
        assert!(
            started.elapsed() >= Duration::from_millis(240),
            "{:?}",
            started.elapsed()
        );
        let other = EndpointId::from("ep_b");
        let at = tokio::time::Instant::now();
        limits.admit(&other, 20).await.unwrap();
        assert!(
            at.elapsed() < Duration::from_millis(20),
            "endpoints are independent"
        );
    }

    #[tokio::test]
    async fn turns_too_far_away_are_refused_without_being_taken() {
        let limits = Arc::new(RateLimits::default());
        let endpoint = EndpointId::from("ep_slow");
        let waiting: Vec<_> = (0..16)
            .map(|_| {
                let (limits, endpoint) = (limits.clone(), endpoint.clone());
                tokio::spawn(async move { limits.admit(&endpoint, 2).await.is_ok() })
            })
            .collect();
        let mut admitted = 0;
        for waiter in waiting {
            admitted += usize::from(waiter.await.unwrap());
        }
        // At two a second, the first and about ten more fit within LONGEST_WAIT.
        assert!((9..=12).contains(&admitted), "{admitted}");
    }
}
