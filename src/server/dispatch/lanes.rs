//! One lane per endpoint: how many deliveries this process holds for it (claimed, waiting or on
//! the wire) and the permits that keep at most `cap` attempts on the wire at once. Claims may
//! hold up to `ENDPOINT_LOOKAHEAD` times the cap, so the next attempts are ready the moment one
//! finishes and one claim refills many slots, even when a single endpoint has all the work.

use crate::model::ids::EndpointId;

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
    lanes: Mutex<HashMap<EndpointId, Lane>>,
}

impl Lanes {
    pub fn new(cap: usize) -> Self {
        Lanes {
            cap,
            lanes: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<EndpointId, Lane>> {
        self.lanes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Deliveries held per endpoint, for the next claim.
    pub fn held(&self) -> Vec<(EndpointId, i64)> {
        self.lock()
            .iter()
            .map(|(id, lane)| (id.clone(), lane.held))
            .collect()
    }

    /// Counts one more delivery held for `endpoint_id` until the returned hold is dropped (or
    /// leaves early); the lane disappears with its last delivery.
    pub fn hold(self: &Arc<Self>, endpoint_id: &EndpointId) -> LaneHold {
        let mut lanes = self.lock();
        self.join(&mut lanes, endpoint_id)
    }

    /// `hold`, unless the lane holds `most` deliveries already.
    pub fn try_hold(self: &Arc<Self>, endpoint_id: &EndpointId, most: i64) -> Option<LaneHold> {
        let mut lanes = self.lock();
        if lanes.get(endpoint_id).is_some_and(|lane| lane.held >= most) {
            return None;
        }
        Some(self.join(&mut lanes, endpoint_id))
    }

    fn join(
        self: &Arc<Self>,
        lanes: &mut HashMap<EndpointId, Lane>,
        endpoint_id: &EndpointId,
    ) -> LaneHold {
        let lane = lanes.entry(endpoint_id.to_owned()).or_insert_with(|| Lane {
            held: 0,
            on_wire: Arc::new(Semaphore::new(self.cap)),
        });
        lane.held += 1;
        LaneHold {
            lanes: self.clone(),
            endpoint_id: endpoint_id.to_owned(),
            on_wire: lane.on_wire.clone(),
            held: lane.held,
            left: false,
        }
    }

    fn release(&self, endpoint_id: &EndpointId) {
        let mut lanes = self.lock();
        if let Some(lane) = lanes.get_mut(endpoint_id) {
            lane.held -= 1;
            if lane.held <= 0 {
                lanes.remove(endpoint_id);
            }
        }
    }
}

/// One delivery's place in its endpoint's lane, given up when dropped.
pub struct LaneHold {
    lanes: Arc<Lanes>,
    endpoint_id: EndpointId,
    on_wire: Arc<Semaphore>,
    held: i64,
    left: bool,
}

impl LaneHold {
    /// How many deliveries the lane held when this one joined.
    pub fn held(&self) -> i64 {
        self.held
    }

    /// The permits that keep the endpoint's attempts on the wire under its cap.
    pub fn on_wire_places(&self) -> Arc<Semaphore> {
        self.on_wire.clone()
    }

    /// The attempt is over: the place frees now rather than when the hold is dropped.
    pub fn leave(&mut self) {
        if !self.left {
            self.left = true;
            self.lanes.release(&self.endpoint_id);
        }
    }
}

impl Drop for LaneHold {
    fn drop(&mut self) {
        self.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_count_held_deliveries_and_free_them_on_drop() {
        let lanes = Arc::new(Lanes::new(2));
        let ep_a = EndpointId::from("ep_a");
        let mut first = lanes.hold(&ep_a);
        let second = lanes.hold(&ep_a);
        assert!(Arc::ptr_eq(
            &first.on_wire_places(),
            &second.on_wire_places()
        ));
        assert_eq!(second.held(), 2);
        assert_eq!(first.on_wire_places().available_permits(), 2);
        assert_eq!(lanes.held(), vec![(ep_a.clone(), 2)]);
        first.leave();
        assert_eq!(lanes.held(), vec![(ep_a.clone(), 1)]);
        drop(first);
        assert_eq!(
            lanes.held(),
            vec![(ep_a.clone(), 1)],
            "left once, not twice"
        );
        drop(second);
        assert!(lanes.held().is_empty());
    }

    #[test]
    fn a_lane_at_its_share_takes_no_more_from_intake() {
        let lanes = Arc::new(Lanes::new(1));
        let (ep_a, ep_b) = (EndpointId::from("ep_a"), EndpointId::from("ep_b"));
        let first = lanes.try_hold(&ep_a, 2).expect("an empty lane has room");
        let second = lanes.try_hold(&ep_a, 2).expect("one of two places taken");
        assert!(
            lanes.try_hold(&ep_a, 2).is_none(),
            "the lane holds its share"
        );
        assert!(
            lanes.try_hold(&ep_b, 2).is_some(),
            "other lanes are not touched"
        );
        drop(first);
        assert!(
            lanes.try_hold(&ep_a, 2).is_some(),
            "a freed place is taken again"
        );
        drop(second);
    }
}
