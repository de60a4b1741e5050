//! Fresh deliveries handed straight to this process's dispatcher. While it has room, intake
//! writes an event's deliveries already leased to it, reads them back in the same transaction
//! and, once that transaction commits, gives them to the dispatcher: the first attempt starts
//! without a wake-up, a claim and its read-back. Anything the dispatcher has no room for is
//! written unleased and takes the queue path, as are deliveries of other replicas' events.
//! A process that dies before sending leaves leased rows, which are taken over when their
//! lease runs out, like any claimed delivery's.

use super::queue::ClaimedDelivery;
use std::sync::{Arc, RwLock};

/// What intake needs of a dispatcher to hand it deliveries.
pub trait DeliveryHandoff: Send + Sync {
    /// Whether to lease the next event's deliveries to this dispatcher: cheap, asked before
    /// each event is written. A dispatcher with a backlog says no, and its claims keep
    /// serving endpoints in turn.
    fn has_room(&self) -> bool;
    /// Added to each lease's endpoint timeout, as a claim's lease is.
    fn lease_margin_ms(&self) -> i64;
    /// Takes `delivery`'s place in the dispatcher (a slot, a place in its endpoint's lane and
    /// its places on the wire, so it goes out at once), or `None` when it has none: the
    /// delivery is then written unleased.
    fn reserve(&self, delivery: &ClaimedDelivery) -> Option<Box<dyn Reservation>>;
}

/// A place held in a dispatcher for one leased delivery. Dropped unstarted (the transaction
/// did not commit), it frees the place.
pub trait Reservation: Send {
    /// The transaction holding the delivery's lease committed: send it.
    fn start(self: Box<Self>, delivery: ClaimedDelivery);
}

/// The dispatcher intake hands deliveries to, if one runs in this process; shared by every
/// clone of a `Store`.
#[derive(Clone, Default)]
pub(super) struct HandoffSlot(Arc<RwLock<Option<Arc<dyn DeliveryHandoff>>>>);

impl std::fmt::Debug for HandoffSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HandoffSlot")
    }
}

impl HandoffSlot {
    /// The dispatcher, when it has room now.
    pub(super) fn with_room(&self) -> Option<Arc<dyn DeliveryHandoff>> {
        let current = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        current.as_ref().filter(|h| h.has_room()).cloned()
    }

    fn set(&self, handoff: Arc<dyn DeliveryHandoff>) {
        *self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(handoff);
    }
}

/// A leased delivery and its place in the dispatcher, started once its transaction commits.
pub(super) struct Handed {
    pub reservation: Box<dyn Reservation>,
    pub delivery: ClaimedDelivery,
}

impl Handed {
    pub(super) fn start(self) {
        self.reservation.start(self.delivery);
    }
}

impl super::Store {
    /// From now on, intake hands fresh deliveries to `handoff` while it has room.
    pub fn hand_deliveries_to(&self, handoff: Arc<dyn DeliveryHandoff>) {
        self.handoff.set(handoff);
    }

    /// Intake stops handing deliveries to `handoff` (its dispatcher is stopping), unless
    /// another has taken its place.
    pub fn stop_handing_deliveries_to(&self, handoff: &Arc<dyn DeliveryHandoff>) {
        let mut current = self
            .handoff
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let ours = current
            .as_ref()
            .is_some_and(|h| std::ptr::addr_eq(Arc::as_ptr(h), Arc::as_ptr(handoff)));
        if ours {
            *current = None;
        }
    }
}
