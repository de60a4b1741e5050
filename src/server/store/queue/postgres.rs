//! The queue on PostgreSQL, top to bottom: a claim is one statement (after a move of the cursor
//! while an endpoint is saturated) that picks, locks, leases and reads back; a batch of outcomes
//! is one statement beside the endpoints' verdicts. Replicas skip rows another claim has
//! locked, so a delivery is never leased twice.

use super::cursor::{ClaimStart, SETTLING_MS};
use super::outcome::{
    apply_verdict, healthy_endpoints, outcome_rows, pauses, ATTEMPT_COLUMNS, ATTEMPT_VALUES,
    DELIVERY_CHANGES, HELD, OUTCOME_FIELDS,
};
use super::sql::{claimed_columns, numbered, Lease, CLAIMED_JOINS, DUE, ENDPOINT_TIMEOUT};
use super::{json_array, AttemptOutcome, Claim, ClaimCursor, ClaimedDelivery, EndpointVerdict};
use crate::server::clock::now_ms;
use crate::server::store::StoreError;
use sqlx::{FromRow, PgPool, Row};
use std::collections::HashMap;
use std::sync::LazyLock;

/// The claim in one round trip. Candidates (`walk`): the oldest due rows, skipping disabled
/// endpoints and the claimer's `:saturated` ones, from the cursor (`:from`) on and, before it,
/// only the `:probed` endpoints' rows from `:probe_from`; at most `:scan` of them (the rows of
/// left-out endpoints it walks past are not bounded: the cursor keeps them few). Of those
/// (`k`), each endpoint's rows that fit under `:held_per_endpoint` next to what the claimer
/// already `:held` there (a JSON object of counts), each with the rounds it waits through at
/// `:on_wire` attempts per endpoint, at most `:limit`. Rows another replica's claim has locked
/// are skipped; the outer query sees the rows as they were before the update, so the leased
/// values come from RETURNING. Each row also says its due time and whether the scan was full
/// and reached the cursor. SQLite makes the same choice in `sqlite::pick`.
static CLAIM: LazyLock<String> = LazyLock::new(|| {
    numbered(
        &format!(
            "WITH walk AS ( \
               SELECT d.id, d.endpoint_id, d.next_attempt_at FROM deliveries d \
               JOIN endpoints e ON e.id = d.endpoint_id AND e.enabled \
               AND (e.paused_until IS NULL OR e.paused_until <= :now) \
               WHERE {DUE} AND d.next_attempt_at >= :probe_from \
               AND (d.next_attempt_at >= :from \
                    OR d.endpoint_id IN (SELECT jsonb_array_elements_text(:probed::jsonb))) \
               AND d.endpoint_id NOT IN (SELECT jsonb_array_elements_text(:saturated::jsonb)) \
               ORDER BY d.next_attempt_at LIMIT :scan), \
             k AS ( \
               SELECT c.id, (c.place + COALESCE(b.busy, 0) + :on_wire - 1) / :on_wire AS rounds FROM ( \
                 SELECT s.id, s.endpoint_id, s.next_attempt_at, \
                        ROW_NUMBER() OVER (PARTITION BY s.endpoint_id ORDER BY s.next_attempt_at, s.id) AS place \
                 FROM walk s \
               ) c LEFT JOIN (SELECT key AS endpoint_id, value::bigint AS busy \
                              FROM jsonb_each_text(:held::jsonb)) b ON b.endpoint_id = c.endpoint_id \
               WHERE c.place + COALESCE(b.busy, 0) <= :held_per_endpoint \
               ORDER BY c.next_attempt_at LIMIT :limit), \
             claimable AS (SELECT d.id, k.rounds FROM deliveries d JOIN k ON k.id = d.id \
                           WHERE {DUE} FOR UPDATE OF d SKIP LOCKED), \
             d AS (UPDATE deliveries SET status = 'delivering', lease_token = :token, \
                   lease_until = :lease_from + c.rounds * 1000 * {ENDPOINT_TIMEOUT} \
                   FROM claimable c WHERE deliveries.id = c.id \
                   RETURNING deliveries.id, deliveries.lease_token, deliveries.event_id, \
                   deliveries.attempts, deliveries.endpoint_id, deliveries.app_id, \
                   deliveries.next_attempt_at, deliveries.order_key) \
             SELECT {}, d.next_attempt_at AS due_at, \
                    (SELECT count(*) >= :scan AND coalesce(max(next_attempt_at) >= :from, false) \
                     FROM walk) AS full_past_cursor \
             FROM d {CLAIMED_JOINS} ORDER BY d.next_attempt_at",
            claimed_columns(Lease::Held)
        ),
        &[
            "now",
            "held_per_endpoint",
            "scan",
            "limit",
            "lease_from",
            "token",
            "held",
            "saturated",
            "on_wire",
            "from",
            "probe_from",
            "probed",
        ],
    )
});

