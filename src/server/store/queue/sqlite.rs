//! The queue on SQLite, top to bottom: a claim scans the covering index, picks in Rust how many
//! rows each endpoint gets, leases them by primary key and reads them back; outcomes are written
//! as bound rows in one transaction. SQLite has one writer, so nothing is locked: the queue's
//! writes go through one connection of their own (`writer`), reads through the shared pool.

use super::cursor::SETTLING_MS;
use super::outcome::{
    apply_verdict, healthy_endpoints, outcome_rows, pauses, OutcomeRow, ATTEMPT_COLUMNS,
    ATTEMPT_VALUES, DELIVERY_CHANGES, HELD, OUTCOME_FIELDS,
};
use super::sql::{
    claimed_columns, numbered, Lease, CLAIMED_FIELDS, CLAIMED_JOINS, DUE, ENDPOINT_TIMEOUT,
};
use super::{
    json_array, AttemptOutcome, Claim, ClaimCursor, ClaimLimits, ClaimedDelivery, EndpointVerdict,
};
use crate::model::ids::EndpointId;
use crate::server::clock::now_ms;
use crate::server::store::ordering::release_next_in_order;
use crate::server::store::OrderKey;
use crate::server::store::StoreError;
use sqlx::SqlitePool;
use std::collections::HashMap;
use std::sync::LazyLock;

/// The scan: the oldest due rows as one text of space-separated `id endpoint_id due_time`
/// triples (ids never hold spaces; JSON cost more to build, and to parse into owned strings),
/// read from the covering index alone in creation order among equals (ids are time-ordered, so
/// rows leased together share pages instead of being one endpoint's rows, scattered), skipping
/// the claimer's `:saturated` endpoints and disabled or paused endpoints (few, so listed once
/// rather than joined per row), at most `:scan` of them: from the cursor (`:from`) on, and before it only
/// the rows of the `:probed` endpoints, from `:probe_from` (one walk: a union of the two cost a
/// half more). Then, for the cursor: the due time of the first row from the cursor on (or the
/// cursor, if the rows before it filled the scan; or `:now`, if nothing did), whether the scan
/// was full and reached the cursor, and the saturated endpoints passed on the way (`passed`).
static SCAN: LazyLock<String> = LazyLock::new(|| {
    numbered(
        &format!(
            "SELECT scanned, first_at, full_past_cursor, {passed} FROM ( \
               SELECT group_concat(id || ' ' || endpoint_id || ' ' || next_attempt_at, ' ') AS scanned, \
                      coalesce(min(CASE WHEN next_attempt_at >= :from THEN next_attempt_at END), \
                               CASE WHEN count(*) >= :scan THEN :from ELSE :now END) AS first_at, \
                      count(*) >= :scan AND max(next_attempt_at) >= :from AS full_past_cursor FROM ( \
                 SELECT d.id, d.endpoint_id, d.next_attempt_at FROM deliveries d \
                 WHERE {DUE} AND d.next_attempt_at >= :probe_from \
                 AND (d.next_attempt_at >= :from OR d.endpoint_id IN (SELECT value FROM json_each(:probed))) \
                 AND d.endpoint_id NOT IN (SELECT value FROM json_each(:saturated)) \
                 AND d.endpoint_id NOT IN (SELECT id FROM endpoints WHERE NOT enabled OR paused_until > :now) \
                 ORDER BY d.next_attempt_at, d.id LIMIT :scan))",
            passed = passed()
        ),
        &["now", "saturated", "scan", "from", "probe_from", "probed"],
    )
});

/// Which of the `:saturated` endpoints have due rows from the cursor (`:from`) up to where it
/// moves (`first_at`, or `SETTLING_MS` before `:now` if that is sooner), each with the due time
/// of its first row there, as space-separated `id due_time` pairs: an index walk per saturated
/// endpoint that stops at its first row (one without rows there makes a null pair, which
/// `group_concat` skips). A passed endpoint's rows come first, so that walk ends at once; one
/// with no rows there reads the whole range, which is short unless the cursor has just
/// started over.
fn passed() -> String {
    format!(
        "(SELECT group_concat(s.value || ' ' || (SELECT p.next_attempt_at FROM deliveries p \
             WHERE p.status IN ('pending', 'retrying') AND p.next_attempt_at >= :from \
             AND p.next_attempt_at < min(first_at, :now - {SETTLING_MS}) \
             AND p.endpoint_id = s.value ORDER BY p.next_attempt_at LIMIT 1), ' ') \
           FROM json_each(:saturated) s)"
    )
}

