//! Per-key rate limiting (an application's API key, an organization's token) on `governor`'s
//! keyed GCRA limiter, in this process's memory. Each replica limits on its own: the limit
//! guards against runaway clients, it is not billing. Keys are applications and tokens, so
//! the map is bounded by what the database holds.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use std::time::Duration;

pub struct RateLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateDecision {
    Allowed,
    /// Refused; a request is allowed again after this long.
    Limited {
        retry_after: Duration,
    },
}

impl RateLimiter {
    /// `per_second` sustained, with bursts of up to `burst` (each at least 1).
    pub fn new(per_second: u32, burst: u32) -> Self {
        let at_least_one = |n: u32| NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(at_least_one(per_second)).allow_burst(at_least_one(burst));
        RateLimiter {
            limiter: DefaultKeyedRateLimiter::dashmap(quota),
            clock: DefaultClock::default(),
        }
    }

    pub fn check(&self, key: &str) -> RateDecision {
        match self.limiter.check_key(&key.to_owned()) {
            Ok(()) => RateDecision::Allowed,
            Err(not_until) => RateDecision::Limited {
                retry_after: not_until.wait_time_from(self.clock.now()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(10, 3);
        for _ in 0..3 {
            assert_eq!(limiter.check("k"), RateDecision::Allowed);
        }
        let RateDecision::Limited { retry_after } = limiter.check("k") else {
            panic!("the fourth request at once is limited");
        };
        assert!(retry_after <= Duration::from_millis(100), "{retry_after:?}");
        assert_eq!(
            limiter.check("other"),
            RateDecision::Allowed,
            "keys are independent"
        );
        std::thread::sleep(retry_after + Duration::from_millis(5));
        assert_eq!(
            limiter.check("k"),
            RateDecision::Allowed,
            "refilled at 10/s"
        );
    }
}
