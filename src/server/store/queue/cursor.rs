//! Where a dispatcher's claims read the due order: past the rows of endpoints it has
//! saturated, for as long as they stay saturated, and each such endpoint's own rows once it has
//! room again. It only skips work; it never decides which deliveries are leased. No SQL: each
//! backend reads where the cursor says and tells it what it passed.

use std::collections::HashMap;

/// How far behind now a cursor stays: a delivery's due time is read before its transaction
/// commits (a new event's as it is written, after any wait in the SQLite writer's queue; a
/// retry's before the recorder's batch). Longer waits than this (a stall mid-write) land behind
/// the cursor, and so do deliveries from a replica whose clock runs ahead; the periodic restart
/// bounds their delay.
pub(super) const SETTLING_MS: i64 = 1_000;

/// A claimer's place in the due order. Every due row before `from_ms` is a disabled or a `passed`
/// endpoint's, all saturated when they were passed, so a claim that leaves those endpoints out
/// anyway can start there. Without it, each claim walked the whole due backlog of a slow
/// endpoint (20 000 rows behind a 2 s receiver halved a healthy endpoint's rate) before
/// reaching anyone else's rows.
///
/// A passed endpoint with room again is probed: its oldest rows behind the cursor are read from
/// its first row passed on, beside the walk from the cursor. Starting over instead cost a walk
/// of the whole backlog each time the slow endpoint freed a place.
///
/// A row can land behind the cursor without its endpoint being passed: a lease given back or
/// taken over keeps its old due time, a re-enabled endpoint's rows were passed while disabled,
/// and a due time may be read long before it commits (see `SETTLING_MS`). So the owner restarts
/// the cursor now and then (the dispatcher does every second), which bounds how late such a row
/// is claimed, and a claim that finds nothing with nothing saturated starts over at once.
#[derive(Debug, Default)]
pub struct ClaimCursor {
    from_ms: i64,
    /// Each passed endpoint, with the due time of its first row passed: a probe of its rows
    /// behind the cursor starts there, not behind other endpoints' backlogs.
    passed: HashMap<String, i64>,
    /// Whether the last claim's scan returned as many rows as it could and reached the
    /// cursor, so that more may be due beyond them.
    walk_was_full: bool,
}

/// Where one claim reads: the walk from `from_ms` on, and the rows of the `probed` endpoints
/// from `probe_from_ms` up to `from_ms`.
#[derive(Debug)]
pub(super) struct ClaimStart {
    pub from_ms: i64,
    pub probe_from_ms: i64,
    pub probed: Vec<String>,
}

impl ClaimStart {
    /// The probed endpoints as a JSON array.
    pub fn probed_json(&self) -> String {
        super::json_array(&self.probed)
    }
}

impl ClaimCursor {
    /// Whether the last claim's scan returned as many rows as it could and reached the cursor:
    /// those it did not take (an endpoint's lane filled) may have hidden others' rows behind
    /// them. A scan filled by probed rows alone is not counted: the rows past the cursor wait
    /// for the next claim rather than cost a lone endpoint a claim per refill.
    pub fn walk_was_full(&self) -> bool {
        self.walk_was_full
    }

    /// What the last claim's scan found (see `walk_was_full`).
    pub(super) fn set_walk_was_full(&mut self, full: bool) {
        self.walk_was_full = full;
    }

    /// Where the walk of the due order starts.
    pub(super) fn walk_starts_at_ms(&self) -> i64 {
        self.from_ms
    }

    /// The next claim walks the due order from its start.
    pub fn restart(&mut self) {
        self.from_ms = 0;
        self.passed.clear();
    }

    /// Where a claim that leaves out the `saturated` endpoints reads: every passed endpoint
    /// with room again is probed.
    pub(super) fn start(&self, saturated: &[&str]) -> ClaimStart {
        let probed: Vec<(&String, &i64)> = self
            .passed
            .iter()
            .filter(|(id, _)| !saturated.contains(&id.as_str()))
            .collect();
        // Never past the cursor: the scan starts at the sooner of the two.
        let probe_from_ms = probed
            .iter()
            .map(|(_, since)| **since)
            .min()
            .unwrap_or(self.from_ms)
            .min(self.from_ms);
        ClaimStart {
            from_ms: self.from_ms,
            probe_from_ms,
            probed: probed.into_iter().map(|(id, _)| id.clone()).collect(),
        }
    }

    /// A claim read the oldest waiting rows of some endpoints (`fronts`: endpoint id and due
    /// time). A passed endpoint has no rows behind its front, so its next probe starts there:
    /// from where it was first passed, each probe walked again the rows of others left behind
    /// since (a slow endpoint's, between every one of a healthy endpoint's).
    pub(super) fn saw_fronts<'a>(&mut self, fronts: impl IntoIterator<Item = (&'a str, i64)>) {
        for (id, due) in fronts {
            if let Some(since) = self.passed.get_mut(id) {
                *since = (*since).max(due);
            }
        }
    }

    /// A walk at `now` from the cursor left out every due row before `first_at`; those that
    /// were not a disabled endpoint's were of the `passed` endpoints (space-separated pairs of
    /// an id and the due time of its first row passed). The cursor stays `SETTLING_MS` behind
    /// now: a delivery whose due time was read before the walk may commit after it (an event
    /// batch, a retry, another replica's clock).
    pub(super) fn advance(&mut self, first_at: i64, passed: Option<&str>, now: i64) {
        self.from_ms = self.from_ms.max(first_at.min(now - SETTLING_MS));
        let mut words = passed.unwrap_or_default().split_whitespace();
        while let (Some(id), Some(at)) = (words.next(), words.next()) {
            // A due time the database wrote is a number; were it not, the earliest is safe.
            let at = at.parse().unwrap_or(0);
            let since = self.passed.entry(id.to_owned()).or_insert(at);
            *since = (*since).min(at);
        }
    }

    /// A claim that left nothing out and took nothing: whatever is due lies behind the
    /// cursor without its endpoint having been passed (see above), so start over now rather
    /// than at the next restart.
    pub(super) fn took_nothing(&mut self, saturated: &[&str]) {
        if saturated.is_empty() {
            self.restart();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_start_at_the_front_of_the_endpoints_with_room() {
        let mut cursor = ClaimCursor::default();
        cursor.advance(500, Some("slow 100 healthy 300"), 10_000);
        let start = cursor.start(&["slow", "healthy"]);
        assert_eq!((start.from_ms, start.probed.len()), (500, 0));
        let start = cursor.start(&["slow"]);
        assert_eq!(start.probed, ["healthy"]);
        assert_eq!(start.probe_from_ms, 300);
        // The healthy endpoint's oldest waiting row is now at 420; others are not passed.
        cursor.saw_fronts([("healthy", 420), ("other", 1)]);
        assert_eq!(cursor.start(&["slow"]).probe_from_ms, 420);
        assert_eq!(cursor.start(&[]).probe_from_ms, 100);
        // Its oldest row is past the cursor: the scan still starts at the cursor.
        cursor.saw_fronts([("healthy", 900)]);
        assert_eq!(cursor.start(&["slow"]).probe_from_ms, 500);
        cursor.restart();
        assert_eq!(cursor.start(&[]).probed.len(), 0);
    }
}