/// The lease of the `:picked` rows (a JSON array of `[id, rounds]`), each still waiting (a
/// console action may have changed it since the scan), under `:token` until `:lease_from` plus
/// one endpoint timeout per round.
static LEASE: LazyLock<String> = LazyLock::new(|| {
    numbered(
        &format!(
            "UPDATE deliveries SET status = 'delivering', lease_token = :token, \
             lease_until = :lease_from + (p.value ->> 1) * 1000 * {ENDPOINT_TIMEOUT} \
             FROM json_each(:picked) p \
             WHERE deliveries.id = p.value ->> 0 AND deliveries.status IN ('pending', 'retrying')"
        ),
        &["token", "lease_from", "picked"],
    )
});

/// The read-back of the rows leased under `:token` among the `:picked`, as one JSON array of
/// arrays in one row: SQLite hands each result row from its thread to the runtime separately,
/// waking a task per row, and building keyed objects cost a third more than arrays. Found by
/// primary key, so the lease token needs no index.
static LEASED: LazyLock<String> = LazyLock::new(|| {
    let values: Vec<String> = CLAIMED_FIELDS
        .iter()
        .map(|(field, _)| match *field {
            // Stored as 0 or 1; the struct wants a JSON boolean.
            "include_payload" => {
                format!("json(CASE WHEN l.{field} THEN 'true' ELSE 'false' END)")
            }
            _ => format!("l.{field}"),
        })
        .collect();
    numbered(
        &format!(
            "SELECT json_group_array(json_array({})) FROM ( \
               SELECT {} FROM json_each(:picked) p \
               JOIN deliveries d ON d.id = p.value ->> 0 {CLAIMED_JOINS} \
               WHERE d.lease_token = :token ORDER BY p.key) l",
            values.join(", "),
            claimed_columns(Lease::Held)
        ),
        &["token", "picked"],
    )
});

/// A claim: the scan, the choice made in Rust (`pick`), the lease of the chosen rows by primary
/// key, and their read-back. Only the lease writes: the scan and the read-back run on the
/// shared pool, beside an outcome batch rather than queued behind it on the queue's one
/// connection. A stale scan only leases fewer rows (the lease checks each is still waiting),
/// and the read-back starts after the lease committed, so it sees it.
pub(super) async fn claim(
    writer: &SqlitePool,
    readers: &SqlitePool,
    claim: &Claim<'_>,
    cursor: &mut ClaimCursor,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let start = cursor.start(&claim.saturated);
    let (scanned, first_at, full_past_cursor, passed): (Option<String>, i64, bool, Option<String>) =
        sqlx::query_as(SCAN.as_str())
            .bind(claim.now) // :now
            .bind(&claim.saturated_json) // :saturated
            .bind(super::scan_size(claim.limits.limit)) // :scan
            .bind(start.from_ms) // :from
            .bind(start.probe_from_ms) // :probe_from
            .bind(start.probed_json()) // :probed
            .fetch_one(readers)
            .await?;
    if !claim.saturated.is_empty() {
        // Otherwise only disabled endpoints' rows were passed: few, not worth it.
        cursor.advance(first_at, passed.as_deref(), claim.now);
    }
    cursor.set_walk_was_full(full_past_cursor);
    let scanned = scanned.unwrap_or_default();
    let rows: Vec<(&str, &str, i64)> = scanned_rows(&scanned).collect();
    let mut fronts: HashMap<&str, i64> = HashMap::new();
    for (_, endpoint_id, due) in &rows {
        fronts.entry(endpoint_id).or_insert(*due);
    }
    cursor.saw_fronts(fronts);
    let pairs = rows.iter().map(|(id, endpoint_id, _)| (*id, *endpoint_id));
    let picked = pick(pairs, claim.held, &claim.limits);
    if picked.is_empty() {
        cursor.took_nothing(&claim.saturated);
        return Ok(Vec::new());
    }
    let picked = json_array(&picked);
    let leased = sqlx::query(LEASE.as_str())
        .bind(&claim.token) // :token
        .bind(claim.now + claim.limits.lease_margin_ms) // :lease_from
        .bind(&picked) // :picked
        .execute(writer)
        .await?
        .rows_affected();
    if leased == 0 {
        return Ok(Vec::new());
    }
    let json: String = sqlx::query_scalar(LEASED.as_str())
        .bind(&claim.token) // :token
        .bind(&picked) // :picked
        .fetch_one(readers)
        .await?;
    let claimed = serde_json::from_str(&json).map_err(|err| sqlx::Error::Decode(err.into()))?;
    Ok(claimed)
}

