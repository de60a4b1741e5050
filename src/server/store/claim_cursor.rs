//! Where a dispatcher's claims start their walk of the due order: past the rows of endpoints
//! it has saturated, for as long as they stay saturated. It only skips work; it never decides
//! which deliveries are leased.

use super::StoreError;
use std::collections::HashSet;
use std::sync::LazyLock;

/// How far behind now a cursor stays: a delivery's due time is read before its transaction
/// commits, and an event waits in the SQLite writer's queue, a retry in the recorder's batch.
/// Longer waits than this (a burst of events, a stall) land behind the cursor, and so do
/// deliveries from a replica whose clock runs ahead; the periodic restart bounds their delay.
const SETTLING_MS: i64 = 1_000;

/// A claimer's place in the due order. Every due row before `from_ms` is a disabled or a `passed`
/// endpoint's, all saturated when they were passed, so a claim that leaves those endpoints out
/// anyway can start there. Without it, each claim walked the whole due backlog of a slow
/// endpoint (20 000 rows behind a 2 s receiver halved a healthy endpoint's rate) before
/// reaching anyone else's rows.
///
/// A row can land behind the cursor without its endpoint being passed: a lease given back or
/// taken over keeps its old due time, a re-enabled endpoint's rows were passed while disabled,
/// and a due time may be read long before it commits (see `SETTLING_MS`). So the owner restarts
/// the cursor now and then (the dispatcher does every second), which bounds how late such a row
/// is claimed.
#[derive(Debug, Default)]
pub struct ClaimCursor {
    from_ms: i64,
    passed: HashSet<String>,
}

impl ClaimCursor {
    /// The next claim walks the due order from its start.
    pub fn restart(&mut self) {
        self.from_ms = 0;
        self.passed.clear();
    }

    /// Where the walk of a claim that leaves out the `saturated` endpoints starts. A passed
    /// endpoint with room again has its oldest rows behind the cursor, so the walk starts over;
    /// so it does with nothing saturated, when there is nothing worth skipping.
    pub(super) fn start(&mut self, saturated: &[&str]) -> i64 {
        if saturated.is_empty()
            || !self
                .passed
                .iter()
                .all(|id| saturated.contains(&id.as_str()))
        {
            self.restart();
        }
        self.from_ms
    }

    /// A walk at `now` from the cursor left out every due row before `first_at`; those that
    /// were not a disabled endpoint's were of the `passed` endpoints (comma-separated). The
    /// cursor stays `SETTLING_MS` behind now: a delivery whose due time was read before the walk
    /// may commit after it (an event batch, a retry, another replica's clock).
    pub(super) fn advance(&mut self, first_at: i64, passed: Option<&str>, now: i64) {
        self.from_ms = self.from_ms.max(first_at.min(now - SETTLING_MS));
        self.passed.extend(
            passed
                .into_iter()
                .flat_map(|ids| ids.split(','))
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
        );
    }
}

/// Which of the saturated endpoints ($2, a JSON array) have due rows from the cursor ($4) up
/// to where it moves (`first_at`, or a second before now ($1) if that is sooner): an index walk
/// per saturated endpoint that stops at its first row there. A passed endpoint's rows come
/// first, so that walk ends at once; one with no rows there reads the whole range, which is
/// short unless the cursor has just started over. `DISTINCT` read every row twice instead.
pub(super) static SQLITE_PASSED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "(SELECT group_concat(s.value) FROM json_each($2) s \
         WHERE EXISTS (SELECT 1 FROM deliveries p WHERE p.status IN ('pending', 'retrying') \
         AND p.next_attempt_at >= $4 AND p.next_attempt_at < min(first_at, $1 - {SETTLING_MS}) \
         AND p.endpoint_id = s.value))"
    )
});

/// PostgreSQL's claim has no place to return where its walk stopped, so the cursor moves first,
/// in a statement of its own: the due time of the first due row from the cursor ($3) on that
/// the claim could take (not a saturated ($2) or disabled endpoint's), or now ($1); and the
/// saturated endpoints with due rows before where the cursor moves. Only made while an
/// endpoint is saturated.
static POSTGRES_ADVANCE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT f.first_at, \
           (SELECT string_agg(s.id, ',') FROM jsonb_array_elements_text($2::jsonb) s(id) \
            WHERE EXISTS (SELECT 1 FROM deliveries p WHERE p.status IN ('pending', 'retrying') \
            AND p.next_attempt_at >= $3 \
            AND p.next_attempt_at < least(f.first_at, $1 - {SETTLING_MS}) \
            AND p.endpoint_id = s.id)) \
         FROM (SELECT coalesce(( \
           SELECT d.next_attempt_at FROM deliveries d \
           JOIN endpoints e ON e.id = d.endpoint_id AND e.enabled \
           WHERE d.status IN ('pending', 'retrying') AND d.next_attempt_at <= $1 \
           AND d.next_attempt_at >= $3 \
           AND d.endpoint_id NOT IN (SELECT jsonb_array_elements_text($2::jsonb)) \
           ORDER BY d.next_attempt_at LIMIT 1), $1::bigint) AS first_at) f"
    )
});

/// Moves `cursor` past the due rows of the `saturated` endpoints (also given as the JSON array
/// `saturated_json`) before a PostgreSQL claim at `now`; returns where its walk starts.
pub(super) async fn advance_on_postgres(
    pool: &sqlx::PgPool,
    cursor: &mut ClaimCursor,
    saturated: &[&str],
    saturated_json: &str,
    now: i64,
) -> Result<i64, StoreError> {
    let from = cursor.start(saturated);
    if saturated.is_empty() {
        // Nothing is left out but disabled endpoints, whose rows are few.
        return Ok(from);
    }
    let (first_at, passed): (i64, Option<String>) = sqlx::query_as(POSTGRES_ADVANCE.as_str())
        .bind(now)
        .bind(saturated_json)
        .bind(from)
        .fetch_one(pool)
        .await?;
    cursor.advance(first_at, passed.as_deref(), now);
    Ok(cursor.from_ms)
}