/// The claim has no place to return where its walk stopped, so the cursor moves first, in a
/// statement of its own: the due time of the first due row from the cursor (`:from`) on that
/// the claim could take (not a `:saturated` or disabled endpoint's), or `:now`; and the
/// saturated endpoints with due rows before where the cursor moves, each with its first (as
/// SQLite's `passed`). Only made while an endpoint is saturated.
static ADVANCE: LazyLock<String> = LazyLock::new(|| {
    numbered(
        &format!(
            "SELECT f.first_at, \
               (SELECT string_agg(s.id || ' ' || p.at, ' ') \
                FROM jsonb_array_elements_text(:saturated::jsonb) s(id) CROSS JOIN LATERAL ( \
                  SELECT p.next_attempt_at AS at FROM deliveries p \
                  WHERE p.status IN ('pending', 'retrying') AND p.next_attempt_at >= :from \
                  AND p.next_attempt_at < least(f.first_at, :now - {SETTLING_MS}) \
                  AND p.endpoint_id = s.id ORDER BY p.next_attempt_at LIMIT 1) p) \
             FROM (SELECT coalesce(( \
               SELECT d.next_attempt_at FROM deliveries d \
               JOIN endpoints e ON e.id = d.endpoint_id AND e.enabled \
               AND (e.paused_until IS NULL OR e.paused_until <= :now) \
               WHERE d.status IN ('pending', 'retrying') AND d.next_attempt_at <= :now \
               AND d.next_attempt_at >= :from \
               AND d.endpoint_id NOT IN (SELECT jsonb_array_elements_text(:saturated::jsonb)) \
               ORDER BY d.next_attempt_at LIMIT 1), :now::bigint) AS first_at) f"
        ),
        &["now", "saturated", "from"],
    )
});

/// Moves `cursor` past the due rows of the claim's saturated endpoints; returns where the
/// claim reads.
async fn advance(
    pool: &PgPool,
    claim: &Claim<'_>,
    cursor: &mut ClaimCursor,
) -> Result<ClaimStart, StoreError> {
    let start = cursor.start(&claim.saturated);
    if claim.saturated.is_empty() {
        // Nothing is left out but disabled endpoints, whose rows are few.
        return Ok(start);
    }
    let (first_at, passed): (i64, Option<String>) = sqlx::query_as(ADVANCE.as_str())
        .bind(claim.now) // :now
        .bind(&claim.saturated_json) // :saturated
        .bind(start.from_ms) // :from
        .fetch_one(pool)
        .await?;
    cursor.advance(first_at, passed.as_deref(), claim.now);
    Ok(ClaimStart {
        from_ms: cursor.walk_starts_at_ms(),
        ..start
    })
}