/// The `(id, endpoint_id, due time)` rows of `SCAN`'s text, in scan order.
fn scanned_rows(text: &str) -> impl Iterator<Item = (&str, &str, i64)> {
    let mut words = text.split(' ').filter(|word| !word.is_empty());
    std::iter::from_fn(move || {
        let (id, endpoint_id, due) = (words.next()?, words.next()?, words.next()?);
        // SQLite wrote the number; were it not one, the row still counts, as due long ago.
        Some((id, endpoint_id, due.parse().unwrap_or(0)))
    })
}

/// The deliveries a claim takes from `scanned` (oldest first, as `(id, endpoint_id)`), with the
/// rounds each waits through: from each endpoint only what fits under `held_per_endpoint` next
/// to what the claimer holds there, and at most `limit` in all. (SQLite sorted the scan again
/// for a window function, which cost more than the rest of the claim.)
fn pick<'s>(
    scanned: impl IntoIterator<Item = (&'s str, &'s str)>,
    held: &[(EndpointId, i64)],
    limits: &ClaimLimits,
) -> Vec<(&'s str, i64)> {
    let held: HashMap<&str, i64> = held.iter().map(|(id, n)| (id.as_str(), *n)).collect();
    let mut places: HashMap<&str, i64> = HashMap::new();
    let mut picked = Vec::new();
    let on_wire = limits.on_wire_per_endpoint.max(1);
    for (id, endpoint_id) in scanned {
        if picked.len() as i64 >= limits.limit {
            break;
        }
        let busy = held.get(endpoint_id).copied().unwrap_or(0);
        let place = places.entry(endpoint_id).or_insert(0);
        *place += 1;
        let waits_behind = *place + busy;
        if waits_behind <= limits.held_per_endpoint {
            picked.push((id, (waits_behind + on_wire - 1) / on_wire));
        }
    }
    picked
}

/// Outcome rows are bound as values, in chunks of these sizes: each chunk size is one
/// statement text, prepared once per connection, and a full batch is one chunk.
const CHUNKS: [usize; 5] = [
    super::RECORD_BATCH,
    super::RECORD_BATCH / 4,
    super::RECORD_BATCH / 16,
    super::RECORD_BATCH / 64,
    1,
];

/// `statement` reading `rows` outcome rows as the table `j`, from bound values: SQLite's JSON
/// functions re-parsed every row's text once per column and cost more than the writes.
fn with_outcomes(rows: usize, statement: &str) -> String {
    let names: Vec<&str> = OUTCOME_FIELDS.iter().map(|(name, _)| *name).collect();
    let row = format!("({})", vec!["?"; OUTCOME_FIELDS.len()].join(", "));
    format!(
        "WITH j({}) AS (VALUES {}) {statement}",
        names.join(", "),
        vec![row; rows].join(", ")
    )
}

/// Copies each attempt of the batch `j` whose lease still holds into `delivery_attempts`.
static INSERT_ATTEMPTS: LazyLock<String> = LazyLock::new(|| {
    format!("INSERT INTO delivery_attempts ({ATTEMPT_COLUMNS}) SELECT {ATTEMPT_VALUES} FROM ({HELD}) held")
});

/// Moves each delivery of the batch `j` whose lease still holds to its next state.
static UPDATE_DELIVERIES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE deliveries SET {DELIVERY_CHANGES} \
         FROM j WHERE deliveries.id = j.id AND deliveries.lease_token = j.token"
    )
});

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Binds `rows` in `OUTCOME_FIELDS` order.
fn bind_rows<'q>(mut query: SqliteQuery<'q>, rows: &'q [OutcomeRow<'q>]) -> SqliteQuery<'q> {
    for row in rows {
        query = query
            .bind(row.id)
            .bind(row.token)
            .bind(row.status)
            .bind(row.next_attempt_at)
            .bind(row.completed_at)
            .bind(row.status_code)
            .bind(row.error_class)
            .bind(row.duration_ms)
            .bind(row.attempt_id.as_str())
            .bind(row.started_at)
            .bind(row.http_version)
            .bind(row.remote_addr)
            .bind(row.error_message.as_deref())
            .bind(row.response_headers.as_deref())
            .bind(row.response_excerpt.as_deref());
    }
    query
}

