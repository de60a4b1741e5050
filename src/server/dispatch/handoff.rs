//! The dispatcher's side of intake's handoff (`store::handoff`): room for fresh deliveries
//! while it holds fewer than its on-the-wire cap, and for each one taken a slot, a place in the
//! endpoint's lane (only while the lane holds fewer than the endpoint's own cap) and both
//! places on the wire, taken before the event's transaction commits. So a delivery handed over
//! goes on the wire at once (its lease, like a claim's first round, covers one timeout), and a
//! busy endpoint's deliveries wait for claims, which take endpoints in turn. A channel takes
//! them to the main loop, which starts their attempts.

use super::worker::{Holding, Holdings, Reserved};
use super::LEASE_MARGIN_MS;
use crate::server::store::{ClaimedDelivery, DeliveryHandoff, Reservation};
use tokio::sync::mpsc;

/// A committed, leased delivery and its share of the dispatcher, for the main loop to start.
pub(super) type HandedOver = (ClaimedDelivery, Holding);

pub(super) struct Handoff {
    pub holdings: Holdings,
    /// All slots, held or free.
    pub slots: usize,
    /// Deliveries held below which the dispatcher takes fresh ones from intake.
    pub room_below: usize,
    /// Attempts on the wire at once per endpoint: a lane holding fewer takes one more.
    pub lane_room_below: i64,
    pub to_start: mpsc::UnboundedSender<HandedOver>,
}

impl DeliveryHandoff for Handoff {
    fn has_room(&self) -> bool {
        // A dispatcher whose loop has ended (stopped, or failed) takes nothing more.
        if self.to_start.is_closed() {
            return false;
        }
        let held = self.slots - self.holdings.slots.available_permits();
        held < self.room_below
    }

    fn lease_margin_ms(&self) -> i64 {
        LEASE_MARGIN_MS
    }

    fn reserve(&self, delivery: &ClaimedDelivery) -> Option<Box<dyn Reservation>> {
        let lane = self
            .holdings
            .lanes
            .try_hold(&delivery.endpoint_id, self.lane_room_below)?;
        let reserved = self.holdings.reserve_now(lane)?;
        Some(Box::new(HandedPlace {
            reserved,
            holdings: self.holdings.clone(),
            to_start: self.to_start.clone(),
        }))
    }
}

struct HandedPlace {
    reserved: Reserved,
    holdings: Holdings,
    to_start: mpsc::UnboundedSender<HandedOver>,
}

impl Reservation for HandedPlace {
    fn start(self: Box<Self>, delivery: ClaimedDelivery) {
        let holding = self.reserved.holding(&self.holdings, &delivery.lease_token);
        // Closed only while the dispatcher stops: the lease, counted above, is given back
        // with the others, or runs out if the count came after.
        let _ = self.to_start.send((delivery, holding));
    }
}
