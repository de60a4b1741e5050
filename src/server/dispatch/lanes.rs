//! One lane per endpoint: how many deliveries this process holds for it (claimed, waiting or on
//! the wire) and the permits that keep at most `cap` attempts on the wire at once. Claims may
//! hold up to `ENDPOINT_LOOKAHEAD` times the cap, so the next attempts are ready the moment one
//! finishes and one claim refills many slots, even when a single endpoint has all the work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Semaphore;

/// Deliveries held in all, as a multiple of the global on-the-wire cap. At 16 the deliveries
/// held across 100 endpoints outgrew the caches and cost more than they saved.
pub const LOOKAHEAD: i64 = 8;

/// Deliveries a claim may hold per endpoint, as a multiple of the endpoint's on-the-wire cap.
/// Each lease covers the rounds of attempts its delivery waits through (the claim counts
/// them), so holding deep does not lengthen the leases at the front. A lone endpoint has to
/// ride out the claims that wait behind an outcome batch on SQLite: at 4 it got half the rate
/// of 100 endpoints, at 8 a fifth less than at 16. Deeper still, a few slow endpoints would
/// hold every slot of `LOOKAHEAD` and starve the others.
pub const ENDPOINT_LOOKAHEAD: i64 = 16;

struct Lane {
    held: i64,
    on_wire: Arc<Semaphore>,
}

pub struct Lanes {
    cap: usize,
    lanes: Mutex<HashMap<String, Lane>>,
}

impl Lanes {
    pub fn new(cap: usize) -> Self {
        Lanes {
            cap,
            lanes: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Lane>> {
        self.lanes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Deliveries held per endpoint, for the next claim.
    pub fn held(&self) -> Vec<(String, i64)> {
        self.lock()
            .iter()
            .map(|(id, lane)| (id.clone(), lane.held))
            .collect()
    }

    /// Counts one more delivery held for `endpoint_id`; returns the lane's wire permits and
    /// how many deliveries it now holds.
    pub fn hold(&self, endpoint_id: &str) -> (Arc<Semaphore>, i64) {
        let mut lanes = self.lock();
        let lane = lanes.entry(endpoint_id.to_owned()).or_insert_with(|| Lane {
            held: 0,
            on_wire: Arc::new(Semaphore::new(self.cap)),
        });
        lane.held += 1;
        (lane.on_wire.clone(), lane.held)
    }

    /// The delivery's attempt is over; the lane disappears with its last delivery.
    pub fn release(&self, endpoint_id: &str) {
        let mut lanes = self.lock();
        if let Some(lane) = lanes.get_mut(endpoint_id) {
            lane.held -= 1;
            if lane.held <= 0 {
                lanes.remove(endpoint_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_count_held_deliveries_and_share_permits() {
        let lanes = Lanes::new(2);
        let (first, _) = lanes.hold("ep_a");
        let (second, held) = lanes.hold("ep_a");
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(held, 2);
        assert_eq!(first.available_permits(), 2);
        assert_eq!(lanes.held(), vec![("ep_a".to_owned(), 2)]);
        lanes.release("ep_a");
        lanes.release("ep_a");
        assert!(lanes.held().is_empty());
    }
}