/// `rows` split into runs of `CHUNKS` sizes.
fn chunks<T>(mut rows: &[T]) -> Vec<&[T]> {
    let mut chunks = Vec::new();
    for size in CHUNKS {
        while rows.len() >= size {
            let (chunk, rest) = rows.split_at(size);
            chunks.push(chunk);
            rows = rest;
        }
    }
    chunks
}

/// Records a batch: the attempts and the endpoints' verdicts first, then the deliveries'
/// update, which clears the leases they are matched on. No statement returns rows: each row
/// is a hand-over from the database thread.
/// Returns how many held deliveries it released: the next in line of each facial ID in
/// `finished` (`ordering`), in the same transaction.
pub(super) async fn record(
    writer: &SqlitePool,
    outcomes: &[AttemptOutcome],
    finished: &[OrderKey],
) -> Result<u64, StoreError> {
    let rows = outcome_rows(outcomes);
    let chunks = chunks(&rows);
    let mut tx = writer.begin().await?;
    for chunk in &chunks {
        let sql = with_outcomes(chunk.len(), &INSERT_ATTEMPTS);
        bind_rows(sqlx::query(&sql), chunk)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "UPDATE endpoints SET failing_since = NULL, consecutive_failures = 0, \
         last_success_at = CASE WHEN alerting THEN $2 ELSE last_success_at END \
         WHERE (failing_since IS NOT NULL OR alerting) \
         AND id IN (SELECT value FROM json_each($1))",
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
            "UPDATE endpoints SET paused_until = max(coalesce(paused_until, 0), p.value ->> 1) \
             FROM json_each($1) p WHERE endpoints.id = p.value ->> 0",
        )
        .bind(pauses)
        .execute(&mut *tx)
        .await?;
    }
    for chunk in &chunks {
        let sql = with_outcomes(chunk.len(), &UPDATE_DELIVERIES);
        bind_rows(sqlx::query(&sql), chunk)
            .execute(&mut *tx)
            .await?;
    }
    let released = release_next_in_order(&mut tx, finished).await?;
    tx.commit().await?;
    Ok(released)
}

#[cfg(test)]
mod tests {
    use super::super::sql::assert_every_name_bound;
    use super::*;

    #[test]
    fn every_statement_binds_every_name() {
        assert_every_name_bound(&[SCAN.as_str(), LEASE.as_str(), LEASED.as_str()]);
    }

    fn limits(limit: i64, held_per_endpoint: i64, on_wire_per_endpoint: i64) -> ClaimLimits {
        ClaimLimits {
            limit,
            held_per_endpoint,
            on_wire_per_endpoint,
            lease_margin_ms: 0,
        }
    }

    #[test]
    fn pick_keeps_each_endpoint_under_its_cap_and_counts_rounds() {
        let rows = [
            ("d1", "a"),
            ("d2", "b"),
            ("d3", "a"),
            ("d4", "a"),
            ("d5", "a"),
            ("d6", "b"),
        ];
        // `a` holds 1 already: 3 more fit, waiting 1, 2 and 2 rounds; `b` holds none.
        let picked = pick(rows, &[(EndpointId::from("a"), 1)], &limits(10, 4, 2));
        assert_eq!(
            picked,
            [("d1", 1), ("d2", 1), ("d3", 2), ("d4", 2), ("d6", 1)]
        );
    }

    #[test]
    fn pick_stops_at_the_limit_in_scan_order() {
        let picked = pick(
            [("d1", "a"), ("d2", "b"), ("d3", "c")],
            &[],
            &limits(2, 8, 8),
        );
        let ids: Vec<&str> = picked.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, ["d1", "d2"]);
    }

    #[test]
    fn scanned_text_splits_into_rows_in_order() {
        let rows: Vec<_> = scanned_rows("del_1 ep_a 5 del_2 ep_b 7").collect();
        assert_eq!(rows, [("del_1", "ep_a", 5), ("del_2", "ep_b", 7)]);
        assert_eq!(scanned_rows("").count(), 0);
    }

    #[test]
    fn a_full_batch_is_one_statement_and_the_rest_split_largest_first() {
        let rows = [0; super::super::RECORD_BATCH + 37];
        let sizes: Vec<usize> = chunks(&rows).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [super::super::RECORD_BATCH, 32, 2, 2, 1]);
    }
}