pub(super) async fn claim(
    pool: &PgPool,
    claim: &Claim<'_>,
    cursor: &mut ClaimCursor,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let start = advance(pool, claim, cursor).await?;
    let held: serde_json::Map<String, serde_json::Value> = claim
        .held
        .iter()
        .map(|(id, count)| (id.to_string(), (*count).into()))
        .collect();
    let limits = &claim.limits;
    let rows = sqlx::query(CLAIM.as_str())
        .bind(claim.now) // :now
        .bind(limits.held_per_endpoint) // :held_per_endpoint
        .bind(super::scan_size(limits.limit)) // :scan
        .bind(limits.limit) // :limit
        .bind(claim.now + limits.lease_margin_ms) // :lease_from
        .bind(&claim.token) // :token
        .bind(serde_json::Value::Object(held).to_string()) // :held
        .bind(&claim.saturated_json) // :saturated
        .bind(limits.on_wire_per_endpoint) // :on_wire
        .bind(start.from_ms) // :from
        .bind(start.probe_from_ms) // :probe_from
        .bind(start.probed_json()) // :probed
        .fetch_all(pool)
        .await?;
    cursor.set_walk_was_full(match rows.first() {
        Some(row) => row.try_get("full_past_cursor")?,
        None => false,
    });
    let claimed = rows
        .iter()
        .map(ClaimedDelivery::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    // Oldest first, and each endpoint's oldest is taken while it has room.
    let mut fronts: HashMap<&str, i64> = HashMap::new();
    for (row, delivery) in rows.iter().zip(&claimed) {
        fronts
            .entry(delivery.endpoint_id.as_str())
            .or_insert(row.try_get("due_at")?);
    }
    cursor.saw_fronts(fronts);
    if claimed.is_empty() {
        cursor.took_nothing(&claim.saturated);
    }
    Ok(claimed)
}

/// Records a whole `:batch` (one JSON array) in one statement: the batch is parsed and matched
/// to its leased rows once, then feeds both the attempts' insert and the deliveries' update.
/// Every part sees the rows as they were before the statement, so an attempt's number is
/// counted from the old `attempts`; the update re-checks the lease.
static RECORD: LazyLock<String> = LazyLock::new(|| {
    let columns: Vec<String> = OUTCOME_FIELDS
        .iter()
        .map(|(name, kind)| format!("{name} {kind}"))
        .collect();
    numbered(
        &format!(
            "WITH j AS (SELECT * FROM jsonb_to_recordset(:batch::jsonb) AS r({})), \
             held AS ({HELD}), \
             written AS (INSERT INTO delivery_attempts ({ATTEMPT_COLUMNS}) \
                         SELECT {ATTEMPT_VALUES} FROM held) \
             UPDATE deliveries SET {DELIVERY_CHANGES} \
             FROM held j WHERE deliveries.id = j.id AND deliveries.lease_token = j.token",
            columns.join(", ")
        ),
        &["batch"],
    )
});

/// Records a batch: the endpoints' verdicts first (matched on the leases the record clears),
/// then the one statement, which matches every row before it changes any.
pub(super) async fn record(pool: &PgPool, outcomes: &[AttemptOutcome]) -> Result<(), StoreError> {
    let batch = json_array(&outcome_rows(outcomes));
    let mut tx = pool.begin().await?;
    // Like SQLite's NORMAL sync on its queue: an outcome lost to a database crash leaves its
    // lease to expire and the delivery to be sent again (at least once), so the commit need
    // not wait for the log's flush. Leases and events are still committed durably.
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE endpoints SET failing_since = NULL, consecutive_failures = 0, \
         last_success_at = CASE WHEN alerting THEN $2 ELSE last_success_at END \
         WHERE (failing_since IS NOT NULL OR alerting) \
         AND id IN (SELECT jsonb_array_elements_text($1::jsonb))",
    )
    .bind(healthy_endpoints(outcomes))
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    for outcome in outcomes {
        apply_verdict!(tx, outcome);
    }
    if let Some(pauses) = pauses(outcomes) {
        sqlx::query(
            "UPDATE endpoints SET paused_until = greatest(coalesce(paused_until, 0), (p.value ->> 1)::bigint) \
             FROM jsonb_array_elements($1::jsonb) p WHERE endpoints.id = p.value ->> 0",
        )
        .bind(pauses)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(RECORD.as_str())
        .bind(&batch) // :batch
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::sql::assert_every_name_bound;
    use super::*;

    #[test]
    fn every_statement_binds_every_name() {
        assert_every_name_bound(&[CLAIM.as_str(), ADVANCE.as_str(), RECORD.as_str()]);
    }
}
